package service_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/polku-hb/polku/platform/apierr"
	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/platform/boot"
	"github.com/polku-hb/polku/platform/store"
	"github.com/polku-hb/polku/platform/telemetry"
	"github.com/polku-hb/polku/platform/testkit"
	clientsv1 "github.com/polku-hb/polku/proto/gen/go/polku/clients/v1"
	"github.com/polku-hb/polku/services/clients/service"
)

var (
	aino    = auth.Principal{Subject: "w-aino", Role: auth.RoleWorker, Region: "pirkanmaa"}
	pekka   = auth.Principal{Subject: "w-pekka", Role: auth.RoleWorker, Region: "pirkanmaa"}
	mikko   = auth.Principal{Subject: "m-mikko", Role: auth.RoleManager, Region: "pirkanmaa"}
	lapland = auth.Principal{Subject: "m-lappi", Role: auth.RoleManager, Region: "lappi"}
	coach   = auth.Principal{Subject: "p-coach", Role: auth.RoleProvider, ProviderID: "neurocoach"}
	op      = auth.Principal{Subject: "o-olli", Role: auth.RoleOperator}
	refsvc  = auth.Principal{Subject: "referral", Role: auth.RoleService}
)

type env struct {
	cc  clientsv1.ClientsServiceClient
	tok *testkit.Tokens
}

func (e *env) as(t *testing.T, p auth.Principal) context.Context {
	return e.tok.As(t, p, "case work")
}

// stores runs a test against both store adapters.
func stores(t *testing.T, run func(t *testing.T, st store.Store)) {
	testkit.EachBackend(t, func(t *testing.T, b *boot.Stores) { run(t, b.Namespace(service.Namespace, service.Shards)) })
}

func start(t *testing.T, st store.Store) *env {
	t.Helper()
	key, _ := service.ParseKey(service.NewKey())
	return startWith(t, st, service.Deps{PICKey: key})
}

// startWith runs the service on st with the key settings of d.
func startWith(t *testing.T, st store.Store, d service.Deps) *env {
	t.Helper()
	tel, err := telemetry.Setup(context.Background(), telemetry.Config{ServiceName: service.Name})
	if err != nil {
		t.Fatal(err)
	}
	d.Store, d.Telemetry, d.Logger = st, tel, slog.New(slog.NewJSONHandler(io.Discard, nil))
	svc, err := service.New(d)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = svc.RunConsumers(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	tok := testkit.NewTokens(t)
	conn := testkit.Serve(t, tok.Verifier, tel, func(r grpc.ServiceRegistrar) { svc.Register(r) })
	return &env{cc: clientsv1.NewClientsServiceClient(conn), tok: tok}
}

func tiina(pic string) *clientsv1.Client {
	return &clientsv1.Client{
		GivenName: "Tiina", FamilyName: "Virtanen", PersonalIdentityCode: pic,
		PreferredLanguages: []string{"fi"}, ContactPreference: clientsv1.ContactPreference_CONTACT_PREFERENCE_VIA_WORKER,
		ContactDetails: &clientsv1.ContactDetails{Phone: "+358401234567"},
		TargetGroup:    clientsv1.TargetGroup_TARGET_GROUP_FAMILY_ADULT, Cohort: clientsv1.Cohort_COHORT_PERSONAL_BUDGET,
	}
}

func create(t *testing.T, e *env, who auth.Principal, c *clientsv1.Client) *clientsv1.Client {
	t.Helper()
	got, err := e.cc.CreateClient(e.as(t, who), &clientsv1.CreateClientRequest{Client: c})
	if err != nil {
		t.Fatalf("CreateClient: %v", err)
	}
	return got
}

func wantCode(t *testing.T, what string, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Errorf("%s: code = %v (%v); want %v", what, got, err, want)
	}
}

