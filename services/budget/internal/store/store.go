// Package store keeps the budget service's records in the platform store port.
//
// Layout (namespace "budget", Shards shards). Everything of one client lives in
// the client's shard (store.ShardOf(client id, Shards)), so a ledger entry, the
// budget document with its cached balances, the commitment's open state, the
// idempotency key and the event are one atomic batch:
//
//	budget/<client>/<budget>           a budget with its lines and cached balances
//	                                   (compare-and-set on every money move)
//	entry/<client>/<budget>/<seq>      ledger entry <seq> (immutable)
//	open/<client>/<budget>/<seq>       the open state of COMMITMENT <seq>
//	req/<client>/<method>/<request id> idempotency: what a request made
//
// Indexes:
//
//	budgets:<client>            the client's budgets (sort key: create time)
//	entries:<client>/<budget>   the ledger (sort key: zero-padded sequence)
//	opens:<client>/<budget>     commitments (sort key: zero-padded sequence)
//	pcmt:<provider>             a provider's commitments, per shard, merged at
//	                            read time (sort key: referral id; id:
//	                            <client>/<budget>/<seq>)
//	expiring                    ACTIVE budgets, per shard, merged at read time
//	                            (sort key: period end YYYY-MM-DD; id:
//	                            <client>/<budget>); kept by every budget write
//	                            (added while ACTIVE, removed when CLOSED)
//
// Alert markers (written once, never changed):
//
//	alert/expiry/<client>/<budget>/<period end>  the expiring-with-money-left
//	                                             alert was raised
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/polku-hb/polku/platform/events"
	"github.com/polku-hb/polku/platform/store"
	"github.com/polku-hb/polku/services/budget/internal/ledger"
)

// Namespace and shard count of the budget service; the count never changes
// once data exists.
const (
	Namespace = "budget"
	Shards    = 16
)

// Errors of the repository.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("concurrent modification")
)

// Repo is the budget repository.
type Repo struct{ st store.Store }

// New wraps a store namespace.
func New(st store.Store) *Repo { return &Repo{st: st} }

// ShardOf is the shard of a client id.
func ShardOf(clientID string) int { return store.ShardOf(clientID, Shards) }

