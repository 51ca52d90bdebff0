package ui

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	cataloguev1 "github.com/polku-hb/polku/proto/gen/go/polku/catalogue/v1"
	clientsv1 "github.com/polku-hb/polku/proto/gen/go/polku/clients/v1"
	"github.com/polku-hb/polku/web/internal/i18n"
)

// offeringForm is the offering form's fields as the provider typed them, so a
// refused form comes back with everything still in it.
type offeringForm struct {
	TitleFi, TitleSv, TitleEn string
	DescFi, DescSv, DescEn    string
	Category                  string
	Modes, Groups             map[string]bool
	Areas, Langs              string
	Capacity, Band            string
	Website                   string
	QuoteRequired             bool
	Prices                    []priceRow
	Notes                     map[string]locText // by noteFields
}

// locText is a catalogue text in the three languages, as typed.
type locText struct{ Fi, Sv, En string }

func locTextOf(t *cataloguev1.LocalizedText) locText { return locText{t.GetFi(), t.GetSv(), t.GetEn()} }

// proto is the API's text, nil when every language is empty.
func (t locText) proto() *cataloguev1.LocalizedText {
	if t == (locText{}) {
		return nil
	}
	return &cataloguev1.LocalizedText{Fi: t.Fi, Sv: t.Sv, En: t.En}
}

// noteFields are the offering's optional texts, by their API field names
// (also the form's field names with _fi, _sv, _en).
var noteFields = []string{"eligibility_notes", "access_instructions", "accessibility_notes"}

// notes points at an offering's optional texts by field name.
func offeringNotes(o *cataloguev1.Offering) map[string]**cataloguev1.LocalizedText {
	return map[string]**cataloguev1.LocalizedText{
		"eligibility_notes": &o.EligibilityNotes, "access_instructions": &o.AccessInstructions, "accessibility_notes": &o.AccessibilityNotes,
	}
}

// priceRow is one price option; ID is kept across edits (plans pin it).
type priceRow struct {
	ID, Label, Unit, Amount, VAT string
}

// blankPriceRows is how many empty price rows the form offers.
const blankPriceRows = 2

func newOfferingForm() offeringForm {
	f := offeringForm{Capacity: "CAPACITY_YES", Modes: map[string]bool{}, Groups: map[string]bool{}, Langs: "fi", Notes: map[string]locText{}}
	return f.withBlankRows()
}

func (f offeringForm) withBlankRows() offeringForm {
	for range blankPriceRows {
		f.Prices = append(f.Prices, priceRow{Unit: "PRICE_UNIT_HOUR"})
	}
	return f
}

// offeringFormOf fills the form from an offering's working copy.
func offeringFormOf(o *cataloguev1.Offering) offeringForm {
	f := offeringForm{
		TitleFi: o.GetTitle().GetFi(), TitleSv: o.GetTitle().GetSv(), TitleEn: o.GetTitle().GetEn(),
		DescFi: o.GetDescription().GetFi(), DescSv: o.GetDescription().GetSv(), DescEn: o.GetDescription().GetEn(),
		Category: o.GetCategory().String(), Modes: map[string]bool{}, Groups: map[string]bool{},
		Areas: strings.Join(o.GetServiceAreas(), ", "), Langs: strings.Join(o.GetLanguages(), ", "),
		Capacity: o.GetCapacity().String(), Band: o.GetWaitingBand().String(), Website: o.GetWebsiteUri(),
		QuoteRequired: o.GetQuoteRequired(), Notes: map[string]locText{},
	}
	for k, p := range offeringNotes(o) {
		f.Notes[k] = locTextOf(*p)
	}
	for _, m := range o.GetDeliveryModes() {
		f.Modes[m.String()] = true
	}
	for _, g := range o.GetTargetGroups() {
		f.Groups[g.String()] = true
	}
	for _, p := range o.GetPriceOptions() {
		f.Prices = append(f.Prices, priceRow{ID: p.GetId(), Label: p.GetLabel().GetFi(), Unit: p.GetUnit().String(),
			Amount: euroField(p.GetAmountCents()), VAT: vatField(p.GetVatRateBasisPoints())})
	}
	return f.withBlankRows()
}

// euroField writes cents the way parseEuros reads them back ("95,50").
func euroField(c int64) string { return fmt.Sprintf("%d,%02d", c/100, c%100) }

func vatField(bp int32) string {
	if bp == 0 {
		return ""
	}
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%d,%02d", bp/100, bp%100), "0"), ",")
}

