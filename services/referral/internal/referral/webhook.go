package referral

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Webhook headers.
const (
	HeaderID        = "Polku-Webhook-Id"
	HeaderTimestamp = "Polku-Webhook-Timestamp"
	HeaderSignature = "Polku-Webhook-Signature"
)

// ReplayWindow is how far a delivery's timestamp may be off.
const ReplayWindow = 5 * time.Minute

// Sign returns the signature header value: "v1=" + hex HMAC-SHA256 over
// "{timestamp}.{body}" for each secret (a rotation signs with two).
func Sign(body []byte, ts time.Time, secrets ...[]byte) string {
	parts := make([]string, 0, len(secrets))
	for _, s := range secrets {
		parts = append(parts, "v1="+mac(s, strconv.FormatInt(ts.Unix(), 10), body))
	}
	return strings.Join(parts, ",")
}

func mac(secret []byte, ts string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Verification errors.
var (
	ErrBadSignature = errors.New("webhook signature does not match")
	ErrStale        = errors.New("webhook timestamp is outside the replay window")
)

// Verify is what a receiver does: the timestamp within ReplayWindow of now and
// one v1 signature matching the secret.
func Verify(body []byte, timestamp, signature string, secret []byte, now time.Time) error {
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return ErrStale
	}
	if d := now.Sub(time.Unix(sec, 0)); d > ReplayWindow || d < -ReplayWindow {
		return ErrStale
	}
	want := mac(secret, timestamp, body)
	for _, p := range strings.Split(signature, ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(p), "v1="); ok && hmac.Equal([]byte(v), []byte(want)) {
			return nil
		}
	}
	return ErrBadSignature
}

// Backoff is the wait before retry attempt n (1-based): 30 s doubling, at most
// 1 h.
func Backoff(attempt int) time.Duration {
	d := 30 * time.Second
	for i := 1; i < attempt && d < time.Hour; i++ {
		d *= 2
	}
	return min(d, time.Hour)
}

// Subscription is a provider system's webhook subscription.
type Subscription struct {
	ID               string    `json:"id"`
	ProviderID       string    `json:"provider_id"`
	URI              string    `json:"uri"`
	EventTypes       []string  `json:"event_types,omitempty"` // WEBHOOK_EVENT_TYPE_*; empty = all
	Description      string    `json:"description,omitempty"`
	Secret           string    `json:"secret"`
	PreviousSecret   string    `json:"previous_secret,omitempty"`
	SecretRotateTime time.Time `json:"secret_rotate_time,omitzero"`
	CreateTime       time.Time `json:"create_time"`
	UpdateTime       time.Time `json:"update_time"`
}

// Wants reports whether the subscription takes events of typ.
func (s *Subscription) Wants(typ string) bool {
	return len(s.EventTypes) == 0 || slicesContains(s.EventTypes, typ)
}

func slicesContains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// Secrets are the secrets that sign now: the current one, and the previous
// one for 24 h after a rotation.
func (s *Subscription) Secrets(now time.Time) [][]byte {
	out := [][]byte{[]byte(s.Secret)}
	if s.PreviousSecret != "" && now.Sub(s.SecretRotateTime) < 24*time.Hour {
		out = append(out, []byte(s.PreviousSecret))
	}
	return out
}

// Delivery states (the API's enum names).
const (
	DeliveryPending   = "PENDING"
	DeliveryRetrying  = "RETRYING"
	DeliverySucceeded = "SUCCEEDED"
	DeliveryFailed    = "FAILED"
)

// GiveUpAfter is how long a delivery is retried.
const GiveUpAfter = 72 * time.Hour

// Delivery is one webhook delivery and its attempts.
type Delivery struct {
	ID              string    `json:"id"`
	ProviderID      string    `json:"provider_id"`
	Subscription    string    `json:"subscription"` // subscription id
	EventID         string    `json:"event_id"`
	EventType       string    `json:"event_type"`
	EventTime       time.Time `json:"event_time"`
	ReferralID      string    `json:"referral_id"`
	State           string    `json:"state"`
	Attempts        int       `json:"attempts"`
	LastStatusCode  int       `json:"last_status_code,omitempty"`
	LastError       string    `json:"last_error,omitempty"`
	CreateTime      time.Time `json:"create_time"`
	LastAttemptTime time.Time `json:"last_attempt_time,omitzero"`
	NextAttemptTime time.Time `json:"next_attempt_time,omitzero"`
}

// Record applies the result of an attempt at now: success, or a retry after
// Backoff, or FAILED once GiveUpAfter has passed since the delivery was made.
func (d *Delivery) Record(now time.Time, code int, errText string) {
	d.Attempts++
	d.LastAttemptTime, d.LastStatusCode, d.LastError = now, code, errText
	switch {
	case code >= 200 && code < 300:
		d.State, d.NextAttemptTime = DeliverySucceeded, time.Time{}
	case now.Sub(d.CreateTime) >= GiveUpAfter:
		d.State, d.NextAttemptTime = DeliveryFailed, time.Time{}
	default:
		d.State, d.NextAttemptTime = DeliveryRetrying, now.Add(Backoff(d.Attempts))
	}
}
