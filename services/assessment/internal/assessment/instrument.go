package assessment

import (
	"fmt"
	"regexp"
	"slices"
	"time"
)

// Instrument states.
const (
	InstrumentActive  = "ACTIVE"
	InstrumentRetired = "RETIRED"
)

// Instrument is a self-assessment instrument kept as data (a region versions it
// by creating a new one).
type Instrument struct {
	ID           string             `json:"id"`
	DisplayName  Text               `json:"display_name"`
	Instructions Text               `json:"instructions"`
	Min          int32              `json:"min"`
	Max          int32              `json:"max"`
	MinLabel     Text               `json:"min_label"`
	MaxLabel     Text               `json:"max_label"`
	Domains      []InstrumentDomain `json:"domains"`
	State        string             `json:"state"`
	CreateTime   time.Time          `json:"create_time"`
	RetireTime   time.Time          `json:"retire_time"`
}

// InstrumentDomain is one question of an instrument.
type InstrumentDomain struct {
	ID       string `json:"id"`
	Title    Text   `json:"title"`
	Question Text   `json:"question"`
}

var instrumentID = regexp.MustCompile(`^[a-z][a-z0-9-]{1,62}[a-z0-9]$`)

func (t Text) empty() bool { return t.Fi == "" && t.Sv == "" && t.En == "" }

// ValidateInstrument checks an instrument definition.
func ValidateInstrument(in *Instrument) error {
	var vs Violations
	if !instrumentID.MatchString(in.ID) {
		vs.Add("instrument_id", "must be 3-64 lower-case letters, digits and '-'")
	}
	if in.DisplayName.empty() {
		vs.Add("instrument.display_name", "is required")
	}
	if in.Min < 0 || in.Max <= in.Min || in.Max > 100 {
		vs.Add("instrument.scale", "must have 0 <= min < max <= 100")
	}
	if len(in.Domains) == 0 || len(in.Domains) > 50 {
		vs.Add("instrument.domains", "must list 1-50 domains")
	}
	seen := map[string]bool{}
	for i, d := range in.Domains {
		f := fmt.Sprintf("instrument.domains[%d].", i)
		if !instrumentID.MatchString(d.ID) && !regexp.MustCompile(`^[a-z][a-z0-9_-]{0,39}$`).MatchString(d.ID) {
			vs.Add(f+"id", "must be lower-case letters, digits, '-' or '_'")
		}
		if seen[d.ID] {
			vs.Add(f+"id", "must be unique within the instrument")
		}
		seen[d.ID] = true
		if d.Title.empty() {
			vs.Add(f+"title", "is required")
		}
		if d.Question.empty() {
			vs.Add(f+"question", "is required")
		}
	}
	return vs.Err()
}

// Measurement phases.
const (
	PhaseBaseline = "MEASUREMENT_PHASE_BASELINE"
	PhaseInterim  = "MEASUREMENT_PHASE_INTERIM"
	PhaseFinal    = "MEASUREMENT_PHASE_FINAL"
)

// Measurement is a client's answers at one phase. Immutable.
type Measurement struct {
	ID            string           `json:"id"`
	ClientID      string           `json:"client"`
	Instrument    string           `json:"instrument"` // instrument id
	Phase         string           `json:"phase"`
	Scores        map[string]int32 `json:"scores"`
	MeasureDate   Date             `json:"measure_date"`
	SelfCompleted bool             `json:"self_completed,omitempty"`
	Assessment    string           `json:"assessment,omitempty"`
	RecordedBy    string           `json:"recorded_by"`
	CreateTime    time.Time        `json:"create_time"`
}

// ValidateMeasurement checks answers against the instrument.
func ValidateMeasurement(m *Measurement, inst *Instrument, order []string) error {
	var vs Violations
	switch m.Phase {
	case PhaseBaseline, PhaseInterim, PhaseFinal:
	default:
		vs.Add("capacity_measurement.phase", "is required (BASELINE, INTERIM or FINAL)")
	}
	checkDate(&vs, "capacity_measurement.measure_date", m.MeasureDate, true)
	if m.Assessment != "" && !IsChildName(m.Assessment, m.ClientID, "assessments") {
		vs.Add("capacity_measurement.assessment", "must be an assessment of this client")
	}
	if len(order) == 0 {
		vs.Add("capacity_measurement.scores", "are required")
	}
	for i, id := range order {
		f := fmt.Sprintf("capacity_measurement.scores[%d]", i)
		if !slices.ContainsFunc(inst.Domains, func(d InstrumentDomain) bool { return d.ID == id }) {
			vs.Add(f+".domain_id", "is not a domain of the instrument")
			continue
		}
		if slices.Index(order, id) != i {
			vs.Add(f+".domain_id", "is answered twice")
		}
		if s := m.Scores[id]; s < inst.Min || s > inst.Max {
			vs.Add(f+".score", fmt.Sprintf("must be within the instrument's scale %d-%d", inst.Min, inst.Max))
		}
	}
	return vs.Err()
}

// Latest picks the measurement that counts for a phase: the latest measure
// date, then the latest recorded.
func Latest(ms []*Measurement, instrument, phase string) *Measurement {
	var best *Measurement
	for _, m := range ms {
		if m.Instrument != instrument || m.Phase != phase {
			continue
		}
		if best == nil || best.MeasureDate.Before(m.MeasureDate) ||
			(best.MeasureDate == m.MeasureDate && m.CreateTime.After(best.CreateTime)) {
			best = m
		}
	}
	return best
}

// DomainChange is the change of one domain between two measurements.
type DomainChange struct {
	DomainID string
	From, To float64
	Change   float64
}

// Change is per-domain change from one measurement to another, in the
// instrument's domain order, for domains answered in both; mean is the mean of
// the domain changes (0 with none).
func Change(inst *Instrument, from, to *Measurement) (out []DomainChange, mean float64) {
	for _, d := range inst.Domains {
		a, okA := from.Scores[d.ID]
		b, okB := to.Scores[d.ID]
		if !okA || !okB {
			continue
		}
		out = append(out, DomainChange{DomainID: d.ID, From: float64(a), To: float64(b), Change: float64(b - a)})
		mean += float64(b - a)
	}
	if len(out) > 0 {
		mean /= float64(len(out))
	}
	return out, mean
}

// MinCohort is the smallest group whose aggregate is shown; smaller groups are
// suppressed so no individual can be recognised.
const MinCohort = 5

// Aggregate averages per-client changes per domain (over the clients that
// answered the domain) and the clients' mean changes.
func Aggregate(inst *Instrument, perClient [][]DomainChange) (out []DomainChange, mean float64) {
	sums := map[string]*[4]float64{} // from, to, change, n
	for _, cs := range perClient {
		for _, c := range cs {
			s := sums[c.DomainID]
			if s == nil {
				s = &[4]float64{}
				sums[c.DomainID] = s
			}
			s[0] += c.From
			s[1] += c.To
			s[2] += c.Change
			s[3]++
		}
	}
	for _, d := range inst.Domains {
		if s := sums[d.ID]; s != nil {
			out = append(out, DomainChange{DomainID: d.ID, From: s[0] / s[3], To: s[1] / s[3], Change: s[2] / s[3]})
		}
	}
	var total float64
	for _, c := range out {
		total += c.Change
	}
	if len(out) > 0 {
		mean = total / float64(len(out))
	}
	return out, mean
}
