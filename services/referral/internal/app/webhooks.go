package app

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/platform/events"
	"github.com/polku-hb/polku/platform/store"
	"github.com/polku-hb/polku/services/referral/internal/referral"
	repo "github.com/polku-hb/polku/services/referral/internal/store"
)

// Webhook event types (the API's enum names).
const (
	WebhookSent      = "WEBHOOK_EVENT_TYPE_REFERRAL_SENT"
	WebhookUpdated   = "WEBHOOK_EVENT_TYPE_REFERRAL_UPDATED"
	WebhookEscalated = "WEBHOOK_EVENT_TYPE_REFERRAL_ESCALATED"
)

// Renderer turns a provider's view of a referral into a WebhookEvent body
// (proto JSON); the gRPC layer provides it.
type Renderer func(v View, eventID, eventType string, eventTime time.Time) ([]byte, error)

// WebhookConfig configures delivery.
type WebhookConfig struct {
	Render Renderer
	// Client sends the deliveries (its Timeout should be 10 s).
	Client *http.Client
	// AllowLoopbackHTTP permits http:// to loopback hosts (polku dev).
	AllowLoopbackHTTP bool
	// Propagator injects the delivery span's trace context into the request.
	Propagator propagation.TextMapPropagator
}

// SpanWebhook is the span of one delivery attempt.
const SpanWebhook = "referral.webhook.deliver"

func (s *Service) provider(ctx context.Context, providerID string) (auth.Principal, error) {
	p, err := principal(ctx)
	if err != nil {
		return p, err
	}
	if p.Role != auth.RoleProvider || p.ProviderID != providerID {
		return p, ErrPermission
	}
	return p, nil
}

func (s *Service) checkURI(raw string) error {
	u, err := url.Parse(raw)
	if err == nil && u.Host != "" {
		switch u.Scheme {
		case "https":
			return nil
		case "http":
			if ip := net.ParseIP(u.Hostname()); s.Webhooks.AllowLoopbackHTTP && (u.Hostname() == "localhost" || (ip != nil && ip.IsLoopback())) {
				return nil
			}
		}
	}
	return referral.Violations{{Field: "webhook_subscription.uri", Rule: "must be an https:// URL (http:// only to loopback in polku dev)"}}
}

func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// SubscriptionInput is what a provider gives.
type SubscriptionInput struct {
	URI         string
	EventTypes  []string
	Description string
}

// CreateSubscription subscribes a provider's system. The returned secret is
// shown once (showSecret false on a retried request).
func (s *Service) CreateSubscription(ctx context.Context, providerID string, in SubscriptionInput, requestID string) (*referral.Subscription, int64, bool, error) {
	p, err := s.provider(ctx, providerID)
	if err != nil {
		return nil, 0, false, err
	}
	if err := s.checkURI(in.URI); err != nil {
		return nil, 0, false, err
	}
	id := newID()
	if requestID != "" {
		id = derivedID("subscription", p.Subject, requestID)
		if sub, v, err := s.Repo.Subscription(ctx, providerID, id); err == nil {
			return sub, v, false, nil
		}
	}
	now := s.now()
	sub := &referral.Subscription{ID: id, ProviderID: providerID, URI: in.URI, EventTypes: in.EventTypes,
		Description: in.Description, Secret: newSecret(), CreateTime: now, UpdateTime: now}
	if err := s.Repo.CommitProvider(ctx, s.Repo.NewProviderWrite(providerID).Subscription(sub, 0, false)); err != nil {
		return nil, 0, false, notFound(err)
	}
	return sub, 1, true, nil
}

// GetSubscription reads one of the caller's subscriptions.
func (s *Service) GetSubscription(ctx context.Context, providerID, id string) (*referral.Subscription, int64, error) {
	if _, err := s.provider(ctx, providerID); err != nil {
		return nil, 0, err
	}
	sub, v, err := s.Repo.Subscription(ctx, providerID, id)
	return sub, v, notFound(err)
}

