// Command clients runs the clients service alone (one container in Kubernetes).
// Configuration is read from the environment: see docs/configuration.md.
package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/polku-hb/polku/platform/boot"
	"github.com/polku-hb/polku/platform/config"
	"github.com/polku-hb/polku/platform/store"
	"github.com/polku-hb/polku/services/clients/service"
)

func main() { boot.Main("clients", run) }

func run(ctx context.Context, env *config.Env) error {
	addr := env.String("POLKU_CLIENTS_ADDR", ":9101")
	sources := env.String("POLKU_TIMELINE_SOURCES", "")
	keyB64 := env.String("POLKU_PIC_KEY", "")
	env.Require("POLKU_PIC_KEY", keyB64)
	keyVersion := env.Int("POLKU_PIC_KEY_VERSION", 1)
	oldKeysB64 := env.String("POLKU_PIC_OLD_KEYS", "")
	if keyVersion < 1 || keyVersion > 255 {
		env.Fail(fmt.Errorf("POLKU_PIC_KEY_VERSION: %d is not 1-255", keyVersion))
	}
	p, err := boot.Start(ctx, env, service.Name)
	if err != nil {
		return err
	}
	defer p.Close()
	picKey, err := service.ParseKey(keyB64)
	if err != nil {
		return fmt.Errorf("POLKU_PIC_KEY: %w", err)
	}
	oldKeys, err := service.ParseOldKeys(oldKeysB64)
	if err != nil {
		return fmt.Errorf("POLKU_PIC_OLD_KEYS: %w", err)
	}
	timelineSources, err := parseSources(p.Stores, sources)
	if err != nil {
		return err
	}
	st := p.Stores.Namespace(service.Namespace, service.Shards)
	svc, err := service.New(service.Deps{Store: st, PICKey: picKey, PICKeyVersion: byte(keyVersion), PICOldKeys: oldKeys,
		Telemetry: p.Telemetry, Logger: p.Log})
	if err != nil {
		return err
	}
	return p.Serve(ctx, addr, st.Ping, svc.Register, p.TrimEvents(st), func(ctx context.Context) error {
		return svc.RunConsumers(ctx, timelineSources...)
	})
}

// parseSources reads POLKU_TIMELINE_SOURCES: "namespace:shards,..." of the other
// services whose event streams feed the timeline (they must share this Redis).
func parseSources(stores *boot.Stores, spec string) ([]store.Store, error) {
	var out []store.Store
	for _, part := range strings.Split(spec, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		ns, n, ok := strings.Cut(part, ":")
		shards, err := strconv.Atoi(n)
		if !ok || ns == "" || err != nil || shards < 1 {
			return nil, fmt.Errorf("POLKU_TIMELINE_SOURCES: %q must be namespace:shards", part)
		}
		out = append(out, stores.Namespace(ns, shards))
	}
	return out, nil
}
