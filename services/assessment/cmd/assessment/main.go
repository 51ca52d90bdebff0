// Command assessment runs the assessment service alone (one container in
// Kubernetes). Configuration is read from the environment: see docs/configuration.md.
package main

import (
	"context"
	"errors"

	"github.com/polku-hb/polku/platform/boot"
	"github.com/polku-hb/polku/platform/config"
	cataloguev1 "github.com/polku-hb/polku/proto/gen/go/polku/catalogue/v1"
	clientsv1 "github.com/polku-hb/polku/proto/gen/go/polku/clients/v1"
	"github.com/polku-hb/polku/services/assessment/service"
)

func main() { boot.Main("assessment", run) }

func run(ctx context.Context, env *config.Env) error {
	addr := env.String("POLKU_ASSESSMENT_ADDR", ":9102")
	clientsTarget := env.String("POLKU_CLIENTS_TARGET", "127.0.0.1:9101")
	catalogueTarget := env.String("POLKU_CATALOGUE_TARGET", "127.0.0.1:9104")
	limit := env.Int64("POLKU_ASSESSMENT_AUTHORITY_LIMIT_CENTS", service.DefaultAuthorityLimitCents)
	if limit <= 0 {
		env.Fail(errors.New("POLKU_ASSESSMENT_AUTHORITY_LIMIT_CENTS must be a positive number of cents"))
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
	st := p.Stores.Namespace(service.Namespace, service.Shards)
	svc, err := service.New(service.Deps{
		Store: st, Telemetry: p.Telemetry, Logger: p.Log, AuthorityLimitCents: limit,
		Clients:   clientsv1.NewClientsServiceClient(clientsConn),
		Catalogue: cataloguev1.NewCatalogueServiceClient(catalogueConn),
	})
	if err != nil {
		return err
	}
	return p.Serve(ctx, addr, st.Ping, svc.Register, p.TrimEvents(st))
}
