package gateway

import (
	"context"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"

	assessmentv1 "github.com/polku-hb/polku/proto/gen/go/polku/assessment/v1"
	budgetv1 "github.com/polku-hb/polku/proto/gen/go/polku/budget/v1"
	cataloguev1 "github.com/polku-hb/polku/proto/gen/go/polku/catalogue/v1"
	clientsv1 "github.com/polku-hb/polku/proto/gen/go/polku/clients/v1"
	referralv1 "github.com/polku-hb/polku/proto/gen/go/polku/referral/v1"
)

// registrations attach each service's generated REST handlers to the mux.
var registrations = map[string]func(context.Context, *runtime.ServeMux, *grpc.ClientConn) error{
	"clients":    clientsv1.RegisterClientsServiceHandler,
	"assessment": assessmentv1.RegisterAssessmentServiceHandler,
	"budget":     budgetv1.RegisterBudgetServiceHandler,
	"catalogue":  cataloguev1.RegisterCatalogueServiceHandler,
	"referral":   referralv1.RegisterReferralServiceHandler,
}
