package service_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/polku-hb/polku/platform/store"
	clientsv1 "github.com/polku-hb/polku/proto/gen/go/polku/clients/v1"
	referralv1 "github.com/polku-hb/polku/proto/gen/go/polku/referral/v1"
)

// Every state change is an event the clients service files on the client's
// timeline; the events carry ids and codes only.
func TestStateChangesReachTheTimeline(t *testing.T) {
	stores(t, func(t *testing.T, cs, rs store.Store) {
		e := start(t, cs, rs)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = e.csvc.RunConsumers(ctx, rs) }()
		t.Cleanup(func() { cancel(); <-done })

		r := e.draft(t, coaching, 0)
		calls := []func() error{
			func() error {
				_, err := e.rc.SendReferral(e.as(t, aino), &referralv1.SendReferralRequest{Name: r.GetName()})
				return err
			},
			func() error {
				_, err := e.rc.DeclineReferral(e.as(t, coach), &referralv1.DeclineReferralRequest{Name: r.GetName(),
					Reason: referralv1.DeclineReason_DECLINE_REASON_NOT_SUITABLE, Note: "not our field"})
				return err
			},
			func() error {
				_, err := e.rc.CloseReferral(e.as(t, aino), &referralv1.CloseReferralRequest{Name: r.GetName(), Reason: "family work instead"})
				return err
			},
		}
		for i, c := range calls {
			e.advance(time.Minute)
			if err := c(); err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
		}
		want := []string{"created", "sent", "declined", "closed"}
		var got []string
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			resp, err := e.cc.ListTimelineEvents(e.as(t, aino), &clientsv1.ListTimelineEventsRequest{Parent: e.parent})
			if err != nil {
				t.Fatal(err)
			}
			got = nil
			for _, ev := range resp.GetTimelineEvents() {
				if ev.GetSource() == "referral" {
					got = append(got, strings.TrimPrefix(ev.GetType(), "polku.referral.v1.referral."))
					if ev.GetSubject() != r.GetName() {
						t.Errorf("timeline subject = %q; want %q", ev.GetSubject(), r.GetName())
					}
				}
			}
			slices.Reverse(got) // newest first
			if slices.Equal(got, want) {
				return
			}
		}
		t.Errorf("timeline referral events = %v; want %v", got, want)
	})
}
