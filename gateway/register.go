package gateway

import (
	"context"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"

	clientsv1 "github.com/polku-hb/polku/proto/gen/go/polku/clients/v1"
)

// registrations attach each service's generated REST handlers to the mux.
var registrations = map[string]func(context.Context, *runtime.ServeMux, *grpc.ClientConn) error{
	"clients": clientsv1.RegisterClientsServiceHandler,
}
