package service_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/platform/store"
	"github.com/polku-hb/polku/platform/testkit"
	cataloguev1 "github.com/polku-hb/polku/proto/gen/go/polku/catalogue/v1"
	"github.com/polku-hb/polku/services/catalogue/service"
)

func TestProviderCredentials(t *testing.T) {
	stores(t, func(t *testing.T, st store.Store) {
		e := start(t, st)
		a := activeProvider(t, e, assoc("A ry", "0211675-2"))
		b := activeProvider(t, e, assoc("B ry", "2011512-0"))
		req := &cataloguev1.CreateProviderCredentialRequest{Parent: a.GetName(), ProviderCredential: &cataloguev1.ProviderCredential{DisplayName: "booking system"}, RequestId: "c-1"}
		_, err := e.cc.CreateProviderCredential(e.as(t, staff(a.GetName())), req)
		wantCode(t, "provider issues its own credential", err, codes.PermissionDenied)
		c, err := e.cc.CreateProviderCredential(e.as(t, op), req)
		if err != nil || c.GetClientSecret() == "" || c.GetClientId() == "" || c.GetState() != cataloguev1.ProviderCredential_ACTIVE || c.GetIssuedBy() != op.Subject {
			t.Fatalf("CreateProviderCredential = %v, %v", c, err)
		}
		again, err := e.cc.CreateProviderCredential(e.as(t, op), req)
		if err != nil || again.GetName() != c.GetName() || again.GetClientSecret() != "" {
			t.Errorf("retry = %v, %v; want the same credential without its secret", again, err)
		}
		_, err = e.cc.CreateProviderCredential(e.as(t, op), &cataloguev1.CreateProviderCredentialRequest{Parent: a.GetName(), ProviderCredential: &cataloguev1.ProviderCredential{}})
		wantCode(t, "no display name", err, codes.InvalidArgument)
		l, err := e.cc.ListProviderCredentials(e.as(t, staff(a.GetName())), &cataloguev1.ListProviderCredentialsRequest{Parent: a.GetName()})
		if err != nil || len(l.GetProviderCredentials()) != 1 || l.GetProviderCredentials()[0].GetClientSecret() != "" {
			t.Errorf("ListProviderCredentials = %v, %v; want one without secret", l, err)
		}
		_, err = e.cc.ListProviderCredentials(e.as(t, staff(b.GetName())), &cataloguev1.ListProviderCredentialsRequest{Parent: a.GetName()})
		wantCode(t, "another provider lists credentials", err, codes.PermissionDenied)
		_, err = e.cc.RevokeProviderCredential(e.as(t, staff(a.GetName())), &cataloguev1.RevokeProviderCredentialRequest{Name: c.GetName()})
		wantCode(t, "provider revokes", err, codes.PermissionDenied)
		_, err = e.cc.RevokeProviderCredential(e.as(t, op), &cataloguev1.RevokeProviderCredentialRequest{Name: b.GetName() + "/credentials/" + c.GetName()[len(a.GetName())+13:]})
		wantCode(t, "revoke under another provider", err, codes.NotFound)
		r, err := e.cc.RevokeProviderCredential(e.as(t, op), &cataloguev1.RevokeProviderCredentialRequest{Name: c.GetName(), Reason: "leaked"})
		if err != nil || r.GetState() != cataloguev1.ProviderCredential_REVOKED || r.GetRevokeTime() == nil {
			t.Errorf("Revoke = %v, %v", r, err)
		}
		_, err = e.cc.RevokeProviderCredential(e.as(t, op), &cataloguev1.RevokeProviderCredentialRequest{Name: c.GetName()})
		wantCode(t, "revoke twice", err, codes.FailedPrecondition)
	})
}

// The exchange checks everything about the credential and its provider, and
// answers every refusal alike (UNAUTHENTICATED); its tokens are PROVIDER tokens
// of the credential's provider that this service accepts.
func TestExchangeProviderCredential(t *testing.T) {
	stores(t, func(t *testing.T, st store.Store) {
		e := startWith(t, st, func(d *service.Deps, tok *testkit.Tokens) {
			d.Tokens = &service.TokenConfig{Signer: tok.Issuer, Issuer: auth.DevIssuerName, Audience: auth.DevAudience, TTL: 15 * time.Minute}
		})
		now := time.Now().UTC()
		e.svc.SetClock(func() time.Time { return now })
		a := activeProvider(t, e, assoc("A ry", "0211675-2"))
		issue := func(expire time.Time) *cataloguev1.ProviderCredential {
			c := &cataloguev1.ProviderCredential{DisplayName: "booking system"}
			if !expire.IsZero() {
				c.ExpireTime = timestamppb.New(expire)
			}
			got, err := e.cc.CreateProviderCredential(e.as(t, op), &cataloguev1.CreateProviderCredentialRequest{Parent: a.GetName(), ProviderCredential: c})
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		exchange := func(id, secret string) (*cataloguev1.ExchangeProviderCredentialResponse, error) {
			return e.cc.ExchangeProviderCredential(context.Background(), &cataloguev1.ExchangeProviderCredentialRequest{ClientId: id, ClientSecret: secret})
		}
		c := issue(time.Time{})
		short := issue(now.Add(time.Hour))
		got, err := exchange(c.GetClientId(), c.GetClientSecret())
		if err != nil || got.GetExpiresIn() != 900 {
			t.Fatalf("exchange = %v, %v", got, err)
		}
		p, err := e.tok.Verifier.Verify(context.Background(), got.GetAccessToken())
		if err != nil || p.Role != auth.RoleProvider || p.ProviderID != pid(a.GetName()) {
			t.Fatalf("token principal = %+v, %v", p, err)
		}
		// The token acts for its provider.
		md := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+got.GetAccessToken())
		if _, err := e.cc.ListProviderCredentials(md, &cataloguev1.ListProviderCredentialsRequest{Parent: a.GetName()}); err != nil {
			t.Errorf("ListProviderCredentials with the exchanged token: %v", err)
		}
		_, err = exchange(c.GetClientId(), c.GetClientSecret()+"x")
		wantCode(t, "wrong secret", err, codes.Unauthenticated)
		_, err = exchange("polku-provider-nosuch", c.GetClientSecret())
		wantCode(t, "unknown client id", err, codes.Unauthenticated)
		_, err = exchange(c.GetClientId(), "")
		wantCode(t, "no secret", err, codes.InvalidArgument)
		now = now.Add(2 * time.Hour)
		_, err = exchange(short.GetClientId(), short.GetClientSecret())
		wantCode(t, "expired credential", err, codes.Unauthenticated)
		if _, err := e.cc.SuspendProvider(e.as(t, op), &cataloguev1.SuspendProviderRequest{Name: a.GetName(), Reason: "complaints"}); err != nil {
			t.Fatal(err)
		}
		_, err = exchange(c.GetClientId(), c.GetClientSecret())
		wantCode(t, "suspended provider", err, codes.Unauthenticated)

		off := start(t, st) // no signing key configured
		_, err = off.cc.ExchangeProviderCredential(context.Background(), &cataloguev1.ExchangeProviderCredentialRequest{ClientId: c.GetClientId(), ClientSecret: c.GetClientSecret()})
		wantCode(t, "exchange not configured", err, codes.FailedPrecondition)
	})
}
