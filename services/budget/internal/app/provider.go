package app

import (
	"context"
	"strconv"
	"strings"

	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/platform/store"
	"github.com/polku-hb/polku/services/budget/internal/ledger"
)

// ProviderCommitment is a provider's view of one commitment: nothing about
// the client or the budget.
type ProviderCommitment struct {
	Provider, Referral string
	O                  ledger.Open
}

// authorizeProvider lets a PROVIDER act for its own provider only.
func authorizeProvider(ctx context.Context, provider string) error {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return ErrUnauthenticated
	}
	if p.Role != auth.RoleProvider || "providers/"+p.ProviderID != provider {
		return ErrPermission
	}
	return nil
}

func (s *Service) providerCommitment(ctx context.Context, provider string, e store.IndexEntry) (ProviderCommitment, error) {
	parts := strings.Split(e.ID, "/")
	if len(parts) != 3 {
		return ProviderCommitment{}, ErrNotFound
	}
	seq, _ := strconv.ParseInt(parts[2], 10, 64)
	o, _, err := s.repo.Open(ctx, parts[0], parts[1], seq)
	if err != nil {
		return ProviderCommitment{}, notFound(err)
	}
	return ProviderCommitment{Provider: provider, Referral: e.SortKey, O: *o}, nil
}

// GetProviderCommitment reads the commitment of a referral sent to the
// provider (the newest one when the referral had several).
func (s *Service) GetProviderCommitment(ctx context.Context, provider, referralID string) (ProviderCommitment, error) {
	if err := authorizeProvider(ctx, provider); err != nil {
		return ProviderCommitment{}, err
	}
	referral := "referrals/" + referralID
	pg, err := s.repo.ProviderCommitments(ctx, provider, referral, store.IndexEntry{}, 100)
	if err != nil {
		return ProviderCommitment{}, err
	}
	var best *ProviderCommitment
	for _, e := range pg.Entries {
		if e.SortKey != referral {
			continue
		}
		pc, err := s.providerCommitment(ctx, provider, e)
		if err != nil {
			continue
		}
		if best == nil || pc.O.OpenCents() > 0 || pc.O.Create.After(best.O.Create) && best.O.OpenCents() == 0 {
			best = &pc
		}
	}
	if best == nil {
		return ProviderCommitment{}, ErrNotFound
	}
	return *best, nil
}

// ListProviderCommitments pages the provider's commitments (by referral id).
func (s *Service) ListProviderCommitments(ctx context.Context, provider string, size int32, token string) ([]ProviderCommitment, string, error) {
	if err := authorizeProvider(ctx, provider); err != nil {
		return nil, "", err
	}
	n, after, query, err := page(size, token, "pcmt:"+provider)
	if err != nil {
		return nil, "", err
	}
	pg, err := s.repo.ProviderCommitments(ctx, provider, "", after, n)
	if err != nil {
		return nil, "", err
	}
	out := make([]ProviderCommitment, 0, len(pg.Entries))
	for _, e := range pg.Entries {
		pc, err := s.providerCommitment(ctx, provider, e)
		if err != nil {
			return nil, "", err
		}
		out = append(out, pc)
	}
	return out, nextToken(pg, query), nil
}

var zeroEntry = store.IndexEntry{}
