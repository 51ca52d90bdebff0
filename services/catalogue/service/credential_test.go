package service_test

import (
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/polku-hb/polku/platform/store"
	cataloguev1 "github.com/polku-hb/polku/proto/gen/go/polku/catalogue/v1"
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