// ListSubscriptions pages the caller's subscriptions, newest first.
func (s *Service) ListSubscriptions(ctx context.Context, providerID string, after store.IndexEntry, limit int) ([]*referral.Subscription, store.IndexEntry, error) {
	if _, err := s.provider(ctx, providerID); err != nil {
		return nil, store.IndexEntry{}, err
	}
	es, err := s.Repo.ScanProvider(ctx, providerID, repo.SubsIndex(providerID), after, limit)
	if err != nil {
		return nil, store.IndexEntry{}, err
	}
	var out []*referral.Subscription
	for _, e := range es {
		if sub, _, err := s.Repo.Subscription(ctx, providerID, e.ID); err == nil {
			out = append(out, sub)
		}
	}
	var next store.IndexEntry
	if len(es) == limit {
		next = es[len(es)-1]
	}
	return out, next, nil
}

// DeleteSubscription removes a subscription; its pending deliveries fail.
func (s *Service) DeleteSubscription(ctx context.Context, providerID, id, etag string) error {
	sub, v, err := s.GetSubscription(ctx, providerID, id)
	if err != nil {
		return err
	}
	if err := checkEtag(etag, v); err != nil {
		return err
	}
	return notFound(s.Repo.CommitProvider(ctx, s.Repo.NewProviderWrite(providerID).Subscription(sub, v, true)))
}

// UpdateSubscription changes the fields named in paths (uri, event_types,
// description) of a subscription at the given etag (required).
func (s *Service) UpdateSubscription(ctx context.Context, providerID, id, etag string, in SubscriptionInput, paths []string) (*referral.Subscription, int64, error) {
	if etag == "" {
		return nil, 0, referral.Violations{{Field: "webhook_subscription.etag", Rule: "is required: send the etag of the version you edited"}}
	}
	if len(paths) == 0 {
		return nil, 0, referral.Violations{{Field: "update_mask", Rule: "must name at least one of uri, event_types, description"}}
	}
	sub, v, err := s.GetSubscription(ctx, providerID, id)
	if err != nil {
		return nil, 0, err
	}
	if err := checkEtag(etag, v); err != nil {
		return nil, 0, err
	}
	for _, path := range paths {
		switch path {
		case "uri":
			if err := s.checkURI(in.URI); err != nil {
				return nil, 0, err
			}
			sub.URI = in.URI
		case "event_types":
			sub.EventTypes = in.EventTypes
		case "description":
			sub.Description = in.Description
		default:
			return nil, 0, referral.Violations{{Field: "update_mask", Rule: "field " + path + " cannot be updated; updatable: uri, event_types, description"}}
		}
	}
	sub.UpdateTime = s.now()
	if err := s.Repo.CommitProvider(ctx, s.Repo.NewProviderWrite(providerID).Subscription(sub, v, false)); err != nil {
		return nil, 0, notFound(err)
	}
	return sub, v + 1, nil
}

// RotateSecret issues a new secret; the previous one signs alongside for 24 h.
func (s *Service) RotateSecret(ctx context.Context, providerID, id, etag string) (*referral.Subscription, int64, error) {
	sub, v, err := s.GetSubscription(ctx, providerID, id)
	if err != nil {
		return nil, 0, err
	}
	if err := checkEtag(etag, v); err != nil {
		return nil, 0, err
	}
	now := s.now()
	sub.PreviousSecret, sub.Secret, sub.SecretRotateTime, sub.UpdateTime = sub.Secret, newSecret(), now, now
	if err := s.Repo.CommitProvider(ctx, s.Repo.NewProviderWrite(providerID).Subscription(sub, v, false)); err != nil {
		return nil, 0, notFound(err)
	}
	return sub, v + 1, nil
}

