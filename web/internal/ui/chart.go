package ui

import (
	"fmt"
	"sort"
	"strings"

	assessmentv1 "github.com/polku-hb/polku/proto/gen/go/polku/assessment/v1"
	"github.com/polku-hb/polku/web/internal/i18n"
)

// Chart is a small line or bar chart drawn as inline SVG on the server (no
// script, prints, works with CSP), always next to a table with the same
// numbers for screen readers.
type Chart struct {
	Width, Height int
	Points        []ChartPoint
	Line          string // SVG polyline points
	Max           float64
}

// ChartPoint is one value with its label and position.
type ChartPoint struct {
	Label string
	Value float64
	X, Y  float64
	Text  string // the value as shown
}

const chartW, chartH, chartPad = 320, 140, 24

// capacityChart plots each measurement's mean domain score over time: the
// change in the client's own rating of their capacity.
func capacityChart(ms []*assessmentv1.CapacityMeasurement, l i18n.Lang) *Chart {
	if len(ms) == 0 {
		return nil
	}
	sorted := append([]*assessmentv1.CapacityMeasurement(nil), ms...)
	sort.SliceStable(sorted, func(i, j int) bool { return dateKey(sorted[i]) < dateKey(sorted[j]) })
	var pts []ChartPoint
	for _, m := range sorted {
		if len(m.GetScores()) == 0 {
			continue
		}
		sum := 0
		for _, s := range m.GetScores() {
			sum += int(s.GetScore())
		}
		mean := float64(sum) / float64(len(m.GetScores()))
		d := m.GetMeasureDate()
		pts = append(pts, ChartPoint{Label: l.Date(int(d.GetYear()), int(d.GetMonth()), int(d.GetDay())), Value: mean,
			Text: strings.Replace(fmt.Sprintf("%.1f", mean), ".", decimalSep(l), 1)})
	}
	return lineChart(pts)
}

func decimalSep(l i18n.Lang) string {
	if l == i18n.EN {
		return "."
	}
	return ","
}

func dateKey(m *assessmentv1.CapacityMeasurement) int {
	d := m.GetMeasureDate()
	return int(d.GetYear())*10000 + int(d.GetMonth())*100 + int(d.GetDay())
}

// lineChart places points left to right, scaled to the largest value (at
// least 1, so an all-zero series is a flat line at the bottom).
func lineChart(pts []ChartPoint) *Chart {
	if len(pts) == 0 {
		return nil
	}
	c := &Chart{Width: chartW, Height: chartH, Max: 1}
	for _, p := range pts {
		if p.Value > c.Max {
			c.Max = p.Value
		}
	}
	innerW, innerH := float64(chartW-2*chartPad), float64(chartH-2*chartPad)
	var line []string
	for i, p := range pts {
		x := float64(chartPad) + innerW/2
		if len(pts) > 1 {
			x = float64(chartPad) + innerW*float64(i)/float64(len(pts)-1)
		}
		p.X, p.Y = x, float64(chartPad)+innerH*(1-p.Value/c.Max)
		pts[i] = p
		line = append(line, fmt.Sprintf("%.1f,%.1f", p.X, p.Y))
	}
	c.Points, c.Line = pts, strings.Join(line, " ")
	return c
}

// Bar is one horizontal bar: a share of 0..100 of a whole.
type Bar struct {
	Label   string
	Value   int64
	Percent int
}

// percent is part/whole as a whole percentage, clamped to 0..100.
func percent(part, whole int64) int {
	if whole <= 0 || part <= 0 {
		return 0
	}
	p := int(part * 100 / whole)
	if p > 100 {
		return 100
	}
	return p
}
