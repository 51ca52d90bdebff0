package grpcapi

import (
	"context"
	"strings"
	"time"

	cataloguev1 "github.com/polku-hb/polku/proto/gen/go/polku/catalogue/v1"
	"github.com/polku-hb/polku/services/catalogue/internal/catalogue"
)

func credentialOut(c *catalogue.Credential, secret string) *cataloguev1.ProviderCredential {
	return &cataloguev1.ProviderCredential{
		Name: "providers/" + c.ProviderID + "/credentials/" + c.ID, DisplayName: c.DisplayName, ClientId: c.ClientID, ClientSecret: secret,
		ExpireTime: ts(c.ExpireTime), State: cataloguev1.ProviderCredential_State(c.State), IssuedBy: c.IssuedBy,
		CreateTime: ts(c.CreateTime), RevokeTime: ts(c.RevokeTime),
	}
}

func (s *Server) CreateProviderCredential(ctx context.Context, req *cataloguev1.CreateProviderCredentialRequest) (*cataloguev1.ProviderCredential, error) {
	pid, err := providerID(req.GetParent(), "parent", false)
	if err != nil {
		return nil, err
	}
	var expire time.Time
	if e := req.GetProviderCredential().GetExpireTime(); e != nil {
		expire = e.AsTime()
	}
	c, secret, err := s.app.CreateCredential(ctx, pid, req.GetProviderCredential().GetDisplayName(), expire, req.GetRequestId())
	if err != nil {
		return nil, s.toStatus(ctx, req.GetParent(), err)
	}
	return credentialOut(c, secret), nil
}

func (s *Server) ListProviderCredentials(ctx context.Context, req *cataloguev1.ListProviderCredentialsRequest) (*cataloguev1.ListProviderCredentialsResponse, error) {
	pid, err := providerID(req.GetParent(), "parent", false)
	if err != nil {
		return nil, err
	}
	if req.GetFilter() != "" {
		return nil, invalid("filter", "is not supported yet")
	}
	if o := req.GetOrderBy(); o != "" && o != "create_time desc" {
		return nil, invalid("order_by", "only create_time desc is supported")
	}
	query := req.GetParent() + "/credentials"
	after, n, err := page(req.GetPageSize(), req.GetPageToken(), query)
	if err != nil {
		return nil, s.toStatus(ctx, req.GetParent(), err)
	}
	list, next, err := s.app.ListCredentials(ctx, pid, after, n)
	if err != nil {
		return nil, s.toStatus(ctx, req.GetParent(), err)
	}
	out := &cataloguev1.ListProviderCredentialsResponse{NextPageToken: nextToken(next, query)}
	for i := range list {
		out.ProviderCredentials = append(out.ProviderCredentials, credentialOut(&list[i], ""))
	}
	return out, nil
}

func (s *Server) RevokeProviderCredential(ctx context.Context, req *cataloguev1.RevokeProviderCredentialRequest) (*cataloguev1.ProviderCredential, error) {
	parts := strings.Split(req.GetName(), "/")
	if len(parts) != 4 || parts[0] != "providers" || parts[2] != "credentials" || !validID(parts[1]) || !validID(parts[3]) || parts[1] == "-" {
		return nil, invalid("name", "must be providers/{provider}/credentials/{credential}")
	}
	c, err := s.app.RevokeCredential(ctx, parts[1], parts[3], req.GetReason(), req.GetRequestId())
	if err != nil {
		return nil, s.toStatus(ctx, req.GetName(), err)
	}
	return credentialOut(c, ""), nil
}

func (s *Server) ExchangeProviderCredential(ctx context.Context, req *cataloguev1.ExchangeProviderCredentialRequest) (*cataloguev1.ExchangeProviderCredentialResponse, error) {
	if req.GetClientId() == "" || req.GetClientSecret() == "" {
		return nil, invalid("client_id", "client_id and client_secret are required")
	}
	tok, ttl, err := s.app.ExchangeCredential(ctx, req.GetClientId(), req.GetClientSecret())
	if err != nil {
		return nil, s.toStatus(ctx, "the credential", err)
	}
	return &cataloguev1.ExchangeProviderCredentialResponse{AccessToken: tok, ExpiresIn: int64(ttl / time.Second)}, nil
}
