// Package catalogue is the provider catalogue's domain: providers and their
// lifecycle, offerings with a working copy and a published copy, price versions,
// freshness and price-cap flags, validation (incl. the Y-tunnus check digit) and
// the text normalisation search uses. It does no I/O and knows nothing of gRPC
// or the store.
package catalogue

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Enumerations carry the numbers of the API's enums (polku.catalogue.v1), so the
// API layer converts by number; the domain validates the range.
type (
	ProviderKind  int32
	ProviderState int32
	OfferingState int32
	Category      int32
	DeliveryMode  int32
	Capacity      int32
	WaitingBand   int32
	PriceUnit     int32
	TargetGroup   int32
)

const (
	KindPublic      ProviderKind = 1
	KindThirdSector ProviderKind = 2
	KindCompany     ProviderKind = 3
	KindVolunteer   ProviderKind = 4

	ProviderPending   ProviderState = 1
	ProviderActive    ProviderState = 2
	ProviderRejected  ProviderState = 3
	ProviderSuspended ProviderState = 4

	Draft         OfferingState = 1
	PendingReview OfferingState = 2
	Published     OfferingState = 3
	Withdrawn     OfferingState = 4

	CategoryFamily         Category     = 4
	CategoryCultureLeisure Category     = 9
	maxCategory            Category     = 11
	maxDeliveryMode        DeliveryMode = 4
	CapacityYes            Capacity     = 1
	CapacityNo             Capacity     = 2
	CapacityWaitlist       Capacity     = 3
	maxWaitingBand         WaitingBand  = 4
	maxPriceUnit           PriceUnit    = 7
	maxTargetGroup         TargetGroup  = 5
)

// Names of states for messages (the API's enum value names).
var (
	providerStateNames = map[ProviderState]string{ProviderPending: "PENDING_VERIFICATION", ProviderActive: "ACTIVE", ProviderRejected: "REJECTED", ProviderSuspended: "SUSPENDED"}
	offeringStateNames = map[OfferingState]string{Draft: "DRAFT", PendingReview: "PENDING_REVIEW", Published: "PUBLISHED", Withdrawn: "WITHDRAWN"}
)

func (s ProviderState) String() string { return providerStateNames[s] }
func (s OfferingState) String() string { return offeringStateNames[s] }

// Domain errors.
var (
	ErrNotDeletable = errors.New("only a draft that was never published can be deleted")
)

// TransitionError is an illegal state change: the current state and the states
// the resource may move to from it.
type TransitionError struct {
	From    string
	Allowed []string
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("illegal transition from %s (allowed: %v)", e.From, e.Allowed)
}

// Text is a localised text; readers fall back fi -> sv -> en.
type Text struct {
	Fi string `json:"fi,omitempty"`
	Sv string `json:"sv,omitempty"`
	En string `json:"en,omitempty"`
}

// Empty reports whether no language has text.
func (t Text) Empty() bool { return t.Fi == "" && t.Sv == "" && t.En == "" }

// In returns the text in lang, falling back fi -> sv -> en.
func (t Text) In(lang string) string {
	switch {
	case lang == "sv" && t.Sv != "":
		return t.Sv
	case lang == "en" && t.En != "":
		return t.En
	case t.Fi != "":
		return t.Fi
	case t.Sv != "":
		return t.Sv
	}
	return t.En
}

// Contact is an organisation's public contact.
type Contact struct {
	Email   string `json:"email,omitempty"`
	Phone   string `json:"phone,omitempty"`
	Website string `json:"website,omitempty"`
	Address string `json:"address,omitempty"`
}

// Provider is a provider organisation.
type Provider struct {
	ID           string        `json:"id"`
	DisplayName  string        `json:"display_name"`
	Kind         ProviderKind  `json:"kind"`
	BusinessID   string        `json:"business_id,omitempty"`
	Unregistered bool          `json:"unregistered,omitempty"`
	Description  Text          `json:"description"`
	Contact      Contact       `json:"contact"`
	ServiceAreas []string      `json:"service_areas,omitempty"`
	Languages    []string      `json:"languages,omitempty"`
	State        ProviderState `json:"state"`
	StateReason  string        `json:"state_reason,omitempty"`
	VerifyTime   time.Time     `json:"verify_time,omitzero"`
	CreateTime   time.Time     `json:"create_time"`
	UpdateTime   time.Time     `json:"update_time"`
}

// NewProvider makes a registered provider, PENDING_VERIFICATION.
func NewProvider(id string, in Provider, now time.Time) *Provider {
	p := in
	p.ID, p.State, p.StateReason, p.CreateTime, p.UpdateTime, p.VerifyTime = id, ProviderPending, "", now, now, time.Time{}
	return &p
}