// GetDelivery reads a delivery of the caller's log.
func (s *Service) GetDelivery(ctx context.Context, providerID, id string) (*referral.Delivery, error) {
	if _, err := s.provider(ctx, providerID); err != nil {
		return nil, err
	}
	d, _, err := s.Repo.Delivery(ctx, providerID, id)
	return d, notFound(err)
}

// ListDeliveries pages the caller's delivery log, newest first.
func (s *Service) ListDeliveries(ctx context.Context, providerID string, after store.IndexEntry, limit int) ([]*referral.Delivery, store.IndexEntry, error) {
	if _, err := s.provider(ctx, providerID); err != nil {
		return nil, store.IndexEntry{}, err
	}
	es, err := s.Repo.ScanProvider(ctx, providerID, repo.DeliveriesIndex(providerID), after, limit)
	if err != nil {
		return nil, store.IndexEntry{}, err
	}
	var out []*referral.Delivery
	for _, e := range es {
		if d, _, err := s.Repo.Delivery(ctx, providerID, e.ID); err == nil {
			out = append(out, d)
		}
	}
	var next store.IndexEntry
	if len(es) == limit {
		next = es[len(es)-1]
	}
	return out, next, nil
}

// webhookType maps a referral event to a webhook event type ("" = none).
func webhookType(eventType string) string {
	switch strings.TrimPrefix(eventType, EventPrefix+"referral.") {
	case "created":
		return ""
	case "sent":
		return WebhookSent
	case "escalated":
		return WebhookEscalated
	}
	return WebhookUpdated
}

// QueueWebhooks is the handler of the webhook consumer over this service's
// own event stream: one delivery per subscription of the recipient provider
// that wants the event, created once (its id is derived from the event and the
// subscription).
func (s *Service) QueueWebhooks(ctx context.Context, e events.Envelope) error {
	typ := webhookType(e.Type)
	if e.Source != Source || typ == "" {
		return nil
	}
	r, _, err := s.Repo.Referral(ctx, strings.TrimPrefix(e.Subject, "referrals/"))
	if err != nil || !r.WasSent() {
		return nil
	}
	prov := r.RecipientProvider
	var after store.IndexEntry
	for {
		es, err := s.Repo.ScanProvider(ctx, prov, repo.SubsIndex(prov), after, 100)
		if err != nil {
			return err
		}
		for _, x := range es {
			sub, _, err := s.Repo.Subscription(ctx, prov, x.ID)
			if err != nil || !sub.Wants(typ) {
				continue
			}
			d := &referral.Delivery{ID: derivedID("delivery", e.ID, sub.ID), ProviderID: prov, Subscription: sub.ID,
				EventID: e.ID, EventType: typ, EventTime: e.Time, ReferralID: r.ID, State: referral.DeliveryPending,
				CreateTime: s.now(), NextAttemptTime: s.now()}
			if err := s.Repo.CommitProvider(ctx, s.Repo.NewProviderWrite(prov).Delivery(nil, d, 0)); err != nil && !errors.Is(err, repo.ErrConflict) {
				return err
			}
		}
		if len(es) < 100 {
			return nil
		}
		after = es[len(es)-1]
	}
}

// DeliverDue attempts every delivery whose time has come. Replicas claim a
// delivery with a compare-and-set (moving its next attempt a lease ahead)
// before sending, so one replica sends it.
func (s *Service) DeliverDue(ctx context.Context) (int, error) {
	now := s.now()
	es, err := s.Repo.Scan(ctx, repo.PendingIndex, store.IndexEntry{}, 100, false)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range es {
		if e.SortKey > repo.TimeKey(now) {
			break
		}
		prov, id, _ := strings.Cut(e.ID, "/")
		if s.deliver(ctx, prov, id, now) {
			n++
		}
	}
	return n, nil
}

const lease = 2 * time.Minute

