package session

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func key(b byte) []byte { k := make([]byte, 32); k[0] = b; return k }

func roundTrip(t *testing.T, st *Store, s *Session) (*Session, *http.Cookie) {
	t.Helper()
	rec := httptest.NewRecorder()
	if err := st.Save(rec, s); err != nil {
		t.Fatal(err)
	}
	c := rec.Result().Cookies()[0]
	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(c)
	return st.Load(r), c
}

func TestCookieRoundTripAndAttributes(t *testing.T) {
	for _, secure := range []bool{false, true} {
		st, err := New(key(1), secure, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		in := &Session{Token: "tok", Role: "CLIENT", ClientIDs: []string{"c1"}, Lang: "sv", CSRF: "x", Expires: time.Now().Add(time.Hour)}
		got, c := roundTrip(t, st, in)
		if got.Token != "tok" || got.Role != "CLIENT" || got.Lang != "sv" || got.CSRF != "x" || len(got.ClientIDs) != 1 {
			t.Errorf("round trip = %+v", got)
		}
		if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure != secure || c.Path != "/" {
			t.Errorf("cookie attributes = %+v", c)
		}
		if secure != strings.HasPrefix(c.Name, "__Host-") {
			t.Errorf("secure=%v but cookie name %q", secure, c.Name)
		}
		if strings.Contains(c.Value, "tok") {
			t.Error("the token is readable in the cookie")
		}
	}
}

func TestTamperedWrongKeyOrExpiredIsAnonymous(t *testing.T) {
	st, _ := New(key(1), false, time.Hour)
	other, _ := New(key(2), false, time.Hour)
	s := &Session{Token: "tok", CSRF: "x", Expires: time.Now().Add(time.Hour)}
	rec := httptest.NewRecorder()
	_ = st.Save(rec, s)
	c := rec.Result().Cookies()[0]

	cases := map[string]func() (*Store, string){
		"wrong key": func() (*Store, string) { return other, c.Value },
		"tampered":  func() (*Store, string) { return st, c.Value[:len(c.Value)-2] + "AA" },
		"garbage":   func() (*Store, string) { return st, "!!" },
		"expired": func() (*Store, string) {
			rec := httptest.NewRecorder()
			_ = st.Save(rec, &Session{Token: "tok", CSRF: "x", Expires: time.Now().Add(-time.Minute)})
			return st, rec.Result().Cookies()[0].Value
		},
	}
	for name, f := range cases {
		store, v := f()
		r := httptest.NewRequest("GET", "/", nil)
		r.AddCookie(&http.Cookie{Name: CookieName, Value: v})
		got := store.Load(r)
		if got.Token != "" || got.SignedIn() || got.CSRF == "" || got.CSRF == "x" {
			t.Errorf("%s: loaded %+v, want a fresh anonymous session", name, got)
		}
	}
}

func TestCSRF(t *testing.T) {
	s := &Session{CSRF: "abc"}
	if !s.CheckCSRF("abc") || s.CheckCSRF("abd") || s.CheckCSRF("") {
		t.Error("CheckCSRF")
	}
	if (&Session{}).CheckCSRF("") {
		t.Error("an empty session token must never match")
	}
	if _, err := New(make([]byte, 16), false, time.Hour); err == nil {
		t.Error("a short key must be refused")
	}
}
