// Command budget runs the budget service alone (one container in Kubernetes).
// Configuration is read from the environment: see docs/configuration.md.
package main

import (
	"context"
	"errors"
	"time"

	"github.com/polku-hb/polku/platform/boot"
	"github.com/polku-hb/polku/platform/config"
	assessmentv1 "github.com/polku-hb/polku/proto/gen/go/polku/assessment/v1"
	cataloguev1 "github.com/polku-hb/polku/proto/gen/go/polku/catalogue/v1"
	clientsv1 "github.com/polku-hb/polku/proto/gen/go/polku/clients/v1"
	"github.com/polku-hb/polku/services/budget/service"
)

func main() { boot.Main("budget", run) }

func run(ctx context.Context, env *config.Env) error {
	addr := env.String("POLKU_BUDGET_ADDR", ":9103")
	clientsTarget := env.String("POLKU_CLIENTS_TARGET", "127.0.0.1:9101")
	assessmentTarget := env.String("POLKU_ASSESSMENT_TARGET", "127.0.0.1:9102")
	catalogueTarget := env.String("POLKU_CATALOGUE_TARGET", "127.0.0.1:9104")
	limit := env.Int64("POLKU_BUDGET_AUTHORITY_LIMIT_CENTS", service.DefaultAuthorityLimitCents)
	if limit <= 0 {
		env.Fail(errors.New("POLKU_BUDGET_AUTHORITY_LIMIT_CENTS must be a positive number of cents"))
	}
	realloc := env.Int64("POLKU_BUDGET_REALLOCATION_LIMIT_BASIS_POINTS", service.DefaultReallocationLimitBasisPoints)
	if realloc <= 0 || realloc > 10000 {
		env.Fail(errors.New("POLKU_BUDGET_REALLOCATION_LIMIT_BASIS_POINTS must be 1..10000 (basis points of the budget's allocation)"))
	}
	expiryDays := env.Int("POLKU_BUDGET_EXPIRY_ALERT_DAYS", service.DefaultExpiryAlertDays)
	if expiryDays <= 0 {
		env.Fail(errors.New("POLKU_BUDGET_EXPIRY_ALERT_DAYS must be a positive number of days"))
	}
	alertInterval := env.Duration("POLKU_BUDGET_ALERT_INTERVAL", service.DefaultAlertInterval)
	if alertInterval <= 0 {
		env.Fail(errors.New("POLKU_BUDGET_ALERT_INTERVAL must be a positive duration"))
	}
	grace := env.Duration("POLKU_BUDGET_RESERVATION_GRACE", service.DefaultReservationGrace)
	if grace < time.Minute {
		env.Fail(errors.New("POLKU_BUDGET_RESERVATION_GRACE must be at least 1m (far longer than any request runs)"))
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
	assessmentConn, err := p.Dial(assessmentTarget)
	if err != nil {
		return err
	}
	catalogueConn, err := p.Dial(catalogueTarget)
	if err != nil {
		return err
	}
	st := p.Stores.Namespace(service.Namespace, service.Shards)
	svc, err := service.New(service.Deps{
		Store: st, Telemetry: p.Telemetry, Logger: p.Log, AuthorityLimitCents: limit, ReallocationLimitBasisPoints: realloc,
		ExpiryAlertDays: expiryDays, AlertInterval: alertInterval, ReservationGrace: grace,
		Clients:    clientsv1.NewClientsServiceClient(clientsConn),
		Catalogue:  cataloguev1.NewCatalogueServiceClient(catalogueConn),
		Assessment: assessmentv1.NewAssessmentServiceClient(assessmentConn),
	})
	if err != nil {
		return err
	}
	return p.Serve(ctx, addr, st.Ping, svc.Register, svc.RunWorkers, p.TrimEvents(st))
}
