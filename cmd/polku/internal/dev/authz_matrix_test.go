package dev

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/platform/ids"
	"github.com/polku-hb/polku/platform/testkit"

	// The generated packages register the five services' descriptors.
	_ "github.com/polku-hb/polku/proto/gen/go/polku/assessment/v1"
	_ "github.com/polku-hb/polku/proto/gen/go/polku/budget/v1"
	cataloguev1 "github.com/polku-hb/polku/proto/gen/go/polku/catalogue/v1"
	_ "github.com/polku-hb/polku/proto/gen/go/polku/clients/v1"
	referralv1 "github.com/polku-hb/polku/proto/gen/go/polku/referral/v1"
)

// The callers of the authorization matrix. "Own" resources are Tiina's (the
// demo client) and those of the neurocoach provider, which has her referral.
const (
	cAnonymous     = "no-token"
	cExpired       = "expired-token"
	cForeignKey    = "foreign-key"
	cOperator      = "operator"
	cManager       = "manager"
	cManagerOther  = "manager-other-region"
	cCoordinator   = "worker-coordinator" // Aino, Tiina's coordinating worker
	cWorker        = "worker-same-region" // Pekka, not Tiina's coordinator
	cWorkerOther   = "worker-other-region"
	cClientOwn     = "client-own"
	cClientOther   = "client-other"
	cAssistantOwn  = "assistant-own"
	cAssistantOth  = "assistant-other"
	cProviderRight = "provider-right"
	cProviderOther = "provider-other"
	cService       = "service"
)

var matrixCallers = []string{cAnonymous, cExpired, cForeignKey, cOperator, cManager, cManagerOther, cCoordinator, cWorker,
	cWorkerOther, cClientOwn, cClientOther, cAssistantOwn, cAssistantOth, cProviderRight, cProviderOther, cService}

// strangers are signed-in callers outside Tiina's team: an answer to a request
// of theirs that does not name her must not name her either (lists and
// searches are filtered to what the caller may see).
var strangers = []string{cOperator, cManagerOther, cWorker, cWorkerOther, cClientOther, cAssistantOth, cProviderOther}

// unauthenticated callers must get UNAUTHENTICATED from every RPC.
var unauthenticated = []string{cAnonymous, cExpired, cForeignKey}

// accessRule is the expected outcome of one RPC for every caller: the callers
// in allow get past authorization (any answer but a denial), every other caller
// is denied. A denial is PERMISSION_DENIED or UNAUTHENTICATED; with hides it
// may also be NOT_FOUND (the service does not tell a caller who may not see a
// resource that it exists).
type accessRule struct {
	allow []string
	hides bool
}

// allow lists the callers that pass: caller names and groups of them.
func allow(who ...any) accessRule {
	var all []string
	for _, w := range who {
		switch w := w.(type) {
		case string:
			all = append(all, w)
		case []string:
			all = append(all, w...)
		default:
			panic(fmt.Sprintf("allow(%T)", w))
		}
	}
	return accessRule{allow: all}
}

func (r accessRule) hiding() accessRule { r.hides = true; return r }

// Groups of callers the rules are written with.
var (
	// clientTeam is Tiina's team: her coordinating worker and the region's manager.
	clientTeam = []string{cManager, cCoordinator}
	// ownClient is Tiina herself and her assistant.
	ownClient    = []string{cClientOwn, cAssistantOwn}
	anyoneSigned = []string{cOperator, cManager, cManagerOther, cCoordinator, cWorker, cWorkerOther, cClientOwn,
		cClientOther, cAssistantOwn, cAssistantOth, cProviderRight, cProviderOther, cService}
)