func TestCreateGetMasksAndLogsAccess(t *testing.T) {
	stores(t, func(t *testing.T, st store.Store) {
		e := start(t, st)
		c := create(t, e, aino, tiina("150391-934P"))
		if c.GetPersonalIdentityCode() != "" || c.GetPersonalIdentityCodeMasked() != "150391-****" {
			t.Errorf("created client shows code %q masked %q; want none and 150391-****", c.GetPersonalIdentityCode(), c.GetPersonalIdentityCodeMasked())
		}
		if c.GetCoordinatingWorker() != "w-aino" || c.GetState() != clientsv1.Client_ACTIVE || c.GetRegion() != "pirkanmaa" {
			t.Errorf("created = %v; want ACTIVE, coordinated by w-aino in pirkanmaa", c)
		}
		got, err := e.cc.GetClient(e.tok.As(t, aino, "planning the assessment"), &clientsv1.GetClientRequest{Name: c.GetName()})
		if err != nil {
			t.Fatalf("GetClient: %v", err)
		}
		if got.GetGivenName() != "Tiina" || got.GetPersonalIdentityCodeMasked() != "150391-****" {
			t.Errorf("GetClient = %v", got)
		}
		log, err := e.cc.ListAccessLogEntries(e.as(t, aino), &clientsv1.ListAccessLogEntriesRequest{Parent: c.GetName()})
		if err != nil {
			t.Fatalf("ListAccessLogEntries: %v", err)
		}
		entries := log.GetAccessLogEntries()
		if len(entries) != 1 || entries[0].GetAccessor() != "w-aino" || entries[0].GetAccessorRole() != "WORKER" ||
			entries[0].GetPurpose() != "planning the assessment" || entries[0].GetAction() != "GetClient" {
			t.Errorf("access log = %v; want one GetClient read by w-aino with its purpose", entries)
		}
	})
}

func TestCreateRejectsBadInput(t *testing.T) {
	e := start(t, memStore(t))
	tests := []struct {
		name       string
		give       *clientsv1.Client
		wantFields []string
	}{
		{"bad check character", tiina("150391-934A"), []string{"client.personal_identity_code"}},
		{"bad date", tiina("310291-934P"), []string{"client.personal_identity_code"}},
		{"no names", &clientsv1.Client{PersonalIdentityCode: "150391-934P"}, []string{"client.given_name", "client.family_name"}},
		{"bad email", func() *clientsv1.Client {
			c := tiina("")
			c.ContactDetails.Email = "not an email"
			return c
		}(), []string{"client.contact_details.email"}},
	}
	for _, tt := range tests {
		_, err := e.cc.CreateClient(e.as(t, aino), &clientsv1.CreateClientRequest{Client: tt.give})
		wantCode(t, tt.name, err, codes.InvalidArgument)
		if got := apierr.FieldViolations(err); !slices.Equal(got, tt.wantFields) {
			t.Errorf("%s: field violations = %v; want %v", tt.name, got, tt.wantFields)
		}
		if msg := status.Convert(err).Message(); tt.give.GetPersonalIdentityCode() != "" && strings.Contains(msg, tt.give.GetPersonalIdentityCode()) {
			t.Errorf("%s: error message echoes the identity code: %q", tt.name, msg)
		}
	}
}

func TestDuplicateIdentityCodeAndIdempotentCreate(t *testing.T) {
	stores(t, func(t *testing.T, st store.Store) {
		e := start(t, st)
		create(t, e, aino, tiina("150391-934P"))
		_, err := e.cc.CreateClient(e.as(t, pekka), &clientsv1.CreateClientRequest{Client: tiina("150391-934p")})
		wantCode(t, "duplicate identity code", err, codes.AlreadyExists)

		// Ten concurrent retries of one request make one client.
		var wg sync.WaitGroup
		names := make([]string, 10)
		errs := make([]error, 10)
		for i := range names {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := e.cc.CreateClient(e.as(t, aino), &clientsv1.CreateClientRequest{Client: tiina("070685-912P"), RequestId: "req-1"})
				names[i], errs[i] = c.GetName(), err
			}()
		}
		wg.Wait()
		for i := range names {
			if errs[i] != nil || names[i] != names[0] {
				t.Fatalf("retry %d = %q, %v; want %q", i, names[i], errs[i], names[0])
			}
		}
		list, err := e.cc.ListClients(e.as(t, aino), &clientsv1.ListClientsRequest{})
		if err != nil || len(list.GetClients()) != 2 {
			t.Fatalf("ListClients = %d clients, %v; want 2", len(list.GetClients()), err)
		}
	})
}

