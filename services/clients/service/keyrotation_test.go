package service_test

import (
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/polku-hb/polku/platform/store"
	clientsv1 "github.com/polku-hb/polku/proto/gen/go/polku/clients/v1"
	"github.com/polku-hb/polku/services/clients/service"
)

// Rotating the identity-code key as docs/operations.md says (new key as
// version 2, the old one in POLKU_PIC_OLD_KEYS) keeps duplicate detection
// working over clients stored before the rotation; swapping the key without
// keeping the old one silently breaks it.
func TestIdentityCodeKeyRotation(t *testing.T) {
	stores(t, func(t *testing.T, st store.Store) {
		k1, _ := service.ParseKey(service.NewKey())
		k2, _ := service.ParseKey(service.NewKey())
		before := startWith(t, st, service.Deps{PICKey: k1})
		create(t, before, aino, tiina("150391-934P"))

		rotated := startWith(t, st, service.Deps{PICKey: k2, PICKeyVersion: 2, PICOldKeys: map[byte][]byte{1: k1}})
		_, err := rotated.cc.CreateClient(rotated.as(t, aino), &clientsv1.CreateClientRequest{Client: tiina("150391-934P")})
		wantCode(t, "same identity code after rotation", err, codes.AlreadyExists)
		create(t, rotated, aino, tiina("070685-912P")) // sealed with key 2

		swapped := startWith(t, st, service.Deps{PICKey: k2})
		if _, err := swapped.cc.CreateClient(swapped.as(t, aino), &clientsv1.CreateClientRequest{Client: tiina("150391-934P")}); err == nil {
			t.Log("as expected: with the key swapped instead of rotated, a duplicate is not detected")
		} else {
			t.Errorf("swapped key: CreateClient = %v; this test's premise (the lookup hash follows the first key) no longer holds", err)
		}
	})
}

func TestParseOldKeys(t *testing.T) {
	k := service.NewKey()
	for _, tc := range []struct {
		give     string
		versions []byte
		wantErr  bool
	}{
		{"", nil, false},
		{"1:" + k, []byte{1}, false},
		{" 1:" + k + " , 3:" + k, []byte{1, 3}, false},
		{k, nil, true},                    // no version
		{"0:" + k, nil, true},             // versions start at 1
		{"256:" + k, nil, true},           // one byte
		{"1:" + k + ",1:" + k, nil, true}, // twice
		{"2:c2hvcnQ=", nil, true},         // not 32 bytes
	} {
		got, err := service.ParseOldKeys(tc.give)
		if (err != nil) != tc.wantErr {
			t.Errorf("ParseOldKeys(%.12q) error = %v; want error %v", tc.give, err, tc.wantErr)
			continue
		}
		if len(got) != len(tc.versions) {
			t.Errorf("ParseOldKeys(%.12q) = %d keys; want %d", tc.give, len(got), len(tc.versions))
		}
		for _, v := range tc.versions {
			if len(got[v]) != 32 {
				t.Errorf("ParseOldKeys(%.12q)[%d] missing", tc.give, v)
			}
		}
	}
}