func (p *Provider) transition(to ProviderState, from []ProviderState, reason string, now time.Time) error {
	if !slices.Contains(from, p.State) {
		return &TransitionError{From: p.State.String(), Allowed: p.allowed()}
	}
	p.State, p.StateReason, p.UpdateTime = to, reason, now
	if to == ProviderActive {
		p.VerifyTime, p.StateReason = now, ""
	}
	return nil
}

func (p *Provider) allowed() []string {
	switch p.State {
	case ProviderPending:
		return []string{"ACTIVE", "REJECTED"}
	case ProviderActive:
		return []string{"SUSPENDED"}
	case ProviderSuspended:
		return []string{"ACTIVE"}
	}
	return nil
}

// Verify: PENDING_VERIFICATION or SUSPENDED -> ACTIVE.
func (p *Provider) Verify(now time.Time) error {
	return p.transition(ProviderActive, []ProviderState{ProviderPending, ProviderSuspended}, "", now)
}

// Reject: PENDING_VERIFICATION -> REJECTED.
func (p *Provider) Reject(reason string, now time.Time) error {
	return p.transition(ProviderRejected, []ProviderState{ProviderPending}, reason, now)
}

// Suspend: ACTIVE -> SUSPENDED.
func (p *Provider) Suspend(reason string, now time.Time) error {
	return p.transition(ProviderSuspended, []ProviderState{ProviderActive}, reason, now)
}

// PriceOption is one way an offering is priced.
type PriceOption struct {
	ID      string    `json:"id"`
	Label   Text      `json:"label"`
	Unit    PriceUnit `json:"unit"`
	Amount  int64     `json:"amount_cents"`
	VATRate int32     `json:"vat_bp"`
}

// Content is what a provider writes about an offering and an operator reviews.
type Content struct {
	Title            Text           `json:"title"`
	Description      Text           `json:"description"`
	Category         Category       `json:"category"`
	TargetGroups     []TargetGroup  `json:"target_groups,omitempty"`
	DeliveryModes    []DeliveryMode `json:"delivery_modes,omitempty"`
	ServiceAreas     []string       `json:"service_areas,omitempty"`
	Languages        []string       `json:"languages,omitempty"`
	Accessibility    Text           `json:"accessibility_notes"`
	Eligibility      Text           `json:"eligibility_notes"`
	Access           Text           `json:"access_instructions"`
	Website          string         `json:"website_uri,omitempty"`
	QuoteRequired    bool           `json:"quote_required,omitempty"`
	Prices           []PriceOption  `json:"price_options,omitempty"`
	ResponseDeadline time.Duration  `json:"response_deadline"`
	StartDeadline    time.Duration  `json:"start_deadline"`
}

// Default deadlines of an offering.
const (
	DefaultResponseDeadline = 3 * 24 * time.Hour
	DefaultStartDeadline    = 14 * 24 * time.Hour
)

// Clone deep-copies the content.
func (c Content) Clone() Content {
	c.TargetGroups = slices.Clone(c.TargetGroups)
	c.DeliveryModes = slices.Clone(c.DeliveryModes)
	c.ServiceAreas = slices.Clone(c.ServiceAreas)
	c.Languages = slices.Clone(c.Languages)
	c.Prices = slices.Clone(c.Prices)
	return c
}

// LowestPrice is the cheapest unit price, false when there is none (quote only).
func (c Content) LowestPrice() (int64, bool) {
	if len(c.Prices) == 0 {
		return 0, false
	}
	low := c.Prices[0].Amount
	for _, p := range c.Prices[1:] {
		low = min(low, p.Amount)
	}
	return low, true
}

// Offering is an orderable service of a provider. Work is the provider's working
// copy; Pub is the content in force once published (what everyone else sees).
type Offering struct {
	ID                 string        `json:"id"`
	ProviderID         string        `json:"provider_id"`
	Work               Content       `json:"work"`
	Pub                *Content      `json:"pub,omitempty"`
	Capacity           Capacity      `json:"capacity"`
	WaitingBand        WaitingBand   `json:"waiting_band,omitempty"`
	CapacityUpdateTime time.Time     `json:"capacity_update_time"`
	State              OfferingState `json:"state"`
	ReviewFrom         OfferingState `json:"review_from,omitempty"`
	ReviewNote         string        `json:"review_note,omitempty"`
	PriceVersion       int           `json:"price_version,omitempty"`
	LastConfirmTime    time.Time     `json:"last_confirm_time"`
	CreateTime         time.Time     `json:"create_time"`
	UpdateTime         time.Time     `json:"update_time"`
	PublishTime        time.Time     `json:"publish_time,omitzero"`
	// Indexed are the search-index entries the store wrote for this offering
	// (managed by the store package, so it can remove exactly those).
	// They live in their own document (read only for writes); IndexedVersion is
	// that document's version (0 = none yet).
	Indexed        []IndexRef `json:"-"`
	IndexedVersion int64      `json:"-"`
}