func TestUpdateNeedsCurrentEtag(t *testing.T) {
	e := start(t, memStore(t))
	c := create(t, e, aino, tiina(""))
	patch := &clientsv1.Client{Name: c.GetName(), Etag: c.GetEtag(), PreferredLanguages: []string{"fi", "en"}}
	upd, err := e.cc.UpdateClient(e.as(t, aino), &clientsv1.UpdateClientRequest{Client: patch, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"preferred_languages"}}})
	if err != nil {
		t.Fatalf("UpdateClient: %v", err)
	}
	if !slices.Equal(upd.GetPreferredLanguages(), []string{"fi", "en"}) || upd.GetGivenName() != "Tiina" || upd.GetEtag() == c.GetEtag() {
		t.Errorf("updated = %v; want languages changed, name kept, new etag", upd)
	}
	_, err = e.cc.UpdateClient(e.as(t, aino), &clientsv1.UpdateClientRequest{Client: patch, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"preferred_languages"}}})
	wantCode(t, "stale etag", err, codes.Aborted)
	patch.Etag = upd.GetEtag()
	_, err = e.cc.UpdateClient(e.as(t, aino), &clientsv1.UpdateClientRequest{Client: patch, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"coordinating_worker"}}})
	wantCode(t, "output-only field in mask", err, codes.InvalidArgument)
}

func TestAuthorization(t *testing.T) {
	e := start(t, memStore(t))
	c := create(t, e, aino, tiina("150391-934P"))
	self := auth.Principal{Subject: "u-tiina", Role: auth.RoleClient, ClientID: c.GetName()[len("clients/"):]}
	other := auth.Principal{Subject: "u-other", Role: auth.RoleClient, ClientID: "someoneelse"}
	tests := []struct {
		name string
		who  auth.Principal
		want codes.Code
	}{
		{"coordinating worker", aino, codes.OK},
		{"worker outside the team", pekka, codes.PermissionDenied},
		{"manager of the region", mikko, codes.OK},
		{"manager of another region", lapland, codes.PermissionDenied},
		{"the client", self, codes.OK},
		{"another client", other, codes.PermissionDenied},
		{"provider", coach, codes.PermissionDenied},
		{"operator", op, codes.PermissionDenied},
	}
	for _, tt := range tests {
		_, err := e.cc.GetClient(e.as(t, tt.who), &clientsv1.GetClientRequest{Name: c.GetName()})
		wantCode(t, tt.name+" GetClient", err, tt.want)
	}
	_, err := e.cc.GetClient(context.Background(), &clientsv1.GetClientRequest{Name: c.GetName()})
	wantCode(t, "no token", err, codes.Unauthenticated)
	_, err = e.cc.CreateClient(e.as(t, coach), &clientsv1.CreateClientRequest{Client: tiina("")})
	wantCode(t, "provider creates", err, codes.PermissionDenied)
	_, err = e.cc.CloseClient(e.as(t, self), &clientsv1.CloseClientRequest{Name: c.GetName(), Reason: "x"})
	wantCode(t, "client closes own record", err, codes.PermissionDenied)
	list, err := e.cc.ListClients(e.as(t, pekka), &clientsv1.ListClientsRequest{})
	if err != nil || len(list.GetClients()) != 0 {
		t.Errorf("ListClients for a worker outside the team = %v, %v; want none", list.GetClients(), err)
	}
	list, err = e.cc.ListClients(e.as(t, self), &clientsv1.ListClientsRequest{})
	if err != nil || len(list.GetClients()) != 1 {
		t.Errorf("ListClients for the client = %v, %v; want themself", list.GetClients(), err)
	}
}