func (s *Service) deliver(ctx context.Context, prov, id string, now time.Time) bool {
	d, v, err := s.Repo.Delivery(ctx, prov, id)
	if err != nil || d.NextAttemptTime.IsZero() || d.NextAttemptTime.After(now) {
		return false
	}
	before := *d
	d.NextAttemptTime = now.Add(lease)
	if err := s.Repo.CommitProvider(ctx, s.Repo.NewProviderWrite(prov).Delivery(&before, d, v)); err != nil {
		return false // another replica has it
	}
	v++
	claimed := *d

	r, _, rerr := s.Repo.Referral(ctx, d.ReferralID)
	var sc trace.SpanContext
	if rerr == nil {
		sc, _ = firstSpan(r)
	}
	opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		attribute.String(AttrReferralID, d.ReferralID), attribute.String(AttrProviderID, prov),
		attribute.String("polku.webhook.event_type", d.EventType), attribute.Int("polku.webhook.attempt", d.Attempts+1))}
	if sc.IsValid() {
		opts = append(opts, trace.WithLinks(trace.Link{SpanContext: sc}))
	}
	sctx, span := s.Tracer.Start(ctx, SpanWebhook, opts...)
	code, errText := s.attempt(sctx, prov, d, r, rerr, now)
	span.SetAttributes(attribute.Int("http.response.status_code", code))
	if errText != "" {
		span.SetStatus(codes.Error, errText)
	}
	span.End()

	d.Record(s.now(), code, errText)
	if errText == "subscription deleted" {
		d.State, d.NextAttemptTime = referral.DeliveryFailed, time.Time{}
	}
	if err := s.Repo.CommitProvider(ctx, s.Repo.NewProviderWrite(prov).Delivery(&claimed, d, v)); err != nil {
		s.Logger.WarnContext(ctx, "webhook delivery record failed", "delivery", id, "error", err.Error())
	}
	return d.State == referral.DeliverySucceeded
}

func (s *Service) attempt(ctx context.Context, prov string, d *referral.Delivery, r *referral.Referral, rerr error, now time.Time) (int, string) {
	sub, _, err := s.Repo.Subscription(ctx, prov, d.Subscription)
	if err != nil {
		return 0, "subscription deleted"
	}
	if rerr != nil {
		return 0, "referral unreadable"
	}
	// The provider's view: the packet filtered by the consents in force now.
	view, err := s.view(auth.NewContext(ctx, auth.Principal{Subject: "system", Role: auth.RoleProvider, ProviderID: prov}), auth.Principal{Role: auth.RoleProvider, ProviderID: prov}, r, 0)
	if err != nil {
		return 0, "consent check unavailable"
	}
	body, err := s.Webhooks.Render(view, d.EventID, d.EventType, d.EventTime)
	if err != nil {
		return 0, "render"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sub.URI, bytes.NewReader(body))
	if err != nil {
		return 0, "bad uri"
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(referral.HeaderID, d.EventID)
	req.Header.Set(referral.HeaderTimestamp, fmt.Sprint(now.Unix()))
	req.Header.Set(referral.HeaderSignature, referral.Sign(body, now, sub.Secrets(now)...))
	if s.Webhooks.Propagator != nil {
		s.Webhooks.Propagator.Inject(ctx, propagation.HeaderCarrier(req.Header))
	}
	resp, err := s.Webhooks.Client.Do(req)
	if err != nil {
		var ne net.Error
		switch {
		case errors.As(err, &ne) && ne.Timeout():
			return 0, "timeout"
		case strings.Contains(err.Error(), "refused"):
			return 0, "connection refused"
		case strings.Contains(err.Error(), "tls"):
			return 0, "tls"
		}
		return 0, "connection failed"
	}
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		return resp.StatusCode, fmt.Sprintf("http %d", resp.StatusCode)
	}
	return resp.StatusCode, ""
}

// RunDeliveries runs DeliverDue every interval until ctx ends.
func (s *Service) RunDeliveries(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := s.DeliverDue(ctx); err != nil && ctx.Err() == nil {
			s.Logger.WarnContext(ctx, "webhook pass failed", "error", err.Error())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