// IndexRef is one stored index entry.
type IndexRef struct {
	Index   string `json:"i"`
	SortKey string `json:"s"`
	ID      string `json:"d"`
}

// NewOffering makes a DRAFT.
func NewOffering(id, providerID string, c Content, capacity Capacity, band WaitingBand, now time.Time) *Offering {
	return &Offering{
		ID: id, ProviderID: providerID, Work: c.Clone(), Capacity: capacity, WaitingBand: band,
		CapacityUpdateTime: now, State: Draft, LastConfirmTime: now, CreateTime: now, UpdateTime: now,
	}
}

// Clone deep-copies the offering.
func (o *Offering) Clone() *Offering {
	c := *o
	c.Work = o.Work.Clone()
	if o.Pub != nil {
		p := o.Pub.Clone()
		c.Pub = &p
	}
	return &c
}

// CapacityOnly reports whether an update mask touches only capacity and
// waiting_band: such edits apply at once, without review.
func CapacityOnly(paths []string) bool {
	for _, p := range paths {
		if p != "capacity" && p != "waiting_band" {
			return false
		}
	}
	return len(paths) > 0
}

// Edit applies a provider's edit. content is the new working copy (already
// merged by mask), paths the fields changed. A published offering goes back to
// review unless only capacity changed. Every provider edit confirms the offering.
func (o *Offering) Edit(content Content, capacity Capacity, band WaitingBand, paths []string, now time.Time) {
	if capacity != o.Capacity || band != o.WaitingBand {
		o.CapacityUpdateTime = now
	}
	o.Capacity, o.WaitingBand = capacity, band
	if !CapacityOnly(paths) {
		o.Work = content.Clone()
		if o.State == Published {
			o.ReviewFrom, o.State = Published, PendingReview
		}
	}
	o.LastConfirmTime, o.UpdateTime = now, now
}

func (o *Offering) illegal() error {
	var allowed []string
	switch o.State {
	case Draft:
		allowed = []string{"PENDING_REVIEW"}
	case PendingReview:
		allowed = []string{"PUBLISHED", "DRAFT", "WITHDRAWN"}
	case Published:
		allowed = []string{"PENDING_REVIEW", "WITHDRAWN"}
	case Withdrawn:
		allowed = []string{"PENDING_REVIEW"}
	}
	return &TransitionError{From: o.State.String(), Allowed: allowed}
}

// Submit: DRAFT or WITHDRAWN -> PENDING_REVIEW.
func (o *Offering) Submit(now time.Time) error {
	if o.State != Draft && o.State != Withdrawn {
		return o.illegal()
	}
	o.ReviewFrom, o.State, o.UpdateTime = o.State, PendingReview, now
	return nil
}

// Publish: PENDING_REVIEW -> PUBLISHED. It reports whether the prices differ from
// the version in force (prev, nil before the first version): then the caller
// stores a new price version, whose number is o.PriceVersion afterwards.
func (o *Offering) Publish(prev []PriceOption, now time.Time) (newVersion bool, err error) {
	if o.State != PendingReview {
		return false, o.illegal()
	}
	pub := o.Work.Clone()
	o.Pub = &pub
	o.State, o.ReviewFrom, o.ReviewNote = Published, 0, ""
	o.PublishTime, o.LastConfirmTime, o.UpdateTime = now, now, now
	if o.PriceVersion == 0 || !slices.Equal(prev, pub.Prices) {
		o.PriceVersion++
		return true, nil
	}
	return false, nil
}

// Reject: PENDING_REVIEW -> back where it came from (DRAFT, or PUBLISHED /
// WITHDRAWN keeping the published content), with the operator's note.
func (o *Offering) Reject(note string, now time.Time) error {
	if o.State != PendingReview {
		return o.illegal()
	}
	switch o.ReviewFrom {
	case Published, Withdrawn:
		o.State = o.ReviewFrom
	default:
		o.State = Draft
	}
	o.ReviewFrom, o.ReviewNote, o.UpdateTime = 0, note, now
	return nil
}

// Withdraw: PUBLISHED or PENDING_REVIEW -> WITHDRAWN.
func (o *Offering) Withdraw(now time.Time) error {
	if o.State != Published && o.State != PendingReview {
		return o.illegal()
	}
	o.State, o.ReviewFrom, o.UpdateTime = Withdrawn, 0, now
	return nil
}

// Confirm marks the offering as still accurate.
func (o *Offering) Confirm(now time.Time) { o.LastConfirmTime, o.UpdateTime = now, now }

