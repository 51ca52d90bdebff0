package app

import (
	"context"
	"errors"
	"time"

	"github.com/polku-hb/polku/platform/auth"
	"github.com/polku-hb/polku/platform/events"
	"github.com/polku-hb/polku/platform/ids"
	"github.com/polku-hb/polku/platform/store"
	"github.com/polku-hb/polku/services/catalogue/internal/catalogue"
	repo "github.com/polku-hb/polku/services/catalogue/internal/store"
)

// CreateCredential issues an API credential for an ACTIVE provider (operator).
// It returns the secret, the only time it is available. A retry with the same
// request id returns the credential without its secret.
func (s *Service) CreateCredential(ctx context.Context, providerID, displayName string, expire time.Time, requestID string) (*catalogue.Credential, string, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, "", err
	}
	if !p.Is(auth.RoleOperator) {
		return nil, "", ErrPermission
	}
	now := s.now()
	var vs catalogue.Violations
	if err := catalogue.ValidateCredential(displayName, expire, now); err != nil {
		vs = append(vs, err.(catalogue.Violations)...)
	}
	if err := tooLong("request_id", requestID); err != nil {
		vs = append(vs, err.(catalogue.Violations)...)
	}
	if err := vs.Err(); err != nil {
		return nil, "", err
	}
	prov, _, err := s.loadProvider(ctx, providerID)
	if err != nil {
		return nil, "", err
	}
	if prov.State != catalogue.ProviderActive {
		return nil, "", ErrProviderState
	}
	shard := repo.ShardOf(providerID)
	reqKey := ""
	if requestID != "" {
		reqKey = repo.ReqKey("cred-"+providerID, requestID)
		if id, ok, err := s.repo.RequestResult(ctx, shard, reqKey); err != nil {
			return nil, "", err
		} else if ok {
			c, _, err := s.repo.Credential(ctx, providerID, id)
			return c, "", err
		}
	}
	// Drawn in the provider's shard, so the client id alone finds it.
	c, secret := catalogue.NewCredential(ids.NewInShard(shard, repo.Shards), providerID, displayName, p.Subject, expire, now)
	name := "providers/" + providerID + "/credentials/" + c.ID
	ch := &repo.Change{
		ProviderID: providerID, Current: prov, Credential: c, ReqKey: reqKey, Result: c.ID,
		Log:    []catalogue.ChangeLogEntry{s.logEntry(p, providerID, "", name, "CreateProviderCredential", []catalogue.FieldChange{{Field: "state", New: `"ACTIVE"`}})},
		Events: []events.Envelope{s.event(ctx, p, "credential.issued", name, map[string]string{"provider": providerID, "credential": c.ID})},
	}
	if err := s.repo.Commit(ctx, ch); err != nil {
		if errors.Is(err, repo.ErrConflict) {
			return nil, "", ErrBusy
		}
		return nil, "", err
	}
	return c, secret, nil
}

// ListCredentials lists a provider's credentials (the provider and operators).
func (s *Service) ListCredentials(ctx context.Context, providerID string, after store.IndexEntry, limit int) ([]catalogue.Credential, store.IndexEntry, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, store.IndexEntry{}, err
	}
	if !owns(p, providerID) && !p.Is(auth.RoleOperator) {
		return nil, store.IndexEntry{}, ErrPermission
	}
	return s.repo.Credentials(ctx, providerID, after, limit)
}

// RevokeCredential revokes a credential (operator).
func (s *Service) RevokeCredential(ctx context.Context, providerID, id, reason, requestID string) (*catalogue.Credential, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if !p.Is(auth.RoleOperator) {
		return nil, ErrPermission
	}
	if err := catalogue.ValidateReason("reason", reason, false); err != nil {
		return nil, err
	}
	c, ver, err := s.repo.Credential(ctx, providerID, id)
	if errors.Is(err, repo.ErrNotFound) || (err == nil && c.ProviderID != providerID) {
		return nil, ErrNotFound
	} else if err != nil {
		return nil, err
	}
	reqKey := ""
	if requestID != "" {
		reqKey = repo.ReqKey(id, requestID)
		if _, ok, err := s.repo.RequestResult(ctx, repo.ShardOf(providerID), reqKey); err != nil {
			return nil, err
		} else if ok {
			return c, nil
		}
	}
	if err := c.Revoke(reason, s.now()); err != nil {
		return nil, err
	}
	prov, _, err := s.loadProvider(ctx, providerID)
	if err != nil {
		return nil, err
	}
	name := "providers/" + providerID + "/credentials/" + id
	ch := &repo.Change{
		ProviderID: providerID, Current: prov, Credential: c, CredentialVer: ver, ReqKey: reqKey, Result: id,
		Log:    []catalogue.ChangeLogEntry{s.logEntry(p, providerID, "", name, "RevokeProviderCredential", []catalogue.FieldChange{{Field: "state", Old: `"ACTIVE"`, New: `"REVOKED"`}})},
		Events: []events.Envelope{s.event(ctx, p, "credential.revoked", name, map[string]string{"provider": providerID, "credential": id})},
	}
	if err := s.repo.Commit(ctx, ch); errors.Is(err, repo.ErrConflict) {
		return nil, ErrBusy
	} else if err != nil {
		return nil, err
	}
	return c, nil
}