// TestAuthorizationMatrix calls every RPC of every Polku service, as every kind
// of caller, against the demo region over loopback gRPC, and compares the
// outcome with accessRules. The RPCs come from the generated descriptors, so a
// new RPC without a rule fails this test.
func TestAuthorizationMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole stack")
	}
	dir := t.TempDir()
	addrs := map[string]string{}
	for _, n := range []string{"clients", "assessment", "budget", "catalogue", "referral"} {
		addrs[n] = "127.0.0.1:0"
	}
	s, err := Start(context.Background(), Options{DataDir: dir, GatewayAddr: "127.0.0.1:0", ServiceAddrs: addrs, Log: &syncBuffer{}})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	demo, err := SeedDemo(context.Background(), s)
	if err != nil {
		t.Fatalf("SeedDemo: %v", err)
	}
	conns := map[string]*grpc.ClientConn{}
	for name, addr := range s.GRPCAddrs {
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		conns[name] = conn
	}
	m := &matrix{t: t, s: s, demo: demo, conns: conns, keyDir: dir}
	m.discover()
	tokens := m.tokens()

	methods := polkuMethods()
	if len(methods) < 100 {
		t.Fatalf("found %d RPCs in the descriptors; the registry is not loaded", len(methods))
	}
	seen := map[string]bool{}
	var observed []string
	for _, md := range methods {
		key := methodKey(md)
		seen[key] = true
		if m.conns[serviceOf(md)] == nil {
			t.Fatalf("%s: service %q is not in the stack", key, serviceOf(md))
		}
		rule, ok := accessRules[key]
		if !ok {
			t.Errorf("%s has no rule in accessRules: every RPC needs its authorization written down", key)
		}
		var allowed []string
		for _, c := range matrixCallers {
			code, msg, req, resp := m.call(md, tokens[c])
			if code == codes.OK && slices.Contains(strangers, c) && !strings.Contains(req, m.demo.Tiina) && strings.Contains(resp, m.demo.Tiina) {
				t.Errorf("%s as %s answers with Tiina's data: a caller outside her team finds her", key, c)
			}
			switch code {
			case codes.Internal, codes.Unknown, codes.Unavailable, codes.DeadlineExceeded, codes.Unimplemented:
				// A failure is neither an allow nor a deny: the matrix must see the rule.
				t.Errorf("%s as %s = %v %q; want an answer, not a failure", key, c, code, msg)
			}
			denied := code == codes.PermissionDenied || code == codes.Unauthenticated || (rule.hides && code == codes.NotFound)
			if !denied {
				allowed = append(allowed, c+"("+code.String()+")")
			}
			switch {
			case !ok:
			case slices.Contains(unauthenticated, c):
				if code != codes.Unauthenticated {
					t.Errorf("%s as %s = %v %q; want UNAUTHENTICATED", key, c, code, msg)
				}
			case slices.Contains(rule.allow, c) && denied:
				t.Errorf("%s as %s = %v %q; want allowed", key, c, code, msg)
			case !slices.Contains(rule.allow, c) && !denied:
				t.Errorf("%s as %s = %v %q; want denied", key, c, code, msg)
			}
		}
		observed = append(observed, fmt.Sprintf("%-55s %s", key, strings.Join(allowed, " ")))
	}
	for key := range accessRules {
		if !seen[key] {
			t.Errorf("accessRules has %s, which no service has: remove the stale rule", key)
		}
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("observed (RPC: callers that got past authorization):\n%s", strings.Join(observed, "\n"))
	}
}

// polkuMethods lists every RPC of every polku.* service in the registry.
func polkuMethods() []protoreflect.MethodDescriptor {
	var out []protoreflect.MethodDescriptor
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		if !strings.HasPrefix(string(fd.Package()), "polku.") {
			return true
		}
		for i := range fd.Services().Len() {
			sd := fd.Services().Get(i)
			for j := range sd.Methods().Len() {
				out = append(out, sd.Methods().Get(j))
			}
		}
		return true
	})
	sort.Slice(out, func(i, j int) bool { return out[i].FullName() < out[j].FullName() })
	return out
}

// methodKey is "clients.GetClient" for polku.clients.v1.ClientsService/GetClient.
func methodKey(md protoreflect.MethodDescriptor) string {
	return serviceOf(md) + "." + string(md.Name())
}

func serviceOf(md protoreflect.MethodDescriptor) string {
	return strings.Split(string(md.FullName()), ".")[1]
}

type matrix struct {
	t      *testing.T
	s      *Stack
	demo   Demo
	conns  map[string]*grpc.ClientConn
	keyDir string
	// names maps a resource type ("polku.fi/Budget") to a demo resource of it.
	names        map[string]string
	otherClient  string
	otherProvidr string
	seq          int
}

// call invokes md with a request whose name/parent (and other top-level
// resource references) point at demo resources, and returns the status code.
func (m *matrix) call(md protoreflect.MethodDescriptor, token string) (code codes.Code, msg, req, resp string) {
	in := dynamicpb.NewMessage(md.Input())
	m.fill(in, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	}
	ctx = metadata.AppendToOutgoingContext(ctx, "x-polku-purpose", "authorization matrix")
	out := dynamicpb.NewMessage(md.Output())
	method := "/" + string(md.Parent().FullName()) + "/" + string(md.Name())
	err := m.conns[serviceOf(md)].Invoke(ctx, method, in, out)
	st := status.Convert(err)
	return st.Code(), st.Message(), prototext.Format(in), prototext.Format(out)
}

