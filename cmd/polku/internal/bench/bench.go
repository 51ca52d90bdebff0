// Package bench is `polku bench`, the load generator: it seeds a realistic
// volume into a store through the services' own bulk-seed code, starts the
// all-in-one over it as a separate process, drives fixed-concurrency
// scenarios against it over REST and gRPC, and reports requests/s, p50, p99
// and errors next to bare health checks (the floor), the server's memory, the
// store's size, and how read latency grows from 10 % to 100 % of the volume.
// On Redis it then serves the same data with the five service binaries and the
// gateway as six processes (split.go) and reports each one's memory.
package bench

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/polku-hb/polku/cmd/polku/internal/dev"
	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/platform/boot"
	"github.com/polku-hb/polku/platform/store/embedded"
	"github.com/polku-hb/polku/platform/version"
	clientssvc "github.com/polku-hb/polku/services/clients/service"
)

// Options configure a bench run.
type Options struct {
	// Stores to measure, in order: "redis", "embedded".
	Stores []string
	// Scale multiplies FullVolume for Redis; EmbeddedScale for the embedded store.
	Scale, EmbeddedScale float64
	// Growth measures the read scenarios at 10 % of the volume first.
	Growth bool
	Plan   Plan
	// Parallel is the number of concurrent seeding committers.
	Parallel int
	// Out is the JSON report path ("" = none).
	Out string
	// ProfileDir, when set, receives a CPU profile of the server per scenario.
	ProfileDir string
	// RedisAddr uses this (empty) Redis instead of starting one per run.
	RedisAddr string
	// Split also serves the seeded Redis with the five service binaries and
	// the gateway as six processes (the production shape), runs the
	// scenarios against that gateway and reports each process's memory.
	Split bool
	// ServiceBin is the directory holding the binaries clients, assessment,
	// budget, catalogue, referral and gateway for Split ("" = build them with
	// the go command into a temporary directory).
	ServiceBin string
	// ServerCommand makes the command that runs Serve with args (default:
	// this executable's `bench serve`).
	ServerCommand func(args []string) *exec.Cmd
	// Log receives progress lines and the server's stderr.
	Log io.Writer
}

// Report is the JSON written to Options.Out.
type Report struct {
	Time    time.Time  `json:"time"`
	Machine Machine    `json:"machine"`
	Plan    PlanJSON   `json:"plan"`
	Runs    []StoreRun `json:"runs"`
}

