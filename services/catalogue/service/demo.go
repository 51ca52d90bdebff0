package service

import (
	"context"
	"fmt"

	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/services/catalogue/internal/app"
	"github.com/polku-hb/polku/services/catalogue/internal/catalogue"
)

// DemoRegion is the region of the demo catalogue (Pirkanmaa).
const DemoRegion = "pirkanmaa"

// DemoOperator is the operator subject SeedDemo acts as.
var DemoOperator = auth.Principal{Subject: "o-demo", Role: auth.RoleOperator}

type demoOffering struct {
	key string
	in  app.OfferingInput
}

type demoProvider struct {
	key       string
	p         catalogue.Provider
	offerings []demoOffering
}

var tampere = []string{"837", "536", "980", "211", "604", "418"} // Tampere, Nokia, Ylöjärvi, Kangasala, Pirkkala, Lempäälä

func price(id string, unit catalogue.PriceUnit, cents int64, vat int32, fi string) catalogue.PriceOption {
	return catalogue.PriceOption{ID: id, Unit: unit, Amount: cents, VATRate: vat, Label: catalogue.Text{Fi: fi}}
}

func demoData() []demoProvider {
	const (
		hour, visit, session, oneOff, course = catalogue.PriceUnit(1), catalogue.PriceUnit(2), catalogue.PriceUnit(3), catalogue.PriceUnit(6), catalogue.PriceUnit(7)
		home, site, remote, group            = catalogue.DeliveryMode(1), catalogue.DeliveryMode(2), catalogue.DeliveryMode(3), catalogue.DeliveryMode(4)
		family                               = catalogue.TargetGroup(1)
	)
	off := func(key string, title, desc catalogue.Text, cat catalogue.Category, modes []catalogue.DeliveryMode, cap catalogue.Capacity, band catalogue.WaitingBand, quote bool, prices ...catalogue.PriceOption) demoOffering {
		return demoOffering{key: key, in: app.OfferingInput{Capacity: cap, WaitingBand: band, Content: catalogue.Content{
			Title: title, Description: desc, Category: cat, DeliveryModes: modes, QuoteRequired: quote, Prices: prices,
		}}}
	}
	return []demoProvider{
		{key: "family-work", p: catalogue.Provider{DisplayName: "Pirkanmaan hyvinvointialue, perhetyö", Kind: catalogue.KindPublic, BusinessID: "3221308-6",
			Description: catalogue.Text{Fi: "Hyvinvointialueen perhetyön yksikkö.", En: "The region's family-work unit."},
			Contact:     catalogue.Contact{Phone: "+358331234567", Website: "https://www.pirha.fi"}, ServiceAreas: tampere, Languages: []string{"fi", "sv", "en"}},
			offerings: []demoOffering{
				off("perhetyo", catalogue.Text{Fi: "Perhetyö kotona", En: "Family work at home"},
					catalogue.Text{Fi: "Perhetyöntekijä tukee perhettä arjen rutiineissa ja vanhemmuudessa kotikäynneillä.", En: "A family worker supports parenting and daily routines on home visits."},
					catalogue.CategoryFamily, []catalogue.DeliveryMode{home}, catalogue.CapacityWaitlist, 2, false, price("visit", visit, 6800, 0, "Kotikäynti")),
			}},
		{key: "neurocoach", p: catalogue.Provider{DisplayName: "NeuroValmennus Oy", Kind: catalogue.KindCompany, BusinessID: "2345671-3",
			Description: catalogue.Text{Fi: "Neuropsykiatrista valmennusta perheille ja nuorille."},
			Contact:     catalogue.Contact{Email: "info@neurovalmennus.example", Website: "https://neurovalmennus.example"}, ServiceAreas: tampere, Languages: []string{"fi", "en"}},
			offerings: []demoOffering{
				off("adhd-coaching", catalogue.Text{Fi: "ADHD-valmennus perheille", En: "ADHD coaching for families"},
					catalogue.Text{Fi: "Neuropsykiatrinen valmentaja auttaa vanhempia iltarutiineissa ja lapsen toiminnanohjauksessa. Räätälöity kokonaisuus tarjouksen mukaan.", En: "A neuropsychiatric coach helps parents with evening routines and the child's executive functions."},
					catalogue.CategoryFamily, []catalogue.DeliveryMode{home, remote}, catalogue.CapacityYes, 0, true, price("hour", hour, 9500, 2550, "Valmennustunti 60 min")),
			}},
		{key: "peer-association", p: catalogue.Provider{DisplayName: "Mielenterveysyhdistys Tukiverkko ry", Kind: catalogue.KindThirdSector, BusinessID: "0211675-2",
			Contact: catalogue.Contact{Email: "toimisto@tukiverkko.example"}, ServiceAreas: []string{"837", "536"}, Languages: []string{"fi"}},
			offerings: []demoOffering{
				off("peer-group", catalogue.Text{Fi: "Vertaistukiryhmä vanhemmille", Sv: "Kamratstödsgrupp för föräldrar"},
					catalogue.Text{Fi: "Kerran viikossa kokoontuva vertaisryhmä perheille, joiden lapsella on neuropsykiatrisia haasteita."},
					catalogue.Category(8), []catalogue.DeliveryMode{group}, catalogue.CapacityYes, 0, false, price("session", session, 0, 0, "Maksuton")),
			}},
		{key: "museum", p: catalogue.Provider{DisplayName: "Tampereen museot", Kind: catalogue.KindPublic, BusinessID: "0204819-8",
			Contact: catalogue.Contact{Website: "https://www.tampere.fi/museot"}, ServiceAreas: tampere, Languages: []string{"fi", "sv", "en"}},
			offerings: []demoOffering{
				off("museum-card", catalogue.Text{Fi: "Museokortti", Sv: "Museikort", En: "Museum card"},
					catalogue.Text{Fi: "Vuoden pääsy yli 300 museoon koko Suomessa.", En: "A year's entry to over 300 museums across Finland."},
					catalogue.CategoryCultureLeisure, []catalogue.DeliveryMode{site}, catalogue.CapacityYes, 0, false, price("card", oneOff, 8900, 1400, "Vuosikortti")),
				off("family-trip", catalogue.Text{Fi: "Perheen virkistysretki museoon", En: "Family recreation trip to the museum"},
					catalogue.Text{Fi: "Opastettu perheretki Vapriikkiin, sisältää liput ja työpajan."},
					catalogue.CategoryCultureLeisure, []catalogue.DeliveryMode{site, group}, catalogue.CapacityYes, 0, false, price("family", visit, 4500, 1400, "Perhelippu ja opastus")),
			}},
		{key: "adult-education", p: catalogue.Provider{DisplayName: "Tampereen seudun työväenopisto", Kind: catalogue.KindPublic, BusinessID: "2011512-0",
			ServiceAreas: tampere, Languages: []string{"fi", "en"}},
			offerings: []demoOffering{
				off("ceramics", catalogue.Text{Fi: "Keramiikkakurssi aikuisille", En: "Ceramics course for adults"},
					catalogue.Text{Fi: "Kymmenen kerran iltakurssi, materiaalit sisältyvät hintaan."},
					catalogue.CategoryCultureLeisure, []catalogue.DeliveryMode{site, group}, catalogue.CapacityWaitlist, 1, false, price("course", course, 7200, 0, "Kurssimaksu")),
				off("finnish", catalogue.Text{Fi: "Suomen kielen kurssi", En: "Finnish language course"},
					catalogue.Text{Fi: "Arjen suomea aloittelijoille.", En: "Everyday Finnish for beginners."},
					catalogue.Category(7), []catalogue.DeliveryMode{site, remote}, catalogue.CapacityYes, 0, false, price("course", course, 5500, 0, "Kurssimaksu")),
			}},
		{key: "volunteers", p: catalogue.Provider{DisplayName: "Hervannan naapuriapu", Kind: catalogue.KindVolunteer, Unregistered: true,
			ServiceAreas: []string{"837"}, Languages: []string{"fi", "en"}},
			offerings: []demoOffering{
				off("shopping-help", catalogue.Text{Fi: "Kauppa-apu ja ulkoiluseura", En: "Shopping help and walking company"},
					catalogue.Text{Fi: "Vapaaehtoiset auttavat kauppakäynneissä ja lähtevät ulkoilemaan."},
					catalogue.Category(10), []catalogue.DeliveryMode{home}, catalogue.CapacityYes, 0, false, price("visit", visit, 0, 0, "Maksuton")),
			}},
	}
}