func TestHandoffConsentsAndTimeline(t *testing.T) {
	stores(t, func(t *testing.T, st store.Store) {
		e := start(t, st)
		c := create(t, e, aino, tiina("150391-934P"))
		_, err := e.cc.CreateTeamMember(e.as(t, aino), &clientsv1.CreateTeamMemberRequest{Parent: c.GetName(),
			TeamMember: &clientsv1.TeamMember{Role: clientsv1.TeamMember_CLOSE_PERSON, DisplayName: "sister"}})
		if err != nil {
			t.Fatalf("CreateTeamMember: %v", err)
		}
		_, err = e.cc.CreateConsent(e.as(t, aino), &clientsv1.CreateConsentRequest{Parent: c.GetName(),
			Consent: &clientsv1.Consent{Category: clientsv1.DataCategory_DATA_CATEGORY_PLAN_GOALS, Recipient: "providers/-"}})
		if err != nil {
			t.Fatalf("CreateConsent: %v", err)
		}
		contact, err := e.cc.CreateConsent(e.as(t, aino), &clientsv1.CreateConsentRequest{Parent: c.GetName(),
			Consent: &clientsv1.Consent{Category: clientsv1.DataCategory_DATA_CATEGORY_CONTACT_DETAILS, Recipient: "providers/neurocoach"}})
		if err != nil {
			t.Fatalf("CreateConsent: %v", err)
		}
		d, err := e.cc.ResolveDisclosure(e.as(t, refsvc), &clientsv1.ResolveDisclosureRequest{Name: c.GetName(), Recipient: "providers/neurocoach"})
		if err != nil {
			t.Fatalf("ResolveDisclosure: %v", err)
		}
		if len(d.GetAllowedCategories()) != 2 || d.GetContactDetails().GetPhone() != "+358401234567" {
			t.Errorf("disclosure to the coach = %v; want contact details and plan goals", d)
		}
		if _, err := e.cc.WithdrawConsent(e.as(t, aino), &clientsv1.WithdrawConsentRequest{Name: contact.GetName()}); err != nil {
			t.Fatalf("WithdrawConsent: %v", err)
		}
		d, err = e.cc.ResolveDisclosure(e.as(t, refsvc), &clientsv1.ResolveDisclosureRequest{Name: c.GetName(), Recipient: "providers/neurocoach"})
		if err != nil || d.GetContactDetails() != nil || len(d.GetAllowedCategories()) != 1 {
			t.Errorf("after withdrawal disclosure = %v, %v; want plan goals only", d, err)
		}

		moved, err := e.cc.AssignCoordinatingWorker(e.as(t, aino), &clientsv1.AssignCoordinatingWorkerRequest{Name: c.GetName(), Worker: "w-pekka", Reason: "Aino moves to adult services", RequestId: "handoff-1"})
		if err != nil {
			t.Fatalf("AssignCoordinatingWorker: %v", err)
		}
		if moved.GetCoordinatingWorker() != "w-pekka" || len(moved.GetCoordinatorHistory()) != 2 {
			t.Errorf("after handoff = %v; want Pekka with two history entries", moved)
		}
		// Pekka now sees the client; the retry of the handoff changes nothing.
		if _, err := e.cc.GetClient(e.as(t, pekka), &clientsv1.GetClientRequest{Name: c.GetName()}); err != nil {
			t.Errorf("new coordinator GetClient: %v", err)
		}
		again, err := e.cc.AssignCoordinatingWorker(e.as(t, aino), &clientsv1.AssignCoordinatingWorkerRequest{Name: c.GetName(), Worker: "w-pekka", Reason: "Aino moves to adult services", RequestId: "handoff-1"})
		if err != nil || len(again.GetCoordinatorHistory()) != 2 {
			t.Errorf("handoff retry = %v, %v; want the first result", again, err)
		}

		want := []string{
			"polku.clients.v1.client.coordinator_assigned",
			"polku.clients.v1.consent.withdrawn",
			"polku.clients.v1.consent.granted",
			"polku.clients.v1.consent.granted",
			"polku.clients.v1.team_member.added",
			"polku.clients.v1.client.created",
		}
		var got []string
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			tl, err := e.cc.ListTimelineEvents(e.as(t, pekka), &clientsv1.ListTimelineEventsRequest{Parent: c.GetName()})
			if err != nil {
				t.Fatalf("ListTimelineEvents: %v", err)
			}
			got = got[:0]
			for _, ev := range tl.GetTimelineEvents() {
				got = append(got, ev.GetType())
				if ev.GetSummary() == "" {
					t.Errorf("timeline event %s has no summary", ev.GetType())
				}
			}
			if slices.Equal(got, want) {
				timelineSpeaksTheReadersLanguage(t, e, c.GetName())
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Errorf("timeline = %v; want %v", got, want)
	})
}

// The same stored timeline reads in the language the caller asks for, as
// the gateway forwards Accept-Language or as a gRPC caller sends it; Finnish
// without one or for a language Polku does not speak.
func timelineSpeaksTheReadersLanguage(t *testing.T, e *env, client string) {
	t.Helper()
	tests := []struct{ key, value, want string }{
		{"", "", "Asiakkuus alkoi ja omatyöntekijä nimettiin"},
		{"accept-language", "de-DE", "Asiakkuus alkoi ja omatyöntekijä nimettiin"},
		{"accept-language", "sv-FI,sv;q=0.9", "Klientskapet började och en egen kontaktperson utsågs"},
		{"grpcgateway-accept-language", "en", "The client record was created and a coordinating worker was named"},
	}
	for _, tt := range tests {
		ctx := e.as(t, pekka)
		if tt.key != "" {
			ctx = metadata.AppendToOutgoingContext(ctx, tt.key, tt.value)
		}
		tl, err := e.cc.ListTimelineEvents(ctx, &clientsv1.ListTimelineEventsRequest{Parent: client})
		if err != nil {
			t.Fatalf("ListTimelineEvents (%s: %s): %v", tt.key, tt.value, err)
		}
		evs := tl.GetTimelineEvents()
		if got := evs[len(evs)-1].GetSummary(); got != tt.want {
			t.Errorf("%s: %q: the first step reads %q; want %q", tt.key, tt.value, got, tt.want)
		}
	}
}

func TestListPaginates(t *testing.T) {
	e := start(t, memStore(t))
	for i := range 7 {
		c := tiina("")
		c.GivenName = fmt.Sprintf("Client%d", i)
		create(t, e, aino, c)
	}
	seen := map[string]bool{}
	token := ""
	pages := 0
	for {
		resp, err := e.cc.ListClients(e.as(t, aino), &clientsv1.ListClientsRequest{PageSize: 3, PageToken: token, Filter: "state = ACTIVE"})
		if err != nil {
			t.Fatalf("ListClients: %v", err)
		}
		pages++
		for _, c := range resp.GetClients() {
			if seen[c.GetName()] {
				t.Errorf("%s listed twice", c.GetName())
			}
			seen[c.GetName()] = true
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	if len(seen) != 7 || pages != 3 {
		t.Errorf("listed %d clients in %d pages; want 7 in 3", len(seen), pages)
	}
	_, err := e.cc.ListClients(e.as(t, aino), &clientsv1.ListClientsRequest{Filter: "name = x"})
	wantCode(t, "unknown filter field", err, codes.InvalidArgument)
	_, err = e.cc.ListClients(e.as(t, aino), &clientsv1.ListClientsRequest{PageToken: "garbage"})
	wantCode(t, "bad page token", err, codes.InvalidArgument)
}

func memStore(t *testing.T) store.Store {
	return testkit.EmbeddedBackend(t).Namespace(service.Namespace, service.Shards)
}