// Deletable: a draft that was never published.
func (o *Offering) Deletable() error {
	if o.State != Draft || o.Pub != nil {
		return ErrNotDeletable
	}
	return nil
}

// Live reports whether the offering is found and referable: it has published
// content, is published (or an edit of a published one is in review) and its
// provider is ACTIVE.
func (o *Offering) Live(providerState ProviderState) bool {
	if o.Pub == nil || providerState != ProviderActive {
		return false
	}
	return o.State == Published || (o.State == PendingReview && o.ReviewFrom == Published)
}

// Visible is the content a viewer sees: the owner and operators the working copy,
// everyone else the published content (nil: nothing to see).
func (o *Offering) Visible(owner bool) *Content {
	if owner {
		return &o.Work
	}
	return o.Pub
}

// Stale reports whether the offering was last confirmed longer ago than period.
func (o *Offering) Stale(period time.Duration, now time.Time) bool {
	return now.Sub(o.LastConfirmTime) > period
}

// PriceVersion is an immutable snapshot of published prices.
type PriceVersion struct {
	OfferingID string        `json:"offering_id"`
	N          int           `json:"n"`
	Prices     []PriceOption `json:"prices"`
	Effective  time.Time     `json:"effective"`
	Supersede  time.Time     `json:"supersede,omitzero"`
}

// DefaultFreshness is how long an offering stays fresh without confirmation.
const DefaultFreshness = 180 * 24 * time.Hour

// PriceCap is a region's maximum unit price for a category and unit.
type PriceCap struct {
	Category Category  `json:"category"`
	Unit     PriceUnit `json:"unit"`
	Max      int64     `json:"max_cents"`
}

// Settings are a region's catalogue settings.
type Settings struct {
	Region         string        `json:"region"`
	Municipalities []string      `json:"municipalities,omitempty"`
	Freshness      time.Duration `json:"freshness"`
	Caps           []PriceCap    `json:"caps,omitempty"`
	UpdateTime     time.Time     `json:"update_time,omitzero"`
}

// DefaultSettings are a region's settings until updated.
func DefaultSettings(region string) Settings {
	return Settings{Region: region, Freshness: DefaultFreshness}
}

// CapFlag is a price option above a region's cap.
type CapFlag struct {
	Region   string
	OptionID string
	Unit     PriceUnit
	Amount   int64
	Cap      int64
}

// Serves reports whether the region covers one of the areas.
func (s Settings) Serves(areas []string) bool {
	for _, a := range areas {
		if slices.Contains(s.Municipalities, a) {
			return true
		}
	}
	return false
}

// Flags computes the stale flag and the price-cap flags of content (served in
// areas) against the regions' settings: an offering is checked against every
// region whose municipalities it serves; it is stale when older than the
// shortest freshness period among them (the default when none applies).
func Flags(o *Offering, c *Content, areas []string, regions []Settings, now time.Time) (stale bool, flags []CapFlag) {
	period := time.Duration(0)
	for _, s := range regions {
		if !s.Serves(areas) {
			continue
		}
		if s.Freshness > 0 && (period == 0 || s.Freshness < period) {
			period = s.Freshness
		}
		for _, capp := range s.Caps {
			if capp.Category != c.Category {
				continue
			}
			for _, p := range c.Prices {
				if p.Unit == capp.Unit && p.Amount > capp.Max {
					flags = append(flags, CapFlag{Region: s.Region, OptionID: p.ID, Unit: p.Unit, Amount: p.Amount, Cap: capp.Max})
				}
			}
		}
	}
	if period == 0 {
		period = DefaultFreshness
	}
	return o.Stale(period, now), flags
}

// EffectiveAreas are the content's service areas, else the provider's.
func EffectiveAreas(c *Content, p *Provider) []string {
	if len(c.ServiceAreas) > 0 {
		return c.ServiceAreas
	}
	return p.ServiceAreas
}

// EffectiveLanguages are the content's languages, else the provider's.
func EffectiveLanguages(c *Content, p *Provider) []string {
	if len(c.Languages) > 0 {
		return c.Languages
	}
	return p.Languages
}

// ChangeLogEntry records who changed which fields of a resource.
type ChangeLogEntry struct {
	ID         string        `json:"id"`
	ProviderID string        `json:"provider_id"`
	OfferingID string        `json:"offering_id,omitempty"`
	Subject    string        `json:"subject"`
	Method     string        `json:"method"`
	Actor      string        `json:"actor"`
	ActorRole  string        `json:"actor_role"`
	Changes    []FieldChange `json:"changes,omitempty"`
	Time       time.Time     `json:"time"`
}

// FieldChange is one changed field, values as JSON text.
type FieldChange struct {
	Field string `json:"field"`
	Old   string `json:"old,omitempty"`
	New   string `json:"new,omitempty"`
}
