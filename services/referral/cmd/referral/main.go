// Command referral runs the referral service alone (one container in
// Kubernetes). Configuration is read from the environment (see
// docs/referral.md and docs/configuration.md):
//
//	POLKU_REFERRAL_ADDR                 listen address (default :9105)
//	POLKU_CLIENTS_TARGET                clients service (default 127.0.0.1:9101)
//	POLKU_CATALOGUE_TARGET              catalogue service (default 127.0.0.1:9104)
//	POLKU_BUDGET_TARGET                 budget service (default 127.0.0.1:9103)
//	POLKU_ASSESSMENT_TARGET             assessment service (default 127.0.0.1:9102)
//	POLKU_REFERRAL_SERVICE_TOKEN_FILE   file holding this service's SERVICE-role
//	                                    bearer token (re-read on every use, so a
//	                                    mounted token can rotate); required
//	POLKU_REFERRAL_ESCALATION_INTERVAL  how often the SLA worker runs (default 1m)
//	POLKU_REFERRAL_WEBHOOK_INTERVAL     how often due webhooks are sent (default 5s)
//	POLKU_REFERRAL_WEBHOOK_ALLOW_LOOPBACK_HTTP  http:// webhooks to loopback (dev only)
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/polku-hb/polku/platform/boot"
	"github.com/polku-hb/polku/platform/config"
	assessmentv1 "github.com/polku-hb/polku/proto/gen/go/polku/assessment/v1"
	budgetv1 "github.com/polku-hb/polku/proto/gen/go/polku/budget/v1"
	cataloguev1 "github.com/polku-hb/polku/proto/gen/go/polku/catalogue/v1"
	clientsv1 "github.com/polku-hb/polku/proto/gen/go/polku/clients/v1"
	"github.com/polku-hb/polku/services/referral/service"
)

func main() { boot.Main("referral", run) }

func run(ctx context.Context, env *config.Env) error {
	addr := env.String("POLKU_REFERRAL_ADDR", ":9105")
	clientsTarget := env.String("POLKU_CLIENTS_TARGET", "127.0.0.1:9101")
	catalogueTarget := env.String("POLKU_CATALOGUE_TARGET", "127.0.0.1:9104")
	budgetTarget := env.String("POLKU_BUDGET_TARGET", "127.0.0.1:9103")
	assessmentTarget := env.String("POLKU_ASSESSMENT_TARGET", "127.0.0.1:9102")
	tokenFile := env.String("POLKU_REFERRAL_SERVICE_TOKEN_FILE", "")
	escalation := env.Duration("POLKU_REFERRAL_ESCALATION_INTERVAL", service.DefaultEscalationInterval)
	webhooks := env.Duration("POLKU_REFERRAL_WEBHOOK_INTERVAL", service.DefaultWebhookInterval)
	loopback := env.Bool("POLKU_REFERRAL_WEBHOOK_ALLOW_LOOPBACK_HTTP", false)
	if tokenFile == "" {
		env.Fail(errors.New("POLKU_REFERRAL_SERVICE_TOKEN_FILE is required (a SERVICE-role token for background work)"))
	}
	p, err := boot.Start(ctx, env, service.Name)
	if err != nil {
		return err
	}
	defer p.Close()
	clientsConn, err := p.Dial(clientsTarget)
	if err != nil {
		return err
	}
	catalogueConn, err := p.Dial(catalogueTarget)
	if err != nil {
		return err
	}
	budgetConn, err := p.Dial(budgetTarget)
	if err != nil {
		return err
	}
	assessmentConn, err := p.Dial(assessmentTarget)
	if err != nil {
		return err
	}
	st := p.Stores.Namespace(service.Namespace, service.Shards)
	svc, err := service.New(service.Deps{
		Store: st, Telemetry: p.Telemetry, Logger: p.Log,
		Clients:            clientsv1.NewClientsServiceClient(clientsConn),
		Catalogue:          cataloguev1.NewCatalogueServiceClient(catalogueConn),
		Budget:             budgetv1.NewBudgetServiceClient(budgetConn),
		Assessment:         assessmentv1.NewAssessmentServiceClient(assessmentConn),
		EscalationInterval: escalation, WebhookInterval: webhooks, AllowLoopbackHTTP: loopback,
		ServiceToken: func(context.Context) (string, error) {
			b, err := os.ReadFile(tokenFile)
			if err != nil {
				return "", fmt.Errorf("service token: %w", err)
			}
			return strings.TrimSpace(string(b)), nil
		},
	})
	if err != nil {
		return err
	}
	return p.Serve(ctx, addr, st.Ping, svc.Register, svc.RunWorkers, p.TrimEvents(st))
}