// Machine are facts about where the run happened.
type Machine struct {
	Cores      int    `json:"cores"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	GoVersion  string `json:"go_version"`
	OS         string `json:"os"`
	Commit     string `json:"git_commit"`
	Load1      string `json:"load_average_at_start"`
}

// PlanJSON is Plan as reported.
type PlanJSON struct {
	Concurrency int     `json:"concurrency"`
	DurationS   float64 `json:"duration_per_scenario_s"`
	Sends       int     `json:"sends"`
}

// StoreRun is everything measured on one store.
type StoreRun struct {
	Store      string      `json:"store"`
	Scale      float64     `json:"scale"`
	Volume     Volume      `json:"volume"`
	Seeding    []SeedTimes `json:"seeding"`
	Results    []Result    `json:"results"`
	Growth     []Growth    `json:"growth,omitempty"`
	ServerRSS  ServerRSS   `json:"server_memory"`
	Redis      *RedisMem   `json:"redis,omitempty"`
	DBFileMB   float64     `json:"embedded_file_mb,omitempty"`
	Split      *SplitRun   `json:"split,omitempty"`
	Spans      int64       `json:"spans_exported"`
	SpansPerOp float64     `json:"spans_per_send"`
	Note       string      `json:"note,omitempty"`
}

// ServerRSS is the all-in-one process's memory: right after it started over
// the seeded data, and after every scenario ran.
type ServerRSS struct {
	AtStart Memory `json:"at_start"`
	AtEnd   Memory `json:"after_load"`
}

// RedisMem is Redis's memory after seeding.
type RedisMem struct {
	UsedMemoryMB          float64 `json:"used_memory_mb"`
	RSSMB                 float64 `json:"used_memory_rss_mb"`
	AOFMB                 float64 `json:"aof_mb"`
	PerThousandClientsKB  float64 `json:"used_memory_per_1000_clients_kb"`
	PerThousandClientsMsg string  `json:"per_1000_clients_counts"`
}

// Growth is a read scenario's p99 at 10 % and at 100 % of the volume.
type Growth struct {
	Scenario string  `json:"scenario"`
	P99At10  float64 `json:"p99_ms_at_10pct"`
	P99At100 float64 `json:"p99_ms_at_100pct"`
	P50At10  float64 `json:"p50_ms_at_10pct"`
	P50At100 float64 `json:"p50_ms_at_100pct"`
	Ratio    float64 `json:"p99_ratio"`
}

// Run is `polku bench`.
func Run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) > 0 && args[0] == "serve" {
		return Serve(ctx, args[1:], out)
	}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	stores := fs.String("stores", "redis,embedded", "stores to measure, comma-separated: redis, embedded")
	scale := fs.Float64("scale", 1, "volume as a fraction of the full one (100,000 clients, 100,000 offerings, 10,000 budgets x 100 entries, 200,000 referrals)")
	escale := fs.Float64("embedded-scale", -1, "volume of the embedded store (default: -scale)")
	growth := fs.Bool("growth", true, "also measure the read scenarios at 10% of the volume")
	conc := fs.Int("c", 8, "concurrent callers per scenario")
	dur := fs.Duration("d", 10*time.Second, "duration of each scenario")
	sends := fs.Int("sends", 800, "drafts made before the send scenario, which sends until they or its duration run out")
	par := fs.Int("seed-parallel", 4, "concurrent seeding committers")
	outPath := fs.String("out", "bench/out/latest.json", "JSON report ('' for none)")
	prof := fs.String("profile", "", "directory for a CPU profile of the server per scenario")
	split := fs.Bool("split", true, "on Redis, also run the five service binaries and the gateway as six processes over the seeded volume, run the scenarios against them and report each process's memory")
	bin := fs.String("bin", "", "directory holding the six binaries for -split (default: build them with the go command)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *escale < 0 {
		*escale = *scale
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	o := Options{Stores: strings.Split(*stores, ","), Scale: *scale, EmbeddedScale: *escale, Growth: *growth,
		Plan: Plan{Concurrency: *conc, Duration: *dur, Sends: *sends}, Parallel: *par, Out: *outPath, ProfileDir: *prof,
		Split: *split, ServiceBin: *bin,
		ServerCommand: func(a []string) *exec.Cmd { return exec.Command(exe, append([]string{"bench", "serve"}, a...)...) },
		Log:           os.Stderr}
	if o.Split && o.ServiceBin == "" && slices.Contains(o.Stores, "redis") {
		dir, err := os.MkdirTemp("", "polku-bench-bin-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		fmt.Fprintln(os.Stderr, "bench: building the service binaries for -split")
		if err := BuildServices(ctx, dir); err != nil {
			return err
		}
		o.ServiceBin = dir
	}
	rep, err := Bench(ctx, o)
	if err != nil {
		return err
	}
	return PrintTable(out, rep)
}

// Bench runs the whole measurement and writes the JSON report.
func Bench(ctx context.Context, o Options) (*Report, error) {
	if o.Log == nil {
		o.Log = io.Discard
	}
	rep := &Report{Time: time.Now().UTC(), Machine: machine(),
		Plan: PlanJSON{Concurrency: o.Plan.Concurrency, DurationS: o.Plan.Duration.Seconds(), Sends: o.Plan.Sends}}
	for _, st := range o.Stores {
		scale := o.Scale
		if st == "embedded" {
			scale = o.EmbeddedScale
		}
		r, err := benchStore(ctx, o, st, scale)
		if err != nil {
			return rep, fmt.Errorf("%s: %w", st, err)
		}
		rep.Runs = append(rep.Runs, r)
	}
	if o.Out != "" {
		if err := os.MkdirAll(filepath.Dir(o.Out), 0o755); err != nil {
			return rep, err
		}
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(o.Out, append(b, '\n'), 0o644); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

func machine() Machine {
	m := Machine{Cores: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), GoVersion: runtime.Version(),
		OS: runtime.GOOS + "/" + runtime.GOARCH, Commit: version.Commit}
	if b, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output(); err == nil {
		m.Commit = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		m.Load1 = strings.Fields(string(b))[0]
	}
	return m
}

func logf(o Options, format string, a ...any) {
	fmt.Fprintf(o.Log, "bench: "+format+"\n", a...)
}

// benchStore seeds one store (10 % first when growing), measures, and
// reports.
func benchStore(ctx context.Context, o Options, kind string, scale float64) (StoreRun, error) {
	run := StoreRun{Store: kind, Scale: scale, Volume: FullVolume.Scaled(scale)}
	dir, err := os.MkdirTemp("", "polku-bench-"+kind+"-")
	if err != nil {
		return run, err
	}
	defer os.RemoveAll(dir)
	// The keys the server will load from its data dir: made here so seeding
	// seals identity codes with the same key and tokens verify.
	picKey := clientssvc.NewKey()
	if err := os.WriteFile(filepath.Join(dir, "pic-key"), []byte(picKey), 0o600); err != nil {
		return run, err
	}
	key, _ := clientssvc.ParseKey(picKey)
	issuer, err := auth.LoadOrCreateDevKey(dir)
	if err != nil {
		return run, err
	}

	redisAddr := o.RedisAddr
	if kind == "redis" && redisAddr == "" {
		rs, err := startRedis(ctx, dir)
		if err != nil {
			return run, err
		}
		defer rs.stop()
		redisAddr = rs.addr
	}
	var bulkDB *embedded.DB // the embedded file, opened for bulk loading
	open := func() (*boot.Stores, error) {
		if kind == "redis" {
			// Seeding batches are large scripts: a long read timeout, and no
			// retries (a retried script whose first run did commit would
			// fail on its own creates).
			return boot.RedisStores(redis.NewClient(&redis.Options{Addr: redisAddr, ReadTimeout: 2 * time.Minute, WriteTimeout: time.Minute, MaxRetries: -1})), nil
		}
		db, err := embedded.OpenBulkLoad(filepath.Join(dir, "polku.db"))
		if err != nil {
			return nil, err
		}
		bulkDB = db
		return boot.EmbeddedStores(db), nil
	}
	serverArgs := []string{"-data", dir, "-store", kind, "-redis", redisAddr}
	if o.ProfileDir != "" {
		serverArgs = append(serverArgs, "-pprof")
	}

	seeded := &Seeded{}
	var clientMem int64 // Redis bytes the seeded clients added
	usedMemory := func() int64 {
		if kind != "redis" {
			return 0
		}
		m, _ := redisInfo(ctx, redisAddr, "used_memory")
		return m["used_memory"]
	}
	seedStep := func(v Volume, part, start int) error {
		stores, err := open()
		if err != nil {
			return err
		}
		before := usedMemory()
		logf(o, "%s: seeding %d clients, %d offerings, %d budgets x %d entries, %d referrals", kind, v.Clients, v.Offerings, v.Budgets, v.EntriesPerBudg, v.Referrals)
		t, err := seed(ctx, stores, key, v, part, start, o.Parallel, seeded, func() { clientMem += usedMemory() - before })
		if bulkDB != nil && err == nil {
			err = bulkDB.Sync() // seeded without an fsync per batch: flush once
		}
		if cerr := stores.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		logf(o, "%s: seeded in %.1f s (clients %.1f, offerings %.1f, budgets %.1f, referrals %.1f)", kind, t.Total, t.Clients, t.Offerings, t.Budgets, t.Referrals)
		run.Seeding = append(run.Seeding, t)
		return nil
	}
	measureOn := func(names []string, createBase int) ([]Result, *server, error) {
		srv, err := startServer(ctx, o.ServerCommand, serverArgs, o.Log)
		if err != nil {
			return nil, nil, err
		}
		t, err := newTarget(srv.ready, issuer, o.Plan.Concurrency)
		if err != nil {
			return nil, srv, err
		}
		defer t.close()
		var out []Result
		for _, name := range names {
			logf(o, "%s: %s", kind, name)
			stopProf := profile(o, srv.ready.ControlAddr, kind, name)
			before := spans(srv.ready.ControlAddr)
			rs, err := measure(ctx, t, seeded, o.Plan, []string{name}, createBase)
			stopProf()
			if err != nil {
				return out, srv, err
			}
			if name == SendReferral && rs[0].Requests > 0 {
				run.SpansPerOp = round(float64(spans(srv.ready.ControlAddr)-before) / float64(rs[0].Requests))
			}
			out = append(out, rs...)
		}
		return withFloors(out), srv, nil
	}

	full := run.Volume
	done := Volume{}
	part := 1
	if o.Growth {
		small := FullVolume.Scaled(scale * 0.1)
		if err := seedStep(small, part, 0); err != nil {
			return run, err
		}
		done, part = small, 2
		rs, srv, err := measureOn(ReadScenarios, 0)
		if srv != nil {
			err = errors.Join(err, srv.stop())
		}
		if err != nil {
			return run, err
		}
		for _, r := range rs {
			run.Growth = append(run.Growth, Growth{Scenario: r.Name, P99At10: r.P99ms, P50At10: r.P50ms})
		}
	}
	if err := seedStep(full.Minus(done), part, done.Clients); err != nil {
		return run, err
	}
	srv, err := startServer(ctx, o.ServerCommand, serverArgs, o.Log)
	if err != nil {
		return run, err
	}
	// Restarted below by measureOn: this start only reads the memory of a
	// freshly started server over the full volume.
	run.ServerRSS.AtStart, _ = procMemory(srv.ready.PID)
	if err := srv.stop(); err != nil {
		return run, err
	}
	rs, srv, err := measureOn(AllScenarios, createPICStart)
	if srv != nil {
		run.ServerRSS.AtEnd, _ = procMemory(srv.ready.PID)
		run.Spans = spans(srv.ready.ControlAddr)
		err = errors.Join(err, srv.stop())
	}
	run.Results = rs
	if err != nil {
		return run, err
	}
	for i := range run.Growth {
		for _, r := range rs {
			if r.Name == run.Growth[i].Scenario {
				run.Growth[i].P99At100, run.Growth[i].P50At100 = r.P99ms, r.P50ms
				if run.Growth[i].P99At10 > 0 {
					run.Growth[i].Ratio = round(r.P99ms / run.Growth[i].P99At10)
				}
			}
		}
	}
	switch kind {
	case "redis":
		m, err := redisInfo(ctx, redisAddr, "used_memory", "used_memory_rss", "aof_current_size")
		if err != nil {
			return run, err
		}
		run.Redis = &RedisMem{UsedMemoryMB: mb(m["used_memory"]), RSSMB: mb(m["used_memory_rss"]), AOFMB: mb(m["aof_current_size"]),
			PerThousandClientsMsg: fmt.Sprintf("the client records with their %d timeline entries each and indexes, measured while seeding them", full.TimelinePer)}
		if n := len(seeded.Clients); n > 0 {
			run.Redis.PerThousandClientsKB = round(float64(clientMem) / float64(n) * 1000 / 1024)
		}
	case "embedded":
		if fi, err := os.Stat(filepath.Join(dir, "polku.db")); err == nil {
			run.DBFileMB = mb(fi.Size())
		}
	}
	if kind == "redis" && o.Split {
		// Measured last, so the all-in-one figures above are as before.
		sp, err := benchSplit(ctx, o, dir, redisAddr, picKey, issuer, srv.ready.Demo, seeded)
		run.Split = sp
		if err != nil {
			return run, fmt.Errorf("split deployment: %w", err)
		}
	}
	if scale < 1 {
		run.Note = fmt.Sprintf("seeded at %.3g of the full volume", scale)
	}
	return run, nil
}

// splitPICStart: identity codes of clients created in the split deployment
// follow those created in the all-in-one (up to 100,000 of them). BulkPIC(i)
// is born 1950-01-01 + i/100 days, so this range (from 1980-02-13) stays clear
// of the demo people's codes (born 1985-2002) for the first 190,000 creates;
// 1,500,000 hit Tiina's 150391-934P at its 4,835th create.
const splitPICStart = 1_100_000

// benchSplit serves the seeded Redis with six processes, reads their memory
// once all are ready, runs every scenario against them (the demo the
// all-in-one seeded is reused) and reads their memory again.
func benchSplit(ctx context.Context, o Options, dir, redisAddr, picKey string, issuer *auth.DevIssuer, demo dev.Demo, seeded *Seeded) (*SplitRun, error) {
	logf(o, "redis: split deployment: starting %s", strings.Join(SplitProcesses, ", "))
	d, err := startSplit(ctx, o.ServiceBin, dir, redisAddr, picKey, issuer, o.Log)
	if err != nil {
		return nil, err
	}
	sp := &SplitRun{}
	start, err := d.memory()
	if err != nil {
		return sp, errors.Join(err, d.stop())
	}
	d.ready.Demo = demo
	t, err := newTarget(d.ready, issuer, o.Plan.Concurrency)
	if err != nil {
		return sp, errors.Join(err, d.stop())
	}
	var rs []Result
	for _, name := range AllScenarios {
		logf(o, "redis split: %s", name)
		r, err := measure(ctx, t, seeded, o.Plan, []string{name}, splitPICStart)
		rs = append(rs, r...)
		if err != nil {
			t.close()
			sp.Results = withFloors(rs)
			return sp, errors.Join(err, d.stop())
		}
	}
	t.close()
	sp.Results = withFloors(rs)
	end, err := d.memory()
	for i, n := range d.names {
		sp.Processes = append(sp.Processes, ProcessRSS{Name: n, AtStart: start[i], AtEnd: end[i]})
		sp.TotalRSS.AtStart.RSSKB += start[i].RSSKB
		sp.TotalRSS.AtStart.PeakKB += start[i].PeakKB
		sp.TotalRSS.AtEnd.RSSKB += end[i].RSSKB
		sp.TotalRSS.AtEnd.PeakKB += end[i].PeakKB
	}
	return sp, errors.Join(err, d.stop())
}

// withFloors fills in the floor ratios over a list measured one by one.
func withFloors(rs []Result) []Result {
	floors := map[string]Result{}
	for _, r := range rs {
		switch r.Name {
		case FloorGRPC:
			floors["grpc"] = r
		case FloorREST:
			floors["rest"] = r
		}
	}
	for i := range rs {
		if f, ok := floors[rs[i].Kind]; ok && f.P50ms > 0 && f.P99ms > 0 {
			rs[i].FloorRatioP50 = round(rs[i].P50ms / f.P50ms)
			rs[i].FloorRatioP99 = round(rs[i].P99ms / f.P99ms)
		}
	}
	return rs
}

func mb(b int64) float64 { return round(float64(b) / (1 << 20)) }

// spans asks the server how many spans it exported so far.
func spans(control string) int64 {
	resp, err := http.Get("http://" + control + "/spans")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	n, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return n
}

// profile starts a CPU profile of the server for the scenario's duration
// (when profiling) and returns a function that waits for it to be saved.
func profile(o Options, control, kind, name string) func() {
	if o.ProfileDir == "" {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		secs := max(1, int(o.Plan.Duration.Seconds()))
		resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", control, secs))
		if err != nil {
			logf(o, "profile %s: %v", name, err)
			return
		}
		defer resp.Body.Close()
		_ = os.MkdirAll(o.ProfileDir, 0o755)
		f, err := os.Create(filepath.Join(o.ProfileDir, kind+"-"+name+".pprof"))
		if err != nil {
			logf(o, "profile %s: %v", name, err)
			return
		}
		defer f.Close()
		_, _ = io.Copy(f, resp.Body)
	}()
	return func() { <-done }
}
