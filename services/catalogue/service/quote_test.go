package service_test

import (
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/type/date"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/polku-hb/polku/platform/apierr"
	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/platform/store"
	cataloguev1 "github.com/polku-hb/polku/proto/gen/go/polku/catalogue/v1"
)

func TestQuoteRequestFlowAndExpiry(t *testing.T) {
	stores(t, func(t *testing.T, st store.Store) {
		e := start(t, st)
		var now atomic.Int64
		now.Store(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC).UnixNano())
		e.svc.SetClock(func() time.Time { return time.Unix(0, now.Load()).UTC() })
		advance := func(d time.Duration) { now.Add(int64(d)) }

		coach := activeProvider(t, e, &cataloguev1.Provider{DisplayName: "Coach Oy", Kind: cataloguev1.ProviderKind_PROVIDER_KIND_COMPANY, BusinessId: "2345671-3", ServiceAreas: []string{"837"}})
		other := activeProvider(t, e, assoc("Other ry", "0211675-2"))
		o := publish(t, e, coach.GetName(), offering("ADHD-valmennus", "räätälöity", cataloguev1.Category_CATEGORY_FAMILY_AND_PARENTING, 9500))
		pekka := auth.Principal{Subject: "w-pekka", Role: auth.RoleWorker}
		ask := func(who auth.Principal, parent string, qr *cataloguev1.QuoteRequest) (*cataloguev1.QuoteRequest, error) {
			return e.cc.CreateQuoteRequest(e.as(t, who), &cataloguev1.CreateQuoteRequestRequest{Parent: parent, QuoteRequest: qr})
		}
		need := func() *cataloguev1.QuoteRequest {
			return &cataloguev1.QuoteRequest{Client: "clients/c1", Offering: o.GetName(), NeedDescription: "Lapsi 9 v, ADHD; vanhemman valmennus iltarutiineihin", Municipality: "837", Language: "fi"}
		}
		// Bad input and permissions.
		_, err := ask(aino, coach.GetName(), &cataloguev1.QuoteRequest{Client: "Tiina Virtanen", Municipality: "Tampere"})
		wantCode(t, "bad quote request", err, codes.InvalidArgument)
		if f := apierr.FieldViolations(err); len(f) != 3 {
			t.Errorf("violations = %v; want client, need_description, municipality", f)
		}
		_, err = ask(staff(coach.GetName()), coach.GetName(), need())
		wantCode(t, "provider asks itself", err, codes.PermissionDenied)
		_, err = ask(aino, other.GetName(), need())
		wantCode(t, "offering of another provider", err, codes.InvalidArgument)

		qr, err := ask(aino, coach.GetName(), need())
		if err != nil || qr.GetState() != cataloguev1.QuoteRequest_REQUESTED || qr.GetClient() != "clients/c1" || qr.GetRequester() != "w-aino" {
			t.Fatalf("CreateQuoteRequest = %v, %v", qr, err)
		}
		if want := time.Unix(0, now.Load()).Add(7 * 24 * time.Hour); !qr.GetResponseDueTime().AsTime().Equal(want) {
			t.Errorf("response due %v; want %v", qr.GetResponseDueTime().AsTime(), want)
		}
		// The provider sees it without the client; another provider not at all.
		inbox, err := e.cc.ListQuoteRequests(e.as(t, staff(coach.GetName())), &cataloguev1.ListQuoteRequestsRequest{Parent: coach.GetName()})
		if err != nil || len(inbox.GetQuoteRequests()) != 1 || inbox.GetQuoteRequests()[0].GetClient() != "" {
			t.Fatalf("provider inbox = %v, %v; want one request without client", inbox.GetQuoteRequests(), err)
		}
		g, err := e.cc.GetQuoteRequest(e.as(t, staff(coach.GetName())), &cataloguev1.GetQuoteRequestRequest{Name: qr.GetName()})
		if err != nil || g.GetClient() != "" || g.GetNeedDescription() == "" {
			t.Errorf("provider GetQuoteRequest = %v, %v; want without client", g, err)
		}
		otherCtx := e.as(t, staff(other.GetName()))
		tests := []struct {
			name string
			call func() error
			want codes.Code
		}{
			{"Get", func() error {
				_, err := e.cc.GetQuoteRequest(otherCtx, &cataloguev1.GetQuoteRequestRequest{Name: qr.GetName()})
				return err
			}, codes.NotFound},
			{"Get under own name", func() error {
				_, err := e.cc.GetQuoteRequest(otherCtx, &cataloguev1.GetQuoteRequestRequest{Name: other.GetName() + "/quoteRequests/" + qr.GetName()[len(coach.GetName())+15:]})
				return err
			}, codes.NotFound},
			{"List", func() error {
				_, err := e.cc.ListQuoteRequests(otherCtx, &cataloguev1.ListQuoteRequestsRequest{Parent: coach.GetName()})
				return err
			}, codes.PermissionDenied},
			{"SubmitQuote", func() error {
				_, err := e.cc.SubmitQuote(otherCtx, &cataloguev1.SubmitQuoteRequest{Name: qr.GetName(), Quote: &cataloguev1.Quote{Description: "x", Unit: 1, Quantity: 1, ValidUntil: &date.Date{Year: 2026, Month: 4, Day: 1}}})
				return err
			}, codes.NotFound},
			{"Decline", func() error {
				_, err := e.cc.DeclineQuoteRequest(otherCtx, &cataloguev1.DeclineQuoteRequestRequest{Name: qr.GetName(), Reason: "x"})
				return err
			}, codes.NotFound},
			{"Accept by another worker", func() error {
				_, err := e.cc.AcceptQuoteRequest(e.as(t, pekka), &cataloguev1.AcceptQuoteRequestRequest{Name: qr.GetName()})
				return err
			}, codes.NotFound},
			{"Accept by the provider", func() error {
				_, err := e.cc.AcceptQuoteRequest(e.as(t, staff(coach.GetName())), &cataloguev1.AcceptQuoteRequestRequest{Name: qr.GetName()})
				return err
			}, codes.PermissionDenied},
		}
		for _, tt := range tests {
			wantCode(t, tt.name, tt.call(), tt.want)
		}
		oi, _ := e.cc.ListQuoteRequests(otherCtx, &cataloguev1.ListQuoteRequestsRequest{Parent: "providers/-"})
		if len(oi.GetQuoteRequests()) != 0 {
			t.Errorf("other provider's inbox = %v; want empty", oi.GetQuoteRequests())
		}
		// Quote, then accept.
		bad, err := e.cc.SubmitQuote(e.as(t, staff(coach.GetName())), &cataloguev1.SubmitQuoteRequest{Name: qr.GetName(), Quote: &cataloguev1.Quote{Description: "12 x 60 min", Unit: 1, Quantity: 12, UnitAmountCents: 9000, ValidUntil: &date.Date{Year: 2026, Month: 3, Day: 1}}})
		wantCode(t, "quote valid until yesterday", err, codes.InvalidArgument)
		_ = bad
		quoted, err := e.cc.SubmitQuote(e.as(t, staff(coach.GetName())), &cataloguev1.SubmitQuoteRequest{Name: qr.GetName(), Quote: &cataloguev1.Quote{Description: "12 x 60 min", Unit: 1, Quantity: 12, UnitAmountCents: 9000, VatRateBasisPoints: 2550, ValidUntil: &date.Date{Year: 2026, Month: 3, Day: 31}}})
		if err != nil || quoted.GetState() != cataloguev1.QuoteRequest_QUOTED || quoted.GetQuote().GetTotalAmountCents() != 108000 || quoted.GetClient() != "" {
			t.Fatalf("SubmitQuote = %v, %v; want QUOTED total 108000", quoted, err)
		}
		acc, err := e.cc.AcceptQuoteRequest(e.as(t, aino), &cataloguev1.AcceptQuoteRequestRequest{Name: qr.GetName(), Etag: quoted.GetEtag()})
		if err != nil || acc.GetState() != cataloguev1.QuoteRequest_ACCEPTED {
			t.Fatalf("Accept = %v, %v", acc.GetState(), err)
		}
		_, err = e.cc.CancelQuoteRequest(e.as(t, aino), &cataloguev1.CancelQuoteRequestRequest{Name: qr.GetName()})
		wantCode(t, "cancel accepted", err, codes.FailedPrecondition)

		// Expiry: no answer by the due time.
		q2, err := ask(aino, coach.GetName(), &cataloguev1.QuoteRequest{Client: "clients/c1", NeedDescription: "yleinen tarjous", ResponseDueTime: timestamppb.New(time.Unix(0, now.Load()).Add(48 * time.Hour))})
		if err != nil {
			t.Fatal(err)
		}
		advance(49 * time.Hour)
		g2, _ := e.cc.GetQuoteRequest(e.as(t, aino), &cataloguev1.GetQuoteRequestRequest{Name: q2.GetName()})
		if g2.GetState() != cataloguev1.QuoteRequest_EXPIRED {
			t.Errorf("after the due time: %v; want EXPIRED", g2.GetState())
		}
		_, err = e.cc.SubmitQuote(e.as(t, staff(coach.GetName())), &cataloguev1.SubmitQuoteRequest{Name: q2.GetName(), Quote: &cataloguev1.Quote{Description: "x", Unit: 1, Quantity: 1, UnitAmountCents: 1, ValidUntil: &date.Date{Year: 2026, Month: 12, Day: 31}}})
		wantCode(t, "quote an expired request", err, codes.FailedPrecondition)
		ex, _ := e.cc.ListQuoteRequests(e.as(t, aino), &cataloguev1.ListQuoteRequestsRequest{Parent: "providers/-", Filter: "state = EXPIRED"})
		if len(ex.GetQuoteRequests()) != 1 {
			t.Errorf("worker's expired list = %d; want 1", len(ex.GetQuoteRequests()))
		}

		// The filters the API documents: by client, offering and requester,
		// with AND; a provider may not filter by client.
		if _, err := ask(aino, coach.GetName(), &cataloguev1.QuoteRequest{Client: "clients/c2", NeedDescription: "toisen asiakkaan tarve"}); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			who    auth.Principal
			filter string
			want   int
		}{
			{aino, "", 3},
			{aino, `client = "clients/c1"`, 2},
			{aino, `client = "clients/c2"`, 1},
			{aino, `client = "clients/c1" AND state = ACCEPTED`, 1},
			{aino, `offering = "` + o.GetName() + `"`, 1},
			{aino, `requester = "w-aino"`, 3},
			{aino, `requester = "w-pekka"`, 0},
			{pekka, `client = "clients/c1"`, 0}, // a worker lists only their own requests
			{staff(coach.GetName()), `offering = "` + o.GetName() + `"`, 1},
		} {
			got, err := e.cc.ListQuoteRequests(e.as(t, tc.who), &cataloguev1.ListQuoteRequestsRequest{Parent: "providers/-", Filter: tc.filter})
			if err != nil || len(got.GetQuoteRequests()) != tc.want {
				t.Errorf("%s filter %q = %d, %v; want %d", tc.who.Subject, tc.filter, len(got.GetQuoteRequests()), err, tc.want)
			}
		}
		for _, tc := range []struct {
			who    auth.Principal
			filter string
		}{
			{staff(coach.GetName()), `client = "clients/c1"`},
			{aino, `client = "c1"`},
			{aino, `offering = "offerings/x"`},
			{aino, `colour = "red"`},
		} {
			_, err := e.cc.ListQuoteRequests(e.as(t, tc.who), &cataloguev1.ListQuoteRequestsRequest{Parent: "providers/-", Filter: tc.filter})
			wantCode(t, "filter "+tc.filter, err, codes.InvalidArgument)
		}
		// Lapse: quoted, not accepted by the end of valid_until (Helsinki).
		q3, _ := ask(aino, coach.GetName(), need())
		q3q, err := e.cc.SubmitQuote(e.as(t, staff(coach.GetName())), &cataloguev1.SubmitQuoteRequest{Name: q3.GetName(), Quote: &cataloguev1.Quote{Description: "x", Unit: 1, Quantity: 2, UnitAmountCents: 100, ValidUntil: &date.Date{Year: 2026, Month: 3, Day: 5}}})
		if err != nil {
			t.Fatal(err)
		}
		advance(3 * 24 * time.Hour) // 2026-03-07 09:00 UTC: past the end of 5 March
		_, err = e.cc.AcceptQuoteRequest(e.as(t, aino), &cataloguev1.AcceptQuoteRequestRequest{Name: q3.GetName(), Etag: q3q.GetEtag()})
		wantCode(t, "accept a lapsed quote", err, codes.FailedPrecondition)
		g3, _ := e.cc.GetQuoteRequest(e.as(t, staff(coach.GetName())), &cataloguev1.GetQuoteRequestRequest{Name: q3.GetName()})
		if g3.GetState() != cataloguev1.QuoteRequest_LAPSED {
			t.Errorf("after valid_until: %v; want LAPSED", g3.GetState())
		}
		// Decline and cancel.
		q4, _ := ask(aino, coach.GetName(), need())
		_, err = e.cc.DeclineQuoteRequest(e.as(t, staff(coach.GetName())), &cataloguev1.DeclineQuoteRequestRequest{Name: q4.GetName()})
		wantCode(t, "decline without reason", err, codes.InvalidArgument)
		d4, err := e.cc.DeclineQuoteRequest(e.as(t, staff(coach.GetName())), &cataloguev1.DeclineQuoteRequestRequest{Name: q4.GetName(), Reason: "no capacity"})
		if err != nil || d4.GetState() != cataloguev1.QuoteRequest_DECLINED || d4.GetDeclineReason() != "no capacity" {
			t.Errorf("Decline = %v, %v", d4, err)
		}
		q5, _ := ask(aino, coach.GetName(), need())
		c5, err := e.cc.CancelQuoteRequest(e.as(t, aino), &cataloguev1.CancelQuoteRequestRequest{Name: q5.GetName(), Reason: "family chose another"})
		if err != nil || c5.GetState() != cataloguev1.QuoteRequest_CANCELLED {
			t.Errorf("Cancel = %v, %v", c5, err)
		}
		// Suspended providers get no new requests.
		_, _ = e.cc.SuspendProvider(e.as(t, op), &cataloguev1.SuspendProviderRequest{Name: other.GetName(), Reason: "audit"})
		_, err = ask(aino, other.GetName(), &cataloguev1.QuoteRequest{Client: "clients/c1", NeedDescription: "x"})
		wantCode(t, "ask a suspended provider", err, codes.FailedPrecondition)
	})
}

func TestSuspendCancelsOpenQuoteRequests(t *testing.T) {
	stores(t, func(t *testing.T, st store.Store) {
		e := start(t, st)
		p := activeProvider(t, e, assoc("A ry", "0211675-2"))
		q, err := e.cc.CreateQuoteRequest(e.as(t, aino), &cataloguev1.CreateQuoteRequestRequest{Parent: p.GetName(), QuoteRequest: &cataloguev1.QuoteRequest{Client: "clients/c1", NeedDescription: "x"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.cc.SuspendProvider(e.as(t, op), &cataloguev1.SuspendProviderRequest{Name: p.GetName(), Reason: "audit"}); err != nil {
			t.Fatal(err)
		}
		g, err := e.cc.GetQuoteRequest(e.as(t, aino), &cataloguev1.GetQuoteRequestRequest{Name: q.GetName()})
		if err != nil || g.GetState() != cataloguev1.QuoteRequest_CANCELLED {
			t.Errorf("after suspension: %v, %v; want CANCELLED", g.GetState(), err)
		}
	})
}
