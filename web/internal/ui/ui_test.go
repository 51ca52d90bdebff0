package ui

import "testing"

func TestWithFlashAndLocalPath(t *testing.T) {
	for _, tc := range []struct{ path, ok, want string }{
		{"/provider", "ok.x", "/provider?ok=ok.x"},
		{"/me?client=c1#consents", "ok.x", "/me?client=c1&ok=ok.x#consents"},
		{"/worker/clients/c1#referrals", "ok.x", "/worker/clients/c1?ok=ok.x#referrals"},
		{"/worker", "", "/worker"},
	} {
		if got := withFlash(tc.path, tc.ok); got != tc.want {
			t.Errorf("withFlash(%q) = %q, want %q", tc.path, got, tc.want)
		}
	}
	for in, want := range map[string]string{"/me": "/me", "//evil.example": "/", "https://evil.example": "/", `/\evil`: "/", "": "/"} {
		if got := localPath(in); got != want {
			t.Errorf("localPath(%q) = %q, want %q", in, got, want)
		}
	}
}
