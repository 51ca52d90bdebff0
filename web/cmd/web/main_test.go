package main

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/polku-hb/polku/platform/auth"
)

func TestIdentityTakesOnlyTheRolesBinding(t *testing.T) {
	for _, tc := range []struct {
		p    auth.Principal
		want []string
	}{
		{auth.Principal{Subject: "u-t", Role: auth.RoleClient, ClientID: "c1"}, []string{"c1"}},
		{auth.Principal{Subject: "u-s", Role: auth.RoleAssistant, Clients: []string{"c1", "c2"}}, []string{"c1", "c2"}},
		{auth.Principal{Subject: "w", Role: auth.RoleWorker, Region: "pirkanmaa"}, nil},
	} {
		id := identity(tc.p)
		if id.Role != string(tc.p.Role) || id.Subject != tc.p.Subject || id.Region != tc.p.Region || !slices.Equal(id.ClientIDs, tc.want) {
			t.Errorf("identity(%+v) = %+v", tc.p, id)
		}
	}
	if id := identity(auth.Principal{Subject: "p", Role: auth.RoleProvider, ProviderID: "prov1"}); id.ProviderID != "prov1" {
		t.Errorf("provider id lost: %+v", id)
	}
}

// Production settings are required and all reported at once; nothing listens.
func TestRunNamesEveryMissingSetting(t *testing.T) {
	t.Setenv("POLKU_WEB_SESSION_KEY", "c2hvcnQ=")
	for _, k := range []string{"POLKU_WEB_OIDC_ISSUER", "POLKU_WEB_OIDC_CLIENT_ID", "POLKU_WEB_OIDC_REDIRECT_URL"} {
		t.Setenv(k, "")
	}
	err := run(context.Background())
	if err == nil {
		t.Fatal("run started without its settings")
	}
	for _, want := range []string{"POLKU_WEB_SESSION_KEY", "POLKU_WEB_OIDC_ISSUER", "POLKU_WEB_OIDC_CLIENT_ID", "POLKU_WEB_OIDC_REDIRECT_URL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}
