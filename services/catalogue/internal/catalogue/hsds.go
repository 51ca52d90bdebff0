package catalogue

import (
	"crypto/sha1"
	"fmt"
	"strings"
)

// HSDSVersion is the Open Referral HSDS version of the export.
const HSDSVersion = "3.0"

// uuidURL is the RFC 4122 URL namespace.
var uuidURL = [16]byte{0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}

// UUID5 is the RFC 4122 version-5 UUID of a Polku resource name: the HSDS ids
// are stable across exports.
func UUID5(name string) string {
	h := sha1.New()
	h.Write(uuidURL[:])
	h.Write([]byte("https://polku.fi/" + name))
	s := h.Sum(nil)
	s[6] = (s[6] & 0x0f) | 0x50
	s[8] = (s[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", s[0:4], s[4:6], s[6:8], s[8:10], s[10:16])
}

var (
	categoryTerms = map[Category][2]string{
		1: {"social_services", "Social work and social guidance"}, 2: {"health", "Health care and rehabilitation"},
		3: {"mental_health_and_substance_use", "Mental health and substance-use services"},
		4: {"family_and_parenting", "Family work, parenting support, neuropsychiatric coaching of families"},
		5: {"housing", "Housing and housing support"}, 6: {"financial_guidance", "Benefits advice, debt and financial guidance"},
		7:  {"employment_and_education", "Employment services, vocational and adult education"},
		8:  {"peer_support", "Peer support and peer groups"},
		9:  {"culture_and_leisure", "Culture and leisure: museum cards, courses, hobbies, recreation trips"},
		10: {"daily_living_support", "Help in daily living: home help, transport, assistive devices"}, 11: {"other", "Anything else"},
	}
	deliveryTerms = map[DeliveryMode][2]string{
		1: {"home_visit", "At the client's home"}, 2: {"on_site", "At the provider's premises"},
		3: {"remote", "By phone or video"}, 4: {"group", "In a group"},
	}
	unitNames = map[PriceUnit]string{1: "per hour", 2: "per visit", 3: "per session", 4: "per day", 5: "per month", 6: "one-off", 7: "per course"}
	waitNames = map[int]string{WaitNow: "accepting new clients now", 1: "waiting list, under 1 month", 2: "waiting list, 1-3 months",
		3: "waiting list, over 3 months", 4: "waiting list, wait undetermined", WaitNo: "not accepting new clients"}
)

// HSDSService maps a live offering (its published content), its provider and
// the price version in force to one compiled HSDS 3.0 `service` object. See
// docs/catalogue.md for the mapping.
func HSDSService(o *Offering, p *Provider, pv *PriceVersion, lang string) map[string]any {
	c := o.Pub
	name := "providers/" + p.ID + "/offerings/" + o.ID
	sid := UUID5(name)
	orgName := "providers/" + p.ID
	orgDesc := p.Description.In(lang)
	if orgDesc == "" {
		orgDesc = p.DisplayName
	}
	org := map[string]any{"id": UUID5(orgName), "name": p.DisplayName, "description": orgDesc}
	if p.Contact.Website != "" {
		org["website"] = p.Contact.Website
	}
	if p.Contact.Email != "" {
		org["email"] = p.Contact.Email
	}
	if p.BusinessID != "" {
		org["organization_identifiers"] = []any{map[string]any{
			"id": UUID5(orgName + "/identifiers/fi-ytunnus"), "organization_id": UUID5(orgName),
			"identifier_scheme": "FI-PRO", "identifier_type": "fi-ytunnus", "identifier": p.BusinessID,
		}}
	}
	svc := map[string]any{
		"id": sid, "organization_id": UUID5(orgName), "name": c.Title.In(lang), "description": c.Description.In(lang),
		"status": "active", "organization": org,
		"wait_time":     waitNames[WaitRank(o.Capacity, o.WaitingBand)],
		"last_modified": o.UpdateTime.UTC().Format("2006-01-02T15:04:05.000Z07:00"),
	}
	if c.Website != "" {
		svc["url"] = c.Website
	}
	if e := c.Eligibility.In(lang); e != "" {
		svc["eligibility_description"] = e
	}
	if c.QuoteRequired {
		svc["fees_description"] = "Priced case by case: ask the provider for a quote."
	}
	var areas []any
	for _, m := range EffectiveAreas(c, p) {
		areas = append(areas, map[string]any{"id": UUID5(name + "/serviceAreas/" + m), "service_id": sid, "name": m, "extent": m, "extent_type": "other",
			"description": "Statistics Finland municipality code " + m})
	}
	svc["service_areas"] = nonNil(areas)
	var langs []any
	for _, l := range EffectiveLanguages(c, p) {
		langs = append(langs, map[string]any{"id": UUID5(name + "/languages/" + l), "service_id": sid, "code": l})
	}
	svc["languages"] = nonNil(langs)
	var costs []any
	if pv != nil {
		for _, po := range pv.Prices {
			label := po.Label.In(lang)
			if label == "" {
				label = po.ID
			}
			costs = append(costs, map[string]any{
				"id": UUID5(fmt.Sprintf("%s/priceVersions/%d/%s", name, pv.N, po.ID)), "service_id": sid, "option": label,
				"currency": "EUR", "amount": float64(po.Amount) / 100, "amount_description": unitNames[po.Unit],
				"valid_from": pv.Effective.UTC().Format("2006-01-02"),
			})
		}
	}
	svc["cost_options"] = nonNil(costs)
	var attrs []any
	term := func(taxonomy, code, desc string) {
		tid := UUID5("taxonomies/" + taxonomy + "/terms/" + code)
		attrs = append(attrs, map[string]any{
			"id": UUID5(name + "/attributes/" + taxonomy + "/" + code), "link_id": sid, "link_type": "service", "link_entity": "service",
			"taxonomy_term_id": tid, "value": code,
			"taxonomy_term": map[string]any{"id": tid, "code": code, "name": strings.ReplaceAll(code, "_", " "), "description": desc, "taxonomy": taxonomy},
		})
	}
	if t, ok := categoryTerms[c.Category]; ok {
		term("polku-category", t[0], t[1])
	}
	for _, m := range c.DeliveryModes {
		if t, ok := deliveryTerms[m]; ok {
			term("polku-delivery-mode", t[0], t[1])
		}
	}
	svc["attributes"] = nonNil(attrs)
	return svc
}

func nonNil(v []any) []any {
	if v == nil {
		return []any{}
	}
	return v
}
