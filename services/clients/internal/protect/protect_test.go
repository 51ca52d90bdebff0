package protect

import (
	"bytes"
	"errors"
	"testing"
)

func box(t *testing.T) *Box {
	t.Helper()
	k, err := ParseKey(NewKey())
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(k)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSealOpen(t *testing.T) {
	b := box(t)
	sealed := b.Seal("131052-308T", "c1")
	if bytes.Contains(sealed, []byte("131052")) {
		t.Fatal("ciphertext contains the code in the clear")
	}
	got, err := b.Open(sealed, "c1")
	if err != nil || got != "131052-308T" {
		t.Fatalf("Open = %q, %v; want the code", got, err)
	}
	if _, err := b.Open(sealed, "c2"); !errors.Is(err, ErrBadCiphertext) {
		t.Errorf("Open for another record = %v; want ErrBadCiphertext", err)
	}
	if _, err := box(t).Open(sealed, "c1"); !errors.Is(err, ErrBadCiphertext) {
		t.Errorf("Open with another key = %v; want ErrBadCiphertext", err)
	}
	if bytes.Equal(sealed, b.Seal("131052-308T", "c1")) {
		t.Error("two seals are equal; want a random nonce")
	}
}

func TestHashIsKeyedAndStable(t *testing.T) {
	b := box(t)
	if b.Hash("131052-308T") != b.Hash("131052-308T") {
		t.Error("Hash is not deterministic")
	}
	if b.Hash("131052-308T") == box(t).Hash("131052-308T") {
		t.Error("Hash does not depend on the key")
	}
}

func TestParseKey(t *testing.T) {
	for _, give := range []string{"", "c2hvcnQ=", "not base64!"} {
		if _, err := ParseKey(give); err == nil {
			t.Errorf("ParseKey(%q) = nil error; want rejection", give)
		}
	}
}
