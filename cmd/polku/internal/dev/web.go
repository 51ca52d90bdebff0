package dev

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/web"
)

// StartWeb serves the web UI on addr in front of the stack's gateway, with a
// sign-in page listing the demo people (their tokens are minted at sign-in
// with the dev key). It returns the UI's URL; the server stops with the stack.
func StartWeb(ctx context.Context, s *Stack, demo Demo, addr string) (string, error) {
	h, err := web.New(ctx, web.Config{GatewayURL: s.GatewayURL, People: demoPeople(s, demo)})
	if err != nil {
		return "", err
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	s.goRun(func() error {
		if err := hs.Serve(lis); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	s.goRun(func() error {
		<-s.ctx.Done()
		sctx, c := context.WithTimeout(context.Background(), 5*time.Second)
		defer c()
		return hs.Shutdown(sctx)
	})
	return "http://" + lis.Addr().String(), nil
}

func demoPeople(s *Stack, demo Demo) []web.Person {
	coach := demo.Providers["neurocoach"]
	people := []struct {
		key, label string
		p          auth.Principal
	}{
		{"aino", "Aino", auth.Principal{Subject: Aino, Role: auth.RoleWorker, Region: DemoRegion, Unit: "family-services"}},
		{"pekka", "Pekka", auth.Principal{Subject: Pekka, Role: auth.RoleWorker, Region: DemoRegion, Unit: "family-services"}},
		{"mikko", "Mikko", auth.Principal{Subject: Mikko, Role: auth.RoleManager, Region: DemoRegion}},
		{"tiina", "Tiina", auth.Principal{Subject: "u-tiina", Role: auth.RoleClient, ClientID: demo.Tiina}},
		{"sanna", "Sanna", auth.Principal{Subject: Sanna, Role: auth.RoleAssistant, Clients: []string{demo.Tiina}}},
		{"coach", "NeuroValmennus Oy", auth.Principal{Subject: CoachStaff, Role: auth.RoleProvider, ProviderID: coach}},
		{"olli", "Olli", auth.Principal{Subject: Olli, Role: auth.RoleOperator}},
	}
	out := make([]web.Person, 0, len(people))
	for _, d := range people {
		p := d.p
		clients := p.Clients
		if p.ClientID != "" {
			clients = []string{p.ClientID}
		}
		out = append(out, web.Person{
			Key: d.key, Label: d.label, Role: string(p.Role), Subject: p.Subject, Region: p.Region,
			ClientIDs: clients, ProviderID: p.ProviderID,
			Token: func() (string, error) { return s.Token(p, 12*time.Hour) },
		})
	}
	return out
}