// notFilled are the request fields the generic request leaves empty: a wrong
// etag or filter would fail the call for every caller alike.
var notFilled = map[protoreflect.Name]bool{"page_token": true, "filter": true, "order_by": true, "query": true, "purpose": true}

// fill makes msg a well-formed request: every resource reference names a demo
// resource of its type, every other string is set (required reasons, notes),
// dates are today, and a message that is itself a resource (the body of a
// Create or Update) is filled the same way one level down. Services check the
// shape of a request before who asks, so an empty request would be refused for
// every caller alike and prove nothing about authorization.
func (m *matrix) fill(msg protoreflect.Message, depth int) {
	fields := msg.Descriptor().Fields()
	for i := range fields.Len() {
		f := fields.Get(i)
		if f.IsList() || f.IsMap() || f.ContainingOneof() != nil && msg.WhichOneof(f.ContainingOneof()) != nil {
			continue
		}
		switch f.Kind() {
		case protoreflect.StringKind:
			if notFilled[f.Name()] {
				continue
			}
			ref, _ := proto.GetExtension(f.Options(), annotations.E_ResourceReference).(*annotations.ResourceReference)
			switch {
			case ref != nil && m.names[ref.GetType()] != "":
				msg.Set(f, protoreflect.ValueOfString(m.names[ref.GetType()]))
			case ref != nil && m.names[ref.GetChildType()] != "":
				msg.Set(f, protoreflect.ValueOfString(parentOf(m.names[ref.GetChildType()])))
			case ref != nil:
			case f.Name() == "etag":
				// A version no resource has: past authorization, the call
				// fails as stale instead of changing the demo.
				msg.Set(f, protoreflect.ValueOfString(`W/"999999"`))
			case f.Name() == "recipient":
				msg.Set(f, protoreflect.ValueOfString(m.names["polku.fi/Provider"]))
			case f.Name() == "region":
				msg.Set(f, protoreflect.ValueOfString(DemoRegion))
			case f.Name() == "language_code":
				msg.Set(f, protoreflect.ValueOfString("fi"))
			case f.Name() == "request_id":
				m.seq++
				msg.Set(f, protoreflect.ValueOfString(fmt.Sprintf("matrix-%d", m.seq)))
			case f.Name() == "name" && depth > 0:
				res, _ := proto.GetExtension(msg.Descriptor().Options(), annotations.E_Resource).(*annotations.ResourceDescriptor)
				if n := m.names[res.GetType()]; n != "" {
					msg.Set(f, protoreflect.ValueOfString(n))
				}
			default:
				msg.Set(f, protoreflect.ValueOfString("authorization matrix"))
			}
		case protoreflect.EnumKind:
			if f.Enum().Values().Len() > 1 { // the first value after UNSPECIFIED
				msg.Set(f, protoreflect.ValueOfEnum(f.Enum().Values().Get(1).Number()))
			}
		case protoreflect.MessageKind:
			switch {
			case f.Message().FullName() == "google.protobuf.FieldMask":
				// The first field of the resource being updated that is not its name or etag.
				body := msg.Descriptor().Fields()
				for j := range body.Len() {
					if b := body.Get(j); b.Kind() == protoreflect.MessageKind && b.Message().Fields().ByName("etag") != nil {
						for k := range b.Message().Fields().Len() {
							n := b.Message().Fields().Get(k).Name()
							if b.Message().Fields().ByName("display_name") != nil {
								n = "display_name"
							}
							if n != "name" && n != "etag" {
								fm := msg.Mutable(f).Message()
								fm.Mutable(fm.Descriptor().Fields().ByName("paths")).List().Append(protoreflect.ValueOfString(string(n)))
								break
							}
						}
						break
					}
				}
			case f.Message().FullName() == "google.type.Date":
				now := time.Now().UTC()
				d := msg.Mutable(f).Message()
				d.Set(d.Descriptor().Fields().ByName("year"), protoreflect.ValueOfInt32(int32(now.Year())))
				d.Set(d.Descriptor().Fields().ByName("month"), protoreflect.ValueOfInt32(int32(now.Month())))
				d.Set(d.Descriptor().Fields().ByName("day"), protoreflect.ValueOfInt32(int32(now.Day())))
			case depth == 0 && strings.HasPrefix(string(f.Message().FullName()), "polku."):
				m.fill(msg.Mutable(f).Message(), depth+1)
			}
		}
	}
}