// readOfferingForm reads the posted form; it never fails, checking is offering's job.
func readOfferingForm(v url.Values) offeringForm {
	t := func(k string) string { return strings.TrimSpace(v.Get(k)) }
	f := offeringForm{
		TitleFi: t("title_fi"), TitleSv: t("title_sv"), TitleEn: t("title_en"),
		DescFi: t("desc_fi"), DescSv: t("desc_sv"), DescEn: t("desc_en"),
		Category: t("category"), Modes: map[string]bool{}, Groups: map[string]bool{},
		Areas: t("service_areas"), Langs: t("languages"), Capacity: t("capacity"), Band: t("waiting_band"),
		Website: t("website_uri"), QuoteRequired: v.Get("quote_required") == "on", Notes: map[string]locText{},
	}
	for _, k := range noteFields {
		f.Notes[k] = locText{t(k + "_fi"), t(k + "_sv"), t(k + "_en")}
	}
	for _, m := range v["delivery_modes"] {
		f.Modes[m] = true
	}
	for _, g := range v["target_groups"] {
		f.Groups[g] = true
	}
	ids, labels, units, amounts, vats := v["price_id"], v["price_label"], v["price_unit"], v["price_amount"], v["price_vat"]
	for i := range units {
		row := priceRow{Unit: units[i]}
		for _, p := range []struct {
			dst *string
			src []string
		}{{&row.ID, ids}, {&row.Label, labels}, {&row.Amount, amounts}, {&row.VAT, vats}} {
			if i < len(p.src) {
				*p.dst = strings.TrimSpace(p.src[i])
			}
		}
		f.Prices = append(f.Prices, row)
	}
	return f
}

// offering turns the form into the API's offering, or says in the user's
// language what to fix (what the edge would name by field path only).
func (f offeringForm) offering(l i18n.Lang) (*cataloguev1.Offering, error) {
	var problems []string
	if f.TitleFi == "" {
		problems = append(problems, l.T("catalogue.err.title"))
	}
	if f.DescFi == "" {
		problems = append(problems, l.T("catalogue.err.description"))
	}
	o := &cataloguev1.Offering{
		Title:       &cataloguev1.LocalizedText{Fi: f.TitleFi, Sv: f.TitleSv, En: f.TitleEn},
		Description: &cataloguev1.LocalizedText{Fi: f.DescFi, Sv: f.DescSv, En: f.DescEn},
		Category:    cataloguev1.Category(cataloguev1.Category_value[f.Category]),
		Capacity:    cataloguev1.Capacity(cataloguev1.Capacity_value[f.Capacity]), WaitingBand: cataloguev1.WaitingBand(cataloguev1.WaitingBand_value[f.Band]),
		ServiceAreas: splitList(f.Areas), Languages: splitList(f.Langs), WebsiteUri: f.Website, QuoteRequired: f.QuoteRequired,
	}
	for k, p := range offeringNotes(o) {
		*p = f.Notes[k].proto()
	}
	if o.Category == 0 {
		problems = append(problems, l.T("catalogue.err.category"))
	}
	if o.Capacity == 0 {
		problems = append(problems, l.T("catalogue.err.capacity"))
	}
	for _, m := range enumNames(cataloguev1.DeliveryMode_name) {
		if f.Modes[m] {
			o.DeliveryModes = append(o.DeliveryModes, cataloguev1.DeliveryMode(cataloguev1.DeliveryMode_value[m]))
		}
	}
	if len(o.DeliveryModes) == 0 {
		problems = append(problems, l.T("catalogue.err.modes"))
	}
	for _, g := range enumNames(clientsv1.TargetGroup_name) {
		if f.Groups[g] {
			o.TargetGroups = append(o.TargetGroups, clientsv1.TargetGroup(clientsv1.TargetGroup_value[g]))
		}
	}
	prices, bad := f.priceOptions(l)
	o.PriceOptions, problems = prices, append(problems, bad...)
	if len(prices) == 0 && !f.QuoteRequired {
		problems = append(problems, l.T("catalogue.err.prices"))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%w: %s", errBadInput, strings.Join(problems, " "))
	}
	return o, nil
}

var priceOptionIDRE = regexp.MustCompile(`^[a-z0-9-]{1,40}$`)

