package service_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/polku-hb/polku/platform/apierr"
	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/platform/boot"
	"github.com/polku-hb/polku/platform/store"
	"github.com/polku-hb/polku/platform/telemetry"
	"github.com/polku-hb/polku/platform/testkit"
	cataloguev1 "github.com/polku-hb/polku/proto/gen/go/polku/catalogue/v1"
	"github.com/polku-hb/polku/services/catalogue/service"
)

var (
	aino      = auth.Principal{Subject: "w-aino", Role: auth.RoleWorker, Region: "pirkanmaa"}
	tiina     = auth.Principal{Subject: "c-tiina", Role: auth.RoleClient, ClientID: "c1"}
	op        = auth.Principal{Subject: "o-olli", Role: auth.RoleOperator}
	registrar = auth.Principal{Subject: "p-new", Role: auth.RoleProvider, ProviderID: "-"}
)

type env struct {
	cc  cataloguev1.CatalogueServiceClient
	tok *testkit.Tokens
	svc *service.Service
}

func (e *env) as(t *testing.T, p auth.Principal) context.Context { return e.tok.As(t, p) }

// stores runs a test against both store adapters.
func stores(t *testing.T, run func(t *testing.T, st store.Store)) {
	testkit.EachBackend(t, func(t *testing.T, b *boot.Stores) { run(t, b.Namespace(service.Namespace, service.Shards)) })
}

func start(t testing.TB, st store.Store) *env { return startWith(t, st, nil) }

// startWith starts a replica whose Deps opt may change (tok: the test tokens
// its server accepts).
func startWith(t testing.TB, st store.Store, opt func(d *service.Deps, tok *testkit.Tokens)) *env {
	t.Helper()
	tel, err := telemetry.Setup(context.Background(), telemetry.Config{ServiceName: service.Name})
	if err != nil {
		t.Fatal(err)
	}
	tok := testkit.NewTokens(t)
	d := service.Deps{Store: st, Telemetry: tel, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	if opt != nil {
		opt(&d, tok)
	}
	svc, err := service.New(d)
	if err != nil {
		t.Fatal(err)
	}
	conn := testkit.Serve(t, tok.Verifier, tel, func(r grpc.ServiceRegistrar) { svc.Register(r) })
	return &env{cc: cataloguev1.NewCatalogueServiceClient(conn), tok: tok, svc: svc}
}

func wantCode(t *testing.T, what string, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Errorf("%s: code = %v (%v); want %v", what, got, err, want)
	}
}

func assoc(name, businessID string) *cataloguev1.Provider {
	return &cataloguev1.Provider{
		DisplayName: name, Kind: cataloguev1.ProviderKind_PROVIDER_KIND_THIRD_SECTOR, BusinessId: businessID,
		ServiceAreas: []string{"837", "536"}, Languages: []string{"fi", "sv"},
		Contact: &cataloguev1.ProviderContact{Email: "info@example.fi", Phone: "+358401234567"},
	}
}

func pid(name string) string { return strings.TrimPrefix(name, "providers/") }

func staff(name string) auth.Principal {
	return auth.Principal{Subject: "p-staff-" + pid(name), Role: auth.RoleProvider, ProviderID: pid(name)}
}

// activeProvider registers and verifies a provider.
func activeProvider(t *testing.T, e *env, p *cataloguev1.Provider) *cataloguev1.Provider {
	t.Helper()
	got, err := e.cc.CreateProvider(e.as(t, registrar), &cataloguev1.CreateProviderRequest{Provider: p})
	if err != nil {
		t.Fatalf("CreateProvider: %v", err)
	}
	got, err = e.cc.VerifyProvider(e.as(t, op), &cataloguev1.VerifyProviderRequest{Name: got.GetName()})
	if err != nil {
		t.Fatalf("VerifyProvider: %v", err)
	}
	return got
}

func offering(title, desc string, cat cataloguev1.Category, cents int64) *cataloguev1.Offering {
	return &cataloguev1.Offering{
		Title: &cataloguev1.LocalizedText{Fi: title}, Description: &cataloguev1.LocalizedText{Fi: desc}, Category: cat,
		DeliveryModes: []cataloguev1.DeliveryMode{cataloguev1.DeliveryMode_DELIVERY_MODE_ON_SITE}, Capacity: cataloguev1.Capacity_CAPACITY_YES,
		PriceOptions: []*cataloguev1.PriceOption{{Id: "hour", Unit: cataloguev1.PriceUnit_PRICE_UNIT_HOUR, AmountCents: cents, VatRateBasisPoints: 0}},
	}
}

// publish creates, submits and publishes an offering.
func publish(t *testing.T, e *env, provider string, o *cataloguev1.Offering) *cataloguev1.Offering {
	t.Helper()
	ctx := e.as(t, staff(provider))
	got, err := e.cc.CreateOffering(ctx, &cataloguev1.CreateOfferingRequest{Parent: provider, Offering: o})
	if err != nil {
		t.Fatalf("CreateOffering: %v", err)
	}
	if _, err = e.cc.SubmitOffering(ctx, &cataloguev1.SubmitOfferingRequest{Name: got.GetName()}); err != nil {
		t.Fatalf("SubmitOffering: %v", err)
	}
	got, err = e.cc.PublishOffering(e.as(t, op), &cataloguev1.PublishOfferingRequest{Name: got.GetName()})
	if err != nil {
		t.Fatalf("PublishOffering: %v", err)
	}
	return got
}