// parentOf drops the last collection/id pair of a resource name.
func parentOf(name string) string {
	parts := strings.Split(name, "/")
	if len(parts) < 2 {
		return name
	}
	return strings.Join(parts[:len(parts)-2], "/")
}

// list calls a List RPC as the principal and returns the name of the first
// element of the response's first repeated message field.
func (m *matrix) list(p auth.Principal, fullMethod, parent string) string {
	m.t.Helper()
	desc, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(strings.ReplaceAll(strings.TrimPrefix(fullMethod, "/"), "/", ".")))
	if err != nil {
		m.t.Fatalf("%s: %v", fullMethod, err)
	}
	md := desc.(protoreflect.MethodDescriptor)
	req := dynamicpb.NewMessage(md.Input())
	if parent != "" {
		req.Set(md.Input().Fields().ByName("parent"), protoreflect.ValueOfString(parent))
	}
	resp := dynamicpb.NewMessage(md.Output())
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+m.token(p), "x-polku-purpose", "authorization matrix")
	if err := m.conns[serviceOf(md)].Invoke(ctx, fullMethod, req, resp); err != nil {
		m.t.Fatalf("%s(%s): %v", fullMethod, parent, err)
	}
	fields := md.Output().Fields()
	for i := range fields.Len() {
		f := fields.Get(i)
		if f.IsList() && f.Kind() == protoreflect.MessageKind {
			l := resp.Get(f).List()
			if l.Len() == 0 {
				return ""
			}
			return l.Get(0).Message().Get(f.Message().Fields().ByName("name")).String()
		}
	}
	return ""
}

func (m *matrix) token(p auth.Principal) string {
	m.t.Helper()
	tok, err := m.s.Token(p, time.Hour)
	if err != nil {
		m.t.Fatalf("token for %s: %v", p.Role, err)
	}
	return tok
}

var (
	mikko   = auth.Principal{Subject: Mikko, Role: auth.RoleManager, Region: DemoRegion}
	aino    = auth.Principal{Subject: Aino, Role: auth.RoleWorker, Region: DemoRegion}
	olli    = auth.Principal{Subject: Olli, Role: auth.RoleOperator}
	svcPrin = auth.Principal{Subject: "svc-matrix", Role: auth.RoleService}
)

