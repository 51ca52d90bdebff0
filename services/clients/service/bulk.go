package service

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/polku-hb/polku/platform/ids"
	"github.com/polku-hb/polku/platform/store"
	"github.com/polku-hb/polku/services/clients/internal/client"
	"github.com/polku-hb/polku/services/clients/internal/protect"
	repo "github.com/polku-hb/polku/services/clients/internal/store"
	"golang.org/x/sync/errgroup"
)

// BulkInput says what SeedBulk makes.
type BulkInput struct {
	// PICKey is the identity-code master key the service runs with.
	PICKey []byte
	// Region of every client; Workers are the coordinating workers, assigned
	// round robin (client i gets Workers[i % len]).
	Region  string
	Workers []string
	// Start and N: clients Start .. Start+N-1 of the generated sequence (the
	// index decides the identity code, so parts never collide).
	Start, N int
	// Timeline is the number of timeline entries of each client.
	Timeline int
	// Parallel is the number of concurrent committers.
	Parallel int
}

// BulkClient is one seeded client.
type BulkClient struct {
	ID     string
	Worker string // its coordinating worker
}

// SeedBulk writes clients straight into the store for load tests: valid
// domain objects (client.New, ValidateProfile, a check-character-valid
// temporary identity code, individual number 900-999, sealed and hashed as the
// service does) and timeline entries, grouped per shard into batches of a few
// hundred clients, without events (nothing to replay). Names are drawn from
// short lists of common Finnish names; no real person is described.
func SeedBulk(ctx context.Context, st store.Store, in BulkInput) ([]BulkClient, error) {
	if st.Shards() != Shards {
		return nil, fmt.Errorf("clients bulk: store has %d shards, want %d", st.Shards(), Shards)
	}
	if len(in.Workers) == 0 {
		return nil, fmt.Errorf("clients bulk: no workers")
	}
	box, err := protect.New(in.PICKey)
	if err != nil {
		return nil, err
	}
	r := repo.New(st)
	out := make([]BulkClient, in.N)
	const chunk = 2000 // clients per job; each job commits per shard
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(in.Parallel, 1))
	for from := 0; from < in.N; from += chunk {
		g.Go(func() error { return seedClients(gctx, r, box, in, from, min(from+chunk, in.N), out) })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

var (
	bulkGiven  = []string{"Aino", "Eino", "Helmi", "Onni", "Sofia", "Väinö", "Aada", "Leo", "Emma", "Eetu", "Ilona", "Toivo", "Kerttu", "Juho", "Lilja", "Veeti"}
	bulkFamily = []string{"Korhonen", "Virtanen", "Mäkinen", "Nieminen", "Mäkelä", "Hämäläinen", "Laine", "Heikkinen", "Koskinen", "Järvinen", "Lehtonen", "Saarinen"}
	bulkGroups = []string{"TARGET_GROUP_FAMILY_ADULT", "TARGET_GROUP_YOUNG_ADULT_AFTERCARE", "TARGET_GROUP_DISABILITY_SERVICES", "TARGET_GROUP_CARER"}
	bulkEvents = []string{"polku.clients.v1.client.created", "polku.referral.v1.referral.sent", "polku.budget.v1.budget.created",
		"polku.referral.v1.referral.accepted", "polku.clients.v1.consent.granted", "polku.referral.v1.referral.completed"}
)

const picCheck = "0123456789ABCDEFHJKLMNPRSTUVWXY"

// BulkPIC is the identity code of generated client i: born 1950-2004, a
// temporary individual number 900-999, a valid check character.
func BulkPIC(i int) string {
	birth := time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, (i/100)%20000)
	century := byte('-')
	if birth.Year() >= 2000 {
		century = 'A'
	}
	ddmmyy := birth.Format("020106")
	zzz := fmt.Sprintf("%03d", 900+i%100)
	var n int
	fmt.Sscanf(ddmmyy+zzz, "%d", &n)
	return ddmmyy + string(century) + zzz + string(picCheck[n%31])
}

func seedClients(ctx context.Context, r *repo.Repo, box *protect.Box, in BulkInput, from, to int, out []BulkClient) error {
	byShard := map[int][]*client.Client{}
	timeline := map[int][]client.TimelineEntry{}
	today := time.Now().UTC()
	for k := from; k < to; k++ {
		i := in.Start + k
		rng := rand.New(rand.NewPCG(uint64(i), 7))
		pic, err := client.ParsePIC(BulkPIC(i), today)
		if err != nil {
			return fmt.Errorf("clients bulk: generated code %d: %w", i, err)
		}
		prof := client.Client{
			GivenName: bulkGiven[rng.IntN(len(bulkGiven))], FamilyName: bulkFamily[rng.IntN(len(bulkFamily))],
			PreferredLanguages: []string{"fi"}, ContactPreference: client.ContactViaWorker,
			TargetGroup: bulkGroups[rng.IntN(len(bulkGroups))], Cohort: "COHORT_PERSONAL_BUDGET", Region: in.Region,
		}
		if err := client.ValidateProfile(&prof, "client."); err != nil {
			return err
		}
		hash := box.Hash(pic.String())
		shard := repo.ShardOf(hash) // as Create: the client lives where its uniqueness key does
		id := ids.NewInShard(shard, Shards)
		worker := in.Workers[i%len(in.Workers)]
		created := today.Add(-time.Duration(1+rng.IntN(3*365*24)) * time.Hour)
		c := client.New(id, prof, worker, ids.New(), created)
		c.PICHash, c.PICMasked, c.PICCipher = hash, pic.Masked(), box.Seal(pic.String(), id)
		byShard[shard] = append(byShard[shard], c)
		for t := range in.Timeline {
			typ := bulkEvents[t%len(bulkEvents)]
			timeline[shard] = append(timeline[shard], client.TimelineEntry{
				ID: ids.New(), ClientID: id, Type: typ, Source: "bulk", Subject: "clients/" + id,
				ActorRole: "WORKER", Time: created.Add(time.Duration(t) * 24 * time.Hour),
			})
		}
		out[k] = BulkClient{ID: id, Worker: worker}
	}
	for shard, cs := range byShard {
		// Batches of at most 100 clients keep one Redis script call short.
		tl := timeline[shard]
		per := in.Timeline
		for len(cs) > 0 {
			n := min(len(cs), 100)
			if err := r.CreateMany(ctx, shard, cs[:n], tl[:n*per]); err != nil {
				return fmt.Errorf("clients bulk: %w", err)
			}
			cs, tl = cs[n:], tl[n*per:]
		}
	}
	return nil
}
