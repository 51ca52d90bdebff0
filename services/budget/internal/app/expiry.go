package app

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/platform/events"
	"github.com/polku-hb/polku/platform/store"
	"github.com/polku-hb/polku/services/budget/internal/ledger"
	repo "github.com/polku-hb/polku/services/budget/internal/store"
)

// DefaultExpiryAlertDays is how many days before its period ends an ACTIVE
// budget with money left raises budget.expiring_with_money_left.
const DefaultExpiryAlertDays = 30

// DefaultAlertInterval is how often the alert worker scans.
const DefaultAlertInterval = time.Hour

// ExpiringEvent is the event type of the expiry alert.
const ExpiringEvent = "budget.expiring_with_money_left"

// SetClock replaces the clock (tests).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// RunExpiryAlerts scans every interval until ctx ends (the first scan runs at
// once). A failed scan is logged and retried at the next tick.
func (s *Service) RunExpiryAlerts(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := s.AlertExpiring(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("expiry alerts", "error", err.Error())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// AlertExpiring runs one pass: every ACTIVE budget whose period ends within
// the horizon (today .. today+days) and still has money available raises the
// alert once per period. The marker key created in the same batch as the
// event makes this safe with several replicas and across restarts. It
// returns how many alerts this pass raised.
func (s *Service) AlertExpiring(ctx context.Context) (int, error) {
	days := s.cfg.ExpiryAlertDays
	if days <= 0 {
		days = DefaultExpiryAlertDays
	}
	now := s.now().UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	cutoff := repo.DateKey(dateOf(today.AddDate(0, 0, days)))
	after := store.IndexEntry{SortKey: repo.DateKey(dateOf(today))} // ID "" sorts first: today's ends are included
	raised := 0
	for {
		pg, err := s.repo.Expiring(ctx, after, 200)
		if err != nil {
			return raised, err
		}
		for _, e := range pg.Entries {
			if e.SortKey > cutoff {
				return raised, nil
			}
			ok, err := s.alertExpiring(ctx, e.ID, today)
			if err != nil {
				return raised, err
			}
			if ok {
				raised++
			}
		}
		if !pg.More || len(pg.Entries) == 0 {
			return raised, nil
		}
		after = pg.Entries[len(pg.Entries)-1]
	}
}

func dateOf(t time.Time) ledger.Date {
	return ledger.Date{Year: t.Year(), Month: int(t.Month()), Day: t.Day()}
}

// alertExpiring raises one budget's alert unless it was raised, the budget is
// no longer ACTIVE or nothing is available.
func (s *Service) alertExpiring(ctx context.Context, id string, today time.Time) (bool, error) {
	clientID, budgetID, ok := strings.Cut(id, "/")
	if !ok {
		return false, nil
	}
	for range maxAttempts {
		b, v, err := s.repo.Budget(ctx, clientID, budgetID)
		if errors.Is(err, repo.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if b.State != ledger.Active || b.End.IsZero() {
			return false, nil
		}
		_, _, _, avail := b.Totals()
		if avail <= 0 {
			return false, nil
		}
		done, err := s.repo.ExpiryAlerted(ctx, clientID, budgetID, b.End)
		if err != nil || done {
			return false, err
		}
		daysLeft := int64(b.End.Time().Sub(today).Hours() / 24)
		ev := events.New(ctx, Source, EventPrefix+ExpiringEvent, BudgetName(clientID, budgetID), s.now())
		ev.Client, ev.Actor, ev.ActorRole = clientID, "system", string(auth.RoleService)
		ev.Data = map[string]string{"budget": budgetID, "period_end": repo.DateKey(b.End),
			"days_left": strconv.FormatInt(daysLeft, 10), "available_cents": strconv.FormatInt(avail, 10)}
		switch err := s.repo.RaiseExpiryAlert(ctx, clientID, budgetID, b.End, v, ev); {
		case err == nil:
			return true, nil
		case errors.Is(err, repo.ErrAlerted):
			return false, nil
		case errors.Is(err, repo.ErrConflict):
			if ctx.Err() != nil {
				return false, ctx.Err()
			}
			continue // the budget moved or a twin raced: re-read
		default:
			return false, err
		}
	}
	return false, ErrBusy
}
