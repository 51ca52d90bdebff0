package client

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func tiina() *Client {
	return New("c1", Client{GivenName: "Tiina", FamilyName: "Esimerkki", Region: "pirkanmaa",
		ContactPreference: ContactViaWorker, TargetGroup: "TARGET_GROUP_FAMILY_ADULT", Cohort: "COHORT_PERSONAL_BUDGET"},
		"w-aino", "m1", now)
}

func TestValidateProfile(t *testing.T) {
	tests := []struct {
		name       string
		give       func(*Client)
		wantFields []string
	}{
		{"valid", func(*Client) {}, nil},
		{"missing names", func(c *Client) { c.GivenName, c.FamilyName = "", " " }, []string{"client.given_name", "client.family_name"}},
		{"bad language", func(c *Client) { c.PreferredLanguages = []string{"fi", "Finnish"} }, []string{"client.preferred_languages[1]"}},
		{"bad phone", func(c *Client) { c.Contact.Phone = "040 123" }, []string{"client.contact_details.phone"}},
		{"bad email", func(c *Client) { c.Contact.Email = "Tiina <t@example.fi>" }, []string{"client.contact_details.email"}},
		{"email preference without email", func(c *Client) { c.ContactPreference = "CONTACT_PREFERENCE_EMAIL" }, []string{"client.contact_details.email"}},
		{"unknown cohort", func(c *Client) { c.Cohort = "COHORT_X" }, []string{"client.cohort"}},
		{"bad region", func(c *Client) { c.Region = "Pirkanmaa!" }, []string{"client.region"}},
	}
	for _, tt := range tests {
		c := tiina()
		tt.give(c)
		err := ValidateProfile(c, "client.")
		var got []string
		var vs Violations
		if errors.As(err, &vs) {
			for _, v := range vs {
				got = append(got, v.Field)
			}
		}
		if !slices.Equal(got, tt.wantFields) {
			t.Errorf("%s: violations = %v; want %v", tt.name, got, tt.wantFields)
		}
	}
}

func TestAssignCoordinatorKeepsHistoryAndWarmHandoff(t *testing.T) {
	c := tiina()
	later := now.Add(time.Hour)
	prev, err := c.AssignCoordinator("w-pekka", "Aino moves to another unit", "m2", later)
	if err != nil || prev != "w-aino" {
		t.Fatalf("AssignCoordinator = %q, %v; want w-aino, nil", prev, err)
	}
	if c.Coordinator != "w-pekka" || len(c.CoordinatorHistory) != 2 || !c.CoordinatorHistory[0].End.Equal(later) {
		t.Errorf("history = %+v; want Aino's period closed and Pekka's open", c.CoordinatorHistory)
	}
	if !c.InTeam("w-aino") {
		t.Error("previous coordinator left the team; want them kept as a worker")
	}
	if _, err := c.AssignCoordinator("w-pekka", "again", "m3", later); !errors.Is(err, ErrSameWorker) {
		t.Errorf("assigning the same worker = %v; want ErrSameWorker", err)
	}
	if _, err := c.RemoveTeamMember("m2", later); !errors.Is(err, ErrRemoveCoordinator) {
		t.Errorf("removing the coordinator = %v; want ErrRemoveCoordinator", err)
	}
}

func TestCloseIsFinal(t *testing.T) {
	c := tiina()
	if err := c.Close("", now); err == nil {
		t.Error("Close without reason = nil; want a violation")
	}
	if err := c.Close("moved away", now); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if err := c.Close("again", now); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close = %v; want ErrClosed", err)
	}
	if _, err := c.AddTeamMember(TeamMember{ID: "x", Role: RoleClosePerson, DisplayName: "sister"}, now); !errors.Is(err, ErrClosed) {
		t.Errorf("AddTeamMember on closed = %v; want ErrClosed", err)
	}
}

func TestDisclosable(t *testing.T) {
	c := tiina()
	mustGrant := func(cat, to string) Consent {
		k, err := c.Grant(Consent{ID: cat + to, Category: cat, Recipient: to}, now)
		if err != nil {
			t.Fatalf("Grant(%s, %s) = %v", cat, to, err)
		}
		return k
	}
	mustGrant(CategoryPlanGoals, AllProviders)
	k := mustGrant(CategoryContactDetails, "providers/coach")
	tests := []struct {
		recipient string
		want      []string
	}{
		{"providers/coach", []string{CategoryContactDetails, CategoryPlanGoals}},
		{"providers/other", []string{CategoryPlanGoals}},
	}
	for _, tt := range tests {
		if got := c.Disclosable(tt.recipient); !slices.Equal(got, tt.want) {
			t.Errorf("Disclosable(%q) = %v; want %v", tt.recipient, got, tt.want)
		}
	}
	if _, err := c.Withdraw(k.ID, now); err != nil {
		t.Fatal(err)
	}
	if got := c.Disclosable("providers/coach"); !slices.Equal(got, []string{CategoryPlanGoals}) {
		t.Errorf("after withdrawal Disclosable = %v; want plan goals only", got)
	}
	if _, err := c.Grant(Consent{Category: "DATA_CATEGORY_X", Recipient: "someone"}, now); err == nil {
		t.Error("Grant with bad category and recipient = nil; want violations")
	}
}

