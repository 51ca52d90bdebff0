package ui

import (
	"fmt"
	"html/template"
	"strings"

	"google.golang.org/genproto/googleapis/type/date"
	"google.golang.org/protobuf/types/known/timestamppb"

	cataloguev1 "github.com/polku-hb/polku/proto/gen/go/polku/catalogue/v1"
	"github.com/polku-hb/polku/web/internal/i18n"
)

var funcs = template.FuncMap{
	"gdate": func(l i18n.Lang, d *date.Date) string {
		return l.Date(int(d.GetYear()), int(d.GetMonth()), int(d.GetDay()))
	},
	"ts": func(l i18n.Lang, t *timestamppb.Timestamp) string {
		if t == nil {
			return ""
		}
		return l.Time(t.AsTime())
	},
	"text": localized,
	// enum names an API enum value in words ("enum.ACCEPTED").
	"enum":     func(l i18n.Lang, v fmt.Stringer) string { return l.T("enum." + v.String()) },
	"enumName": func(l i18n.Lang, name string) string { return l.T("enum." + name) },
	"last":     lastSegment,
	"pct":      func(part, whole int64) int { return percent(part, whole) },
	"add":      func(a, b int) int { return a + b },
	// stmt and chart pass the language along to the partials.
	"stmt":  func(l i18n.Lang, st any) map[string]any { return map[string]any{"L": l, "St": st} },
	"chart": func(l i18n.Lang, c *Chart) map[string]any { return map[string]any{"L": l, "C": c} },
	"add64": func(a, b int64) int64 { return a + b },
	"sub":   func(a, b int) int { return a - b },
	"mul":   func(a, b int) int { return a * b },
	// clientOf is "clients/{id}" of any resource name under a client.
	"clientOf": func(name string) string {
		parts := strings.SplitN(name, "/", 3)
		if len(parts) < 2 {
			return ""
		}
		return parts[0] + "/" + parts[1]
	},
}

// localized picks the UI language from a catalogue text, falling back fi -> sv -> en.
func localized(l i18n.Lang, t *cataloguev1.LocalizedText) string {
	byLang := map[i18n.Lang]string{i18n.FI: t.GetFi(), i18n.SV: t.GetSv(), i18n.EN: t.GetEn()}
	if s := byLang[l]; s != "" {
		return s
	}
	for _, s := range []string{t.GetFi(), t.GetSv(), t.GetEn()} {
		if s != "" {
			return s
		}
	}
	return ""
}
