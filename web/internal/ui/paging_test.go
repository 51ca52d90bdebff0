package ui

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestValidToken(t *testing.T) {
	tests := []struct {
		give string
		want bool
	}{
		{"", true}, // the first page
		{"eyJzIjoiMjAyNiIsImkiOiJhYmMifQ", true},
		{"abc-_.~=", true},
		{strings.Repeat("a", maxTokenLen), true},
		{strings.Repeat("a", maxTokenLen+1), false},
		{`x" OR client != "`, false},
		{"a b", false},
		{"../x", false},
		{"a&page_size=500", false},
		{"a%20b", false},
		{"ä", false},
	}
	for _, tt := range tests {
		if got := validToken(tt.give); got != tt.want {
			t.Errorf("validToken(%q) = %v; want %v", tt.give, got, tt.want)
		}
	}
}

// Paging links keep the page's other parameters (another list's position,
// the chosen client), drop the one-time flash, and set or clear their own.
func TestPageLink(t *testing.T) {
	tests := []struct {
		url, param, tok, want string
	}{
		{"/me?client=c1&ok=ok.consent.granted", "access", "T2", "/me?access=T2&client=c1#access"},
		{"/me?access=T1&client=c1", "access", "", "/me?client=c1#access"},
		{"/worker/clients/c1?timeline=T1&x=y", "timeline", "T2", "/worker/clients/c1?timeline=T2&x=y#timeline"},
	}
	for _, tt := range tests {
		rq := &request{r: httptest.NewRequest("GET", tt.url, nil)}
		if got := pageLink(rq, tt.param, tt.tok, tt.param); got != tt.want {
			t.Errorf("pageLink(%s, %s, %q) = %q; want %q", tt.url, tt.param, tt.tok, got, tt.want)
		}
	}
}

// withPage copies the query: the caller's filter is not changed under it.
func TestWithPageCopies(t *testing.T) {
	q := url.Values{"filter": {"open = true"}}
	got := withPage(q, 7, "T")
	if got.Encode() != "filter=open+%3D+true&page_size=7&page_token=T" || len(q) != 1 {
		t.Errorf("withPage = %v, q after = %v", got, q)
	}
	if first := withPage(q, 7, ""); first.Has("page_token") {
		t.Errorf("the first page carries a page_token: %v", first)
	}
}
