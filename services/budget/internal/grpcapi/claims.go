package grpcapi

import (
	"context"
	"strings"

	budgetv1 "github.com/polku-hb/polku/proto/gen/go/polku/budget/v1"
	cataloguev1 "github.com/polku-hb/polku/proto/gen/go/polku/catalogue/v1"
	"github.com/polku-hb/polku/services/budget/internal/app"
	"github.com/polku-hb/polku/services/budget/internal/ledger"
)

func claimToProto(c *ledger.Claim, forProvider bool) *budgetv1.Claim {
	out := &budgetv1.Claim{Name: app.ClaimName(c), Referral: c.Referral, DeliveryDate: toDate(c.Delivery), Unit: unit(c.Unit),
		Quantity: c.Quantity, UnitPriceCents: c.UnitCents, AmountCents: c.Amount(), InvoiceNumber: c.InvoiceNumber,
		SubmittedBy: c.SubmittedBy, CreateTime: ts(c.CreateTime)}
	if !forProvider && c.SpendSeq != 0 {
		out.SpendEntry = app.EntryName(c.ClientID, c.BudgetID, c.SpendSeq)
	}
	return out
}

func claimFromProto(c *budgetv1.Claim) ledger.Claim {
	u := ""
	if c.GetUnit() != cataloguev1.PriceUnit_PRICE_UNIT_UNSPECIFIED {
		u = c.GetUnit().String()
	}
	ref := c.GetReferral()
	if ref != "" && !strings.HasPrefix(ref, "referrals/") {
		ref = "referrals/" + ref
	}
	return ledger.Claim{Referral: ref, Delivery: fromDate(c.GetDeliveryDate()), Unit: u, Quantity: c.GetQuantity(),
		UnitCents: c.GetUnitPriceCents(), InvoiceNumber: c.GetInvoiceNumber()}
}

// CreateClaim implements the RPC.
func (s *Server) CreateClaim(ctx context.Context, req *budgetv1.CreateClaimRequest) (*budgetv1.Claim, error) {
	id, ok := parse(req.GetParent(), "providers")
	if !ok {
		return nil, badName("parent", "providers/{provider}")
	}
	c, err := s.app.CreateClaim(ctx, "providers/"+id[0], claimFromProto(req.GetClaim()), req.GetRequestId())
	if err != nil {
		return nil, s.toStatus(ctx, req.GetParent()+"/claims", err)
	}
	return claimToProto(c, true), nil
}

// GetClaim implements the RPC.
func (s *Server) GetClaim(ctx context.Context, req *budgetv1.GetClaimRequest) (*budgetv1.Claim, error) {
	id, ok := parse(req.GetName(), "providers", "claims")
	if !ok {
		return nil, badName("name", "providers/{provider}/claims/{claim}")
	}
	c, err := s.app.GetClaim(ctx, "providers/"+id[0], id[1])
	if err != nil {
		return nil, s.toStatus(ctx, req.GetName(), err)
	}
	return claimToProto(c, true), nil
}

// ListClaims implements the RPC (newest first; no filter yet).
func (s *Server) ListClaims(ctx context.Context, req *budgetv1.ListClaimsRequest) (*budgetv1.ListClaimsResponse, error) {
	id, ok := parse(req.GetParent(), "providers")
	if !ok {
		return nil, badName("parent", "providers/{provider}")
	}
	if req.GetFilter() != "" {
		return nil, badName("filter", "empty (filters are not supported yet)")
	}
	list, next, err := s.app.ListClaims(ctx, "providers/"+id[0], req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, s.toStatus(ctx, req.GetParent(), err)
	}
	out := &budgetv1.ListClaimsResponse{NextPageToken: next}
	for _, c := range list {
		out.Claims = append(out.Claims, claimToProto(c, true))
	}
	return out, nil
}

// UploadClaims implements the RPC.
func (s *Server) UploadClaims(ctx context.Context, req *budgetv1.UploadClaimsRequest) (*budgetv1.UploadClaimsResponse, error) {
	id, ok := parse(req.GetParent(), "providers")
	if !ok {
		return nil, badName("parent", "providers/{provider}")
	}
	rows, err := s.app.UploadClaims(ctx, "providers/"+id[0], req.GetCsvData(), req.GetValidateOnly(), req.GetRequestId(), cataloguev1.PriceUnit_value)
	if err != nil {
		return nil, s.toStatus(ctx, req.GetParent()+"/claims", err)
	}
	out := &budgetv1.UploadClaimsResponse{}
	for _, r := range rows {
		res := &budgetv1.ClaimRowResult{Line: int32(r.Line), InvoiceNumber: r.Invoice, Accepted: r.Refusal == nil}
		if r.Refusal != nil {
			res.RefusalReason = budgetv1.ClaimRefusalReason(budgetv1.ClaimRefusalReason_value["CLAIM_REFUSAL_REASON_"+string(r.Refusal.Reason)])
			res.Message = r.Refusal.Message
			out.RefusedCount++
		} else {
			out.AcceptedCount++
			if r.Claim != nil {
				res.Claim = claimToProto(r.Claim, true)
			}
		}
		out.Rows = append(out.Rows, res)
	}
	return out, nil
}
