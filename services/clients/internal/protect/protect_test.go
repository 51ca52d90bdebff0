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

func key(t *testing.T) []byte {
	t.Helper()
	k, err := ParseKey(NewKey())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Rotation: after adding key 2 as current, new codes are sealed with it, codes
// sealed with key 1 still open, the lookup hash does not change, and a ring
// without key 1 cannot open the old codes.
func TestRotation(t *testing.T) {
	k1, k2 := key(t), key(t)
	old, err := NewRing(1, map[byte][]byte{1: k1})
	if err != nil {
		t.Fatal(err)
	}
	oldSealed := old.Seal("131052-308T", "c1")
	rotated, err := NewRing(2, map[byte][]byte{1: k1, 2: k2})
	if err != nil {
		t.Fatal(err)
	}
	newSealed := rotated.Seal("010594Y9032", "c2")
	if oldSealed[0] != 1 || newSealed[0] != 2 {
		t.Errorf("version bytes = %d, %d; want 1, 2", oldSealed[0], newSealed[0])
	}
	for _, tc := range []struct {
		sealed []byte
		id     string
		want   string
	}{{oldSealed, "c1", "131052-308T"}, {newSealed, "c2", "010594Y9032"}} {
		if got, err := rotated.Open(tc.sealed, tc.id); err != nil || got != tc.want {
			t.Errorf("rotated.Open(v%d) = %q, %v; want %q", tc.sealed[0], got, err, tc.want)
		}
	}
	if _, err := old.Open(newSealed, "c2"); !errors.Is(err, ErrBadCiphertext) {
		t.Errorf("a ring without key 2 opened a v2 code: %v", err)
	}
	if old.Hash("131052-308T") != rotated.Hash("131052-308T") {
		t.Error("the lookup hash changed with the rotation; stored hashes would no longer match")
	}
	only2, err := NewRing(2, map[byte][]byte{2: k2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := only2.Open(oldSealed, "c1"); !errors.Is(err, ErrBadCiphertext) {
		t.Errorf("a ring without key 1 opened a v1 code: %v", err)
	}
	// A forged version byte does not let one key open another's ciphertext.
	forged := append([]byte{2}, oldSealed[1:]...)
	if _, err := rotated.Open(forged, "c1"); !errors.Is(err, ErrBadCiphertext) {
		t.Errorf("Open of a v1 ciphertext relabelled v2 = %v; want ErrBadCiphertext", err)
	}
}

func TestNewRingRejects(t *testing.T) {
	k := key(t)
	for _, tc := range []struct {
		name    string
		current byte
		keys    map[byte][]byte
	}{
		{"current missing", 2, map[byte][]byte{1: k}},
		{"version 0", 1, map[byte][]byte{0: k, 1: k}},
		{"short key", 1, map[byte][]byte{1: k[:16]}},
	} {
		if _, err := NewRing(tc.current, tc.keys); err == nil {
			t.Errorf("%s: NewRing accepted it", tc.name)
		}
	}
}