// priceOptions reads the filled price rows; a row without a price is left out.
// A new row's id comes from its unit ("hour", "hour-2"): stable, readable and
// unique within the offering, as the API wants.
func (f offeringForm) priceOptions(l i18n.Lang) ([]*cataloguev1.PriceOption, []string) {
	var out []*cataloguev1.PriceOption
	var problems []string
	used := map[string]bool{}
	for _, r := range f.Prices {
		if priceOptionIDRE.MatchString(r.ID) {
			used[r.ID] = true
		}
	}
	for i, r := range f.Prices {
		if r.Amount == "" {
			continue
		}
		cents, err := parseEuros(r.Amount)
		unit := cataloguev1.PriceUnit(cataloguev1.PriceUnit_value[r.Unit])
		vat, verr := parseVAT(r.VAT)
		if err != nil || unit == 0 || verr != nil {
			problems = append(problems, l.T("catalogue.err.price", i+1))
			continue
		}
		id := r.ID
		if !priceOptionIDRE.MatchString(id) {
			id = freeOptionID(strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(r.Unit, "PRICE_UNIT_")), "_", "-"), used)
		}
		p := &cataloguev1.PriceOption{Id: id, Unit: unit, AmountCents: cents, VatRateBasisPoints: vat}
		if r.Label != "" {
			p.Label = &cataloguev1.LocalizedText{Fi: r.Label}
		}
		out = append(out, p)
	}
	return out, problems
}

func freeOptionID(base string, used map[string]bool) string {
	id := base
	for n := 2; used[id]; n++ {
		id = base + "-" + strconv.Itoa(n)
	}
	used[id] = true
	return id
}

// parseVAT reads a VAT percentage ("25,5") as basis points.
func parseVAT(s string) (int32, error) {
	if s == "" {
		return 0, nil
	}
	c, err := parseEuros(strings.TrimSuffix(strings.TrimSpace(s), "%"))
	if err != nil || c > 10000 {
		return 0, fmt.Errorf("bad VAT %q", s)
	}
	return int32(c), nil
}

// offeringChangedPaths is the update mask of an edit: only the fields whose value
// differs, so an untouched published offering does not go back to review
// and a capacity-only change applies at once.
func offeringChangedPaths(old, new *cataloguev1.Offering) []string {
	var paths []string
	add := func(path string, same bool) {
		if !same {
			paths = append(paths, path)
		}
	}
	add("title", proto.Equal(old.GetTitle(), new.GetTitle()))
	add("description", proto.Equal(old.GetDescription(), new.GetDescription()))
	add("category", old.GetCategory() == new.GetCategory())
	add("target_groups", fmt.Sprint(old.GetTargetGroups()) == fmt.Sprint(new.GetTargetGroups()))
	add("delivery_modes", fmt.Sprint(old.GetDeliveryModes()) == fmt.Sprint(new.GetDeliveryModes()))
	add("service_areas", fmt.Sprint(old.GetServiceAreas()) == fmt.Sprint(new.GetServiceAreas()))
	add("languages", fmt.Sprint(old.GetLanguages()) == fmt.Sprint(new.GetLanguages()))
	oldNotes, newNotes := offeringNotes(old), offeringNotes(new)
	for _, k := range noteFields {
		add(k, locTextOf(*oldNotes[k]) == locTextOf(*newNotes[k]))
	}
	add("website_uri", old.GetWebsiteUri() == new.GetWebsiteUri())
	add("capacity", old.GetCapacity() == new.GetCapacity())
	add("waiting_band", old.GetWaitingBand() == new.GetWaitingBand())
	add("quote_required", old.GetQuoteRequired() == new.GetQuoteRequired())
	add("price_options", samePrices(old.GetPriceOptions(), new.GetPriceOptions()))
	return paths
}

// samePrices compares price options one by one (keepLabels has run first).
func samePrices(old, new []*cataloguev1.PriceOption) bool {
	if len(old) != len(new) {
		return false
	}
	for i := range old {
		if !proto.Equal(old[i], new[i]) {
			return false
		}
	}
	return true
}

// keepLabels carries the Swedish and English labels of existing options over
// to the edited ones (the form edits the Finnish label only).
func keepLabels(old, new []*cataloguev1.PriceOption) {
	byID := map[string]*cataloguev1.PriceOption{}
	for _, p := range old {
		byID[p.GetId()] = p
	}
	for _, p := range new {
		o := byID[p.GetId()]
		if o == nil || (o.GetLabel().GetSv() == "" && o.GetLabel().GetEn() == "") {
			continue
		}
		if p.Label == nil {
			p.Label = &cataloguev1.LocalizedText{}
		}
		p.Label.Sv, p.Label.En = o.GetLabel().GetSv(), o.GetLabel().GetEn()
	}
}
