package service_test

import (
	"sync"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/polku-hb/polku/platform/store"
	assessmentv1 "github.com/polku-hb/polku/proto/gen/go/polku/assessment/v1"
)

// Two editors with the same etag: exactly one wins, the other is ABORTED.
func TestConcurrentEditsOneWins(t *testing.T) {
	stores(t, func(t *testing.T, cs, st store.Store) {
		e := start(t, cs, st)
		_, rev := e.draft(t, aino, 1)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = e.ac.UpdatePlanRevision(e.as(t, aino), &assessmentv1.UpdatePlanRevisionRequest{
					PlanRevision: content(rev.GetName(), rev.GetEtag(), int32(i+1)), UpdateMask: contentMask})
			}()
		}
		wg.Wait()
		ok, aborted := 0, 0
		for _, err := range errs {
			switch status.Code(err) {
			case codes.OK:
				ok++
			case codes.Aborted:
				aborted++
			default:
				t.Errorf("concurrent edit: %v", err)
			}
		}
		if ok != 1 || aborted != 1 {
			t.Errorf("concurrent edits: %d won, %d aborted; want 1 and 1", ok, aborted)
		}
	})
}

func TestListPages(t *testing.T) {
	stores(t, func(t *testing.T, cs, st store.Store) {
		e := start(t, cs, st)
		ctx := e.as(t, aino)
		var made []string
		for range 3 {
			a, err := e.ac.CreateAssessment(ctx, &assessmentv1.CreateAssessmentRequest{Parent: e.parent, Assessment: baseline()})
			if err != nil {
				t.Fatal(err)
			}
			made = append(made, a.GetName())
		}
		var got []string
		token := ""
		for range 5 {
			resp, err := e.ac.ListAssessments(ctx, &assessmentv1.ListAssessmentsRequest{Parent: e.parent, PageSize: 2, PageToken: token})
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range resp.GetAssessments() {
				got = append(got, a.GetName())
			}
			if token = resp.GetNextPageToken(); token == "" {
				break
			}
		}
		if len(got) != 3 || got[0] != made[2] || got[2] != made[0] {
			t.Errorf("pages = %v; want %v newest first", got, made)
		}
		_, err := e.ac.ListAssessments(ctx, &assessmentv1.ListAssessmentsRequest{Parent: e.parent, PageToken: "bogus"})
		wantCode(t, "bad page token", err, codes.InvalidArgument)
		_, err = e.ac.ListAssessments(ctx, &assessmentv1.ListAssessmentsRequest{Parent: e.parent, Filter: "kind = INITIAL"})
		wantCode(t, "unsupported filter", err, codes.InvalidArgument)
		_, err = e.ac.ListPlans(ctx, &assessmentv1.ListPlansRequest{Parent: e.parent, OrderBy: "title"})
		wantCode(t, "unsupported order_by", err, codes.InvalidArgument)
	})
}