// discover finds one demo resource of every type the RPCs reference.
func (m *matrix) discover() {
	t := m.t
	d := m.demo
	coach := "providers/" + d.Providers["neurocoach"]
	m.otherProvidr = d.Providers["adult-education"]
	coachStaff := auth.Principal{Subject: CoachStaff, Role: auth.RoleProvider, ProviderID: d.Providers["neurocoach"]}
	tiina := "clients/" + d.Tiina
	n := map[string]string{
		"polku.fi/Client":            tiina,
		"polku.fi/Provider":          coach,
		"polku.fi/Plan":              d.Plan,
		"polku.fi/Budget":            d.Budget,
		"polku.fi/Statement":         d.Budget + "/statement",
		"polku.fi/CohortReport":      "regions/" + DemoRegion + "/cohortReport",
		"polku.fi/CatalogueSettings": "regions/" + DemoRegion + "/catalogueSettings",
	}
	m.names = n
	n["polku.fi/Offering"] = m.list(coachStaff, "/polku.catalogue.v1.CatalogueService/ListOfferings", coach)
	n["polku.fi/PriceVersion"] = m.list(coachStaff, "/polku.catalogue.v1.CatalogueService/ListPriceVersions", n["polku.fi/Offering"])
	n["polku.fi/ChangeLogEntry"] = n["polku.fi/Offering"] + "/changeLogEntries/x" // only its parent is used
	n["polku.fi/QuoteRequest"] = m.quoteRequest(coach, n["polku.fi/Offering"], tiina)
	n["polku.fi/ProviderCredential"] = m.credential(coach)
	n["polku.fi/Assessment"] = m.list(aino, "/polku.assessment.v1.AssessmentService/ListAssessments", tiina)
	n["polku.fi/Instrument"] = m.list(aino, "/polku.assessment.v1.AssessmentService/ListInstruments", "")
	n["polku.fi/CapacityMeasurement"] = m.list(aino, "/polku.assessment.v1.AssessmentService/ListCapacityMeasurements", tiina)
	n["polku.fi/PlanRevision"] = m.list(aino, "/polku.assessment.v1.AssessmentService/ListPlanRevisions", d.Plan)
	n["polku.fi/LedgerEntry"] = m.list(aino, "/polku.budget.v1.BudgetService/ListLedgerEntries", d.Budget)
	n["polku.fi/ProviderCommitment"] = m.list(coachStaff, "/polku.budget.v1.BudgetService/ListProviderCommitments", coach)
	n["polku.fi/Claim"] = m.list(coachStaff, "/polku.budget.v1.BudgetService/ListClaims", coach)
	n["polku.fi/TeamMember"] = m.list(aino, "/polku.clients.v1.ClientsService/ListTeamMembers", tiina)
	n["polku.fi/Consent"] = m.list(aino, "/polku.clients.v1.ClientsService/ListConsents", tiina)
	n["polku.fi/Referral"] = m.list(coachStaff, "/polku.referral.v1.ReferralService/ListReferrals", "")
	n["polku.fi/WebhookSubscription"] = m.webhook(coachStaff, coach)
	n["polku.fi/WebhookDelivery"] = m.list(coachStaff, "/polku.referral.v1.ReferralService/ListWebhookDeliveries", coach)
	// Resources the demo does not make get a well-formed name under the right
	// provider: past authorization, their RPCs answer NOT_FOUND.
	for typ, coll := range map[string]string{
		"polku.fi/Claim": "claims", "polku.fi/WebhookDelivery": "webhookDeliveries"} {
		if n[typ] == "" {
			t.Logf("the demo has no %s: its RPCs name one that does not exist", typ)
			n[typ] = coach + "/" + coll + "/" + ids.New()
		}
	}
	for _, c := range []string{"polku.fi/Offering", "polku.fi/Assessment", "polku.fi/PlanRevision", "polku.fi/LedgerEntry", "polku.fi/Referral", "polku.fi/TeamMember", "polku.fi/Consent"} {
		if n[c] == "" {
			t.Fatalf("the demo has no %s to test with", c)
		}
	}
	// Another client of the same region (coordinated by Pekka or Aino).
	clients := m.listAll(mikko, "/polku.clients.v1.ClientsService/ListClients")
	for _, c := range clients {
		if c != tiina {
			m.otherClient = strings.TrimPrefix(c, "clients/")
			break
		}
	}
	if m.otherClient == "" {
		t.Fatal("the demo has only one client")
	}
}

// quoteRequest asks the coach for a quote for Tiina, as Aino (the demo has none).
func (m *matrix) quoteRequest(provider, offering, client string) string {
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+m.token(aino))
	q, err := cataloguev1.NewCatalogueServiceClient(m.conns["catalogue"]).CreateQuoteRequest(ctx, &cataloguev1.CreateQuoteRequestRequest{
		Parent: provider, RequestId: "matrix-quote",
		QuoteRequest: &cataloguev1.QuoteRequest{Offering: offering, Client: client, NeedDescription: "evening routines", Municipality: "837", Language: "fi"},
	})
	if err != nil {
		m.t.Fatalf("CreateQuoteRequest: %v", err)
	}
	return q.GetName()
}

// credential gives the coach an API credential, as the operator.
func (m *matrix) credential(provider string) string {
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+m.token(olli))
	c, err := cataloguev1.NewCatalogueServiceClient(m.conns["catalogue"]).CreateProviderCredential(ctx, &cataloguev1.CreateProviderCredentialRequest{
		Parent: provider, RequestId: "matrix-credential", ProviderCredential: &cataloguev1.ProviderCredential{DisplayName: "booking system"},
	})
	if err != nil {
		m.t.Fatalf("CreateProviderCredential: %v", err)
	}
	return c.GetName()
}

// webhook subscribes the coach to its referral events (nothing listens there).
func (m *matrix) webhook(staff auth.Principal, provider string) string {
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+m.token(staff))
	w, err := referralv1.NewReferralServiceClient(m.conns["referral"]).CreateWebhookSubscription(ctx, &referralv1.CreateWebhookSubscriptionRequest{
		Parent: provider, RequestId: "matrix-webhook", WebhookSubscription: &referralv1.WebhookSubscription{Uri: "http://127.0.0.1:9/hook"},
	})
	if err != nil {
		m.t.Fatalf("CreateWebhookSubscription: %v", err)
	}
	return w.GetName()
}

