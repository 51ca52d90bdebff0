package app

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/platform/ids"
	"github.com/polku-hb/polku/services/budget/internal/ledger"
	repo "github.com/polku-hb/polku/services/budget/internal/store"
)

// ClaimName is a claim's resource name.
func ClaimName(c *ledger.Claim) string { return c.Provider + "/claims/" + c.ID }

// findCommitment finds the open commitment of a referral sent to the provider.
func (s *Service) findCommitment(ctx context.Context, provider, referral string) (clientID, budgetID string, o *ledger.Open, err error) {
	pg, err := s.repo.ProviderCommitments(ctx, provider, referral, zeroEntry, 100)
	if err != nil {
		return "", "", nil, err
	}
	found := false
	for _, e := range pg.Entries {
		if e.SortKey != referral {
			continue
		}
		found = true
		parts := strings.Split(e.ID, "/")
		if len(parts) != 3 {
			continue
		}
		seq, _ := strconv.ParseInt(parts[2], 10, 64)
		x, _, err := s.repo.Open(ctx, parts[0], parts[1], seq)
		if err != nil {
			continue
		}
		if x.OpenCents() > 0 || o == nil {
			clientID, budgetID, o = parts[0], parts[1], x
		}
	}
	if !found {
		return "", "", nil, &ledger.ClaimRefused{Reason: ledger.UnknownReferral, Message: "referral: no such referral with a budget commitment sent to this provider"}
	}
	return clientID, budgetID, o, nil
}

// duplicate returns the claim already made for the invoice number: the claim
// itself when it was made by this request id (a retry), else a refusal.
func (s *Service) duplicate(ctx context.Context, provider, invoice, requestID string) (*ledger.Claim, error) {
	claimIDs, err := s.repo.InvoiceClaims(ctx, provider, invoice)
	if err != nil {
		return nil, err
	}
	for _, id := range claimIDs {
		c, err := s.repo.Claim(ctx, provider, id)
		if err != nil {
			continue
		}
		if requestID != "" && c.RequestID == requestID {
			return c, nil
		}
		return nil, &ledger.ClaimRefused{Reason: ledger.DuplicateInvoice, Message: "invoice_number: already claimed by this provider"}
	}
	return nil, nil
}

// CreateClaim claims payment against the commitment of a referral sent to the
// provider: an accepted claim is a Claim and a SPEND, atomically.
func (s *Service) CreateClaim(ctx context.Context, provider string, c ledger.Claim, requestID string) (*ledger.Claim, error) {
	if err := authorizeProvider(ctx, provider); err != nil {
		return nil, err
	}
	if err := checkRequestID(requestID, false); err != nil {
		return nil, err
	}
	p, _ := auth.FromContext(ctx)
	return s.claim(ctx, p, provider, c, requestID, false)
}

func (s *Service) claim(ctx context.Context, p auth.Principal, provider string, c ledger.Claim, requestID string, validateOnly bool) (*ledger.Claim, error) {
	c.Provider = provider
	if err := ledger.ValidateClaim(c); err != nil {
		return nil, err
	}
	if prev, err := s.duplicate(ctx, provider, c.InvoiceNumber, requestID); err != nil || prev != nil {
		return prev, err
	}
	clientID, budgetID, o, err := s.findCommitment(ctx, provider, c.Referral)
	if err != nil {
		return nil, err
	}
	if err := ledger.CheckAgainst(c, o); err != nil {
		return nil, err
	}
	if validateOnly {
		return &c, nil
	}
	c.ID = ids.NewInShard(repo.ShardOf(clientID), repo.Shards)
	c.ClientID, c.BudgetID, c.SubmittedBy, c.RequestID, c.CreateTime = clientID, budgetID, p.Subject, requestID, s.now()
	// Step 1: reserve the invoice number provider-wide (in the provider's
	// shard). The client-shard batch below is atomic only within one client,
	// so without it two claims with the same number against two clients'
	// referrals could both be accepted.
	resVersion, err := s.repo.Reserve(ctx, provider, c.InvoiceNumber, repo.Reservation{RequestID: requestID, ClaimID: c.ID, Time: c.CreateTime})
	if errors.Is(err, repo.ErrReserved) {
		// A claim of the number exists, is being made, or was orphaned by a
		// crash of another request (see docs/budget.md, "Invoice reservations").
		if prev, err := s.duplicate(ctx, provider, c.InvoiceNumber, requestID); err != nil || prev != nil {
			return prev, err
		}
		return nil, &ledger.ClaimRefused{Reason: ledger.DuplicateInvoice, Message: "invoice_number: already claimed by this provider"}
	}
	if err != nil {
		return nil, err
	}
	// Step 2: the Claim and the SPEND in the client's shard.
	got, err := s.spendClaim(ctx, p, provider, clientID, budgetID, o.Seq, c, requestID)
	if err != nil {
		// Nothing was spent under this claim id: free the number so a
		// corrected claim can use it. A store failure that leaves the outcome
		// unknown keeps the reservation (the same request id takes it over).
		if _, gerr := s.repo.Claim(ctx, provider, c.ID); errors.Is(gerr, repo.ErrNotFound) {
			if prev, derr := s.duplicate(ctx, provider, c.InvoiceNumber, requestID); derr == nil && prev == nil {
				_, _ = s.repo.Release(ctx, provider, c.InvoiceNumber, resVersion)
			}
		}
		return nil, err
	}
	return got, nil
}

