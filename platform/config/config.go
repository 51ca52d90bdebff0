// Package config reads a service's typed configuration from environment variables
// once at start. Every variable has a documented default; bad values are collected
// and reported together so an operator fixes them in one go.
package config

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"
)

// Env reads variables through a lookup function (os.LookupEnv in production, a map
// in tests) and remembers every malformed value.
type Env struct {
	lookup func(string) (string, bool)
	errs   []error
}

// FromOS reads the process environment.
func FromOS() *Env { return &Env{lookup: os.LookupEnv} }

// FromMap reads a fixed map (tests).
func FromMap(m map[string]string) *Env {
	return &Env{lookup: func(k string) (string, bool) { v, ok := m[k]; return v, ok }}
}

// String returns the variable or def when unset or empty.
func (e *Env) String(key, def string) string {
	if v, ok := e.lookup(key); ok && v != "" {
		return v
	}
	return def
}

// Int returns the variable as an integer, or def.
func (e *Env) Int(key string, def int) int {
	v, ok := e.lookup(key)
	if !ok || v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		e.errs = append(e.errs, fmt.Errorf("%s: %q is not an integer", key, v))
		return def
	}
	return n
}

// Int64 returns the variable as a 64-bit integer, or def.
func (e *Env) Int64(key string, def int64) int64 {
	v, ok := e.lookup(key)
	if !ok || v == "" {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		e.errs = append(e.errs, fmt.Errorf("%s: %q is not an integer", key, v))
		return def
	}
	return n
}

// Bool returns the variable as a boolean (true/false/1/0), or def.
func (e *Env) Bool(key string, def bool) bool {
	v, ok := e.lookup(key)
	if !ok || v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		e.errs = append(e.errs, fmt.Errorf("%s: %q is not a boolean", key, v))
		return def
	}
	return b
}

// Duration returns the variable as a Go duration ("30s", "6h"), or def.
func (e *Env) Duration(key string, def time.Duration) time.Duration {
	v, ok := e.lookup(key)
	if !ok || v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		e.errs = append(e.errs, fmt.Errorf("%s: %q is not a duration (e.g. 30s, 5m)", key, v))
		return def
	}
	return d
}

// Require records an error when a value that has no safe default is empty.
func (e *Env) Require(key, value string) {
	if value == "" {
		e.errs = append(e.errs, fmt.Errorf("%s must be set", key))
	}
}

// Fail records a validation error found by the caller.
func (e *Env) Fail(err error) { e.errs = append(e.errs, err) }

// Err returns every problem found so far, joined, or nil.
func (e *Env) Err() error { return errors.Join(e.errs...) }
