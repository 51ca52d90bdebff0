package service_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/polku-hb/polku/platform/store"
	referralv1 "github.com/polku-hb/polku/proto/gen/go/polku/referral/v1"
	"github.com/polku-hb/polku/services/referral/internal/referral"
)

func TestWebhookSignedAndRetried(t *testing.T) {
	stores(t, func(t *testing.T, cs, rs store.Store) {
		e := start(t, cs, rs)
		var mu sync.Mutex
		var secret string
		var bodies [][]byte
		var verified []error
		calls := 0
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			defer mu.Unlock()
			calls++
			verified = append(verified, referral.Verify(b, r.Header.Get(referral.HeaderTimestamp), r.Header.Get(referral.HeaderSignature), []byte(secret), e.now()))
			bodies = append(bodies, b)
			if calls == 1 {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		}))
		t.Cleanup(srv.Close)

		_, err := e.rc.CreateWebhookSubscription(e.as(t, coach), &referralv1.CreateWebhookSubscriptionRequest{Parent: "providers/neurocoach",
			WebhookSubscription: &referralv1.WebhookSubscription{Uri: "http://example.com/hook"}})
		wantCode(t, "plain http to a public host", err, codes.InvalidArgument)
		_, err = e.rc.CreateWebhookSubscription(e.as(t, peers), &referralv1.CreateWebhookSubscriptionRequest{Parent: "providers/neurocoach",
			WebhookSubscription: &referralv1.WebhookSubscription{Uri: srv.URL}})
		wantCode(t, "another provider subscribes", err, codes.PermissionDenied)
		sub, err := e.rc.CreateWebhookSubscription(e.as(t, coach), &referralv1.CreateWebhookSubscriptionRequest{Parent: "providers/neurocoach",
			RequestId: "sub-1", WebhookSubscription: &referralv1.WebhookSubscription{Uri: srv.URL}})
		if err != nil || sub.GetSecret() == "" {
			t.Fatalf("CreateWebhookSubscription = %v, %v; want a secret", sub, err)
		}
		mu.Lock()
		secret = sub.GetSecret()
		mu.Unlock()
		again, err := e.rc.CreateWebhookSubscription(e.as(t, coach), &referralv1.CreateWebhookSubscriptionRequest{Parent: "providers/neurocoach",
			RequestId: "sub-1", WebhookSubscription: &referralv1.WebhookSubscription{Uri: srv.URL}})
		if err != nil || again.GetName() != sub.GetName() || again.GetSecret() != "" {
			t.Errorf("retried create = %v, %v; want the same subscription without its secret", again, err)
		}
		// Update: the description changes, a stale etag and a public plain-http
		// URI are refused, and the secret is never shown again.
		upd, err := e.rc.UpdateWebhookSubscription(e.as(t, coach), &referralv1.UpdateWebhookSubscriptionRequest{
			WebhookSubscription: &referralv1.WebhookSubscription{Name: sub.GetName(), Etag: sub.GetEtag(), Description: "case system"},
			UpdateMask:          &fieldmaskpb.FieldMask{Paths: []string{"description"}}})
		if err != nil || upd.GetDescription() != "case system" || upd.GetUri() != srv.URL || upd.GetSecret() != "" {
			t.Errorf("UpdateWebhookSubscription = %v, %v; want the new description, the same URI, no secret", upd, err)
		}
		_, err = e.rc.UpdateWebhookSubscription(e.as(t, coach), &referralv1.UpdateWebhookSubscriptionRequest{
			WebhookSubscription: &referralv1.WebhookSubscription{Name: sub.GetName(), Etag: sub.GetEtag(), Description: "x"},
			UpdateMask:          &fieldmaskpb.FieldMask{Paths: []string{"description"}}})
		wantCode(t, "update with a stale etag", err, codes.Aborted)
		_, err = e.rc.UpdateWebhookSubscription(e.as(t, coach), &referralv1.UpdateWebhookSubscriptionRequest{
			WebhookSubscription: &referralv1.WebhookSubscription{Name: sub.GetName(), Etag: upd.GetEtag(), Uri: "http://example.com/hook"},
			UpdateMask:          &fieldmaskpb.FieldMask{Paths: []string{"uri"}}})
		wantCode(t, "update to plain http on a public host", err, codes.InvalidArgument)
		_, err = e.rc.UpdateWebhookSubscription(e.as(t, peers), &referralv1.UpdateWebhookSubscriptionRequest{
			WebhookSubscription: &referralv1.WebhookSubscription{Name: sub.GetName(), Etag: upd.GetEtag(), Description: "y"},
			UpdateMask:          &fieldmaskpb.FieldMask{Paths: []string{"description"}}})
		wantCode(t, "another provider updates", err, codes.PermissionDenied)

		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = e.svc.WebhookConsumer().Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })

		r := e.draft(t, coaching, 0)
		if _, err := e.rc.SendReferral(e.as(t, aino), &referralv1.SendReferralRequest{Name: r.GetName()}); err != nil {
			t.Fatal(err)
		}
		// Wait for the consumer to queue the delivery, then attempt it: 503.
		var log *referralv1.ListWebhookDeliveriesResponse
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			log, err = e.rc.ListWebhookDeliveries(e.as(t, coach), &referralv1.ListWebhookDeliveriesRequest{Parent: "providers/neurocoach"})
			if err == nil && len(log.GetWebhookDeliveries()) == 1 {
				break
			}
		}
		if len(log.GetWebhookDeliveries()) != 1 {
			t.Fatalf("delivery log = %v; want one queued delivery", log)
		}
		if n, err := e.svc.DeliverWebhooks(context.Background()); err != nil || n != 0 {
			t.Fatalf("first attempt = %d, %v; want 0 delivered", n, err)
		}
		d, err := e.rc.GetWebhookDelivery(e.as(t, coach), &referralv1.GetWebhookDeliveryRequest{Name: log.GetWebhookDeliveries()[0].GetName()})
		if err != nil || d.GetState() != referralv1.WebhookDelivery_RETRYING || d.GetLastError() != "http 503" ||
			!d.GetNextAttemptTime().AsTime().Equal(e.now().Add(30*time.Second)) {
			t.Fatalf("after 503 delivery = %v, %v; want RETRYING in 30 s", d, err)
		}
		if n, _ := e.svc.DeliverWebhooks(context.Background()); n != 0 {
			t.Errorf("attempt before the backoff delivered %d", n)
		}
		e.advance(31 * time.Second)
		if n, err := e.svc.DeliverWebhooks(context.Background()); err != nil || n != 1 {
			t.Fatalf("retry = %d, %v; want 1", n, err)
		}
		d, _ = e.rc.GetWebhookDelivery(e.as(t, coach), &referralv1.GetWebhookDeliveryRequest{Name: d.GetName()})
		if d.GetState() != referralv1.WebhookDelivery_SUCCEEDED || d.GetAttemptCount() != 2 || d.GetLastStatusCode() != 204 {
			t.Errorf("delivery = %v; want SUCCEEDED after 2 attempts", d)
		}
		mu.Lock()
		defer mu.Unlock()
		for i, v := range verified {
			if v != nil {
				t.Errorf("attempt %d: signature verification = %v", i, v)
			}
		}
		var ev referralv1.WebhookEvent
		if err := protojson.Unmarshal(bodies[1], &ev); err != nil || ev.GetReferral().GetName() != r.GetName() ||
			ev.GetType() != referralv1.WebhookEventType_WEBHOOK_EVENT_TYPE_REFERRAL_SENT || ev.GetReferral().GetClient() != "" {
			t.Errorf("body = %s, %v; want the SENT event without the client", bodies[1], err)
		}
		if string(bodies[0]) != string(bodies[1]) || strings.Contains(string(bodies[1]), e.tiina) {
			t.Errorf("retry body differs or carries the client id")
		}
		var spans int
		for _, s := range e.flush(t) {
			if s.Name() == "referral.webhook.deliver" {
				spans++
				if len(s.Links()) != 1 || attr(s, "polku.referral.id") == "" {
					t.Errorf("delivery span links %v attrs %v", s.Links(), s.Attributes())
				}
			}
		}
		if spans != 2 {
			t.Errorf("delivery spans = %d; want 2", spans)
		}
	})
}
