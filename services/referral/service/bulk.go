package service

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/polku-hb/polku/platform/ids"
	"github.com/polku-hb/polku/platform/store"
	"github.com/polku-hb/polku/services/referral/internal/referral"
	repo "github.com/polku-hb/polku/services/referral/internal/store"
	"golang.org/x/sync/errgroup"
)

// BulkReferralInput says what SeedBulk makes.
type BulkReferralInput struct {
	// Clients and their coordinating workers (the senders), index by index.
	Clients, Workers []string
	// Offerings as providers/{p}/offerings/{o} names.
	Offerings []string
	Region    string
	N         int
	Parallel  int
	// Part keeps generated data of separate calls apart.
	Part int
	// Policy must be the one the service runs with (zero: the default).
	Policy referral.Policy
}

// bulkStates is the mix of seeded states: the path each one took from DRAFT.
var bulkStates = []struct {
	weight int
	path   []referral.Verb
}{
	{10, nil},
	{15, []referral.Verb{referral.VSend}},
	{15, []referral.Verb{referral.VSend, referral.VAccept}},
	{25, []referral.Verb{referral.VSend, referral.VAccept, referral.VStart}},
	{25, []referral.Verb{referral.VSend, referral.VAccept, referral.VStart, referral.VComplete}},
	{10, []referral.Verb{referral.VCancel}},
}

// SeedBulk writes referrals straight into the store for load tests, spread
// over clients, offerings and states (10 % draft, 15 % sent, 15 % accepted,
// 25 % in progress, 25 % completed with an outcome, 10 % cancelled). Each is
// moved through its states by the domain (referral.Check and Move), so the
// indexes, deadlines and transition history are those the service writes.
// Deadlines of open referrals lie in the future: the escalation worker finds
// nothing due, as in a region that keeps its deadlines. Referrals of one
// shard go in one batch, without events; no consent packet is stored.
func SeedBulk(ctx context.Context, st store.Store, in BulkReferralInput) (int, error) {
	if st.Shards() != Shards {
		return 0, fmt.Errorf("referral bulk: store has %d shards, want %d", st.Shards(), Shards)
	}
	if len(in.Clients) == 0 || len(in.Clients) != len(in.Workers) || len(in.Offerings) == 0 {
		return 0, fmt.Errorf("referral bulk: need clients, one worker each, and offerings")
	}
	if in.Policy == (referral.Policy{}) {
		in.Policy = referral.DefaultPolicy
	}
	r := repo.New(st, in.Policy)
	const chunk = 2000
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(in.Parallel, 1))
	for from := 0; from < in.N; from += chunk {
		g.Go(func() error { return seedReferrals(gctx, r, in, from, min(from+chunk, in.N)) })
	}
	if err := g.Wait(); err != nil {
		return 0, err
	}
	return in.N, nil
}

func seedReferrals(ctx context.Context, r *repo.Repo, in BulkReferralInput, from, to int) error {
	byShard := map[int][]*repo.Write{}
	for i := from; i < to; i++ {
		x, err := bulkReferral(in, i)
		if err != nil {
			return fmt.Errorf("referral bulk: %w", err)
		}
		s := repo.ShardOf(x.ID)
		byShard[s] = append(byShard[s], r.NewWrite(x.ID).Referral(nil, x, 0))
	}
	for shard, ws := range byShard {
		for len(ws) > 0 {
			n := min(len(ws), 200)
			if err := r.CommitMany(ctx, shard, ws[:n]); err != nil {
				return fmt.Errorf("referral bulk: %w", err)
			}
			ws = ws[n:]
		}
	}
	return nil
}

// bulkReferral builds referral i and moves it along a drawn path, the last
// step shortly before now so that any deadline is still ahead.
func bulkReferral(in BulkReferralInput, i int) (*referral.Referral, error) {
	rng := rand.New(rand.NewPCG(uint64(in.Part)+1<<32, uint64(i)))
	c := rng.IntN(len(in.Clients))
	off := in.Offerings[rng.IntN(len(in.Offerings))]
	parts := strings.Split(off, "/")
	if len(parts) != 4 || parts[0] != "providers" || parts[2] != "offerings" {
		return nil, fmt.Errorf("offering %q: not providers/{p}/offerings/{o}", off)
	}
	provider := parts[1]
	w := referral.Actor{Subject: in.Workers[c], Role: "WORKER"}
	pv := referral.Actor{Subject: "p-bulk-staff", Role: "PROVIDER"}
	k, pick := rng.IntN(100), 0
	for j, s := range bulkStates {
		if k < s.weight {
			pick = j
			break
		}
		k -= s.weight
	}
	path := bulkStates[pick].path
	now := time.Now().UTC()
	// Steps a few hours apart, the last one within the last day.
	t := now.Add(-time.Duration(rng.IntN(24)) * time.Hour).Add(-time.Duration(len(path)) * 6 * time.Hour)
	x := &referral.Referral{ID: ids.New(), ClientID: in.Clients[c], Region: in.Region, Sender: w.Subject, SendingUnit: "perhepalvelut",
		SendingResponsible: referral.Person{Subject: w.Subject, DisplayName: w.Subject}, RecipientOffering: off, RecipientProvider: provider,
		Urgency: "URGENCY_ROUTINE", State: referral.Draft, StateSince: t, CreateTime: t, UpdateTime: t,
		ResponseDeadline: in.Policy.DefaultResponse, StartDeadline: in.Policy.DefaultStart}
	for _, v := range path {
		t = t.Add(6 * time.Hour)
		to, err := referral.Check(x, v)
		if err != nil {
			return nil, err
		}
		a := w
		switch v {
		case referral.VSend:
			x.SendTime = t
		case referral.VAccept:
			a = pv
			x.ReceivingResponsible = &referral.Person{Subject: pv.Subject, DisplayName: "Vastuuhenkilö"}
		case referral.VStart:
			a = pv
		case referral.VComplete:
			a = pv
			x.Outcome = &referral.Outcome{Result: "OUTCOME_RESULT_HELPED", ServiceDelivered: true}
		}
		reason := ""
		if v == referral.VCancel {
			reason = "tarve poistui"
			x.EndReason = reason
		}
		x.Move(to, a, reason, t, in.Policy)
	}
	return x, nil
}