func TestRegistrationAndModeration(t *testing.T) {
	stores(t, func(t *testing.T, st store.Store) {
		e := start(t, st)
		tests := []struct {
			give      *cataloguev1.Provider
			wantField string
		}{
			{assoc("Tukiverkko ry", "0211675-2"), ""},
			{assoc("Bad check digit", "0211675-3"), "provider.business_id"},
			{assoc("Malformed", "211675-2"), "provider.business_id"},
			{assoc("Missing", ""), "provider.business_id"},
			{assoc("", "0211675-2"), "provider.display_name"},
			{&cataloguev1.Provider{DisplayName: "Group", Kind: cataloguev1.ProviderKind_PROVIDER_KIND_THIRD_SECTOR, UnregisteredGroup: true}, "provider.kind"},
			{&cataloguev1.Provider{DisplayName: "Group", Kind: cataloguev1.ProviderKind_PROVIDER_KIND_VOLUNTEER, UnregisteredGroup: true}, ""},
			{&cataloguev1.Provider{DisplayName: "Areas", Kind: cataloguev1.ProviderKind_PROVIDER_KIND_COMPANY, BusinessId: "2345671-3", ServiceAreas: []string{"Tampere"}}, "provider.service_areas"},
		}
		for _, tt := range tests {
			got, err := e.cc.CreateProvider(e.as(t, registrar), &cataloguev1.CreateProviderRequest{Provider: tt.give})
			if tt.wantField == "" {
				if err != nil || got.GetState() != cataloguev1.Provider_PENDING_VERIFICATION {
					t.Errorf("CreateProvider(%q) = %v, %v; want PENDING_VERIFICATION", tt.give.GetDisplayName(), got.GetState(), err)
				}
				continue
			}
			wantCode(t, "CreateProvider "+tt.give.GetDisplayName(), err, codes.InvalidArgument)
			if fields := apierr.FieldViolations(err); !slices.Contains(fields, tt.wantField) {
				t.Errorf("CreateProvider(%q) violations = %v; want %s", tt.give.GetDisplayName(), fields, tt.wantField)
			}
		}
		_, err := e.cc.CreateProvider(e.as(t, tiina), &cataloguev1.CreateProviderRequest{Provider: assoc("X", "0211675-2")})
		wantCode(t, "client registers a provider", err, codes.PermissionDenied)

		// Idempotent registration.
		req := &cataloguev1.CreateProviderRequest{Provider: assoc("Retry ry", "2011512-0"), RequestId: "r-1"}
		a, err := e.cc.CreateProvider(e.as(t, registrar), req)
		if err != nil {
			t.Fatal(err)
		}
		b, err := e.cc.CreateProvider(e.as(t, registrar), req)
		if err != nil || b.GetName() != a.GetName() {
			t.Errorf("retry = %v, %v; want the first provider %s", b.GetName(), err, a.GetName())
		}

		// Moderation.
		name := a.GetName()
		_, err = e.cc.VerifyProvider(e.as(t, staff(name)), &cataloguev1.VerifyProviderRequest{Name: name})
		wantCode(t, "provider verifies itself", err, codes.PermissionDenied)
		_, err = e.cc.GetProvider(e.as(t, aino), &cataloguev1.GetProviderRequest{Name: name})
		wantCode(t, "worker reads a pending provider", err, codes.NotFound)
		_, err = e.cc.SuspendProvider(e.as(t, op), &cataloguev1.SuspendProviderRequest{Name: name, Reason: "x"})
		wantCode(t, "suspend a pending provider", err, codes.FailedPrecondition)
		p, err := e.cc.VerifyProvider(e.as(t, op), &cataloguev1.VerifyProviderRequest{Name: name, Etag: a.GetEtag()})
		if err != nil || p.GetState() != cataloguev1.Provider_ACTIVE || p.GetVerifyTime() == nil {
			t.Fatalf("VerifyProvider = %v, %v; want ACTIVE", p, err)
		}
		_, err = e.cc.RejectProvider(e.as(t, op), &cataloguev1.RejectProviderRequest{Name: name, Reason: "late"})
		wantCode(t, "reject an active provider", err, codes.FailedPrecondition)
		_, err = e.cc.SuspendProvider(e.as(t, op), &cataloguev1.SuspendProviderRequest{Name: name})
		wantCode(t, "suspend without reason", err, codes.InvalidArgument)
		_, err = e.cc.SuspendProvider(e.as(t, op), &cataloguev1.SuspendProviderRequest{Name: name, Reason: "x", Etag: a.GetEtag()})
		wantCode(t, "suspend with a stale etag", err, codes.Aborted)
		p, err = e.cc.SuspendProvider(e.as(t, op), &cataloguev1.SuspendProviderRequest{Name: name, Reason: "complaints", RequestId: "s-1"})
		if err != nil || p.GetState() != cataloguev1.Provider_SUSPENDED || p.GetStateReason() != "complaints" {
			t.Fatalf("SuspendProvider = %v, %v", p, err)
		}
		p, err = e.cc.VerifyProvider(e.as(t, op), &cataloguev1.VerifyProviderRequest{Name: name})
		if err != nil || p.GetState() != cataloguev1.Provider_ACTIVE {
			t.Errorf("re-verify = %v, %v; want ACTIVE", p.GetState(), err)
		}
		// Reject a fresh registration.
		c, _ := e.cc.CreateProvider(e.as(t, registrar), &cataloguev1.CreateProviderRequest{Provider: assoc("Reject me", "0155969-0")})
		r, err := e.cc.RejectProvider(e.as(t, op), &cataloguev1.RejectProviderRequest{Name: c.GetName(), Reason: "not a service provider"})
		if err != nil || r.GetState() != cataloguev1.Provider_REJECTED {
			t.Errorf("RejectProvider = %v, %v", r.GetState(), err)
		}
		// Lists: workers see ACTIVE only, operators all.
		wl, err := e.cc.ListProviders(e.as(t, aino), &cataloguev1.ListProvidersRequest{})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range wl.GetProviders() {
			if p.GetState() != cataloguev1.Provider_ACTIVE {
				t.Errorf("worker's list has %s in %v", p.GetName(), p.GetState())
			}
		}
		ol, err := e.cc.ListProviders(e.as(t, op), &cataloguev1.ListProvidersRequest{Filter: "state = PENDING_VERIFICATION"})
		if err != nil || len(ol.GetProviders()) != 2 {
			t.Errorf("operator's pending list = %d, %v; want 2", len(ol.GetProviders()), err)
		}
	})
}

