package pagination

import (
	"errors"
	"testing"

	"github.com/polku-hb/polku/platform/store"
)

func TestSize(t *testing.T) {
	tests := []struct {
		give    int32
		want    int
		wantErr bool
	}{
		{give: 0, want: DefaultSize},
		{give: 10, want: 10},
		{give: 501, want: MaxSize},
		{give: -1, wantErr: true},
	}
	for _, tt := range tests {
		got, err := Size(tt.give)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("Size(%d) = %d, %v; want %d, err=%v", tt.give, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestTokenRoundTripAndBinding(t *testing.T) {
	e := store.IndexEntry{SortKey: "2026-11-23", ID: "abc"}
	tok := Encode(e, "clients/x")
	got, err := Decode(tok, "clients/x")
	if err != nil || got != e {
		t.Fatalf("Decode(Encode(%v)) = %v, %v; want %v", e, got, err, e)
	}
	if _, err := Decode(tok, "clients/y"); !errors.Is(err, ErrBadToken) {
		t.Errorf("Decode for another query = %v; want ErrBadToken", err)
	}
	if _, err := Decode("%%%", "clients/x"); !errors.Is(err, ErrBadToken) {
		t.Errorf("Decode(garbage) = %v; want ErrBadToken", err)
	}
	if got, err := Decode("", "q"); err != nil || got != (store.IndexEntry{}) {
		t.Errorf("Decode(\"\") = %v, %v; want first page", got, err)
	}
}
