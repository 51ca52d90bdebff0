package app

import (
	"context"
	"errors"
	"strings"

	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/platform/store"
	"github.com/polku-hb/polku/services/clients/internal/client"
	repo "github.com/polku-hb/polku/services/clients/internal/store"
)

// Filter is the parsed ListClients filter: a conjunction of equalities.
type Filter struct {
	State       string
	Coordinator string
	Cohort      string
}

// ParseFilter reads the AIP-160 subset ListClients supports:
// `field = value` terms joined by AND, fields state, coordinating_worker, cohort;
// values bare or in double quotes.
func ParseFilter(s string) (Filter, error) {
	var f Filter
	s = strings.TrimSpace(s)
	if s == "" {
		return f, nil
	}
	for _, term := range strings.Split(s, " AND ") {
		field, value, ok := strings.Cut(term, "=")
		if !ok {
			return f, client.Violations{{Field: "filter", Rule: "terms must be field = value joined by AND"}}
		}
		field, value = strings.TrimSpace(field), strings.Trim(strings.TrimSpace(value), `"`)
		switch field {
		case "state":
			if value != string(client.Active) && value != string(client.Closed) {
				return f, client.Violations{{Field: "filter", Rule: "state must be ACTIVE or CLOSED"}}
			}
			f.State = value
		case "coordinating_worker":
			f.Coordinator = value
		case "cohort":
			f.Cohort = value
		default:
			return f, client.Violations{{Field: "filter", Rule: "filterable fields are state, coordinating_worker and cohort"}}
		}
	}
	return f, nil
}

func (f Filter) match(c *client.Client) bool {
	return (f.State == "" || string(c.State) == f.State) &&
		(f.Coordinator == "" || c.Coordinator == f.Coordinator) &&
		(f.Cohort == "" || c.Cohort == f.Cohort)
}

// Listed is one client of a list page with its version.
type Listed struct {
	Client  *client.Client
	Version int64
}

// maxScanRounds bounds how many index pages one List call reads to fill a page
// through a selective filter; a shorter page with a next token is then returned.
const maxScanRounds = 10

// List returns the clients the caller may see, newest first. Every client
// returned is a read of client data and is logged.
func (s *Service) List(ctx context.Context, filter, purpose string, after store.IndexEntry, limit int) ([]Listed, store.IndexEntry, error) {
	v, p, err := viewer(ctx)
	if err != nil {
		return nil, store.IndexEntry{}, err
	}
	f, err := ParseFilter(filter)
	if err != nil {
		return nil, store.IndexEntry{}, err
	}
	var index string
	switch p.Role {
	case auth.RoleWorker:
		index = "member:" + p.Subject
	case auth.RoleManager:
		index = "region:" + p.Region
	case auth.RoleClient, auth.RoleAssistant:
		return s.listOwn(ctx, v, p, f, purpose)
	default:
		return nil, store.IndexEntry{}, ErrPermission
	}

	var out []Listed
	cursor, exhausted := after, false
	for round := 0; round < maxScanRounds && len(out) < limit && !exhausted; round++ {
		want := limit - len(out)
		entries, err := s.repo.ListIndex(ctx, index, cursor, want)
		if err != nil {
			return nil, store.IndexEntry{}, err
		}
		exhausted = len(entries) < want
		for _, e := range entries {
			cursor = e
			c, ver, err := s.repo.Get(ctx, e.ID)
			if errors.Is(err, repo.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, store.IndexEntry{}, err
			}
			if f.match(c) && c.Allows(v, client.Read) {
				out = append(out, Listed{c, ver})
			}
		}
	}
	if !exhausted {
		// Peek: a full page that ends the index has no next page.
		more, err := s.repo.ListIndex(ctx, index, cursor, 1)
		if err != nil {
			return nil, store.IndexEntry{}, err
		}
		exhausted = len(more) == 0
	}
	if exhausted {
		cursor = store.IndexEntry{}
	}
	return s.logList(ctx, p, out, purpose, cursor)
}

func (s *Service) listOwn(ctx context.Context, v client.Viewer, p auth.Principal, f Filter, purpose string) ([]Listed, store.IndexEntry, error) {
	own := p.Clients
	if p.Role == auth.RoleClient {
		own = []string{p.ClientID}
	}
	var out []Listed
	for _, id := range own {
		c, ver, err := s.repo.Get(ctx, id)
		if errors.Is(err, repo.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, store.IndexEntry{}, err
		}
		if f.match(c) && c.Allows(v, client.Read) {
			out = append(out, Listed{c, ver})
		}
	}
	return s.logList(ctx, p, out, purpose, store.IndexEntry{})
}

func (s *Service) logList(ctx context.Context, p auth.Principal, out []Listed, purpose string, next store.IndexEntry) ([]Listed, store.IndexEntry, error) {
	for _, l := range out {
		if err := s.recordAccess(ctx, p, l.Client.ID, purpose, "ListClients", ""); err != nil {
			return nil, store.IndexEntry{}, err
		}
	}
	return out, next, nil
}