func TestAllows(t *testing.T) {
	c := tiina()
	_, _ = c.AddTeamMember(TeamMember{ID: "m9", Role: RoleAssistant, Subject: "u-sister"}, now)
	tests := []struct {
		name   string
		viewer Viewer
		action Action
		want   bool
	}{
		{"coordinator reads", Viewer{Subject: "w-aino", Role: "WORKER"}, Read, true},
		{"other worker", Viewer{Subject: "w-other", Role: "WORKER"}, Read, false},
		{"manager of region", Viewer{Subject: "m", Role: "MANAGER", Region: "pirkanmaa"}, Manage, true},
		{"manager of other region", Viewer{Subject: "m", Role: "MANAGER", Region: "lappi"}, Read, false},
		{"client self", Viewer{Subject: "u", Role: "CLIENT", ClientID: "c1"}, Read, true},
		{"client self cannot manage", Viewer{Subject: "u", Role: "CLIENT", ClientID: "c1"}, Manage, false},
		{"client self consents", Viewer{Subject: "u", Role: "CLIENT", ClientID: "c1"}, RecordConsent, true},
		{"other client", Viewer{Subject: "u", Role: "CLIENT", ClientID: "c2"}, Read, false},
		{"assistant delegated", Viewer{Subject: "u-sister", Role: "ASSISTANT", Clients: []string{"c1"}}, ReadAccessLog, true},
		{"provider never", Viewer{Subject: "p", Role: "PROVIDER"}, Read, false},
		{"operator never", Viewer{Subject: "o", Role: "OPERATOR"}, Read, false},
		{"service discloses", Viewer{Subject: "referral", Role: "SERVICE"}, Disclose, true},
		{"service cannot read", Viewer{Subject: "referral", Role: "SERVICE"}, Read, false},
	}
	for _, tt := range tests {
		if got := c.Allows(tt.viewer, tt.action); got != tt.want {
			t.Errorf("%s: Allows = %v; want %v", tt.name, got, tt.want)
		}
	}
}

// Every known event type reads in all three languages, each its own text:
// a Finnish or Swedish entry that equals the English one is English leaking
// into a page that is not English.
func TestSummariesHaveEveryLanguage(t *testing.T) {
	for typ, s := range summaries {
		for i, lang := range []string{LangFI, LangSV, LangEN} {
			if strings.TrimSpace(s[i]) == "" {
				t.Errorf("%s has no %s summary", typ, lang)
			}
		}
		if s[0] == s[2] || s[1] == s[2] || s[0] == s[1] {
			t.Errorf("%s: the languages repeat each other: %q", typ, s)
		}
	}
}

// English words that no Finnish or Swedish summary uses: one of them in a
// fi or sv text means the English original was copied, not translated.
var englishWords = regexp.MustCompile(`(?i)\b(the|was|were|and|client|service|referral|worker|is|a|an|of|to)\b`)

func TestSummarize(t *testing.T) {
	tests := []struct{ give, lang, want string }{
		{"polku.clients.v1.client.created", LangFI, "Asiakkuus alkoi ja omatyöntekijä nimettiin"},
		{"polku.clients.v1.client.created", LangSV, "Klientskapet började och en egen kontaktperson utsågs"},
		{"polku.assessment.v1.plan_revision.approved", LangEN, "The client plan was approved"},
		{"polku.assessment.v1.plan_revision.approved", LangFI, "Asiakassuunnitelma hyväksyttiin"},
		// A language the summaries lack reads Finnish, the region's first.
		{"polku.referral.v1.referral.sent", "de", "Lähete lähetettiin palveluntuottajalle"},
		{"polku.referral.v1.referral.sent", "", "Lähete lähetettiin palveluntuottajalle"},
		// An unknown type reads as its last two segments, in every language.
		{"polku.budget.v1.budget.line_alert", LangFI, "budget line alert"},
		{"polku.budget.v1.budget.line_alert", LangSV, "budget line alert"},
		{"weird", LangEN, "weird"},
	}
	for _, tt := range tests {
		if got := Summarize(tt.give, tt.lang); got != tt.want {
			t.Errorf("Summarize(%q, %q) = %q; want %q", tt.give, tt.lang, got, tt.want)
		}
	}
	for typ := range summaries {
		for _, lang := range []string{LangFI, LangSV} {
			if w := englishWords.FindString(Summarize(typ, lang)); w != "" {
				t.Errorf("Summarize(%q, %q) = %q has the English word %q", typ, lang, Summarize(typ, lang), w)
			}
		}
	}
}

func TestParseLang(t *testing.T) {
	tests := []struct{ give, want string }{
		{"", LangFI},
		{"fi", LangFI},
		{"sv", LangSV},
		{"sv-FI", LangSV},
		{"EN-gb", LangEN},
		{"de-DE, sv;q=0.8, en;q=0.5", LangSV},
		{"en-US,en;q=0.9", LangEN},
		{"de, fr", LangFI},
		{";q=1, ,", LangFI},
	}
	for _, tt := range tests {
		if got := ParseLang(tt.give); got != tt.want {
			t.Errorf("ParseLang(%q) = %q; want %q", tt.give, got, tt.want)
		}
	}
}
