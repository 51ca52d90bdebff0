package app

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/platform/store"
	"github.com/polku-hb/polku/services/budget/internal/ledger"
	repo "github.com/polku-hb/polku/services/budget/internal/store"
)

// EntryView is a ledger entry with its budget and, for a COMMITMENT, its open
// amount now.
type EntryView struct {
	ClientID, BudgetID string
	E                  ledger.Entry
	OpenCents          int64
}

// EntryName is a ledger entry's resource name.
func EntryName(clientID, budgetID string, seq int64) string {
	return BudgetName(clientID, budgetID) + "/ledgerEntries/" + strconv.FormatInt(seq, 10)
}

// ParseEntryName splits `clients/{c}/budgets/{b}/ledgerEntries/{seq}`.
func ParseEntryName(name string) (clientID, budgetID string, seq int64, ok bool) {
	parts := strings.Split(name, "/")
	if len(parts) != 6 || parts[0] != "clients" || parts[2] != "budgets" || parts[4] != "ledgerEntries" || parts[1] == "" || parts[3] == "" {
		return "", "", 0, false
	}
	seq, err := strconv.ParseInt(parts[5], 10, 64)
	if err != nil || seq <= 0 {
		return "", "", 0, false
	}
	return parts[1], parts[3], seq, true
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func slicesContains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// move is one money move: it is retried on a lost compare-and-set, answered
// from the idempotency key when the request was already applied, and writes
// the entry, the budget's cached balances, the commitment's open state, the
// request key and the events in one atomic batch.
type move struct {
	method     string
	commitment int64 // the commitment a RELEASE/SPEND names (0: none)
	needOpen   bool
	// serviceMay lets a SERVICE caller make the move (release only).
	serviceMay bool
	apply      func(p auth.Principal, b *ledger.Budget, o *ledger.Open) (ledger.Entry, *ledger.Open, error)
	// extra adds writes of the use case (a claim) to the batch.
	extra func(w *repo.Write, e ledger.Entry)
}

func (s *Service) money(ctx context.Context, clientID, budgetID, requestID string, m move, roles ...auth.Role) (EntryView, error) {
	need := write
	if m.serviceMay {
		need = release
	}
	p, _, err := s.authorize(ctx, clientID, need)
	if err != nil {
		return EntryView{}, err
	}
	if len(roles) > 0 && !p.Is(roles...) {
		return EntryView{}, ErrPermission
	}
	if err := checkRequestID(requestID, true); err != nil {
		return EntryView{}, err
	}
	return s.applyMove(ctx, p, clientID, budgetID, requestID, m)
}

func (s *Service) applyMove(ctx context.Context, p auth.Principal, clientID, budgetID, requestID string, m move) (EntryView, error) {
	// Moves on one budget queue in this process instead of losing
	// compare-and-set races to each other; the store's compare-and-set still
	// decides between processes (replicas).
	mu := &s.stripes[store.ShardOf(clientID+"/"+budgetID, len(s.stripes))]
	mu.Lock()
	defer mu.Unlock()
	var out EntryView
	err := retry(ctx, func() error {
		if res, ok, err := s.repo.RequestResult(ctx, clientID, m.method, requestID); err != nil {
			return err
		} else if ok {
			bid, seqs, _ := strings.Cut(res, "/")
			seq, _ := strconv.ParseInt(seqs, 10, 64)
			out, err = s.entryView(ctx, clientID, bid, seq)
			return err
		}
		b, v, err := s.repo.Budget(ctx, clientID, budgetID)
		if err != nil {
			return notFound(err)
		}
		var o *ledger.Open
		var ov int64
		if m.commitment != 0 {
			o, ov, err = s.repo.Open(ctx, clientID, budgetID, m.commitment)
			if err != nil {
				if err == repo.ErrNotFound {
					return ledger.Violations{{Field: "commitment", Rule: "must name a COMMITMENT entry of the budget"}}
				}
				return err
			}
		} else if m.needOpen {
			return ledger.Violations{{Field: "commitment", Rule: "is required"}}
		}
		e, created, err := m.apply(p, b, o)
		if err != nil {
			return err
		}
		alert := b.CrossedAlert(e.LineID)
		b.UpdateTime = s.now()
		name := BudgetName(clientID, budgetID)
		w := repo.NewWrite(clientID).Budget(b, v).Entry(budgetID, e).Request(m.method, requestID, budgetID+"/"+itoa(e.Seq))
		data := map[string]string{"entry": EntryName(clientID, budgetID, e.Seq), "kind": string(e.Kind), "line_id": e.LineID, "amount_cents": itoa(e.Amount)}
		if e.Ref.Referral != "" {
			data["referral"] = e.Ref.Referral
		}
		w.Emit(s.event(ctx, p, "ledger_entry.created", clientID, name, data))
		if o != nil {
			w.Open(budgetID, o, ov)
		}
		if created != nil {
			w.Open(budgetID, created, 0)
		}
		if alert {
			l := b.Line(e.LineID)
			w.Emit(s.event(ctx, p, "line.usage_alert", clientID, name, map[string]string{"line_id": e.LineID,
				"used_basis_points": itoa(int64(l.UsedBasisPoints())), "available_cents": itoa(l.Available())}))
		}
		if e.Kind == ledger.Spend && e.Commitment == 0 && b.ManagementMode == "MANAGEMENT_MODE_REGION_PAYS" {
			w.Emit(s.event(ctx, p, "spend.without_commitment", clientID, name, map[string]string{"entry": EntryName(clientID, budgetID, e.Seq), "line_id": e.LineID}))
		}
		if m.extra != nil {
			m.extra(w, e)
		}
		if err := s.repo.Commit(ctx, w); err != nil {
			return err
		}
		out = EntryView{ClientID: clientID, BudgetID: budgetID, E: e}
		if created != nil {
			out.OpenCents = created.OpenCents()
		}
		return nil
	})
	return out, err
}

func (s *Service) entryView(ctx context.Context, clientID, budgetID string, seq int64) (EntryView, error) {
	e, err := s.repo.Entry(ctx, clientID, budgetID, seq)
	if err != nil {
		return EntryView{}, notFound(err)
	}
	out := EntryView{ClientID: clientID, BudgetID: budgetID, E: *e}
	if e.Kind == ledger.Commitment {
		if o, _, err := s.repo.Open(ctx, clientID, budgetID, seq); err == nil {
			out.OpenCents = o.OpenCents()
		}
	}
	return out, nil
}

func (s *Service) stamp(p auth.Principal, e ledger.Entry, requestID string) ledger.Entry {
	e.Actor, e.ActorRole, e.RequestID, e.CreateTime = p.Subject, string(p.Role), requestID, s.now()
	return e
}

// CommitFunds reserves funds on a line.
func (s *Service) CommitFunds(ctx context.Context, clientID, budgetID, lineID string, amount int64, ref ledger.Reference, requestID string) (EntryView, error) {
	if ref.Provider != "" && !validProvider(ref.Provider) {
		return EntryView{}, ledger.Violations{{Field: "reference.provider", Rule: "must be providers/{provider}"}}
	}
	if ref.Referral != "" && (!strings.HasPrefix(ref.Referral, "referrals/") || strings.Count(ref.Referral, "/") != 1 || len(ref.Referral) == len("referrals/")) {
		return EntryView{}, ledger.Violations{{Field: "reference.referral", Rule: "must be referrals/{referral}"}}
	}
	return s.money(ctx, clientID, budgetID, requestID, move{method: "commit",
		apply: func(p auth.Principal, b *ledger.Budget, _ *ledger.Open) (ledger.Entry, *ledger.Open, error) {
			return b.Commit(s.stamp(p, ledger.Entry{LineID: lineID, Amount: amount, Ref: ref}, requestID))
		}})
}

func validProvider(name string) bool {
	rest, ok := strings.CutPrefix(name, "providers/")
	return ok && rest != "" && !strings.Contains(rest, "/")
}

// ReleaseFunds returns unused commitment to its line.
func (s *Service) ReleaseFunds(ctx context.Context, clientID, budgetID, commitment string, amount int64, reason, requestID string) (EntryView, error) {
	seq, err := commitmentSeq(clientID, budgetID, commitment)
	if err != nil {
		return EntryView{}, err
	}
	if strings.TrimSpace(reason) == "" {
		return EntryView{}, ledger.Violations{{Field: "reason", Rule: "is required"}}
	}
	return s.money(ctx, clientID, budgetID, requestID, move{method: "release", commitment: seq, needOpen: true, serviceMay: true,
		apply: func(p auth.Principal, b *ledger.Budget, o *ledger.Open) (ledger.Entry, *ledger.Open, error) {
			if p.Role == auth.RoleService && o.Referral == "" {
				return ledger.Entry{}, nil, ErrPermission // a service releases referral commitments only
			}
			e, err := b.Release(s.stamp(p, ledger.Entry{Amount: amount, Reason: reason, Ref: ledger.Reference{Referral: o.Referral, Provider: o.Provider}}, requestID), o)
			return e, nil, err
		}})
}

func commitmentSeq(clientID, budgetID, name string) (int64, error) {
	c, b, seq, ok := ParseEntryName(name)
	if !ok || c != clientID || b != budgetID {
		return 0, ledger.Violations{{Field: "commitment", Rule: "must be a ledger entry of the budget: clients/{client}/budgets/{budget}/ledgerEntries/{n}"}}
	}
	return seq, nil
}

// SpendFunds records a spend against a commitment or a line.
func (s *Service) SpendFunds(ctx context.Context, clientID, budgetID, lineID, commitment string, amount int64, ref ledger.Reference, delivery ledger.Date, requestID string) (EntryView, error) {
	var seq int64
	if commitment != "" {
		var err error
		if seq, err = commitmentSeq(clientID, budgetID, commitment); err != nil {
			return EntryView{}, err
		}
	}
	if delivery.IsZero() {
		return EntryView{}, ledger.Violations{{Field: "delivery_date", Rule: "is required"}}
	}
	return s.money(ctx, clientID, budgetID, requestID, move{method: "spend", commitment: seq,
		apply: func(p auth.Principal, b *ledger.Budget, o *ledger.Open) (ledger.Entry, *ledger.Open, error) {
			e, err := b.SpendAgainst(s.stamp(p, ledger.Entry{LineID: lineID, Amount: amount, Ref: ref, Delivery: delivery}, requestID), o)
			return e, nil, err
		}})
}

// AdjustFunds corrects a line's allocation (MANAGER only).
func (s *Service) AdjustFunds(ctx context.Context, clientID, budgetID, lineID string, amount int64, reason, requestID string) (EntryView, error) {
	return s.money(ctx, clientID, budgetID, requestID, move{method: "adjust",
		apply: func(p auth.Principal, b *ledger.Budget, _ *ledger.Open) (ledger.Entry, *ledger.Open, error) {
			e, err := b.Adjust(s.stamp(p, ledger.Entry{LineID: lineID, Amount: amount, Reason: reason}, requestID))
			return e, nil, err
		}}, auth.RoleManager)
}

// GetLedgerEntry reads one entry.
func (s *Service) GetLedgerEntry(ctx context.Context, clientID, budgetID string, seq int64) (EntryView, error) {
	if _, _, err := s.authorize(ctx, clientID, read); err != nil {
		return EntryView{}, err
	}
	if _, _, err := s.repo.Budget(ctx, clientID, budgetID); err != nil {
		return EntryView{}, notFound(err)
	}
	return s.entryView(ctx, clientID, budgetID, seq)
}

// ListLedgerEntries pages a budget's ledger in sequence order.
func (s *Service) ListLedgerEntries(ctx context.Context, clientID, budgetID string, size int32, token string, reverse bool) ([]EntryView, string, error) {
	if _, _, err := s.authorize(ctx, clientID, read); err != nil {
		return nil, "", err
	}
	if _, _, err := s.repo.Budget(ctx, clientID, budgetID); err != nil {
		return nil, "", notFound(err)
	}
	n, after, query, err := page(size, token, "entries:"+clientID+"/"+budgetID+":"+strconv.FormatBool(reverse))
	if err != nil {
		return nil, "", err
	}
	pg, err := s.repo.EntrySeqs(ctx, clientID, budgetID, after, n, reverse)
	if err != nil {
		return nil, "", err
	}
	seqs := make([]int64, len(pg.Entries))
	for i, e := range pg.Entries {
		seqs[i], _ = strconv.ParseInt(e.ID, 10, 64)
	}
	es, err := s.repo.Entries(ctx, clientID, budgetID, seqs)
	if err != nil {
		return nil, "", err
	}
	out := make([]EntryView, 0, len(es))
	for _, e := range es {
		v := EntryView{ClientID: clientID, BudgetID: budgetID, E: e}
		if e.Kind == ledger.Commitment {
			if o, _, err := s.repo.Open(ctx, clientID, budgetID, e.Seq); err == nil {
				v.OpenCents = o.OpenCents()
			}
		}
		out = append(out, v)
	}
	return out, nextToken(pg, query), nil
}

// Statement is a budget's statement.
type Statement struct {
	B      *ledger.Budget
	Months []ledger.Month
}

// GetStatement computes a budget's statement from the ledger.
func (s *Service) GetStatement(ctx context.Context, clientID, budgetID string, withEntries bool) (Statement, error) {
	if _, _, err := s.authorize(ctx, clientID, read); err != nil {
		return Statement{}, err
	}
	b, _, err := s.repo.Budget(ctx, clientID, budgetID)
	if err != nil {
		return Statement{}, notFound(err)
	}
	es, err := s.repo.AllEntries(ctx, clientID, budgetID, b.LastSeq)
	if err != nil {
		return Statement{}, err
	}
	return Statement{B: b, Months: ledger.Months(es, withEntries)}, nil
}

// Consistency is the result of a consistency check.
type Consistency struct {
	Entries, LastSeq int64
	Diffs            []ledger.Difference
}

// CheckConsistency recomputes balances from entries (MANAGER of the region or
// OPERATOR).
func (s *Service) CheckConsistency(ctx context.Context, clientID, budgetID string) (Consistency, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return Consistency{}, ErrUnauthenticated
	}
	switch p.Role {
	case auth.RoleManager:
		if _, _, err := s.authorize(ctx, clientID, read); err != nil {
			return Consistency{}, err
		}
	case auth.RoleOperator:
	default:
		return Consistency{}, ErrPermission
	}
	b, _, err := s.repo.Budget(ctx, clientID, budgetID)
	if err != nil {
		return Consistency{}, notFound(err)
	}
	es, err := s.repo.AllEntries(ctx, clientID, budgetID, b.LastSeq)
	if err != nil {
		return Consistency{}, err
	}
	opens, _, err := s.repo.Opens(ctx, clientID, budgetID)
	if err != nil {
		return Consistency{}, err
	}
	return Consistency{Entries: int64(len(es)), LastSeq: b.LastSeq, Diffs: ledger.Recompute(b, es, opens)}, nil
}

