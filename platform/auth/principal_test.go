package auth

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestParseRole(t *testing.T) {
	tests := []struct {
		in   string
		want Role
		ok   bool
	}{
		{"WORKER", RoleWorker, true},
		{"MANAGER", RoleManager, true},
		{"PROVIDER", RoleProvider, true},
		{"CLIENT", RoleClient, true},
		{"ASSISTANT", RoleAssistant, true},
		{"OPERATOR", RoleOperator, true},
		{"SERVICE", RoleService, true},
		{"worker", "", false},
		{" WORKER", "", false},
		{"", "", false},
		{"ADMIN", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseRole(tt.in)
			if tt.ok != (err == nil) || got != tt.want {
				t.Fatalf("ParseRole(%q) = %q, %v", tt.in, got, err)
			}
			if !tt.ok && !errors.Is(err, ErrUnknownRole) {
				t.Fatalf("err = %v, want ErrUnknownRole", err)
			}
		})
	}
}

func TestPrincipalValidate(t *testing.T) {
	tests := []struct {
		name string
		p    Principal
		ok   bool
	}{
		{"worker", Principal{Subject: "u1", Role: RoleWorker, Region: "r"}, true},
		{"manager", Principal{Subject: "u1", Role: RoleManager}, true},
		{"operator", Principal{Subject: "u1", Role: RoleOperator}, true},
		{"service", Principal{Subject: "svc-scheduler", Role: RoleService}, true},
		{"provider", Principal{Subject: "u1", Role: RoleProvider, ProviderID: "p1"}, true},
		{"client", Principal{Subject: "u1", Role: RoleClient, ClientID: "c1"}, true},
		{"assistant", Principal{Subject: "u1", Role: RoleAssistant, Clients: []string{"c1"}}, true},
		{"no subject", Principal{Role: RoleWorker}, false},
		{"identity code subject", Principal{Subject: "010203A123X", Role: RoleWorker}, false},
		{"no role", Principal{Subject: "u1"}, false},
		{"unknown role", Principal{Subject: "u1", Role: "ROOT"}, false},
		{"provider without id", Principal{Subject: "u1", Role: RoleProvider}, false},
		{"client without id", Principal{Subject: "u1", Role: RoleClient}, false},
		{"assistant without clients", Principal{Subject: "u1", Role: RoleAssistant}, false},
		{"assistant with empty client", Principal{Subject: "u1", Role: RoleAssistant, Clients: []string{"c1", ""}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			if tt.ok != (err == nil) {
				t.Fatalf("Validate() = %v, want ok=%v", err, tt.ok)
			}
			if err != nil {
				if !errors.Is(err, ErrInvalidPrincipal) {
					t.Fatalf("err = %v, want ErrInvalidPrincipal", err)
				}
				if tt.p.Subject != "" && strings.Contains(err.Error(), tt.p.Subject) {
					t.Fatalf("error echoes the subject: %v", err)
				}
			}
		})
	}
}

func TestPrincipalIsAndActsFor(t *testing.T) {
	w := Principal{Subject: "u1", Role: RoleWorker}
	if !w.Is(RoleManager, RoleWorker) || w.Is(RoleManager) || w.Is() {
		t.Fatal("Is is wrong")
	}
	tests := []struct {
		name   string
		p      Principal
		client string
		want   bool
	}{
		{"client self", Principal{Role: RoleClient, ClientID: "c1"}, "c1", true},
		{"client other", Principal{Role: RoleClient, ClientID: "c1"}, "c2", false},
		{"assistant delegated", Principal{Role: RoleAssistant, Clients: []string{"c1", "c2"}}, "c2", true},
		{"assistant not delegated", Principal{Role: RoleAssistant, Clients: []string{"c1"}}, "c3", false},
		{"worker never by binding", Principal{Role: RoleWorker, ClientID: "c1"}, "c1", false},
		{"empty id", Principal{Role: RoleClient}, "", false},
	}
	for _, tt := range tests {
		if got := tt.p.ActsFor(tt.client); got != tt.want {
			t.Errorf("%s: ActsFor = %v", tt.name, got)
		}
	}
}

func TestContext(t *testing.T) {
	if _, ok := FromContext(context.Background()); ok {
		t.Fatal("principal in an empty context")
	}
	p := Principal{Subject: "u1", Role: RoleAssistant, Clients: []string{"c1"}}
	ctx := NewContext(context.Background(), p)
	got, ok := FromContext(ctx)
	if !ok || got.Subject != "u1" || got.Clients[0] != "c1" {
		t.Fatalf("FromContext = %+v, %v", got, ok)
	}
	got.Clients[0] = "c9"
	again, _ := FromContext(ctx)
	if again.Clients[0] != "c1" {
		t.Fatal("changing a returned principal changed the context's")
	}
}
