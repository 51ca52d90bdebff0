package grpcapi

import (
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/polku-hb/polku/platform/apierr"
	cataloguev1 "github.com/polku-hb/polku/proto/gen/go/polku/catalogue/v1"
	clientsv1 "github.com/polku-hb/polku/proto/gen/go/polku/clients/v1"
	"github.com/polku-hb/polku/services/catalogue/internal/app"
	"github.com/polku-hb/polku/services/catalogue/internal/catalogue"
)

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func textIn(t *cataloguev1.LocalizedText) catalogue.Text {
	return catalogue.Text{Fi: t.GetFi(), Sv: t.GetSv(), En: t.GetEn()}
}

func textOut(t catalogue.Text) *cataloguev1.LocalizedText {
	if t.Empty() {
		return nil
	}
	return &cataloguev1.LocalizedText{Fi: t.Fi, Sv: t.Sv, En: t.En}
}

func providerIn(p *cataloguev1.Provider) catalogue.Provider {
	return catalogue.Provider{
		DisplayName: p.GetDisplayName(), Kind: catalogue.ProviderKind(p.GetKind()), BusinessID: p.GetBusinessId(),
		Unregistered: p.GetUnregisteredGroup(), Description: textIn(p.GetDescription()),
		Contact: catalogue.Contact{
			Email: p.GetContact().GetEmail(), Phone: p.GetContact().GetPhone(),
			Website: p.GetContact().GetWebsiteUri(), Address: p.GetContact().GetAddress(),
		},
		ServiceAreas: p.GetServiceAreas(), Languages: p.GetLanguages(),
	}
}

func providerOut(v *app.ProviderView) *cataloguev1.Provider {
	p := v.P
	out := &cataloguev1.Provider{
		Name: "providers/" + p.ID, DisplayName: p.DisplayName, Kind: cataloguev1.ProviderKind(p.Kind),
		BusinessId: p.BusinessID, UnregisteredGroup: p.Unregistered, Description: textOut(p.Description),
		ServiceAreas: p.ServiceAreas, Languages: p.Languages, State: cataloguev1.Provider_State(p.State),
		StateReason: p.StateReason, VerifyTime: ts(p.VerifyTime), CreateTime: ts(p.CreateTime), UpdateTime: ts(p.UpdateTime), Etag: v.Etag,
	}
	if p.Contact != (catalogue.Contact{}) {
		out.Contact = &cataloguev1.ProviderContact{Email: p.Contact.Email, Phone: p.Contact.Phone, WebsiteUri: p.Contact.Website, Address: p.Contact.Address}
	}
	return out
}

func pricesIn(ps []*cataloguev1.PriceOption) []catalogue.PriceOption {
	out := make([]catalogue.PriceOption, len(ps))
	for i, p := range ps {
		out[i] = catalogue.PriceOption{ID: p.GetId(), Label: textIn(p.GetLabel()), Unit: catalogue.PriceUnit(p.GetUnit()), Amount: p.GetAmountCents(), VATRate: p.GetVatRateBasisPoints()}
	}
	return out
}

func pricesOut(ps []catalogue.PriceOption) []*cataloguev1.PriceOption {
	out := make([]*cataloguev1.PriceOption, len(ps))
	for i, p := range ps {
		out[i] = &cataloguev1.PriceOption{Id: p.ID, Label: textOut(p.Label), Unit: cataloguev1.PriceUnit(p.Unit), AmountCents: p.Amount, VatRateBasisPoints: p.VATRate}
	}
	return out
}

func offeringIn(o *cataloguev1.Offering) app.OfferingInput {
	c := catalogue.Content{
		Title: textIn(o.GetTitle()), Description: textIn(o.GetDescription()), Category: catalogue.Category(o.GetCategory()),
		ServiceAreas: o.GetServiceAreas(), Languages: o.GetLanguages(),
		Accessibility: textIn(o.GetAccessibilityNotes()), Eligibility: textIn(o.GetEligibilityNotes()), Access: textIn(o.GetAccessInstructions()),
		Website: o.GetWebsiteUri(), QuoteRequired: o.GetQuoteRequired(), Prices: pricesIn(o.GetPriceOptions()),
		ResponseDeadline: o.GetResponseDeadline().AsDuration(), StartDeadline: o.GetStartDeadline().AsDuration(),
	}
	for _, g := range o.GetTargetGroups() {
		c.TargetGroups = append(c.TargetGroups, catalogue.TargetGroup(g))
	}
	for _, m := range o.GetDeliveryModes() {
		c.DeliveryModes = append(c.DeliveryModes, catalogue.DeliveryMode(m))
	}
	return app.OfferingInput{Content: c, Capacity: catalogue.Capacity(o.GetCapacity()), WaitingBand: catalogue.WaitingBand(o.GetWaitingBand())}
}

func offeringName(pid, oid string) string { return "providers/" + pid + "/offerings/" + oid }