// ReallocateFunds moves available money from one line to another. A worker
// moves at most the reallocation limit (a share of the budget's allocation);
// above it a MANAGER.
func (s *Service) ReallocateFunds(ctx context.Context, clientID, budgetID, from, to string, amount int64, reason, requestID string) (EntryView, EntryView, error) {
	var in ledger.Entry
	first, err := s.money(ctx, clientID, budgetID, requestID, move{method: "reallocate",
		apply: func(p auth.Principal, b *ledger.Budget, _ *ledger.Open) (ledger.Entry, *ledger.Open, error) {
			total, _, _, _ := b.Totals()
			if p.Role != auth.RoleManager && amount > total*s.cfg.ReallocationLimitBasisPoints/10000 {
				return ledger.Entry{}, nil, ledger.ErrAboveReallocationLimit
			}
			out, second, err := b.Reallocate(from, to, amount, s.stamp(p, ledger.Entry{Reason: reason}, requestID))
			in = second
			return out, nil, err
		},
		extra: func(w *repo.Write, _ ledger.Entry) { w.MoreEntry(budgetID, in) }})
	if err != nil {
		return EntryView{}, EntryView{}, err
	}
	second, err := s.entryView(ctx, clientID, budgetID, first.E.Related)
	return first, second, err
}

// RefundFunds records money returned after a spend, at most the spend's amount
// minus earlier refunds.
func (s *Service) RefundFunds(ctx context.Context, clientID, budgetID, spendEntry string, amount int64, reason, requestID string) (EntryView, error) {
	c, bid, seq, ok := ParseEntryName(spendEntry)
	if !ok || c != clientID || bid != budgetID {
		return EntryView{}, ledger.Violations{{Field: "spend_entry", Rule: "must be a SPEND entry of the budget"}}
	}
	if strings.TrimSpace(reason) == "" {
		return EntryView{}, ledger.Violations{{Field: "reason", Rule: "is required"}}
	}
	var total, version int64
	return s.money(ctx, clientID, budgetID, requestID, move{method: "refund",
		apply: func(p auth.Principal, b *ledger.Budget, _ *ledger.Open) (ledger.Entry, *ledger.Open, error) {
			sp, err := s.repo.Entry(ctx, clientID, budgetID, seq)
			if err != nil {
				if errors.Is(err, repo.ErrNotFound) {
					return ledger.Entry{}, nil, ledger.Violations{{Field: "spend_entry", Rule: "must be a SPEND entry of the budget"}}
				}
				return ledger.Entry{}, nil, err
			}
			if total, version, err = s.repo.Refunded(ctx, clientID, budgetID, seq); err != nil {
				return ledger.Entry{}, nil, err
			}
			e, err := b.Refund(s.stamp(p, ledger.Entry{Amount: amount, Reason: reason, Ref: sp.Ref}, requestID), *sp, total)
			return e, nil, err
		},
		extra: func(w *repo.Write, e ledger.Entry) { w.Refunded(budgetID, seq, total+e.Amount, version) }})
}
