package ui

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/type/date"
	"google.golang.org/protobuf/types/known/timestamppb"

	assessmentv1 "github.com/polku-hb/polku/proto/gen/go/polku/assessment/v1"
	referralv1 "github.com/polku-hb/polku/proto/gen/go/polku/referral/v1"
	"github.com/polku-hb/polku/web/internal/i18n"
)

func meas(y, m, d int32, scores ...int32) *assessmentv1.CapacityMeasurement {
	cm := &assessmentv1.CapacityMeasurement{MeasureDate: &date.Date{Year: y, Month: m, Day: d}}
	for _, s := range scores {
		cm.Scores = append(cm.Scores, &assessmentv1.DomainScore{DomainId: "d", Score: s})
	}
	return cm
}

func TestCapacityChartOrdersByDateAndScales(t *testing.T) {
	// Given out of order: the later measurement (mean 8) must be on the right
	// and at the top; the earlier (mean 4) halfway down.
	c := capacityChart([]*assessmentv1.CapacityMeasurement{meas(2026, 6, 1, 8, 8), meas(2026, 1, 15, 3, 5), meas(2026, 3, 1)}, i18n.FI)
	if c == nil || len(c.Points) != 2 {
		t.Fatalf("chart = %+v; want 2 points (the empty measurement left out)", c)
	}
	first, last := c.Points[0], c.Points[1]
	if first.Label != "15.1.2026" || first.Text != "4,0" || last.Text != "8,0" {
		t.Errorf("points = %+v", c.Points)
	}
	if first.X != chartPad || last.X != chartW-chartPad {
		t.Errorf("x = %v, %v", first.X, last.X)
	}
	if last.Y != chartPad || first.Y != chartPad+float64(chartH-2*chartPad)/2 {
		t.Errorf("y = %v, %v", first.Y, last.Y)
	}
	if c.Line == "" {
		t.Error("no polyline")
	}
	if en := capacityChart([]*assessmentv1.CapacityMeasurement{meas(2026, 1, 15, 3, 4)}, i18n.EN); en.Points[0].Text != "3.5" || en.Points[0].X != float64(chartW)/2 {
		t.Errorf("single point = %+v", en.Points[0])
	}
	if capacityChart(nil, i18n.FI) != nil {
		t.Error("no measurements must give no chart")
	}
}

func TestPercent(t *testing.T) {
	for _, tc := range []struct {
		part, whole int64
		want        int
	}{{0, 100, 0}, {50, 200, 25}, {300, 200, 100}, {5, 0, 0}, {-5, 100, 0}} {
		if got := percent(tc.part, tc.whole); got != tc.want {
			t.Errorf("percent(%d,%d) = %d, want %d", tc.part, tc.whole, got, tc.want)
		}
	}
}

func TestParseEuros(t *testing.T) {
	for in, want := range map[string]int64{"": 0, "1080": 108000, "1080,5": 108050, "1 080.50": 108050, "0,05": 5, "12 €": 1200} {
		if got, err := parseEuros(in); err != nil || got != want {
			t.Errorf("parseEuros(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"abc", "1,234", "-5", ",5", "1.2.3"} {
		if _, err := parseEuros(bad); err == nil {
			t.Errorf("parseEuros(%q) accepted", bad)
		}
	}
}

func TestSortUrgentFirst(t *testing.T) {
	at := func(h int) *timestamppb.Timestamp {
		return timestamppb.New(time.Date(2026, 1, 1, h, 0, 0, 0, time.UTC))
	}
	refs := []*referralv1.Referral{
		{Name: "none"}, {Name: "late", DueTime: at(9)}, {Name: "l2", EscalationLevel: 2, DueTime: at(20)},
		{Name: "soon", DueTime: at(8)}, {Name: "l1", EscalationLevel: 1, DueTime: at(1)},
	}
	sortUrgentFirst(refs)
	var got []string
	for _, r := range refs {
		got = append(got, r.GetName())
	}
	if strings.Join(got, ",") != "l2,l1,soon,late,none" {
		t.Errorf("order = %v", got)
	}
}