func TestProviderCannotTouchAnotherProvider(t *testing.T) {
	stores(t, func(t *testing.T, st store.Store) {
		e := start(t, st)
		a := activeProvider(t, e, assoc("A ry", "0211675-2"))
		b := activeProvider(t, e, assoc("B ry", "2011512-0"))
		draft, err := e.cc.CreateOffering(e.as(t, staff(a.GetName())), &cataloguev1.CreateOfferingRequest{Parent: a.GetName(), Offering: offering("Luonnos", "kuvaus", cataloguev1.Category_CATEGORY_PEER_SUPPORT, 0)})
		if err != nil {
			t.Fatal(err)
		}
		live := publish(t, e, a.GetName(), offering("Julkaistu", "kuvaus", cataloguev1.Category_CATEGORY_PEER_SUPPORT, 0))
		pending, _ := e.cc.CreateProvider(e.as(t, registrar), &cataloguev1.CreateProviderRequest{Provider: assoc("Pending ry", "0155969-0")})
		other := e.as(t, staff(b.GetName()))
		mask := &fieldmaskpb.FieldMask{Paths: []string{"title"}}
		tests := []struct {
			name string
			call func() error
			want codes.Code
		}{
			{"UpdateProvider", func() error {
				_, err := e.cc.UpdateProvider(other, &cataloguev1.UpdateProviderRequest{Provider: &cataloguev1.Provider{Name: a.GetName(), DisplayName: "x", Etag: a.GetEtag()}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name"}}})
				return err
			}, codes.PermissionDenied},
			{"GetProvider pending", func() error {
				_, err := e.cc.GetProvider(other, &cataloguev1.GetProviderRequest{Name: pending.GetName()})
				return err
			}, codes.NotFound},
			{"CreateOffering", func() error {
				_, err := e.cc.CreateOffering(other, &cataloguev1.CreateOfferingRequest{Parent: a.GetName(), Offering: offering("x", "y", cataloguev1.Category_CATEGORY_OTHER, 1)})
				return err
			}, codes.PermissionDenied},
			{"GetOffering draft", func() error {
				_, err := e.cc.GetOffering(other, &cataloguev1.GetOfferingRequest{Name: draft.GetName()})
				return err
			}, codes.NotFound},
			{"UpdateOffering", func() error {
				_, err := e.cc.UpdateOffering(other, &cataloguev1.UpdateOfferingRequest{Offering: &cataloguev1.Offering{Name: live.GetName(), Title: &cataloguev1.LocalizedText{Fi: "x"}, Etag: live.GetEtag()}, UpdateMask: mask})
				return err
			}, codes.PermissionDenied},
			{"SubmitOffering", func() error {
				_, err := e.cc.SubmitOffering(other, &cataloguev1.SubmitOfferingRequest{Name: draft.GetName()})
				return err
			}, codes.PermissionDenied},
			{"WithdrawOffering", func() error {
				_, err := e.cc.WithdrawOffering(other, &cataloguev1.WithdrawOfferingRequest{Name: live.GetName()})
				return err
			}, codes.PermissionDenied},
			{"ConfirmOffering", func() error {
				_, err := e.cc.ConfirmOffering(other, &cataloguev1.ConfirmOfferingRequest{Name: live.GetName()})
				return err
			}, codes.PermissionDenied},
			{"DeleteOffering", func() error {
				_, err := e.cc.DeleteOffering(other, &cataloguev1.DeleteOfferingRequest{Name: draft.GetName()})
				return err
			}, codes.PermissionDenied},
			{"PublishOffering", func() error {
				_, err := e.cc.PublishOffering(other, &cataloguev1.PublishOfferingRequest{Name: draft.GetName()})
				return err
			}, codes.PermissionDenied},
			{"ListOfferings all providers", func() error {
				_, err := e.cc.ListOfferings(other, &cataloguev1.ListOfferingsRequest{Parent: "providers/-"})
				return err
			}, codes.PermissionDenied},
			{"ListChangeLogEntries", func() error {
				_, err := e.cc.ListChangeLogEntries(other, &cataloguev1.ListChangeLogEntriesRequest{Parent: a.GetName()})
				return err
			}, codes.PermissionDenied},
			{"ListChangeLogEntries offering", func() error {
				_, err := e.cc.ListChangeLogEntries(other, &cataloguev1.ListChangeLogEntriesRequest{Parent: live.GetName()})
				return err
			}, codes.PermissionDenied},
			{"ListPriceVersions draft", func() error {
				_, err := e.cc.ListPriceVersions(other, &cataloguev1.ListPriceVersionsRequest{Parent: draft.GetName()})
				return err
			}, codes.NotFound},
		}
		for _, tt := range tests {
			wantCode(t, tt.name, tt.call(), tt.want)
		}
		// Another provider lists A's offerings: only the live one, published content.
		l, err := e.cc.ListOfferings(other, &cataloguev1.ListOfferingsRequest{Parent: a.GetName()})
		if err != nil || len(l.GetOfferings()) != 1 || l.GetOfferings()[0].GetName() != live.GetName() {
			t.Errorf("B lists A's offerings = %v, %v; want only the live one", l.GetOfferings(), err)
		}
		// The draft is untouched.
		got, err := e.cc.GetOffering(e.as(t, staff(a.GetName())), &cataloguev1.GetOfferingRequest{Name: draft.GetName()})
		if err != nil || got.GetState() != cataloguev1.Offering_DRAFT {
			t.Errorf("A's draft = %v, %v; want DRAFT", got.GetState(), err)
		}
	})
}

func TestOfferingLifecycleReviewAndPriceVersions(t *testing.T) {
	stores(t, func(t *testing.T, st store.Store) {
		e := start(t, st)
		p := activeProvider(t, e, assoc("Valmennus ry", "0211675-2"))
		own := e.as(t, staff(p.GetName()))
		o := publish(t, e, p.GetName(), offering("Perhevalmennus", "Valmennusta perheille", cataloguev1.Category_CATEGORY_FAMILY_AND_PARENTING, 8000))
		if o.GetState() != cataloguev1.Offering_PUBLISHED || !o.GetLive() || !strings.HasSuffix(o.GetCurrentPriceVersion(), "/priceVersions/1") {
			t.Fatalf("published = %v live %v pv %q", o.GetState(), o.GetLive(), o.GetCurrentPriceVersion())
		}
		// Capacity only: applies at once, stays PUBLISHED.
		o2, err := e.cc.UpdateOffering(own, &cataloguev1.UpdateOfferingRequest{
			Offering:   &cataloguev1.Offering{Name: o.GetName(), Capacity: cataloguev1.Capacity_CAPACITY_WAITLIST, WaitingBand: cataloguev1.WaitingBand_WAITING_BAND_1_TO_3_MONTHS, Etag: o.GetEtag()},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"capacity", "waiting_band"}},
		})
		if err != nil || o2.GetState() != cataloguev1.Offering_PUBLISHED || o2.GetCapacity() != cataloguev1.Capacity_CAPACITY_WAITLIST {
			t.Fatalf("capacity edit = %v %v, %v; want PUBLISHED WAITLIST", o2.GetState(), o2.GetCapacity(), err)
		}
		_, err = e.cc.UpdateOffering(own, &cataloguev1.UpdateOfferingRequest{
			Offering: &cataloguev1.Offering{Name: o.GetName(), Title: &cataloguev1.LocalizedText{Fi: "x"}, Etag: o.GetEtag()}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"title"}},
		})
		wantCode(t, "stale etag", err, codes.Aborted)
		// A title edit goes back to review; the published content stays live.
		o3, err := e.cc.UpdateOffering(own, &cataloguev1.UpdateOfferingRequest{
			Offering:   &cataloguev1.Offering{Name: o.GetName(), Title: &cataloguev1.LocalizedText{Fi: "Uusi otsikko"}, Etag: o2.GetEtag()},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"title"}},
		})
		if err != nil || o3.GetState() != cataloguev1.Offering_PENDING_REVIEW || o3.GetTitle().GetFi() != "Uusi otsikko" || !o3.GetLive() {
			t.Fatalf("title edit = %v %q live %v, %v; want PENDING_REVIEW, working copy, live", o3.GetState(), o3.GetTitle().GetFi(), o3.GetLive(), err)
		}
		w, err := e.cc.GetOffering(e.as(t, aino), &cataloguev1.GetOfferingRequest{Name: o.GetName()})
		if err != nil || w.GetTitle().GetFi() != "Perhevalmennus" {
			t.Errorf("worker sees %q, %v; want the published title", w.GetTitle().GetFi(), err)
		}
		// Rejected: back to PUBLISHED, the edit kept as working copy, note given.
		r, err := e.cc.RejectOffering(e.as(t, op), &cataloguev1.RejectOfferingRequest{Name: o.GetName(), Reason: "otsikko on epäselvä"})
		if err != nil || r.GetState() != cataloguev1.Offering_PUBLISHED || r.GetReviewNote() != "otsikko on epäselvä" || r.GetTitle().GetFi() != "Uusi otsikko" {
			t.Fatalf("RejectOffering = %v %q %q, %v", r.GetState(), r.GetReviewNote(), r.GetTitle().GetFi(), err)
		}
		_, err = e.cc.RejectOffering(e.as(t, op), &cataloguev1.RejectOfferingRequest{Name: o.GetName()})
		wantCode(t, "reject without reason", err, codes.InvalidArgument)
		// A price change: review, publish, new version; version 1 stays pinned.
		o4, err := e.cc.UpdateOffering(own, &cataloguev1.UpdateOfferingRequest{
			Offering: &cataloguev1.Offering{Name: o.GetName(), Etag: r.GetEtag(), PriceOptions: []*cataloguev1.PriceOption{
				{Id: "hour", Unit: cataloguev1.PriceUnit_PRICE_UNIT_HOUR, AmountCents: 9000},
				{Id: "group", Unit: cataloguev1.PriceUnit_PRICE_UNIT_SESSION, AmountCents: 2500}}},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"price_options"}},
		})
		if err != nil || o4.GetState() != cataloguev1.Offering_PENDING_REVIEW {
			t.Fatalf("price edit = %v, %v", o4.GetState(), err)
		}
		o5, err := e.cc.PublishOffering(e.as(t, op), &cataloguev1.PublishOfferingRequest{Name: o.GetName(), Etag: o4.GetEtag()})
		if err != nil || !strings.HasSuffix(o5.GetCurrentPriceVersion(), "/priceVersions/2") {
			t.Fatalf("publish = %v, %v; want price version 2", o5.GetCurrentPriceVersion(), err)
		}
		pv1, err := e.cc.GetPriceVersion(e.as(t, aino), &cataloguev1.GetPriceVersionRequest{Name: o.GetName() + "/priceVersions/1"})
		if err != nil || len(pv1.GetPriceOptions()) != 1 || pv1.GetPriceOptions()[0].GetAmountCents() != 8000 || pv1.GetSupersedeTime() == nil {
			t.Errorf("price version 1 = %v, %v; want 8000 cents, superseded", pv1, err)
		}
		list, err := e.cc.ListPriceVersions(e.as(t, aino), &cataloguev1.ListPriceVersionsRequest{Parent: o.GetName()})
		if err != nil || len(list.GetPriceVersions()) != 2 || !strings.HasSuffix(list.GetPriceVersions()[0].GetName(), "/2") {
			t.Errorf("ListPriceVersions = %v, %v; want 2 newest first", list, err)
		}
		// Republishing with the same prices makes no new version.
		o6, err := e.cc.UpdateOffering(own, &cataloguev1.UpdateOfferingRequest{
			Offering:   &cataloguev1.Offering{Name: o.GetName(), Etag: o5.GetEtag(), Description: &cataloguev1.LocalizedText{Fi: "Uusi kuvaus"}},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"description"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		o7, err := e.cc.PublishOffering(e.as(t, op), &cataloguev1.PublishOfferingRequest{Name: o.GetName(), Etag: o6.GetEtag(), RequestId: "pub-3"})
		if err != nil || !strings.HasSuffix(o7.GetCurrentPriceVersion(), "/priceVersions/2") {
			t.Errorf("republish = %v, %v; want still version 2", o7.GetCurrentPriceVersion(), err)
		}
		// Retry of the same publish returns the result, not an illegal transition.
		if _, err := e.cc.PublishOffering(e.as(t, op), &cataloguev1.PublishOfferingRequest{Name: o.GetName(), RequestId: "pub-3"}); err != nil {
			t.Errorf("publish retry: %v", err)
		}
		_, err = e.cc.PublishOffering(e.as(t, op), &cataloguev1.PublishOfferingRequest{Name: o.GetName()})
		wantCode(t, "publish a published offering", err, codes.FailedPrecondition)
		// Withdraw: leaves search and is gone for workers; cannot be deleted.
		wd, err := e.cc.WithdrawOffering(own, &cataloguev1.WithdrawOfferingRequest{Name: o.GetName(), Reason: "ended"})
		if err != nil || wd.GetState() != cataloguev1.Offering_WITHDRAWN || wd.GetLive() {
			t.Fatalf("withdraw = %v live %v, %v", wd.GetState(), wd.GetLive(), err)
		}
		_, err = e.cc.GetOffering(e.as(t, aino), &cataloguev1.GetOfferingRequest{Name: o.GetName()})
		wantCode(t, "worker reads a withdrawn offering", err, codes.NotFound)
		_, err = e.cc.DeleteOffering(own, &cataloguev1.DeleteOfferingRequest{Name: o.GetName()})
		wantCode(t, "delete a published offering", err, codes.FailedPrecondition)
		res, _ := e.cc.SearchOfferings(e.as(t, aino), &cataloguev1.SearchOfferingsRequest{Query: "perhevalmennus"})
		if len(res.GetResults()) != 0 {
			t.Errorf("search finds a withdrawn offering: %v", res.GetResults())
		}
		// A draft can be deleted.
		d, _ := e.cc.CreateOffering(own, &cataloguev1.CreateOfferingRequest{Parent: p.GetName(), Offering: offering("Luonnos", "x", cataloguev1.Category_CATEGORY_OTHER, 0)})
		if _, err := e.cc.DeleteOffering(own, &cataloguev1.DeleteOfferingRequest{Name: d.GetName()}); err != nil {
			t.Errorf("delete draft: %v", err)
		}
		_, err = e.cc.GetOffering(own, &cataloguev1.GetOfferingRequest{Name: d.GetName()})
		wantCode(t, "read a deleted draft", err, codes.NotFound)
		// The change log names who changed which field.
		cl, err := e.cc.ListChangeLogEntries(own, &cataloguev1.ListChangeLogEntriesRequest{Parent: o.GetName()})
		if err != nil {
			t.Fatal(err)
		}
		var titleEdit bool
		for _, en := range cl.GetChangeLogEntries() {
			if en.GetMethod() == "UpdateOffering" && en.GetActor() == staff(p.GetName()).Subject && slices.ContainsFunc(en.GetFieldChanges(), func(f *cataloguev1.FieldChange) bool {
				return f.GetField() == "title" && strings.Contains(f.GetNewValue(), "Uusi otsikko")
			}) {
				titleEdit = true
			}
		}
		if !titleEdit || cl.GetChangeLogEntries()[0].GetMethod() != "WithdrawOffering" {
			t.Errorf("change log = %v; want the title edit and WithdrawOffering newest first", cl.GetChangeLogEntries())
		}
		pl, err := e.cc.ListChangeLogEntries(e.as(t, op), &cataloguev1.ListChangeLogEntriesRequest{Parent: p.GetName(), PageSize: 3})
		if err != nil || len(pl.GetChangeLogEntries()) != 3 || pl.GetNextPageToken() == "" {
			t.Errorf("provider change log page = %d entries, token %q, %v", len(pl.GetChangeLogEntries()), pl.GetNextPageToken(), err)
		}
	})
}