func (m *matrix) listAll(p auth.Principal, fullMethod string) []string {
	var names []string
	desc, _ := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(strings.ReplaceAll(strings.TrimPrefix(fullMethod, "/"), "/", ".")))
	md := desc.(protoreflect.MethodDescriptor)
	resp := dynamicpb.NewMessage(md.Output())
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+m.token(p), "x-polku-purpose", "authorization matrix")
	if err := m.conns[serviceOf(md)].Invoke(ctx, fullMethod, dynamicpb.NewMessage(md.Input()), resp); err != nil {
		m.t.Fatalf("%s: %v", fullMethod, err)
	}
	f := md.Output().Fields().Get(0)
	l := resp.Get(f).List()
	for i := range l.Len() {
		names = append(names, l.Get(i).Message().Get(f.Message().Fields().ByName("name")).String())
	}
	return names
}

// tokens signs one token per caller. The expired token and the one from a
// foreign key are otherwise valid: a control token made the same way but
// unexpired and with the stack's key must be accepted.
func (m *matrix) tokens() map[string]string {
	t := m.t
	d := m.demo
	foreign := testkit.NewTokens(t)
	tok := map[string]string{
		cAnonymous:     "",
		cOperator:      m.token(olli),
		cManager:       m.token(mikko),
		cManagerOther:  m.token(auth.Principal{Subject: "m-other", Role: auth.RoleManager, Region: "uusimaa"}),
		cCoordinator:   m.token(aino),
		cWorker:        m.token(auth.Principal{Subject: Pekka, Role: auth.RoleWorker, Region: DemoRegion}),
		cWorkerOther:   m.token(auth.Principal{Subject: "w-other", Role: auth.RoleWorker, Region: "uusimaa"}),
		cClientOwn:     m.token(auth.Principal{Subject: "c-tiina", Role: auth.RoleClient, ClientID: d.Tiina}),
		cClientOther:   m.token(auth.Principal{Subject: "c-other", Role: auth.RoleClient, ClientID: m.otherClient}),
		cAssistantOwn:  m.token(auth.Principal{Subject: Sanna, Role: auth.RoleAssistant, Clients: []string{d.Tiina}}),
		cAssistantOth:  m.token(auth.Principal{Subject: "u-other", Role: auth.RoleAssistant, Clients: []string{m.otherClient}}),
		cProviderRight: m.token(auth.Principal{Subject: CoachStaff, Role: auth.RoleProvider, ProviderID: d.Providers["neurocoach"]}),
		cProviderOther: m.token(auth.Principal{Subject: "p-other", Role: auth.RoleProvider, ProviderID: m.otherProvidr}),
		cService:       m.token(svcPrin),
		cForeignKey:    foreign.Token(t, mikko),
	}
	tok[cExpired] = m.signRaw(time.Now().Add(-2 * time.Hour))
	// The control: the same hand-made token, unexpired, is accepted, so the
	// expired one is refused for its expiry and not for how it was made.
	ctl := m.signRaw(time.Now().Add(time.Hour))
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+ctl)
	md, _ := protoregistry.GlobalFiles.FindDescriptorByName("polku.clients.v1.ClientsService.ListClients")
	in := md.(protoreflect.MethodDescriptor)
	if err := m.conns["clients"].Invoke(ctx, "/polku.clients.v1.ClientsService/ListClients", dynamicpb.NewMessage(in.Input()), dynamicpb.NewMessage(in.Output())); err != nil {
		t.Fatalf("an unexpired hand-signed manager token is refused (%v): the expired-token check would prove nothing", err)
	}
	return tok
}

// signRaw signs a manager token expiring at exp with the stack's dev key.
func (m *matrix) signRaw(exp time.Time) string {
	t := m.t
	raw, err := os.ReadFile(filepath.Join(m.keyDir, auth.DevKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(raw)
	if blk == nil {
		t.Fatal("dev key is not PEM")
	}
	key, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	iat := exp.Add(-time.Hour)
	c := jwt.MapClaims{
		"iss": auth.DevIssuerName, "aud": auth.DevAudience, "sub": Mikko, "role": "MANAGER", "region": DemoRegion,
		"exp": exp.Unix(), "nbf": iat.Unix(), "iat": iat.Unix(),
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodES256, c).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
