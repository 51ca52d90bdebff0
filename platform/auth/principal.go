package auth

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
)

// Role is what a caller is in Polku. Every token carries exactly one.
type Role string

// The roles. A token with any other role value is rejected.
const (
	// RoleWorker is a welfare region's care or service worker.
	RoleWorker Role = "WORKER"
	// RoleManager is a welfare region's manager or service coordinator.
	RoleManager Role = "MANAGER"
	// RoleProvider is a service provider's user, bound to one provider.
	RoleProvider Role = "PROVIDER"
	// RoleClient is a client acting for themselves.
	RoleClient Role = "CLIENT"
	// RoleAssistant is a relative or other person a client has delegated to.
	RoleAssistant Role = "ASSISTANT"
	// RoleOperator runs the platform (support, operations); no client data by role alone.
	RoleOperator Role = "OPERATOR"
	// RoleService is a Polku service calling another with its own identity
	// (a background worker, a scheduled job), not on behalf of a user.
	RoleService Role = "SERVICE"
)

// Roles lists every known role.
var Roles = []Role{RoleWorker, RoleManager, RoleProvider, RoleClient, RoleAssistant, RoleOperator, RoleService}

// ErrUnknownRole is returned by ParseRole for a value that names no role.
var ErrUnknownRole = errors.New("unknown role")

// ErrInvalidPrincipal is wrapped by every Principal.Validate error.
var ErrInvalidPrincipal = errors.New("invalid principal")

// ParseRole returns the Role spelled exactly s (upper case, as in tokens).
func ParseRole(s string) (Role, error) {
	r := Role(s)
	if slices.Contains(Roles, r) {
		return r, nil
	}
	return "", ErrUnknownRole
}

// String returns the role's token spelling.
func (r Role) String() string { return string(r) }

// Principal is the verified caller of a request.
type Principal struct {
	// Subject is the caller's opaque user id from the identity provider (the
	// token's sub). It is never a personal identity code or a name.
	Subject string
	// Role is what the caller is.
	Role Role
	// Region is the welfare region the caller works for (workers, managers).
	Region string
	// Unit is the caller's organisational unit within the region, if any.
	Unit string
	// ProviderID binds a PROVIDER to the one service provider it acts for.
	ProviderID string
	// ClientID binds a CLIENT to themselves: the Polku client id of the caller.
	ClientID string
	// Clients lists the Polku client ids that have delegated to an ASSISTANT.
	Clients []string
}

// Is reports whether the principal has one of the roles.
func (p Principal) Is(roles ...Role) bool {
	return slices.Contains(roles, p.Role)
}

// ActsFor reports whether the principal may act for the given client by its own
// binding: a CLIENT for itself, an ASSISTANT for a client that delegated to it.
// Other roles (workers, providers) need a relationship check by the service.
func (p Principal) ActsFor(clientID string) bool {
	if clientID == "" {
		return false
	}
	switch p.Role {
	case RoleClient:
		return p.ClientID == clientID
	case RoleAssistant:
		return slices.Contains(p.Clients, clientID)
	}
	return false
}

// hetu matches the shape of a Finnish personal identity code (henkilötunnus),
// which must never be used as a subject.
var hetu = regexp.MustCompile(`^[0-9]{6}[-+A-FU-Y][0-9]{3}[0-9A-Y]$`)

// Validate checks that the principal is complete for its role: every role needs
// a Subject (that is not a personal identity code), a PROVIDER needs a
// ProviderID, a CLIENT a ClientID and an ASSISTANT at least one client. The
// error names the rule, never the values.
func (p Principal) Validate() error {
	if p.Subject == "" {
		return fmt.Errorf("%w: subject is required", ErrInvalidPrincipal)
	}
	if hetu.MatchString(p.Subject) {
		return fmt.Errorf("%w: subject must be an opaque id, not a personal identity code", ErrInvalidPrincipal)
	}
	if _, err := ParseRole(string(p.Role)); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidPrincipal, ErrUnknownRole)
	}
	switch p.Role {
	case RoleProvider:
		if p.ProviderID == "" {
			return fmt.Errorf("%w: role PROVIDER requires provider_id", ErrInvalidPrincipal)
		}
	case RoleClient:
		if p.ClientID == "" {
			return fmt.Errorf("%w: role CLIENT requires polku_client_id", ErrInvalidPrincipal)
		}
	case RoleAssistant:
		if len(p.Clients) == 0 {
			return fmt.Errorf("%w: role ASSISTANT requires at least one entry in clients", ErrInvalidPrincipal)
		}
		if slices.Contains(p.Clients, "") {
			return fmt.Errorf("%w: clients must not contain empty ids", ErrInvalidPrincipal)
		}
	}
	return nil
}

type principalKey struct{}

// NewContext returns a copy of ctx carrying the principal.
func NewContext(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal that the interceptors or the HTTP
// middleware put into ctx, and whether there was one.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	p.Clients = slices.Clone(p.Clients) // callers cannot change the ctx's copy
	return p, ok
}
