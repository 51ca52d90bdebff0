package ledger

import (
	"errors"
	"math/big"
	"strconv"
	"strings"
	"testing"
)

var fuzzUnits = map[string]int32{"PRICE_UNIT_UNSPECIFIED": 0, "PRICE_UNIT_SESSION": 1, "PRICE_UNIT_HOUR": 2, "PRICE_UNIT_VISIT": 3}

// FuzzParseClaimsCSV: a claims file is refused whole with ErrBadFile, or every
// row is either refused with a reason or is a valid claim whose amount is the
// exact, positive product of quantity and unit price (no int64 overflow) and
// whose fields print back to the row.
func FuzzParseClaimsCSV(f *testing.F) {
	f.Add([]byte(CSVHeader + "\nreferrals/r1,2026-03-02,SESSION,4,9500,INV-1\n"))
	f.Add([]byte(CSVHeader + "\nr2,2026-02-30,HOUR,1,100,INV-2\nr3,2026-03-01,VISIT,-1,5,INV/3\n"))
	f.Add([]byte(CSVHeader + "\nr4,2026-03-01,HOUR,2,4611686018427387904,INV-4\n"))
	f.Add([]byte("\xef\xbb\xbf" + CSVHeader + "\r\n\"r5\",2026-03-01,SESSION,1,1,\"INV,5\"\r\n"))
	f.Add([]byte("referral,delivery_date\n"))
	f.Add([]byte(CSVHeader + "\n\"unterminated\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := ParseClaimsCSV(data, "providers/p1", fuzzUnits)
		if err != nil {
			if !errors.Is(err, ErrBadFile) || rows != nil {
				t.Fatalf("error %v with %d rows; want ErrBadFile and no rows", err, len(rows))
			}
			return
		}
		if len(rows) == 0 || len(rows) > MaxCSVRows {
			t.Fatalf("%d rows accepted; want 1 to %d", len(rows), MaxCSVRows)
		}
		for _, r := range rows {
			if r.Err != nil {
				var refused *ClaimRefused
				if !errors.As(r.Err, &refused) || refused.Reason != InvalidRow || refused.Message == "" {
					t.Fatalf("line %d refused with %v; want an INVALID_ROW with a message", r.Line, r.Err)
				}
				continue
			}
			c := r.Claim
			exact := new(big.Int).Mul(big.NewInt(int64(c.Quantity)), big.NewInt(c.UnitCents))
			if !exact.IsInt64() || exact.Int64() != c.Amount() || c.Amount() <= 0 {
				t.Fatalf("line %d: %d x %d accepted with amount %d; want the exact positive product", r.Line, c.Quantity, c.UnitCents, c.Amount())
			}
			if err := ValidateClaim(c); err != nil {
				t.Fatalf("line %d parsed as valid but does not validate: %v", r.Line, err)
			}
			if c.Provider != "providers/p1" || !strings.HasPrefix(c.Referral, "referrals/") || !strings.HasPrefix(c.Unit, "PRICE_UNIT_") {
				t.Fatalf("line %d: claim %+v", r.Line, c)
			}
			if _, ok := fuzzUnits[c.Unit]; !ok || c.Unit == "PRICE_UNIT_UNSPECIFIED" {
				t.Fatalf("line %d: unit %q is not a real price unit", r.Line, c.Unit)
			}
			if s := strconv.FormatInt(c.UnitCents, 10); s == "" || c.Delivery.Time().Format("2006-01-02") == "" {
				t.Fatalf("line %d: cannot print %+v", r.Line, c)
			}
		}
	})
}

func TestValidateClaimRefusesAnAmountThatOverflows(t *testing.T) {
	base := Claim{Referral: "referrals/r1", Delivery: Date{2026, 3, 2}, Unit: "PRICE_UNIT_HOUR", InvoiceNumber: "INV-1"}
	for _, tc := range []struct {
		quantity int32
		cents    int64
		ok       bool
	}{
		{2, 1 << 62, false},         // wraps to math.MinInt64
		{3, 1 << 62, false},         // wraps to a positive number
		{1, 1<<63 - 1, true},        // the largest amount there is
		{2, (1<<63 - 1) / 2, true},  // just fits
		{2, (1<<63-1)/2 + 1, false}, // one cent more does not
		{1 << 30, 1 << 33, false},   // 2^63
		{4, 9500, true},
	} {
		c := base
		c.Quantity, c.UnitCents = tc.quantity, tc.cents
		if err := ValidateClaim(c); (err == nil) != tc.ok {
			t.Errorf("ValidateClaim(%d x %d) = %v; want ok=%v", tc.quantity, tc.cents, err, tc.ok)
		}
	}
}
