package ui

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	cataloguev1 "github.com/polku-hb/polku/proto/gen/go/polku/catalogue/v1"
	"github.com/polku-hb/polku/web/internal/i18n"
)

func validOfferingForm() url.Values {
	return url.Values{"title_fi": {"Ryhmä"}, "desc_fi": {"Kuvaus"}, "category": {"CATEGORY_PEER_SUPPORT"},
		"delivery_modes": {"DELIVERY_MODE_GROUP"}, "capacity": {"CAPACITY_YES"}}
}

// Price rows: a new row's id comes from its unit and never collides with an
// existing option's id (plans pin ids); empty rows are left out; a bad
// amount or VAT names its row.
func TestOfferingFormPriceOptions(t *testing.T) {
	for _, tc := range []struct {
		name                      string
		ids, units, amounts, vats []string
		want                      string // id:unit:cents:vat per option
		wantErr                   string
	}{
		{"new row gets its unit's id", []string{""}, []string{"PRICE_UNIT_HOUR"}, []string{"95,50"}, []string{"25,5"}, "[hour:PRICE_UNIT_HOUR:9550:2550]", ""},
		{"kept id, new one avoids it", []string{"hour", ""}, []string{"PRICE_UNIT_HOUR", "PRICE_UNIT_HOUR"}, []string{"90", "80"}, []string{"", ""},
			"[hour:PRICE_UNIT_HOUR:9000:0 hour-2:PRICE_UNIT_HOUR:8000:0]", ""},
		{"one-off unit", []string{""}, []string{"PRICE_UNIT_ONE_OFF"}, []string{"0"}, []string{""}, "[one-off:PRICE_UNIT_ONE_OFF:0:0]", ""},
		{"empty row left out", []string{"", ""}, []string{"PRICE_UNIT_DAY", "PRICE_UNIT_HOUR"}, []string{"", "10"}, []string{"", ""}, "[hour:PRICE_UNIT_HOUR:1000:0]", ""},
		{"bad amount names the row", []string{"", ""}, []string{"PRICE_UNIT_HOUR", "PRICE_UNIT_HOUR"}, []string{"10", "1,234"}, []string{"", ""}, "", "row 2"},
		{"VAT above 100 %", []string{""}, []string{"PRICE_UNIT_HOUR"}, []string{"10"}, []string{"120"}, "", "row 1"},
		{"no price and no quote", []string{""}, []string{"PRICE_UNIT_HOUR"}, []string{""}, []string{""}, "", "at least one price"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := validOfferingForm()
			v["price_id"], v["price_unit"], v["price_amount"], v["price_vat"] = tc.ids, tc.units, tc.amounts, tc.vats
			o, err := readOfferingForm(v).offering(i18n.EN)
			if tc.wantErr != "" {
				if !errors.Is(err, errBadInput) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want bad input naming %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range o.GetPriceOptions() {
				got = append(got, fmt.Sprintf("%s:%s:%d:%d", p.GetId(), p.GetUnit(), p.GetAmountCents(), p.GetVatRateBasisPoints()))
			}
			if fmt.Sprint(got) != tc.want {
				t.Errorf("options = %v, want %s", got, tc.want)
			}
		})
	}
}

// The form round-trips an offering unchanged, so saving without edits sends
// nothing, and only what was edited goes into the update mask (a
// capacity-only change keeps a published offering out of review).
func TestOfferingFormChangedPaths(t *testing.T) {
	cur := &cataloguev1.Offering{
		Title: &cataloguev1.LocalizedText{Fi: "Ryhmä", Sv: "Grupp"}, Description: &cataloguev1.LocalizedText{Fi: "Kuvaus"},
		Category: cataloguev1.Category_CATEGORY_PEER_SUPPORT, DeliveryModes: []cataloguev1.DeliveryMode{cataloguev1.DeliveryMode_DELIVERY_MODE_GROUP},
		AccessInstructions: &cataloguev1.LocalizedText{Fi: "Soita ensin", Sv: "Ring först"},
		ServiceAreas:       []string{"837"}, Languages: []string{"fi"}, Capacity: cataloguev1.Capacity_CAPACITY_YES,
		PriceOptions: []*cataloguev1.PriceOption{{Id: "session", Unit: cataloguev1.PriceUnit_PRICE_UNIT_SESSION, AmountCents: 4550,
			Label: &cataloguev1.LocalizedText{Fi: "Kerta", En: "Session"}}},
	}
	for _, tc := range []struct {
		name string
		edit func(url.Values)
		want string
	}{
		{"nothing", func(url.Values) {}, "[]"},
		{"capacity only", func(v url.Values) {
			v.Set("capacity", "CAPACITY_WAITLIST")
			v.Set("waiting_band", "WAITING_BAND_UNDER_1_MONTH")
		}, "[capacity waiting_band]"},
		{"price", func(v url.Values) { v["price_amount"][0] = "50" }, "[price_options]"},
		{"access instructions", func(v url.Values) { v.Set("access_instructions_en", "Call first") }, "[access_instructions]"},
		{"title and areas", func(v url.Values) { v.Set("title_en", "Group"); v.Set("service_areas", "837, 536") }, "[title service_areas]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := offeringFormValues(offeringFormOf(cur))
			tc.edit(v)
			o, err := readOfferingForm(v).offering(i18n.FI)
			if err != nil {
				t.Fatal(err)
			}
			keepLabels(cur.GetPriceOptions(), o.GetPriceOptions())
			if got := fmt.Sprint(offeringChangedPaths(cur, o)); got != tc.want {
				t.Errorf("changed = %s, want %s", got, tc.want)
			}
			if o.GetPriceOptions()[0].GetLabel().GetEn() != "Session" {
				t.Error("the English label of a price option was lost on edit")
			}
		})
	}
}

// offeringFormValues is what a browser posts for the form as rendered.
func offeringFormValues(f offeringForm) url.Values {
	v := url.Values{"title_fi": {f.TitleFi}, "title_sv": {f.TitleSv}, "title_en": {f.TitleEn}, "desc_fi": {f.DescFi}, "desc_sv": {f.DescSv},
		"desc_en": {f.DescEn}, "category": {f.Category}, "service_areas": {f.Areas}, "languages": {f.Langs}, "capacity": {f.Capacity},
		"waiting_band": {f.Band}, "website_uri": {f.Website}}
	if f.Band == "WAITING_BAND_UNSPECIFIED" {
		v.Set("waiting_band", "")
	}
	for k, n := range f.Notes {
		v.Set(k+"_fi", n.Fi)
		v.Set(k+"_sv", n.Sv)
		v.Set(k+"_en", n.En)
	}
	for m := range f.Modes {
		v.Add("delivery_modes", m)
	}
	for _, p := range f.Prices {
		v.Add("price_id", p.ID)
		v.Add("price_label", p.Label)
		v.Add("price_unit", p.Unit)
		v.Add("price_amount", p.Amount)
		v.Add("price_vat", p.VAT)
	}
	return v
}
