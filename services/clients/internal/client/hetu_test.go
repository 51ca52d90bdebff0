package client

import (
	"errors"
	"testing"
	"time"
)

func TestParsePIC(t *testing.T) {
	today := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		give    string
		wantErr error
		want    string // normalised code when valid
		born    string
	}{
		{give: "131052-308T", want: "131052-308T", born: "1952-10-13"},
		{give: "131052-308t", want: "131052-308T", born: "1952-10-13"},
		{give: "010594Y9032", want: "010594Y9032", born: "1994-05-01"}, // 2023 sign Y
		{give: "010594Y9021", want: "010594Y9021", born: "1994-05-01"},
		{give: "020594X903P", want: "020594X903P", born: "1994-05-02"},
		{give: "020594X902N", want: "020594X902N", born: "1994-05-02"},
		{give: "030594W903B", want: "030594W903B", born: "1994-05-03"},
		{give: "030694W9024", want: "030694W9024", born: "1994-06-03"},
		{give: "040594V9030", want: "040594V9030", born: "1994-05-04"},
		{give: "040594V902Y", want: "040594V902Y", born: "1994-05-04"},
		{give: "050594U903M", want: "050594U903M", born: "1994-05-05"},
		{give: "050594U902L", want: "050594U902L", born: "1994-05-05"},
		{give: "010516B903X", want: "010516B903X", born: "2016-05-01"}, // 2023 sign B
		{give: "010516B902W", want: "010516B902W", born: "2016-05-01"},
		{give: "020516C903K", want: "020516C903K", born: "2016-05-02"},
		{give: "020516C902J", want: "020516C902J", born: "2016-05-02"},
		{give: "030516D9037", want: "030516D9037", born: "2016-05-03"},
		{give: "030516D9026", want: "030516D9026", born: "2016-05-03"},
		{give: "010501E9032", want: "010501E9032", born: "2001-05-01"},
		{give: "020516E902J", want: "020516E902J", born: "2016-05-02"},
		{give: "020516F903K", want: "020516F903K", born: "2016-05-02"},
		{give: "020516F902J", want: "020516F902J", born: "2016-05-02"},
		{give: "010101A123N", want: "010101A123N", born: "2001-01-01"},
		{give: "131052-308", wantErr: ErrPICLength},
		{give: "131052Z308T", wantErr: ErrPICCentury},
		{give: "131052-308A", wantErr: ErrPICCheck},
		{give: "310252-308T", wantErr: ErrPICDate}, // 31 February
		{give: "010130A123N", wantErr: ErrPICDate}, // born in 2030: the future
		{give: "131052-001T", wantErr: ErrPICIndividual},
	}
	for _, tt := range tests {
		got, err := ParsePIC(tt.give, today)
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("ParsePIC(%q) error = %v; want %v", tt.give, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParsePIC(%q) = %v; want valid", tt.give, err)
			continue
		}
		if got.String() != tt.want || got.BirthDate().Format(time.DateOnly) != tt.born {
			t.Errorf("ParsePIC(%q) = %s born %s; want %s born %s", tt.give, got, got.BirthDate().Format(time.DateOnly), tt.want, tt.born)
		}
	}
}

func TestParsePICRejectsNonDigits(t *testing.T) {
	if _, err := ParsePIC("13a052-308T", time.Now()); err == nil {
		t.Error("ParsePIC with a letter in the date = nil; want an error")
	}
}

func TestMaskPIC(t *testing.T) {
	tests := []struct{ give, want string }{
		{"131052-308T", "131052-****"},
		{"short", "***********"},
	}
	for _, tt := range tests {
		if got := MaskPIC(tt.give); got != tt.want {
			t.Errorf("MaskPIC(%q) = %q; want %q", tt.give, got, tt.want)
		}
	}
}
