package service_test

import (
	"context"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/polku-hb/polku/platform/store"
	"github.com/polku-hb/polku/platform/store/redisstore"
	"github.com/polku-hb/polku/platform/testkit"
	referralv1 "github.com/polku-hb/polku/proto/gen/go/polku/referral/v1"
	clientsservice "github.com/polku-hb/polku/services/clients/service"
	"github.com/polku-hb/polku/services/referral/service"
)

// A new referral service process over the same store carries on where the
// first left off.
func TestRestartMidFlowLosesNothing(t *testing.T) {
	stores(t, func(t *testing.T, cs, rs store.Store) {
		e := start(t, cs, rs)
		r := e.draft(t, coaching, 108_000)
		if _, err := e.rc.SendReferral(e.as(t, aino), &referralv1.SendReferralRequest{Name: r.GetName()}); err != nil {
			t.Fatal(err)
		}
		second := e.newSvc()
		conn := testkit.Serve(t, e.tok.Verifier, e.tel, func(g grpc.ServiceRegistrar) { second.Register(g) })
		rc2 := referralv1.NewReferralServiceClient(conn)
		got, err := rc2.AcceptReferral(e.as(t, coach), &referralv1.AcceptReferralRequest{Name: r.GetName(),
			ReceivingResponsible: &referralv1.ResponsiblePerson{DisplayName: "Maria"}})
		if err != nil || got.GetState() != referralv1.Referral_ACCEPTED || got.GetCommitment().GetAmountCents() != 108_000 {
			t.Fatalf("accept on the restarted service = %v, %v", got, err)
		}
		inbox, err := rc2.ListReferrals(e.as(t, coach), &referralv1.ListReferralsRequest{})
		if err != nil || len(inbox.GetReferrals()) != 1 {
			t.Errorf("inbox after restart = %d, %v; want 1", len(inbox.GetReferrals()), err)
		}
	})
}

func TestUpdateDraftOnly(t *testing.T) {
	stores(t, func(t *testing.T, cs, rs store.Store) {
		e := start(t, cs, rs)
		r := e.draft(t, coaching, 0)
		tests := []struct {
			name string
			ref  *referralv1.Referral
			mask []string
			want codes.Code
		}{
			{"no etag", &referralv1.Referral{Name: r.GetName(), RequestNote: "x"}, []string{"request_note"}, codes.InvalidArgument},
			{"stale etag", &referralv1.Referral{Name: r.GetName(), RequestNote: "x", Etag: `W/"99"`}, []string{"request_note"}, codes.Aborted},
			{"immutable field", &referralv1.Referral{Name: r.GetName(), Etag: r.GetEtag()}, []string{"recipient_offering"}, codes.InvalidArgument},
			{"ok", &referralv1.Referral{Name: r.GetName(), RequestNote: "12 sessions", Etag: r.GetEtag()}, []string{"request_note"}, codes.OK},
		}
		for _, tt := range tests {
			got, err := e.rc.UpdateReferral(e.as(t, aino), &referralv1.UpdateReferralRequest{Referral: tt.ref, UpdateMask: &fieldmaskpb.FieldMask{Paths: tt.mask}})
			wantCode(t, tt.name, err, tt.want)
			if err == nil && got.GetRequestNote() != "12 sessions" {
				t.Errorf("%s: request_note = %q", tt.name, got.GetRequestNote())
			}
		}
		sent, err := e.rc.SendReferral(e.as(t, aino), &referralv1.SendReferralRequest{Name: r.GetName()})
		if err != nil || sent.GetPacket().GetRequestNote() != "12 sessions" {
			t.Fatalf("send = %v, %v", sent.GetPacket(), err)
		}
		_, err = e.rc.UpdateReferral(e.as(t, aino), &referralv1.UpdateReferralRequest{Referral: &referralv1.Referral{Name: r.GetName(),
			Etag: sent.GetEtag()}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"request_note"}}})
		wantReason(t, "update a SENT referral", err, "NOT_DRAFT")
	})
}

// On a Redis Cluster every batch (referral, escalations, indexes, event) stays
// in one slot: the whole escalation and redirect flow runs.
func TestRedisCluster(t *testing.T) {
	rc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{testkit.StartRedisCluster(t)}})
	t.Cleanup(func() { rc.Close() })
	e := start(t, redisstore.New(rc, clientsservice.Namespace, clientsservice.Shards), redisstore.New(rc, service.Namespace, service.Shards))
	r := e.draft(t, peerGroup, 5_000)
	if _, err := e.rc.SendReferral(e.as(t, aino), &referralv1.SendReferralRequest{Name: r.GetName()}); err != nil {
		t.Fatal(err)
	}
	e.advance(49 * 3600 * 1e9)
	if n, err := e.svc.EscalateDue(context.Background()); err != nil || n != 1 {
		t.Fatalf("EscalateDue = %d, %v; want 1", n, err)
	}
	if _, err := e.rc.DeclineReferral(e.as(t, peers), &referralv1.DeclineReferralRequest{Name: r.GetName(),
		Reason: referralv1.DeclineReason_DECLINE_REASON_NO_CAPACITY, Note: "full"}); err != nil {
		t.Fatal(err)
	}
	resp, err := e.rc.RedirectReferral(e.as(t, aino), &referralv1.RedirectReferralRequest{Name: r.GetName(), RecipientOffering: otherPeer})
	if err != nil || !strings.HasPrefix(resp.GetSuccessor().GetName(), "referrals/") {
		t.Fatalf("redirect on a cluster = %v, %v", resp, err)
	}
}