func offeringOut(v *app.OfferingView) *cataloguev1.Offering {
	o := v.O
	out := &cataloguev1.Offering{
		Name: offeringName(o.ProviderID, o.ID), Capacity: cataloguev1.Capacity(o.Capacity), WaitingBand: cataloguev1.WaitingBand(o.WaitingBand),
		CapacityUpdateTime: ts(o.CapacityUpdateTime), State: cataloguev1.Offering_State(o.State), ReviewNote: o.ReviewNote,
		Live: v.Live, LastConfirmTime: ts(o.LastConfirmTime), Stale: v.Stale, CreateTime: ts(o.CreateTime),
		UpdateTime: ts(o.UpdateTime), PublishTime: ts(o.PublishTime), Etag: v.Etag,
	}
	if o.PriceVersion > 0 {
		out.CurrentPriceVersion = offeringName(o.ProviderID, o.ID) + "/priceVersions/" + strconv.Itoa(o.PriceVersion)
	}
	if c := v.Content; c != nil {
		out.Title, out.Description, out.Category = textOut(c.Title), textOut(c.Description), cataloguev1.Category(c.Category)
		for _, g := range c.TargetGroups {
			out.TargetGroups = append(out.TargetGroups, clientsv1.TargetGroup(g))
		}
		for _, m := range c.DeliveryModes {
			out.DeliveryModes = append(out.DeliveryModes, cataloguev1.DeliveryMode(m))
		}
		out.ServiceAreas, out.Languages = c.ServiceAreas, c.Languages
		out.AccessibilityNotes, out.EligibilityNotes, out.AccessInstructions = textOut(c.Accessibility), textOut(c.Eligibility), textOut(c.Access)
		out.WebsiteUri, out.QuoteRequired, out.PriceOptions = c.Website, c.QuoteRequired, pricesOut(c.Prices)
		out.ResponseDeadline, out.StartDeadline = durationpb.New(c.ResponseDeadline), durationpb.New(c.StartDeadline)
	}
	for _, f := range v.Flags {
		out.PriceCapFlags = append(out.PriceCapFlags, &cataloguev1.PriceCapFlag{
			Region: "regions/" + f.Region, PriceOptionId: f.OptionID, Unit: cataloguev1.PriceUnit(f.Unit), AmountCents: f.Amount, CapCents: f.Cap,
		})
	}
	return out
}

func priceVersionOut(pid string, pv *catalogue.PriceVersion) *cataloguev1.PriceVersion {
	return &cataloguev1.PriceVersion{
		Name:         offeringName(pid, pv.OfferingID) + "/priceVersions/" + strconv.Itoa(pv.N),
		PriceOptions: pricesOut(pv.Prices), EffectiveTime: ts(pv.Effective), SupersedeTime: ts(pv.Supersede),
	}
}

func settingsOut(s *catalogue.Settings, etag string) *cataloguev1.CatalogueSettings {
	out := &cataloguev1.CatalogueSettings{
		Name: "regions/" + s.Region + "/catalogueSettings", Municipalities: s.Municipalities,
		FreshnessPeriod: durationpb.New(s.Freshness), UpdateTime: ts(s.UpdateTime), Etag: etag,
	}
	for _, c := range s.Caps {
		out.PriceCaps = append(out.PriceCaps, &cataloguev1.PriceCap{Category: cataloguev1.Category(c.Category), Unit: cataloguev1.PriceUnit(c.Unit), MaxAmountCents: c.Max})
	}
	return out
}

func changeOut(e catalogue.ChangeLogEntry) *cataloguev1.ChangeLogEntry {
	parent := "providers/" + e.ProviderID
	if e.OfferingID != "" {
		parent = offeringName(e.ProviderID, e.OfferingID)
	}
	out := &cataloguev1.ChangeLogEntry{
		Name: parent + "/changeLogEntries/" + e.ID, Subject: e.Subject, Method: e.Method,
		Actor: e.Actor, ActorRole: e.ActorRole, ChangeTime: ts(e.Time),
	}
	for _, c := range e.Changes {
		out.FieldChanges = append(out.FieldChanges, &cataloguev1.FieldChange{Field: c.Field, OldValue: c.Old, NewValue: c.New})
	}
	return out
}

// ---- names ----

func invalid(field, rule string) error {
	return apierr.Invalid(apierr.Violation{Field: field, Description: rule})
}

func validID(s string) bool {
	return s != "" && len(s) <= 64 && !strings.ContainsAny(s, "/ ")
}

// providerID parses `providers/{provider}`; allowDash accepts `providers/-`.
func providerID(name, field string, allowDash bool) (string, error) {
	id, ok := strings.CutPrefix(name, "providers/")
	if !ok || !validID(id) || (id == "-" && !allowDash) {
		return "", invalid(field, "must be providers/{provider}")
	}
	return id, nil
}

// offeringID parses `providers/{provider}/offerings/{offering}`.
func offeringID(name, field string) (string, string, error) {
	parts := strings.Split(name, "/")
	if len(parts) != 4 || parts[0] != "providers" || parts[2] != "offerings" || !validID(parts[1]) || !validID(parts[3]) || parts[1] == "-" {
		return "", "", invalid(field, "must be providers/{provider}/offerings/{offering}")
	}
	return parts[1], parts[3], nil
}
