package app

import (
	"context"
	"errors"
	"time"

	repo "github.com/polku-hb/polku/services/budget/internal/store"
)

// DefaultReservationGrace is how old an invoice-number reservation must be
// before reconciliation may call it orphaned. It is far longer than any
// request may run (the gRPC deadlines are seconds), so the request that made
// the reservation has either written its claim or never will.
const DefaultReservationGrace = 15 * time.Minute

// pendingPage bounds one shard's read per pass; the rest waits for the next.
const pendingPage = 500

// ReconcileReservations runs one pass over the reservations made more than
// grace ago and not yet settled: one whose claim exists is settled as done,
// one without a claim is an orphan of a crashed request and is deleted
// (compare-and-set on the version read, so a retry that took it over meanwhile
// keeps it), which frees the invoice number. Entries left by a take-over or a
// release are dropped. Safe in every replica at once. It returns how many
// orphans it cleared.
func (s *Service) ReconcileReservations(ctx context.Context, grace time.Duration) (int, error) {
	if grace <= 0 {
		grace = DefaultReservationGrace
	}
	before := repo.TimeKey(s.now().Add(-grace))
	cleared := 0
	for shard := range repo.Shards {
		list, err := s.repo.PendingBefore(ctx, shard, before, pendingPage)
		if err != nil {
			return cleared, err
		}
		for _, p := range list {
			orphan, err := s.settle(ctx, p)
			if err != nil {
				return cleared, err
			}
			if orphan {
				cleared++
			}
		}
	}
	return cleared, nil
}

// settle decides one pending entry; it reports whether an orphan was cleared.
func (s *Service) settle(ctx context.Context, p repo.Pending) (bool, error) {
	res, version, err := s.repo.Reservation(ctx, p.Provider, p.Invoice)
	switch {
	case errors.Is(err, repo.ErrNotFound):
		version = 0 // released by its request: only the entry goes
	case err != nil:
		return false, err
	case repo.TimeKey(res.Time) != p.Time:
		version = 0 // taken over by a retry, which wrote an entry of its own
	default:
		_, cerr := s.repo.Claim(ctx, p.Provider, res.ClaimID)
		switch {
		case cerr == nil:
			version = 0 // the claim was written: the reservation stays for good
		case !errors.Is(cerr, repo.ErrNotFound):
			return false, cerr
		}
	}
	err = s.repo.Settle(ctx, p, version)
	if errors.Is(err, repo.ErrConflict) {
		return false, nil // changed meanwhile (a take-over or another replica): next pass
	}
	return version > 0 && err == nil, err
}

// RunReconciliation runs ReconcileReservations every interval until ctx ends.
// A failed pass is logged (without invoice numbers or ids) and retried.
func (s *Service) RunReconciliation(ctx context.Context, interval, grace time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n, err := s.ReconcileReservations(ctx, grace)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("invoice reservation reconciliation", "error", err.Error())
		}
		if n > 0 {
			s.log.Info("invoice reservations cleared", "orphans", n)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