func TestStaleAndPriceCapFlags(t *testing.T) {
	stores(t, func(t *testing.T, st store.Store) {
		e := start(t, st)
		p := activeProvider(t, e, assoc("Coach Oy", "2345671-3"))
		o := publish(t, e, p.GetName(), offering("ADHD-valmennus", "valmennus", cataloguev1.Category_CATEGORY_FAMILY_AND_PARENTING, 9500))
		if o.GetStale() || len(o.GetPriceCapFlags()) != 0 {
			t.Fatalf("fresh offering flags: stale %v caps %v", o.GetStale(), o.GetPriceCapFlags())
		}
		settings := &cataloguev1.CatalogueSettings{
			Name: "regions/pirkanmaa/catalogueSettings", Municipalities: []string{"837"}, FreshnessPeriod: durationpb.New(300 * time.Millisecond),
			PriceCaps: []*cataloguev1.PriceCap{{Category: cataloguev1.Category_CATEGORY_FAMILY_AND_PARENTING, Unit: cataloguev1.PriceUnit_PRICE_UNIT_HOUR, MaxAmountCents: 9000}},
		}
		mask := &fieldmaskpb.FieldMask{Paths: []string{"municipalities", "freshness_period", "price_caps"}}
		_, err := e.cc.UpdateCatalogueSettings(e.as(t, aino), &cataloguev1.UpdateCatalogueSettingsRequest{CatalogueSettings: settings, UpdateMask: mask})
		wantCode(t, "worker sets caps", err, codes.PermissionDenied)
		if _, err := e.cc.UpdateCatalogueSettings(e.as(t, op), &cataloguev1.UpdateCatalogueSettingsRequest{CatalogueSettings: settings, UpdateMask: mask}); err != nil {
			t.Fatalf("UpdateCatalogueSettings: %v", err)
		}
		time.Sleep(400 * time.Millisecond)
		w, err := e.cc.GetOffering(e.as(t, aino), &cataloguev1.GetOfferingRequest{Name: o.GetName()})
		if err != nil {
			t.Fatal(err)
		}
		flags := w.GetPriceCapFlags()
		if !w.GetStale() || len(flags) != 1 || flags[0].GetCapCents() != 9000 || flags[0].GetAmountCents() != 9500 || flags[0].GetRegion() != "regions/pirkanmaa" {
			t.Errorf("worker sees stale %v flags %v; want stale and one cap flag 9500 > 9000", w.GetStale(), flags)
		}
		res, err := e.cc.SearchOfferings(e.as(t, aino), &cataloguev1.SearchOfferingsRequest{Query: "adhd"})
		if err != nil || len(res.GetResults()) != 1 || !res.GetResults()[0].GetOffering().GetStale() || len(res.GetResults()[0].GetOffering().GetPriceCapFlags()) != 1 {
			t.Errorf("search result = %v, %v; want flagged", res.GetResults(), err)
		}
		l, err := e.cc.ListOfferings(e.as(t, op), &cataloguev1.ListOfferingsRequest{Parent: "providers/-", Filter: "stale = true AND price_capped = true"})
		if err != nil || len(l.GetOfferings()) != 1 {
			t.Errorf("operator's stale+capped list = %d, %v; want 1", len(l.GetOfferings()), err)
		}
		c, err := e.cc.ConfirmOffering(e.as(t, staff(p.GetName())), &cataloguev1.ConfirmOfferingRequest{Name: o.GetName()})
		if err != nil || c.GetStale() || c.GetState() != cataloguev1.Offering_PUBLISHED {
			t.Errorf("confirm = stale %v state %v, %v; want fresh and still PUBLISHED", c.GetStale(), c.GetState(), err)
		}
	})
}

