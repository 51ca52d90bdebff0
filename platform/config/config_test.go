package config

import (
	"strings"
	"testing"
	"time"
)

func TestEnvDefaultsAndValues(t *testing.T) {
	e := FromMap(map[string]string{"A": "x", "N": "7", "D": "2s", "B": "true", "EMPTY": ""})
	if got := e.String("A", "d"); got != "x" {
		t.Errorf("String(A) = %q; want x", got)
	}
	if got := e.String("EMPTY", "d"); got != "d" {
		t.Errorf("String(EMPTY) = %q; want default d", got)
	}
	if got := e.Int("N", 1); got != 7 {
		t.Errorf("Int(N) = %d; want 7", got)
	}
	if got := e.Duration("D", time.Second); got != 2*time.Second {
		t.Errorf("Duration(D) = %v; want 2s", got)
	}
	if got := e.Bool("B", false); !got {
		t.Errorf("Bool(B) = false; want true")
	}
	if err := e.Err(); err != nil {
		t.Fatalf("Err() = %v; want nil", err)
	}
}

func TestEnvCollectsEveryError(t *testing.T) {
	e := FromMap(map[string]string{"N": "seven", "D": "soon"})
	e.Int("N", 1)
	e.Duration("D", time.Second)
	e.Require("KEY", "")
	err := e.Err()
	if err == nil {
		t.Fatal("Err() = nil; want three problems")
	}
	for _, want := range []string{"N:", "D:", "KEY must be set"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Err() = %q; want it to mention %q", err, want)
		}
	}
}