// spendClaim writes the Claim and its SPEND atomically in the client's shard.
func (s *Service) spendClaim(ctx context.Context, p auth.Principal, provider, clientID, budgetID string, commitment int64, c ledger.Claim, requestID string) (*ledger.Claim, error) {
	// The invoice number is the natural idempotency key of a claim.
	_, err := s.applyMove(ctx, p, clientID, budgetID, "inv:"+strings.TrimPrefix(provider, "providers/")+":"+c.InvoiceNumber, move{method: "claim", commitment: commitment,
		apply: func(p auth.Principal, b *ledger.Budget, o *ledger.Open) (ledger.Entry, *ledger.Open, error) {
			if err := ledger.CheckAgainst(c, o); err != nil {
				return ledger.Entry{}, nil, err
			}
			e, err := b.SpendAgainst(s.stamp(p, ledger.Entry{LineID: o.LineID, Amount: c.Amount(), Delivery: c.Delivery,
				Ref: ledger.Reference{Referral: c.Referral, Provider: provider, InvoiceNumber: c.InvoiceNumber, Claim: ClaimName(&c)}}, requestID), o)
			c.SpendSeq = e.Seq
			return e, nil, err
		},
		extra: func(w *repo.Write, _ ledger.Entry) {
			w.Claim(&c)
			w.Emit(s.event(ctx, p, "claim.accepted", clientID, ClaimName(&c), map[string]string{"referral": c.Referral,
				"entry": EntryName(clientID, budgetID, c.SpendSeq), "amount_cents": itoa(c.Amount())}))
		}})
	if err != nil {
		return nil, err
	}
	got, err := s.repo.Claim(ctx, provider, c.ID)
	if errors.Is(err, repo.ErrNotFound) {
		// A concurrent twin with the same invoice number won the race.
		if prev, err := s.duplicate(ctx, provider, c.InvoiceNumber, requestID); err != nil || prev != nil {
			return prev, err
		}
		return nil, &ledger.ClaimRefused{Reason: ledger.DuplicateInvoice, Message: "invoice_number: already claimed by this provider"}
	}
	return got, err
}

// GetClaim reads one of the provider's claims.
func (s *Service) GetClaim(ctx context.Context, provider, claimID string) (*ledger.Claim, error) {
	if err := authorizeProvider(ctx, provider); err != nil {
		return nil, err
	}
	c, err := s.repo.Claim(ctx, provider, claimID)
	if err != nil {
		return nil, notFound(err)
	}
	return c, nil
}

// ListClaims pages the provider's claims, newest first.
func (s *Service) ListClaims(ctx context.Context, provider string, size int32, token string) ([]*ledger.Claim, string, error) {
	if err := authorizeProvider(ctx, provider); err != nil {
		return nil, "", err
	}
	n, after, query, err := page(size, token, "pclaims:"+provider)
	if err != nil {
		return nil, "", err
	}
	pg, err := s.repo.ClaimIDs(ctx, provider, after, n)
	if err != nil {
		return nil, "", err
	}
	out := make([]*ledger.Claim, 0, len(pg.Entries))
	for _, e := range pg.Entries {
		c, err := s.repo.Claim(ctx, provider, e.ID)
		if err != nil {
			return nil, "", notFound(err)
		}
		out = append(out, c)
	}
	return out, nextToken(pg, query), nil
}

// RowResult is the result of one CSV row.
type RowResult struct {
	Line    int
	Invoice string
	Claim   *ledger.Claim
	Refusal *ledger.ClaimRefused
}

// UploadClaims validates a CSV file whole, then applies each row on its own
// (or only checks it, validateOnly), in file order.
func (s *Service) UploadClaims(ctx context.Context, provider string, data []byte, validateOnly bool, requestID string, units map[string]int32) ([]RowResult, error) {
	if err := authorizeProvider(ctx, provider); err != nil {
		return nil, err
	}
	if err := checkRequestID(requestID, false); err != nil {
		return nil, err
	}
	rows, err := ledger.ParseClaimsCSV(data, provider, units)
	if err != nil {
		return nil, err
	}
	p, _ := auth.FromContext(ctx)
	seen := map[string]bool{}
	out := make([]RowResult, 0, len(rows))
	for _, r := range rows {
		res := RowResult{Line: r.Line, Invoice: r.Claim.InvoiceNumber}
		err := r.Err
		if err == nil && seen[r.Claim.InvoiceNumber] {
			err = &ledger.ClaimRefused{Reason: ledger.DuplicateInvoice, Message: "invoice_number: repeated in the file"}
		}
		if err == nil {
			rid := ""
			if requestID != "" {
				rid = requestID + ":" + strconv.Itoa(r.Line)
			}
			res.Claim, err = s.claim(ctx, p, provider, r.Claim, rid, validateOnly)
		}
		seen[r.Claim.InvoiceNumber] = true
		var ref *ledger.ClaimRefused
		switch {
		case err == nil:
			if validateOnly {
				res.Claim = nil
			}
		case errors.As(err, &ref):
			res.Refusal, res.Claim = ref, nil
		default:
			return nil, err // the store or a peer failed: stop, earlier rows stay applied
		}
		out = append(out, res)
	}
	return out, nil
}