func TestSearch(t *testing.T) {
	stores(t, func(t *testing.T, st store.Store) {
		e := start(t, st)
		a := activeProvider(t, e, assoc("Perheliitto ry", "0211675-2"))
		co := activeProvider(t, e, &cataloguev1.Provider{DisplayName: "Coach Oy", Kind: cataloguev1.ProviderKind_PROVIDER_KIND_COMPANY, BusinessId: "2345671-3", ServiceAreas: []string{"091"}, Languages: []string{"fi", "so"}})
		perhetyo := publish(t, e, a.GetName(), offering("Perhetyö kotona", "Tukea vanhemmuuteen", cataloguev1.Category_CATEGORY_FAMILY_AND_PARENTING, 6800))
		ryhma := offering("Vertaisryhmä", "Ryhmä perheille, joissa on erityislapsi", cataloguev1.Category_CATEGORY_PEER_SUPPORT, 0)
		ryhma.DeliveryModes = []cataloguev1.DeliveryMode{cataloguev1.DeliveryMode_DELIVERY_MODE_GROUP}
		ryhma.Capacity, ryhma.WaitingBand = cataloguev1.Capacity_CAPACITY_WAITLIST, cataloguev1.WaitingBand_WAITING_BAND_UNDER_1_MONTH
		vertais := publish(t, e, a.GetName(), ryhma)
		museo := offering("Museokortti", "Pääsy museoihin", cataloguev1.Category_CATEGORY_CULTURE_AND_LEISURE, 8900)
		museo.Capacity = cataloguev1.Capacity_CAPACITY_NO
		museokortti := publish(t, e, a.GetName(), museo)
		quote := offering("ADHD-valmennus perheelle", "Räätälöity valmennus", cataloguev1.Category_CATEGORY_FAMILY_AND_PARENTING, 9500)
		quote.QuoteRequired = true
		valmennus := publish(t, e, co.GetName(), quote)
		// Not found: a draft, and the offering of a provider still pending.
		_, _ = e.cc.CreateOffering(e.as(t, staff(a.GetName())), &cataloguev1.CreateOfferingRequest{Parent: a.GetName(), Offering: offering("Perhekahvila luonnos", "x", cataloguev1.Category_CATEGORY_FAMILY_AND_PARENTING, 0)})
		pend, _ := e.cc.CreateProvider(e.as(t, registrar), &cataloguev1.CreateProviderRequest{Provider: assoc("Pending ry", "0155969-0")})
		po, _ := e.cc.CreateOffering(e.as(t, staff(pend.GetName())), &cataloguev1.CreateOfferingRequest{Parent: pend.GetName(), Offering: offering("Perheleiri", "x", cataloguev1.Category_CATEGORY_FAMILY_AND_PARENTING, 100)})
		_, _ = e.cc.SubmitOffering(e.as(t, staff(pend.GetName())), &cataloguev1.SubmitOfferingRequest{Name: po.GetName()})
		if _, err := e.cc.PublishOffering(e.as(t, op), &cataloguev1.PublishOfferingRequest{Name: po.GetName()}); err != nil {
			t.Fatal(err)
		}

		names := func(r *cataloguev1.SearchOfferingsResponse) []string {
			var out []string
			for _, x := range r.GetResults() {
				out = append(out, x.GetOffering().GetName())
			}
			return out
		}
		all := func(o ...*cataloguev1.Offering) []string {
			var out []string
			for _, x := range o {
				out = append(out, x.GetName())
			}
			return out
		}
		tests := []struct {
			name string
			give *cataloguev1.SearchOfferingsRequest
			want []string
		}{
			{"prefix finds inflections", &cataloguev1.SearchOfferingsRequest{Query: "perhe"}, all(perhetyo, valmennus, vertais)},
			{"accents and case", &cataloguev1.SearchOfferingsRequest{Query: "PERHETYO"}, all(perhetyo)},
			{"accented query", &cataloguev1.SearchOfferingsRequest{Query: "pääsy"}, all(museokortti)},
			{"two words AND", &cataloguev1.SearchOfferingsRequest{Query: "perhe ryhmä"}, all(vertais)},
			{"no match", &cataloguev1.SearchOfferingsRequest{Query: "xyzzy"}, nil},
			{"category", &cataloguev1.SearchOfferingsRequest{Categories: []cataloguev1.Category{cataloguev1.Category_CATEGORY_CULTURE_AND_LEISURE}}, all(museokortti)},
			{"municipality", &cataloguev1.SearchOfferingsRequest{Municipalities: []string{"091"}}, all(valmennus)},
			{"municipality without offerings", &cataloguev1.SearchOfferingsRequest{Municipalities: []string{"999"}}, nil},
			{"language without offerings", &cataloguev1.SearchOfferingsRequest{Languages: []string{"xx"}}, nil},
			{"word and empty municipality", &cataloguev1.SearchOfferingsRequest{Query: "perhe", Municipalities: []string{"999"}}, nil},
			{"language in summary", &cataloguev1.SearchOfferingsRequest{Languages: []string{"sv"}, OrderBy: "price"}, all(vertais, perhetyo, museokortti)},
			{"language by index", &cataloguev1.SearchOfferingsRequest{Languages: []string{"so"}}, all(valmennus)},
			{"delivery mode", &cataloguev1.SearchOfferingsRequest{DeliveryModes: []cataloguev1.DeliveryMode{cataloguev1.DeliveryMode_DELIVERY_MODE_GROUP}}, all(vertais)},
			{"provider kind", &cataloguev1.SearchOfferingsRequest{ProviderKinds: []cataloguev1.ProviderKind{cataloguev1.ProviderKind_PROVIDER_KIND_COMPANY}}, all(valmennus)},
			{"max price excludes quote only", &cataloguev1.SearchOfferingsRequest{MaxUnitPriceCents: 7000, OrderBy: "price"}, all(vertais, perhetyo)},
			{"accepting referrals", &cataloguev1.SearchOfferingsRequest{AcceptingReferrals: true, Query: "perhe", OrderBy: "waiting_time"}, all(perhetyo, valmennus, vertais)},
			{"sort by price", &cataloguev1.SearchOfferingsRequest{OrderBy: "price"}, all(vertais, perhetyo, museokortti, valmennus)},
			{"sort by waiting time", &cataloguev1.SearchOfferingsRequest{OrderBy: "waiting_time", Categories: []cataloguev1.Category{cataloguev1.Category_CATEGORY_PEER_SUPPORT, cataloguev1.Category_CATEGORY_CULTURE_AND_LEISURE}}, all(vertais, museokortti)},
			{"title beats description", &cataloguev1.SearchOfferingsRequest{Query: "perhe"}, all(perhetyo, valmennus, vertais)},
		}
		for _, tt := range tests {
			got, err := e.cc.SearchOfferings(e.as(t, aino), tt.give)
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
				continue
			}
			gotNames := names(got)
			want := tt.want
			switch {
			case tt.name == "title beats description" || tt.name == "accepting referrals":
				// The first two tie (title match / capacity YES); the last must be last.
				if len(gotNames) == 3 {
					slices.Sort(gotNames[:2])
				}
				want = slices.Clone(want)
				slices.Sort(want[:2])
			case tt.give.GetOrderBy() == "" && tt.give.GetQuery() != "":
				slices.Sort(gotNames)
				want = slices.Clone(want)
				slices.Sort(want)
			}
			if !slices.Equal(gotNames, want) || int(got.GetTotalSize()) != len(want) && tt.give.GetQuery() != "" {
				t.Errorf("%s: SearchOfferings = %v (total %d); want %v", tt.name, gotNames, got.GetTotalSize(), want)
			}
		}
		// The quote-only offering has no lowest price; others do.
		r, _ := e.cc.SearchOfferings(e.as(t, tiina), &cataloguev1.SearchOfferingsRequest{Query: "adhd"})
		if len(r.GetResults()) != 1 || r.GetResults()[0].LowestUnitPriceCents != nil || r.GetResults()[0].GetProviderDisplayName() != "Coach Oy" || r.GetResults()[0].GetRelevance() <= 0 {
			t.Errorf("client's search for adhd = %v", r.GetResults())
		}
		// Pagination over the filtered path and the plain path.
		for _, give := range []*cataloguev1.SearchOfferingsRequest{{OrderBy: "price", PageSize: 3}, {PageSize: 3}} {
			p1, err := e.cc.SearchOfferings(e.as(t, aino), give)
			if err != nil || len(p1.GetResults()) != 3 || p1.GetNextPageToken() == "" {
				t.Fatalf("page 1 = %d, token %q, %v", len(p1.GetResults()), p1.GetNextPageToken(), err)
			}
			give.PageToken = p1.GetNextPageToken()
			p2, err := e.cc.SearchOfferings(e.as(t, aino), give)
			if err != nil || len(p2.GetResults()) != 1 || p2.GetNextPageToken() != "" || slices.Contains(names(p1), names(p2)[0]) {
				t.Errorf("page 2 = %v, token %q, %v", names(p2), p2.GetNextPageToken(), err)
			}
		}
		_, err := e.cc.SearchOfferings(e.as(t, aino), &cataloguev1.SearchOfferingsRequest{Query: "perhe", PageToken: "garbage"})
		wantCode(t, "bad token", err, codes.InvalidArgument)
		_, err = e.cc.SearchOfferings(e.as(t, aino), &cataloguev1.SearchOfferingsRequest{OrderBy: "name"})
		wantCode(t, "bad order", err, codes.InvalidArgument)
		// Suspending the provider takes its offerings out of search; verifying brings them back.
		if _, err := e.cc.SuspendProvider(e.as(t, op), &cataloguev1.SuspendProviderRequest{Name: co.GetName(), Reason: "audit"}); err != nil {
			t.Fatal(err)
		}
		r, _ = e.cc.SearchOfferings(e.as(t, aino), &cataloguev1.SearchOfferingsRequest{Query: "adhd"})
		if len(r.GetResults()) != 0 {
			t.Errorf("suspended provider's offering found: %v", names(r))
		}
		_, _ = e.cc.VerifyProvider(e.as(t, op), &cataloguev1.VerifyProviderRequest{Name: co.GetName()})
		r, _ = e.cc.SearchOfferings(e.as(t, aino), &cataloguev1.SearchOfferingsRequest{Query: "adhd"})
		if len(r.GetResults()) != 1 {
			t.Errorf("re-verified provider's offering not found: %v", names(r))
		}
	})
}