// TimeKey formats a time as a sortable index key.
func TimeKey(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000000Z") }

// SeqKey formats a sequence as a sortable key.
func SeqKey(seq int64) string { return fmt.Sprintf("%012d", seq) }

func budgetKey(c, b string) string { return "budget/" + c + "/" + b }
func entryKey(c, b string, s int64) string {
	return "entry/" + c + "/" + b + "/" + strconv.FormatInt(s, 10)
}
func openKey(c, b string, s int64) string {
	return "open/" + c + "/" + b + "/" + strconv.FormatInt(s, 10)
}
func reqKey(c, method, id string) string   { return "req/" + c + "/" + method + "/" + id }
func entriesIndex(c, b string) string      { return "entries:" + c + "/" + b }
func opensIndex(c, b string) string        { return "opens:" + c + "/" + b }
func providerIndex(provider string) string { return "pcmt:" + provider }

func (r *Repo) get(ctx context.Context, clientID, key string, into any) (int64, error) {
	doc, err := r.st.Get(ctx, ShardOf(clientID), key)
	if errors.Is(err, store.ErrNotFound) {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, err
	}
	if err := json.Unmarshal(doc.Value, into); err != nil {
		return 0, fmt.Errorf("decode %s: %w", strings.SplitN(key, "/", 2)[0], err)
	}
	return doc.Version, nil
}

// Budget reads a budget and its version.
func (r *Repo) Budget(ctx context.Context, clientID, id string) (*ledger.Budget, int64, error) {
	var b ledger.Budget
	v, err := r.get(ctx, clientID, budgetKey(clientID, id), &b)
	if err != nil {
		return nil, 0, err
	}
	return &b, v, nil
}

// Entry reads a ledger entry.
func (r *Repo) Entry(ctx context.Context, clientID, budgetID string, seq int64) (*ledger.Entry, error) {
	var e ledger.Entry
	if _, err := r.get(ctx, clientID, entryKey(clientID, budgetID, seq), &e); err != nil {
		return nil, err
	}
	return &e, nil
}

// Open reads a commitment's open state and its version.
func (r *Repo) Open(ctx context.Context, clientID, budgetID string, seq int64) (*ledger.Open, int64, error) {
	var o ledger.Open
	v, err := r.get(ctx, clientID, openKey(clientID, budgetID, seq), &o)
	if err != nil {
		return nil, 0, err
	}
	return &o, v, nil
}

// Entries reads entries by sequence, in order (missing ones are skipped).
func (r *Repo) Entries(ctx context.Context, clientID, budgetID string, seqs []int64) ([]ledger.Entry, error) {
	out := make([]ledger.Entry, 0, len(seqs))
	for len(seqs) > 0 {
		n := min(len(seqs), 200)
		keys := make([]string, n)
		for i, s := range seqs[:n] {
			keys[i] = entryKey(clientID, budgetID, s)
		}
		docs, err := r.st.GetMany(ctx, ShardOf(clientID), keys...)
		if err != nil {
			return nil, err
		}
		for _, d := range docs {
			if d.Version == 0 {
				continue
			}
			var e ledger.Entry
			if err := json.Unmarshal(d.Value, &e); err != nil {
				return nil, fmt.Errorf("decode entry: %w", err)
			}
			out = append(out, e)
		}
		seqs = seqs[n:]
	}
	return out, nil
}

// AllEntries reads a budget's whole ledger in sequence order.
func (r *Repo) AllEntries(ctx context.Context, clientID, budgetID string, last int64) ([]ledger.Entry, error) {
	seqs := make([]int64, last)
	for i := range seqs {
		seqs[i] = int64(i + 1)
	}
	return r.Entries(ctx, clientID, budgetID, seqs)
}

// Opens reads every commitment's open state of a budget, by sequence.
func (r *Repo) Opens(ctx context.Context, clientID, budgetID string) (map[int64]*ledger.Open, map[int64]int64, error) {
	out, versions := map[int64]*ledger.Open{}, map[int64]int64{}
	after := store.IndexEntry{}
	for {
		es, err := r.st.Scan(ctx, ShardOf(clientID), opensIndex(clientID, budgetID), store.IndexQuery{After: after, Limit: 500})
		if err != nil {
			return nil, nil, err
		}
		for _, e := range es {
			seq, _ := strconv.ParseInt(e.ID, 10, 64)
			o, v, err := r.Open(ctx, clientID, budgetID, seq)
			if err != nil {
				return nil, nil, err
			}
			out[seq], versions[seq] = o, v
		}
		if len(es) < 500 {
			return out, versions, nil
		}
		after = es[len(es)-1]
	}
}

// RequestResult returns what an earlier request with this id made.
func (r *Repo) RequestResult(ctx context.Context, clientID, method, requestID string) (string, bool, error) {
	doc, err := r.st.Get(ctx, ShardOf(clientID), reqKey(clientID, method, requestID))
	if errors.Is(err, store.ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return string(doc.Value), true, nil
}

// Write collects the changes of one client made atomically.
type Write struct {
	client string
	b      store.Batch
}

// NewWrite starts a batch for a client.
func NewWrite(clientID string) *Write { return &Write{client: clientID} }

// Budget writes a budget (version 0 creates it).
func (w *Write) Budget(b *ledger.Budget, version int64) *Write {
	if version == 0 {
		w.b.Create(budgetKey(w.client, b.ID), mustJSON(b))
		w.b.IndexAdd("budgets:"+w.client, TimeKey(b.CreateTime), b.ID)
	} else {
		w.b.Put(budgetKey(w.client, b.ID), mustJSON(b), version)
	}
	// The expiry index follows the state in the same batch: every write of an
	// ACTIVE budget (re)adds its entry (a no-op when present, and how budgets
	// activated before the index existed join it), a CLOSED one removes it.
	if !b.End.IsZero() {
		switch b.State {
		case ledger.Active:
			w.b.IndexAdd(ExpiringIndex, DateKey(b.End), w.client+"/"+b.ID)
		case ledger.Closed:
			w.b.IndexRemove(ExpiringIndex, DateKey(b.End), w.client+"/"+b.ID)
		}
	}
	return w
}

// ExpiringIndex is the per-shard index of ACTIVE budgets by period end.
const ExpiringIndex = "expiring"

// DateKey formats a date as a sortable index key (YYYY-MM-DD).
func DateKey(d ledger.Date) string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day) }

// Expiring pages the ACTIVE budgets by period end over all shards, from the
// exclusive cursor after (start with IndexEntry{SortKey: first day}).
func (r *Repo) Expiring(ctx context.Context, after store.IndexEntry, limit int) (Page, error) {
	return r.scan(ctx, store.AllShards, ExpiringIndex, store.IndexQuery{After: after, Limit: limit})
}

func expiryAlertKey(c, b string, end ledger.Date) string {
	return "alert/expiry/" + c + "/" + b + "/" + DateKey(end)
}

