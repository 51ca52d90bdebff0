package auth

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
)

func TestRequire(t *testing.T) {
	worker := NewContext(context.Background(), Principal{Subject: "u-secret-1", Role: RoleWorker, Region: "pirkanmaa"})
	tests := []struct {
		name       string
		ctx        context.Context
		roles      []Role
		wantCode   codes.Code
		wantReason string
	}{
		{"no principal", context.Background(), []Role{RoleWorker}, codes.Unauthenticated, "UNAUTHENTICATED"},
		{"no principal, no roles", context.Background(), nil, codes.Unauthenticated, "UNAUTHENTICATED"},
		{"role allowed", worker, []Role{RoleManager, RoleWorker}, codes.OK, ""},
		{"any role", worker, nil, codes.OK, ""},
		{"role not allowed", worker, []Role{RoleManager, RoleOperator}, codes.PermissionDenied, "PERMISSION_DENIED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Require(tt.ctx, tt.roles...)
			if tt.wantCode == codes.OK {
				if err != nil || p.Subject != "u-secret-1" {
					t.Fatalf("Require = %+v, %v", p, err)
				}
				return
			}
			code, msg, ei := errorInfo(t, err)
			if code != tt.wantCode || ei.Reason != tt.wantReason || ei.Domain != "polku.fi" {
				t.Fatalf("got %v %q %+v", code, msg, ei)
			}
			if strings.Contains(msg, "u-secret-1") || strings.Contains(msg, "pirkanmaa") {
				t.Fatalf("message has caller data: %q", msg)
			}
			if tt.wantCode == codes.PermissionDenied && !strings.Contains(msg, "MANAGER, OPERATOR") {
				t.Fatalf("message does not name the rule: %q", msg)
			}
			if p.Subject != "" {
				t.Fatal("denied Require returned the principal")
			}
		})
	}
}

func TestDeny(t *testing.T) {
	tests := []struct{ reason, want string }{
		{"NOT_CLIENTS_REGION", "NOT_CLIENTS_REGION"},
		{"NO_ACTIVE_ORDER", "NO_ACTIVE_ORDER"},
		{"not snake", "PERMISSION_DENIED"},
		{"", "PERMISSION_DENIED"},
		{"CLIENT 010203A123X", "PERMISSION_DENIED"},
	}
	for _, tt := range tests {
		code, msg, ei := errorInfo(t, Deny(tt.reason))
		if code != codes.PermissionDenied || ei.Reason != tt.want || ei.Domain != ErrorDomain {
			t.Errorf("Deny(%q) = %v %+v", tt.reason, code, ei)
		}
		if msg != msgDenied {
			t.Errorf("Deny(%q) message %q", tt.reason, msg)
		}
	}
}