func TestBadInputWritesNothing(t *testing.T) {
	stores(t, func(t *testing.T, st store.Store) {
		e := start(t, st)
		p := activeProvider(t, e, assoc("A ry", "0211675-2"))
		own := e.as(t, staff(p.GetName()))
		bad := offering("", "", cataloguev1.Category(99), -5)
		bad.Description = &cataloguev1.LocalizedText{Fi: strings.Repeat("a", 5001)}
		bad.ServiceAreas = []string{"Tampere"}
		_, err := e.cc.CreateOffering(own, &cataloguev1.CreateOfferingRequest{Parent: p.GetName(), Offering: bad})
		wantCode(t, "bad offering", err, codes.InvalidArgument)
		fields := apierr.FieldViolations(err)
		for _, want := range []string{"offering.title", "offering.description.fi", "offering.category", "offering.price_options[0].amount_cents", "offering.service_areas"} {
			if !slices.Contains(fields, want) {
				t.Errorf("violations = %v; missing %s", fields, want)
			}
		}
		l, err := e.cc.ListOfferings(own, &cataloguev1.ListOfferingsRequest{Parent: p.GetName()})
		if err != nil || len(l.GetOfferings()) != 0 {
			t.Errorf("offerings after bad input = %d, %v; want 0", len(l.GetOfferings()), err)
		}
		// A bad update leaves the offering as it was.
		o := publish(t, e, p.GetName(), offering("Kurssi", "kuvaus", cataloguev1.Category_CATEGORY_EMPLOYMENT_AND_EDUCATION, 100))
		_, err = e.cc.UpdateOffering(own, &cataloguev1.UpdateOfferingRequest{
			Offering:   &cataloguev1.Offering{Name: o.GetName(), Etag: o.GetEtag(), PriceOptions: []*cataloguev1.PriceOption{{Id: "x", Unit: 1, AmountCents: -1}}},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"price_options"}},
		})
		wantCode(t, "negative price", err, codes.InvalidArgument)
		_, err = e.cc.UpdateOffering(own, &cataloguev1.UpdateOfferingRequest{
			Offering: &cataloguev1.Offering{Name: o.GetName(), Etag: o.GetEtag()}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"state"}},
		})
		wantCode(t, "read-only field", err, codes.InvalidArgument)
		got, _ := e.cc.GetOffering(own, &cataloguev1.GetOfferingRequest{Name: o.GetName()})
		if got.GetEtag() != o.GetEtag() || got.GetState() != cataloguev1.Offering_PUBLISHED {
			t.Errorf("after bad updates: etag %s state %v; want unchanged %s PUBLISHED", got.GetEtag(), got.GetState(), o.GetEtag())
		}
		_, err = e.cc.GetOffering(own, &cataloguev1.GetOfferingRequest{Name: "providers/x"})
		wantCode(t, "malformed name", err, codes.InvalidArgument)
		_, err = e.cc.UpdateProvider(own, &cataloguev1.UpdateProviderRequest{
			Provider: &cataloguev1.Provider{Name: p.GetName(), Etag: p.GetEtag(), BusinessId: "1234567-8"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"business_id"}},
		})
		wantCode(t, "bad business id update", err, codes.InvalidArgument)
		_, err = e.cc.UpdateProvider(own, &cataloguev1.UpdateProviderRequest{
			Provider: &cataloguev1.Provider{Name: p.GetName(), Etag: p.GetEtag(), Kind: cataloguev1.ProviderKind_PROVIDER_KIND_COMPANY}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"kind"}},
		})
		wantCode(t, "provider changes its kind", err, codes.InvalidArgument)
		up, err := e.cc.UpdateProvider(own, &cataloguev1.UpdateProviderRequest{
			Provider: &cataloguev1.Provider{Name: p.GetName(), Etag: p.GetEtag(), DisplayName: "A ry (uusi)"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name"}},
		})
		if err != nil || up.GetDisplayName() != "A ry (uusi)" || up.GetEtag() == p.GetEtag() {
			t.Errorf("UpdateProvider = %v, %v", up, err)
		}
	})
}

