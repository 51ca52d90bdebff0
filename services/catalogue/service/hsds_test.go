package service_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/polku-hb/polku/platform/store"
	cataloguev1 "github.com/polku-hb/polku/proto/gen/go/polku/catalogue/v1"
)

// hsdsSchema is the HSDS 3.0 compiled service schema shipped with the project.
const hsdsSchema = "../../../../shared/hsds-3.0/service_with_definitions.json"

func compileHSDS(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(hsdsSchema)
	if err != nil {
		t.Skipf("HSDS schema not available: %v", err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("https://polku.fi/hsds/service.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("https://polku.fi/hsds/service.json")
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

func TestExportHSDSValidatesAgainstSchema(t *testing.T) {
	sch := compileHSDS(t)
	stores(t, func(t *testing.T, st store.Store) {
		e := start(t, st)
		ids, err := e.svc.SeedDemo(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		var all []*cataloguev1.ExportHsdsResponse
		req := &cataloguev1.ExportHsdsRequest{Parent: "providers/-", PageSize: 3, LanguageCode: "en"}
		for {
			r, err := e.cc.ExportHsds(e.as(t, aino), req)
			if err != nil {
				t.Fatalf("ExportHsds: %v", err)
			}
			all = append(all, r)
			if r.GetNextPageToken() == "" {
				break
			}
			req.PageToken = r.GetNextPageToken()
		}
		n := 0
		seen := map[string]bool{}
		for _, r := range all {
			if r.GetHsdsVersion() != "3.0" || r.GetTotalSize() != 8 {
				t.Errorf("page version %q total %d; want 3.0 and 8", r.GetHsdsVersion(), r.GetTotalSize())
			}
			for _, svc := range r.GetServices() {
				n++
				b, _ := protojson.Marshal(svc)
				v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
				if err != nil {
					t.Fatal(err)
				}
				if err := sch.Validate(v); err != nil {
					t.Errorf("service %s does not validate: %v", svc.GetFields()["name"].GetStringValue(), err)
				}
				id := svc.GetFields()["id"].GetStringValue()
				if seen[id] {
					t.Errorf("service id %s exported twice", id)
				}
				seen[id] = true
			}
		}
		if n != 8 {
			t.Errorf("exported %d services; want 8", n)
		}
		// One provider, with its business ID and prices.
		r, err := e.cc.ExportHsds(e.as(t, aino), &cataloguev1.ExportHsdsRequest{Parent: "providers/" + ids["neurocoach"]})
		if err != nil || len(r.GetServices()) != 1 {
			t.Fatalf("provider export = %v, %v", r, err)
		}
		svc := r.GetServices()[0].AsMap()
		org := svc["organization"].(map[string]any)
		idents := org["organization_identifiers"].([]any)
		if idents[0].(map[string]any)["identifier"] != "2345671-3" || idents[0].(map[string]any)["identifier_type"] != "fi-ytunnus" {
			t.Errorf("organization identifiers = %v", idents)
		}
		cost := svc["cost_options"].([]any)[0].(map[string]any)
		if cost["amount"] != 95.0 || cost["currency"] != "EUR" || cost["amount_description"] != "per hour" {
			t.Errorf("cost option = %v; want 95.00 EUR per hour", cost)
		}
		if svc["name"] != "ADHD-valmennus perheille" { // default language fi
			t.Errorf("name = %v", svc["name"])
		}
		again, _ := e.cc.ExportHsds(e.as(t, aino), &cataloguev1.ExportHsdsRequest{Parent: "providers/" + ids["neurocoach"]})
		if again.GetServices()[0].AsMap()["id"] != svc["id"] {
			t.Error("HSDS ids are not stable across exports")
		}
		_, err = e.cc.ExportHsds(e.as(t, aino), &cataloguev1.ExportHsdsRequest{Parent: "providers/-", LanguageCode: "de"})
		wantCode(t, "bad language", err, codes.InvalidArgument)
		m, err := e.cc.ExportHsds(e.as(t, aino), &cataloguev1.ExportHsdsRequest{Parent: "providers/-", Municipalities: []string{"536"}})
		if err != nil || len(m.GetServices()) != 7 {
			t.Errorf("Nokia export = %d services, %v; want 7 (all but the Hervanta volunteers)", len(m.GetServices()), err)
		}
	})
}
