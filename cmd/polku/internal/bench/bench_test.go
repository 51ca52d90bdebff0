package bench

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/polku-hb/polku/platform/testkit"
)

// The server half runs in this test binary re-executed with this variable
// set, as `polku bench serve` does in the real binary.
const serveEnv = "POLKU_BENCH_TEST_SERVE"

func TestMain(m *testing.M) {
	if os.Getenv(serveEnv) == "1" {
		var args []string
		_ = json.Unmarshal([]byte(os.Getenv(serveEnv+"_ARGS")), &args)
		if err := Serve(context.Background(), args, os.Stdout); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func selfServer(t *testing.T) func([]string) *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return func(args []string) *exec.Cmd {
		b, _ := json.Marshal(args)
		cmd := exec.Command(exe)
		cmd.Env = append(os.Environ(), serveEnv+"=1", serveEnv+"_ARGS="+string(b))
		return cmd
	}
}

// TestBenchEndToEnd runs the whole generator at a tiny scale (200 clients) on
// both stores, growth step included, and checks the JSON report: every
// scenario ran with successful requests and no errors, and the memory and
// tracing figures were taken.
func TestBenchEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the all-in-one four times")
	}
	out := filepath.Join(t.TempDir(), "latest.json")
	bin := t.TempDir()
	if err := BuildServices(context.Background(), bin); err != nil {
		t.Fatal(err)
	}
	rep0, err := Bench(context.Background(), Options{
		Stores: []string{"redis", "embedded"}, Scale: 0.002, EmbeddedScale: 0.002, Growth: true, Split: true, ServiceBin: bin,
		Plan:     Plan{Concurrency: 4, Duration: 300 * time.Millisecond, Sends: 20},
		Parallel: 2, Out: out, RedisAddr: testkit.StartRedis(t), ServerCommand: selfServer(t), Log: testWriter{t},
	})
	if err != nil {
		t.Fatal(err)
	}
	var table strings.Builder
	if err := PrintTable(&table, rep0); err != nil {
		t.Fatal(err)
	}
	t.Log(table.String())
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rep Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Machine.Cores == 0 || rep.Machine.GoVersion == "" {
		t.Errorf("machine facts missing: %+v", rep.Machine)
	}
	if len(rep.Runs) != 2 {
		t.Fatalf("runs: %d, want redis and embedded", len(rep.Runs))
	}
	for _, run := range rep.Runs {
		if run.Volume.Clients != 200 || run.Volume.Budgets != 20 {
			t.Errorf("%s: volume %+v, want 200 clients and 20 budgets", run.Store, run.Volume)
		}
		var names []string
		for _, r := range run.Results {
			names = append(names, r.Name)
			if r.Requests-r.Errors <= 0 || r.Errors != 0 {
				t.Errorf("%s %s: %d requests, %d errors (%s)", run.Store, r.Name, r.Requests, r.Errors, r.FirstError)
			}
			if r.P50ms <= 0 || r.P99ms < r.P50ms {
				t.Errorf("%s %s: p50 %v p99 %v", run.Store, r.Name, r.P50ms, r.P99ms)
			}
			if r.Name != FloorGRPC && r.Name != FloorREST && r.FloorRatioP50 <= 0 {
				t.Errorf("%s %s: no ratio to the floor", run.Store, r.Name)
			}
		}
		for _, want := range AllScenarios {
			if !slices.Contains(names, want) {
				t.Errorf("%s: scenario %s missing", run.Store, want)
			}
		}
		if len(run.Growth) != len(ReadScenarios) {
			t.Errorf("%s: growth %+v", run.Store, run.Growth)
		}
		for _, g := range run.Growth {
			if g.P99At10 <= 0 || g.P99At100 <= 0 {
				t.Errorf("%s: growth of %s not measured: %+v", run.Store, g.Scenario, g)
			}
		}
		if run.ServerRSS.AtStart.RSSKB <= 0 || run.ServerRSS.AtEnd.RSSKB <= 0 {
			t.Errorf("%s: server RSS not read: %+v", run.Store, run.ServerRSS)
		}
		if run.SpansPerOp < 2 {
			t.Errorf("%s: %.1f spans per send: tracing is not on", run.Store, run.SpansPerOp)
		}
		if len(run.Seeding) != 2 {
			t.Errorf("%s: %d seeding steps, want 10%% then the rest", run.Store, len(run.Seeding))
		}
	}
	if r := rep.Runs[0].Redis; r == nil || r.UsedMemoryMB <= 0 || r.PerThousandClientsKB <= 0 {
		t.Errorf("redis memory not measured: %+v", r)
	}
	// The split deployment (Redis only): the same scenarios without errors,
	// and the memory of each of the six processes.
	if sp := rep.Runs[0].Split; sp == nil {
		t.Errorf("redis: no split deployment")
	} else {
		var names []string
		for _, r := range sp.Results {
			names = append(names, r.Name)
			if r.Requests-r.Errors <= 0 || r.Errors != 0 {
				t.Errorf("split %s: %d requests, %d errors (%s)", r.Name, r.Requests, r.Errors, r.FirstError)
			}
		}
		if !slices.Equal(names, AllScenarios) {
			t.Errorf("split scenarios %v, want %v", names, AllScenarios)
		}
		var procs []string
		for _, p := range sp.Processes {
			procs = append(procs, p.Name)
			if p.AtStart.RSSKB <= 0 || p.AtEnd.RSSKB <= 0 {
				t.Errorf("split %s: RSS not read: %+v", p.Name, p)
			}
		}
		if !slices.Equal(procs, SplitProcesses) || len(procs) != 6 {
			t.Errorf("split processes %v, want %v", procs, SplitProcesses)
		}
		if sp.TotalRSS.AtEnd.RSSKB <= 0 {
			t.Errorf("split: no total RSS")
		}
	}
	if rep.Runs[1].Split != nil {
		t.Errorf("embedded: a split deployment cannot share the file")
	}
	if rep.Runs[1].DBFileMB <= 0 {
		t.Errorf("embedded file size not measured")
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
