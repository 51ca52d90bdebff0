// Package pending serves the gRPC APIs of services whose implementation has not
// landed yet. Their contract exists (proto/), so the all-in-one registers the
// generated Unimplemented servers: reflection lists them, the gateway routes to
// them, and every call answers UNIMPLEMENTED instead of failing to connect.
// A service leaves this list when its real implementation is wired in dev.
package pending

import (
	"slices"

	"google.golang.org/grpc"

	budgetv1 "github.com/polku-hb/polku/proto/gen/go/polku/budget/v1"
)

var servers = map[string]func(grpc.ServiceRegistrar){
	"budget": func(r grpc.ServiceRegistrar) {
		budgetv1.RegisterBudgetServiceServer(r, budgetv1.UnimplementedBudgetServiceServer{})
	},
}

// Services lists the services still pending, in a stable order.
func Services() []string {
	names := make([]string, 0, len(servers))
	for n := range servers {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Register registers the placeholder of a pending service.
func Register(r grpc.ServiceRegistrar, name string) {
	if f, ok := servers[name]; ok {
		f(r)
	}
}