// ExpiryAlerted reports whether the expiring-with-money-left alert of the
// budget's period was already raised.
func (r *Repo) ExpiryAlerted(ctx context.Context, clientID, budgetID string, end ledger.Date) (bool, error) {
	_, err := r.st.Get(ctx, ShardOf(clientID), expiryAlertKey(clientID, budgetID, end))
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// ErrAlerted: the alert marker exists (another replica or an earlier run
// raised the alert).
var ErrAlerted = errors.New("alert already raised")

// RaiseExpiryAlert atomically creates the alert marker of the budget's period
// and appends the event, provided the budget is still at version. It returns
// ErrAlerted when the marker exists and ErrConflict when the budget changed.
func (r *Repo) RaiseExpiryAlert(ctx context.Context, clientID, budgetID string, end ledger.Date, version int64, ev events.Envelope) error {
	var b store.Batch
	b.Check(budgetKey(clientID, budgetID), version)
	b.Create(expiryAlertKey(clientID, budgetID, end), []byte(ev.ID))
	b.Emit(ev.Marshal())
	err := r.st.Commit(ctx, ShardOf(clientID), &b)
	switch {
	case errors.Is(err, store.ErrExists):
		return ErrAlerted
	case errors.Is(err, store.ErrConflict):
		// The check failed, or an adapter reports the marker as a conflict:
		// the caller re-reads.
		return ErrConflict
	}
	return err
}

// Entry appends a ledger entry.
func (w *Write) Entry(budgetID string, e ledger.Entry) *Write {
	w.b.Create(entryKey(w.client, budgetID, e.Seq), mustJSON(e))
	w.b.IndexAdd(entriesIndex(w.client, budgetID), SeqKey(e.Seq), strconv.FormatInt(e.Seq, 10))
	return w
}

// Open writes a commitment's open state (version 0 creates it, indexed for the
// budget and, with a provider, for the provider).
func (w *Write) Open(budgetID string, o *ledger.Open, version int64) *Write {
	if version == 0 {
		w.b.Create(openKey(w.client, budgetID, o.Seq), mustJSON(o))
		w.b.IndexAdd(opensIndex(w.client, budgetID), SeqKey(o.Seq), strconv.FormatInt(o.Seq, 10))
		if o.Provider != "" && o.Referral != "" {
			w.b.IndexAdd(providerIndex(o.Provider), o.Referral, w.client+"/"+budgetID+"/"+strconv.FormatInt(o.Seq, 10))
		}
	} else {
		w.b.Put(openKey(w.client, budgetID, o.Seq), mustJSON(o), version)
	}
	return w
}

// Request records what a request made (skipped when requestID is empty).
func (w *Write) Request(method, requestID, result string) *Write {
	if requestID != "" {
		w.b.Create(reqKey(w.client, method, requestID), []byte(result))
	}
	return w
}

// Emit appends events.
func (w *Write) Emit(evs ...events.Envelope) *Write {
	for _, e := range evs {
		w.b.Emit(e.Marshal())
	}
	return w
}

// Commit applies the write atomically; a stale version or a concurrent twin
// request is ErrConflict.
func (r *Repo) Commit(ctx context.Context, w *Write) error {
	err := r.st.Commit(ctx, ShardOf(w.client), &w.b)
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrExists) {
		return ErrConflict
	}
	return err
}

// Page is one page of an index.
type Page struct {
	Entries []store.IndexEntry
	More    bool
}

func (r *Repo) scan(ctx context.Context, shard int, index string, q store.IndexQuery) (Page, error) {
	es, err := r.st.Scan(ctx, shard, index, q)
	if err != nil {
		return Page{}, err
	}
	return Page{Entries: es, More: len(es) == q.Limit}, nil
}

// BudgetIDs pages the client's budgets, newest first.
func (r *Repo) BudgetIDs(ctx context.Context, clientID string, after store.IndexEntry, limit int) (Page, error) {
	return r.scan(ctx, ShardOf(clientID), "budgets:"+clientID, store.IndexQuery{After: after, Limit: limit, Reverse: true})
}

// EntrySeqs pages a budget's ledger.
func (r *Repo) EntrySeqs(ctx context.Context, clientID, budgetID string, after store.IndexEntry, limit int, reverse bool) (Page, error) {
	return r.scan(ctx, ShardOf(clientID), entriesIndex(clientID, budgetID), store.IndexQuery{After: after, Limit: limit, Reverse: reverse})
}

// ProviderCommitments pages a provider's commitments over all shards (prefix:
// one referral id, or "" for all).
func (r *Repo) ProviderCommitments(ctx context.Context, provider, prefix string, after store.IndexEntry, limit int) (Page, error) {
	return r.scan(ctx, store.AllShards, providerIndex(provider), store.IndexQuery{Prefix: prefix, After: after, Limit: limit})
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("encode: %v", err)) // plain structs of strings, numbers and times cannot fail
	}
	return b
}

