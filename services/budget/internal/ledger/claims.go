package ledger

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Claim is a provider's accepted claim.
type Claim struct {
	ID            string
	Provider      string // providers/{p}
	Referral      string // referrals/{r}
	Delivery      Date
	Unit          string // PRICE_UNIT_*
	Quantity      int32
	UnitCents     int64
	InvoiceNumber string
	ClientID      string
	BudgetID      string
	SpendSeq      int64
	SubmittedBy   string
	RequestID     string
	CreateTime    time.Time
}

// Amount is quantity x unit price.
func (c Claim) Amount() int64 { return int64(c.Quantity) * c.UnitCents }

// Refusal is why a claim was refused (ClaimRefusalReason without its prefix).
type Refusal string

// Refusal reasons.
const (
	InvalidRow       Refusal = "INVALID_ROW"
	UnknownReferral  Refusal = "UNKNOWN_REFERRAL"
	NoCommitment     Refusal = "NO_COMMITMENT"
	OverCommitment   Refusal = "OVER_COMMITMENT"
	PriceAbovePinned Refusal = "PRICE_ABOVE_PINNED"
	UnitMismatch     Refusal = "UNIT_MISMATCH"
	DuplicateInvoice Refusal = "DUPLICATE_INVOICE_NUMBER"
)

// ClaimRefused is a refused claim: nothing is written.
type ClaimRefused struct {
	Reason  Refusal
	Message string
}

func (e *ClaimRefused) Error() string { return string(e.Reason) + ": " + e.Message }

// ValidateClaim checks a claim's own fields.
func ValidateClaim(c Claim) error {
	var msgs []string
	if !strings.HasPrefix(c.Referral, "referrals/") || len(c.Referral) == len("referrals/") || strings.Count(c.Referral, "/") != 1 {
		msgs = append(msgs, "referral: must be referrals/{referral} or the bare id")
	}
	if c.Delivery.IsZero() || c.Delivery.Time().Format("2006-01-02") != fmt.Sprintf("%04d-%02d-%02d", c.Delivery.Year, c.Delivery.Month, c.Delivery.Day) {
		msgs = append(msgs, "delivery_date: must be a valid date")
	}
	if c.Unit == "" {
		msgs = append(msgs, "unit: is required")
	}
	if c.Quantity <= 0 {
		msgs = append(msgs, "quantity: must be > 0")
	}
	if c.UnitCents <= 0 {
		msgs = append(msgs, "unit_price_cents: must be > 0")
	} else if c.Quantity > 0 && c.UnitCents > math.MaxInt64/int64(c.Quantity) {
		// The amount would wrap around to a negative number and pass every
		// "at most the open commitment" check.
		msgs = append(msgs, "unit_price_cents: quantity x unit_price_cents is too large")
	}
	if s := strings.TrimSpace(c.InvoiceNumber); s == "" || len(s) > 100 || strings.ContainsAny(s, "/\x00") {
		msgs = append(msgs, "invoice_number: is required, at most 100 characters, without '/'")
	}
	if len(msgs) > 0 {
		return &ClaimRefused{Reason: InvalidRow, Message: strings.Join(msgs, "; ")}
	}
	return nil
}

// CheckAgainst applies the commitment's rules to a valid claim.
func CheckAgainst(c Claim, o *Open) error {
	switch {
	case o == nil || o.OpenCents() <= 0:
		return &ClaimRefused{Reason: NoCommitment, Message: "the referral carries no open budget commitment"}
	case o.Unit != "" && c.Unit != o.Unit:
		return &ClaimRefused{Reason: UnitMismatch, Message: "unit: must be " + strings.TrimPrefix(o.Unit, "PRICE_UNIT_")}
	case o.UnitCents > 0 && c.UnitCents > o.UnitCents:
		return &ClaimRefused{Reason: PriceAbovePinned, Message: "unit_price_cents: must be at most the pinned " + strconv.FormatInt(o.UnitCents, 10)}
	case c.Amount() > o.OpenCents():
		return &ClaimRefused{Reason: OverCommitment, Message: "amount: must be at most the open " + strconv.FormatInt(o.OpenCents(), 10)}
	}
	return nil
}

// CSV limits and header.
const (
	MaxCSVBytes = 1 << 20
	MaxCSVRows  = 5000
	CSVHeader   = "referral,delivery_date,unit,quantity,unit_price_cents,invoice_number"
)

// Row is one parsed CSV data row: a claim, or why it is malformed.
type Row struct {
	Line  int
	Claim Claim
	Err   error // *ClaimRefused with InvalidRow
}

// ErrBadFile is a file rejected as a whole.
var ErrBadFile = errors.New("bad claims file")

// ParseClaimsCSV validates the file whole (size, encoding, header, row count)
// and parses every row; a row's own problems are in Row.Err.
func ParseClaimsCSV(data []byte, provider string, units map[string]int32) ([]Row, error) {
	if len(data) == 0 || len(data) > MaxCSVBytes {
		return nil, fmt.Errorf("%w: csv_data must be 1 byte to 1 MiB", ErrBadFile)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("%w: csv_data must be UTF-8", ErrBadFile)
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	head, err := r.Read()
	if err != nil || strings.Join(head, ",") != CSVHeader {
		return nil, fmt.Errorf("%w: the first line must be the header %s", ErrBadFile, CSVHeader)
	}
	var rows []Row
	for {
		line, _ := r.FieldPos(0)
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: not valid CSV (RFC 4180) near line %d", ErrBadFile, line+1)
		}
		line, _ = r.FieldPos(0)
		if len(rows) == MaxCSVRows {
			return nil, fmt.Errorf("%w: at most %d rows", ErrBadFile, MaxCSVRows)
		}
		rows = append(rows, parseRow(line, rec, provider, units))
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%w: no data rows", ErrBadFile)
	}
	return rows, nil
}

func parseRow(line int, rec []string, provider string, units map[string]int32) Row {
	row := Row{Line: line}
	if len(rec) != 6 {
		row.Err = &ClaimRefused{Reason: InvalidRow, Message: "row: must have 6 fields"}
		return row
	}
	for i := range rec {
		rec[i] = strings.TrimSpace(rec[i])
	}
	c := Claim{Provider: provider, Referral: rec[0], InvoiceNumber: rec[5]}
	if !strings.HasPrefix(c.Referral, "referrals/") {
		c.Referral = "referrals/" + c.Referral
	}
	var msgs []string
	if t, err := time.Parse("2006-01-02", rec[1]); err == nil {
		c.Delivery = Date{t.Year(), int(t.Month()), t.Day()}
	} else {
		msgs = append(msgs, "delivery_date: must be YYYY-MM-DD")
	}
	if _, ok := units["PRICE_UNIT_"+rec[2]]; ok && rec[2] != "UNSPECIFIED" {
		c.Unit = "PRICE_UNIT_" + rec[2]
	} else {
		msgs = append(msgs, "unit: must be a price unit such as SESSION")
	}
	if q, err := strconv.ParseInt(rec[3], 10, 32); err == nil {
		c.Quantity = int32(q)
	} else {
		msgs = append(msgs, "quantity: must be an integer")
	}
	if p, err := strconv.ParseInt(rec[4], 10, 64); err == nil {
		c.UnitCents = p
	} else {
		msgs = append(msgs, "unit_price_cents: must be an integer")
	}
	row.Claim = c
	if len(msgs) > 0 {
		row.Err = &ClaimRefused{Reason: InvalidRow, Message: strings.Join(msgs, "; ")}
	} else {
		row.Err = nil
		if err := ValidateClaim(c); err != nil {
			row.Err = err
		}
	}
	return row
}
