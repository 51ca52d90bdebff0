// Package faults holds Polku's fault tests: the whole suite on a real Redis that
// is killed with SIGKILL, frozen, failed over and restarted, services stopped
// mid-flow, and stream consumers crashed and doubled. The tests carry the build
// tag "faults" so that `make test` stays fast; run them with `make test-faults`.
// docs/resilience.md says what each one shows and what it does not.
package faults