// Claims of a provider live in the shard of the client whose budget paid them
// (the claim id is drawn in that shard: ids.NewInShard):
//
//	claim/<provider>/<claim>        an accepted claim
//	inv/<provider>/<invoice>        the claim id of an invoice number (uniqueness
//	                                within the shard, written with the SPEND)
//	pclaims:<provider>              index, sort key create time (merged over shards)
//	pinv:<provider>                 index, sort key invoice number (merged over
//	                                shards: the cross-client duplicate check)

// Claim reads a claim by id (in the shard of its id).
func (r *Repo) Claim(ctx context.Context, provider, claimID string) (*ledger.Claim, error) {
	var c ledger.Claim
	if _, err := r.get(ctx, claimID, "claim/"+provider+"/"+claimID, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// InvoiceClaims lists the claim ids of an invoice number over all shards.
func (r *Repo) InvoiceClaims(ctx context.Context, provider, invoice string) ([]string, error) {
	es, err := r.st.Scan(ctx, store.AllShards, "pinv:"+provider, store.IndexQuery{Prefix: invoice, Limit: 100})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range es {
		if e.SortKey == invoice {
			out = append(out, e.ID)
		}
	}
	return out, nil
}

// ClaimIDs pages a provider's claims, newest first.
func (r *Repo) ClaimIDs(ctx context.Context, provider string, after store.IndexEntry, limit int) (Page, error) {
	return r.scan(ctx, store.AllShards, "pclaims:"+provider, store.IndexQuery{After: after, Limit: limit, Reverse: true})
}

// Claim writes a new claim and its invoice-number key (the Write must be the
// client's, and the claim id drawn in the client's shard).
func (w *Write) Claim(c *ledger.Claim) *Write {
	w.b.Create("claim/"+c.Provider+"/"+c.ID, mustJSON(c))
	w.b.Create("inv/"+c.Provider+"/"+c.InvoiceNumber, []byte(c.ID))
	w.b.IndexAdd("pclaims:"+c.Provider, TimeKey(c.CreateTime), c.ID)
	w.b.IndexAdd("pinv:"+c.Provider, c.InvoiceNumber, c.ID)
	return w
}

// Refunded reads how much of SPEND <seq> was refunded, and the document version.
func (r *Repo) Refunded(ctx context.Context, clientID, budgetID string, seq int64) (int64, int64, error) {
	var n int64
	v, err := r.get(ctx, clientID, "refunded/"+clientID+"/"+budgetID+"/"+strconv.FormatInt(seq, 10), &n)
	if errors.Is(err, ErrNotFound) {
		return 0, 0, nil
	}
	return n, v, err
}

// Refunded writes the refunded total of a SPEND (version 0 creates it).
func (w *Write) Refunded(budgetID string, seq, total, version int64) *Write {
	key := "refunded/" + w.client + "/" + budgetID + "/" + strconv.FormatInt(seq, 10)
	if version == 0 {
		w.b.Create(key, mustJSON(total))
	} else {
		w.b.Put(key, mustJSON(total), version)
	}
	return w
}

// MoreEntry appends a further ledger entry (a reallocation's second half).
func (w *Write) MoreEntry(budgetID string, e ledger.Entry) *Write { return w.Entry(budgetID, e) }

// Invoice-number reservations live in the shard of the PROVIDER id
// (store.ShardOf(provider id, Shards)), not of a client: they are the
// provider-wide uniqueness of an invoice number across clients, whose claims
// land in different shards.
//
//	invoice/<provider id>/<normalised invoice number>   a Reservation
//
// A claim first creates the reservation (create-only: exactly one request
// wins), then writes the Claim and the SPEND in the client's shard; when that
// write is refused the reservation is deleted (compare-and-set) so the number
// can be used again.
//
// Every reservation write also adds an entry to the shard's pending index
// (sort key: the reservation's time, id: <provider id>|<invoice>), which the
// reconciliation worker reads to find reservations orphaned by a crash
// between the two steps. The worker removes each entry once it has decided.
const pendingIndex = "resv:pending"

// Reservation is who holds an invoice number.
type Reservation struct {
	RequestID string    `json:"request_id,omitempty"`
	ClaimID   string    `json:"claim_id"`
	Time      time.Time `json:"time"`
}

// ErrReserved: the invoice number is reserved by another request.
var ErrReserved = errors.New("invoice number reserved")

// NormaliseInvoice is the form of an invoice number in its reservation key.
func NormaliseInvoice(invoice string) string { return strings.TrimSpace(invoice) }

func providerID(provider string) string { return strings.TrimPrefix(provider, "providers/") }

func reservationKey(provider, invoice string) string {
	return "invoice/" + providerID(provider) + "/" + NormaliseInvoice(invoice)
}

// ReservationShard is the shard of a provider's invoice reservations.
func ReservationShard(provider string) int { return store.ShardOf(providerID(provider), Shards) }

// Reservation reads an invoice number's reservation and its version.
func (r *Repo) Reservation(ctx context.Context, provider, invoice string) (*Reservation, int64, error) {
	doc, err := r.st.Get(ctx, ReservationShard(provider), reservationKey(provider, invoice))
	if errors.Is(err, store.ErrNotFound) {
		return nil, 0, ErrNotFound
	}
	if err != nil {
		return nil, 0, err
	}
	var res Reservation
	if err := json.Unmarshal(doc.Value, &res); err != nil {
		return nil, 0, fmt.Errorf("decode reservation: %w", err)
	}
	return &res, doc.Version, nil
}

// Reserve reserves the provider's invoice number for a request and returns the
// reservation's version. A reservation made by the same (non-empty) request id
// is taken over (a retry after a failure between the two steps); one made by
// another request is ErrReserved.
func (r *Repo) Reserve(ctx context.Context, provider, invoice string, res Reservation) (int64, error) {
	key, shard := reservationKey(provider, invoice), ReservationShard(provider)
	for range 20 {
		var b store.Batch
		err := r.st.Commit(ctx, shard, b.Create(key, mustJSON(res)).IndexAdd(pendingIndex, TimeKey(res.Time), pendingID(provider, invoice)))
		if err == nil {
			return 1, nil
		}
		if !errors.Is(err, store.ErrExists) && !errors.Is(err, store.ErrConflict) {
			return 0, err
		}
		cur, v, err := r.Reservation(ctx, provider, invoice)
		if errors.Is(err, ErrNotFound) {
			continue // released meanwhile: create again
		}
		if err != nil {
			return 0, err
		}
		if res.RequestID == "" || cur.RequestID != res.RequestID {
			return 0, ErrReserved
		}
		b = store.Batch{}
		err = r.st.Commit(ctx, shard, b.Put(key, mustJSON(res), v).IndexAdd(pendingIndex, TimeKey(res.Time), pendingID(provider, invoice)))
		if err == nil {
			return v + 1, nil
		}
		if !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) {
			return 0, err
		}
	}
	return 0, ErrConflict
}

// Release deletes the reservation if it is still at version (a reservation
// taken over by a retry meanwhile stays). It reports whether it was deleted.
func (r *Repo) Release(ctx context.Context, provider, invoice string, version int64) (bool, error) {
	var b store.Batch
	err := r.st.Commit(ctx, ReservationShard(provider), b.Delete(reservationKey(provider, invoice), version))
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

func pendingID(provider, invoice string) string {
	return providerID(provider) + "|" + NormaliseInvoice(invoice)
}

// Pending is a pending-index entry: a reservation to be checked.
type Pending struct {
	Shard    int
	Entry    store.IndexEntry
	Provider string // providers/<id>
	Invoice  string
	Time     string // the reservation time it was written for (TimeKey)
}

// PendingBefore lists a shard's pending entries written before the time key
// (oldest first, at most limit).
func (r *Repo) PendingBefore(ctx context.Context, shard int, before string, limit int) ([]Pending, error) {
	entries, err := r.st.Scan(ctx, shard, pendingIndex, store.IndexQuery{Limit: limit})
	if err != nil {
		return nil, err
	}
	out := make([]Pending, 0, len(entries))
	for _, e := range entries {
		if e.SortKey >= before {
			break
		}
		prov, inv, _ := strings.Cut(e.ID, "|")
		out = append(out, Pending{Shard: shard, Entry: e, Provider: "providers/" + prov, Invoice: inv, Time: e.SortKey})
	}
	return out, nil
}

// Settle removes a pending entry and, when version > 0, deletes the orphaned
// reservation at that version in the same batch (a reservation taken over by
// a retry meanwhile is not deleted: ErrConflict).
func (r *Repo) Settle(ctx context.Context, p Pending, version int64) error {
	var b store.Batch
	if version > 0 {
		b.Delete(reservationKey(p.Provider, p.Invoice), version)
	}
	err := r.st.Commit(ctx, p.Shard, b.IndexRemove(pendingIndex, p.Entry.SortKey, p.Entry.ID))
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
		return ErrConflict
	}
	return err
}