func TestSeedDemo(t *testing.T) {
	stores(t, func(t *testing.T, st store.Store) {
		e := start(t, st)
		ids, err := e.svc.SeedDemo(context.Background())
		if err != nil {
			t.Fatalf("SeedDemo: %v", err)
		}
		again, err := e.svc.SeedDemo(context.Background())
		if err != nil || again["neurocoach"] != ids["neurocoach"] {
			t.Fatalf("second SeedDemo = %v, %v; want the same providers", again, err)
		}
		r, err := e.cc.SearchOfferings(e.as(t, aino), &cataloguev1.SearchOfferingsRequest{PageSize: 100})
		if err != nil || len(r.GetResults()) != 8 {
			t.Errorf("demo catalogue has %d live offerings, %v; want 8", len(r.GetResults()), err)
		}
		r, _ = e.cc.SearchOfferings(e.as(t, aino), &cataloguev1.SearchOfferingsRequest{Categories: []cataloguev1.Category{cataloguev1.Category_CATEGORY_CULTURE_AND_LEISURE}})
		if len(r.GetResults()) != 3 {
			t.Errorf("culture offerings = %d; want 3", len(r.GetResults()))
		}
		r, _ = e.cc.SearchOfferings(e.as(t, aino), &cataloguev1.SearchOfferingsRequest{Query: "adhd"})
		if len(r.GetResults()) != 1 || len(r.GetResults()[0].GetOffering().GetPriceCapFlags()) != 1 {
			t.Errorf("adhd coaching = %v; want one, flagged above the demo cap", r.GetResults())
		}
	})
}