// SeedDemo fills the demo catalogue of `polku dev`: six providers of the
// Pirkanmaa region (a family-work unit, a neuropsychiatric coaching company, a
// peer-support association, a museum and an adult-education centre with culture
// offerings, a volunteer group), verified, with published offerings and prices,
// and region settings with a price cap that flags the coaching company's hourly
// price. It is idempotent: a second run changes nothing. It returns the provider
// ids by demo key ("neurocoach", ...), for issuing PROVIDER demo tokens.
func (s *Service) SeedDemo(ctx context.Context) (map[string]string, error) {
	op := auth.NewContext(ctx, DemoOperator)
	out := map[string]string{}
	if cur, _, err := s.app.GetSettings(op, DemoRegion); err != nil {
		return nil, err
	} else if cur.UpdateTime.IsZero() {
		_, _, err := s.app.UpdateSettings(op, catalogue.Settings{Region: DemoRegion, Municipalities: tampere, Freshness: catalogue.DefaultFreshness,
			Caps: []catalogue.PriceCap{{Category: catalogue.CategoryFamily, Unit: 1, Max: 9000}}}, []string{"municipalities", "freshness_period", "price_caps"}, "")
		if err != nil {
			return nil, fmt.Errorf("demo settings: %w", err)
		}
	}
	for _, d := range demoData() {
		reg := auth.NewContext(ctx, auth.Principal{Subject: "demo-registrar", Role: auth.RoleProvider, ProviderID: "-"})
		pv, err := s.app.CreateProvider(reg, d.p, "demo-provider-"+d.key)
		if err != nil {
			return nil, fmt.Errorf("demo provider %s: %w", d.key, err)
		}
		id := pv.P.ID
		out[d.key] = id
		if pv.P.State == catalogue.ProviderPending {
			if _, err := s.app.VerifyProvider(op, id, "", "demo-verify"); err != nil {
				return nil, fmt.Errorf("demo verify %s: %w", d.key, err)
			}
		}
		staff := auth.NewContext(ctx, auth.Principal{Subject: "demo-staff-" + d.key, Role: auth.RoleProvider, ProviderID: id})
		for _, o := range d.offerings {
			v, err := s.app.CreateOffering(staff, id, o.in, "demo-offering-"+o.key)
			if err != nil {
				return nil, fmt.Errorf("demo offering %s: %w", o.key, err)
			}
			if v.O.State == catalogue.Draft {
				if v, err = s.app.SubmitOffering(staff, id, v.O.ID, "", "demo-submit"); err != nil {
					return nil, err
				}
			}
			if v.O.State == catalogue.PendingReview {
				if _, err = s.app.PublishOffering(op, id, v.O.ID, "", "demo-publish"); err != nil {
					return nil, err
				}
			}
		}
	}
	return out, nil
}
