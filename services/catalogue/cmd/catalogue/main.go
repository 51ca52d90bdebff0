// Command catalogue runs the provider-catalogue service alone (one container in
// Kubernetes). Configuration is read from the environment: see docs/configuration.md.
package main

import (
	"context"
	"fmt"

	"github.com/polku-hb/polku/platform/boot"
	"github.com/polku-hb/polku/platform/config"
	"github.com/polku-hb/polku/services/catalogue/service"
)

func main() { boot.Main("catalogue", run) }

func run(ctx context.Context, env *config.Env) error {
	addr := env.String("POLKU_CATALOGUE_ADDR", ":9104")
	search := env.String("POLKU_CATALOGUE_SEARCH", "projection")
	if search != "projection" && search != "store" {
		env.Fail(fmt.Errorf("POLKU_CATALOGUE_SEARCH: %q is neither projection nor store", search))
	}
	p, err := boot.Start(ctx, env, service.Name)
	if err != nil {
		return err
	}
	defer p.Close()
	st := p.Stores.Namespace(service.Namespace, service.Shards)
	svc, err := service.New(service.Deps{Store: st, Telemetry: p.Telemetry, Logger: p.Log, SearchFromStore: search == "store"})
	if err != nil {
		return err
	}
	if err := svc.LoadSearch(ctx); err != nil {
		return fmt.Errorf("load the search projection: %w", err)
	}
	return p.Serve(ctx, addr, st.Ping, svc.Register)
}
