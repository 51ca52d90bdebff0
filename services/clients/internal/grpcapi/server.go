// Package grpcapi is the clients service's gRPC surface: it validates the shape
// of requests, maps protobuf messages to the domain and back, and turns errors
// into statuses. Use cases live in app.
package grpcapi

import (
	"context"
	"log/slog"
	"strings"

	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/polku-hb/polku/platform/apierr"
	"github.com/polku-hb/polku/platform/pagination"
	"github.com/polku-hb/polku/platform/store"
	clientsv1 "github.com/polku-hb/polku/proto/gen/go/polku/clients/v1"
	"github.com/polku-hb/polku/services/clients/internal/app"
	"github.com/polku-hb/polku/services/clients/internal/client"
)

// PurposeHeader is the metadata key (REST: X-Polku-Purpose) stating why client
// data is read; it is written to the client's access log.
const PurposeHeader = "x-polku-purpose"

// Server implements clientsv1.ClientsServiceServer.
type Server struct {
	clientsv1.UnimplementedClientsServiceServer
	app *app.Service
	log *slog.Logger
}

var _ clientsv1.ClientsServiceServer = (*Server)(nil)

// New makes the server.
func New(a *app.Service, log *slog.Logger) *Server { return &Server{app: a, log: log} }

func purpose(ctx context.Context) string {
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get(PurposeHeader); len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// readerLang is the language the caller reads in: Accept-Language straight
// over gRPC, or as the gateway forwards the REST header; default Finnish.
func readerLang(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	for _, k := range []string{"accept-language", "grpcgateway-accept-language"} {
		if v := md.Get(k); len(v) > 0 {
			return client.ParseLang(v[0])
		}
	}
	return client.LangFI
}

// clientID parses `clients/{client}` (field names the request field for errors).
func clientID(name, field string) (string, error) {
	id, ok := strings.CutPrefix(name, "clients/")
	if !ok || id == "" || strings.Contains(id, "/") || len(id) > 64 {
		return "", apierr.Invalid(apierr.Violation{Field: field, Description: "must be clients/{client}"})
	}
	return id, nil
}

// childName parses `clients/{client}/<collection>/{id}`.
func childName(name, collection, field string) (string, string, error) {
	parts := strings.Split(name, "/")
	if len(parts) != 4 || parts[0] != "clients" || parts[1] == "" || parts[2] != collection || parts[3] == "" {
		return "", "", apierr.Invalid(apierr.Violation{Field: field, Description: "must be clients/{client}/" + collection + "/{id}"})
	}
	return parts[1], parts[3], nil
}

func page(size int32, token, query string) (store.IndexEntry, int, error) {
	n, err := pagination.Size(size)
	if err != nil {
		return store.IndexEntry{}, 0, err
	}
	after, err := pagination.Decode(token, query)
	return after, n, err
}

func nextToken(next store.IndexEntry, query string) string {
	if next.ID == "" {
		return ""
	}
	return pagination.Encode(next, query)
}

// CreateClient registers a client.
func (s *Server) CreateClient(ctx context.Context, req *clientsv1.CreateClientRequest) (*clientsv1.Client, error) {
	if req.GetClient() == nil {
		return nil, apierr.Invalid(apierr.Violation{Field: "client", Description: "is required"})
	}
	c, ver, err := s.app.Create(ctx, app.CreateInput{
		Profile:     fromProto(req.GetClient()),
		PIC:         req.GetClient().GetPersonalIdentityCode(),
		Coordinator: req.GetCoordinatingWorker(),
		RequestID:   req.GetRequestId(),
	})
	if err != nil {
		return nil, s.toStatus(ctx, "clients", err)
	}
	return toProto(c, ver), nil
}

// GetClient reads a client.
func (s *Server) GetClient(ctx context.Context, req *clientsv1.GetClientRequest) (*clientsv1.Client, error) {
	id, err := clientID(req.GetName(), "name")
	if err != nil {
		return nil, err
	}
	c, ver, err := s.app.Get(ctx, id, purpose(ctx))
	if err != nil {
		return nil, s.toStatus(ctx, req.GetName(), err)
	}
	return toProto(c, ver), nil
}

// ListClients lists the clients the caller may see.
func (s *Server) ListClients(ctx context.Context, req *clientsv1.ListClientsRequest) (*clientsv1.ListClientsResponse, error) {
	if ob := strings.TrimSpace(req.GetOrderBy()); ob != "" && ob != "create_time desc" {
		return nil, apierr.Invalid(apierr.Violation{Field: "order_by", Description: `only "create_time desc" is supported`})
	}
	query := "filter:" + req.GetFilter()
	after, n, err := page(req.GetPageSize(), req.GetPageToken(), query)
	if err != nil {
		return nil, s.toStatus(ctx, "clients", err)
	}
	list, next, err := s.app.List(ctx, req.GetFilter(), purpose(ctx), after, n)
	if err != nil {
		return nil, s.toStatus(ctx, "clients", err)
	}
	resp := &clientsv1.ListClientsResponse{NextPageToken: nextToken(next, query)}
	for _, l := range list {
		resp.Clients = append(resp.Clients, toProto(l.Client, l.Version))
	}
	return resp, nil
}

// UpdateClient changes a client's own data.
func (s *Server) UpdateClient(ctx context.Context, req *clientsv1.UpdateClientRequest) (*clientsv1.Client, error) {
	id, err := clientID(req.GetClient().GetName(), "client.name")
	if err != nil {
		return nil, err
	}
	var paths []string
	if req.GetUpdateMask() != nil {
		paths = req.GetUpdateMask().GetPaths()
	}
	c, ver, err := s.app.Update(ctx, id, req.GetClient().GetEtag(), fromProto(req.GetClient()), paths)
	if err != nil {
		return nil, s.toStatus(ctx, req.GetClient().GetName(), err)
	}
	return toProto(c, ver), nil
}

// CloseClient closes a service path.
func (s *Server) CloseClient(ctx context.Context, req *clientsv1.CloseClientRequest) (*clientsv1.Client, error) {
	id, err := clientID(req.GetName(), "name")
	if err != nil {
		return nil, err
	}
	c, ver, err := s.app.Close(ctx, id, req.GetReason(), req.GetEtag(), req.GetRequestId())
	if err != nil {
		return nil, s.toStatus(ctx, req.GetName(), err)
	}
	return toProto(c, ver), nil
}

// AssignCoordinatingWorker hands the client over to another worker.
func (s *Server) AssignCoordinatingWorker(ctx context.Context, req *clientsv1.AssignCoordinatingWorkerRequest) (*clientsv1.Client, error) {
	id, err := clientID(req.GetName(), "name")
	if err != nil {
		return nil, err
	}
	c, ver, err := s.app.AssignCoordinator(ctx, id, req.GetWorker(), req.GetReason(), req.GetEtag(), req.GetRequestId())
	if err != nil {
		return nil, s.toStatus(ctx, req.GetName(), err)
	}
	return toProto(c, ver), nil
}

// CreateTeamMember adds a team member.
func (s *Server) CreateTeamMember(ctx context.Context, req *clientsv1.CreateTeamMemberRequest) (*clientsv1.TeamMember, error) {
	id, err := clientID(req.GetParent(), "parent")
	if err != nil {
		return nil, err
	}
	tm := req.GetTeamMember()
	if tm == nil {
		return nil, apierr.Invalid(apierr.Violation{Field: "team_member", Description: "is required"})
	}
	m, err := s.app.AddTeamMember(ctx, id, client.TeamMember{
		Role: roleName(tm.GetRole()), Subject: tm.GetSubject(), DisplayName: tm.GetDisplayName(),
	}, req.GetRequestId())
	if err != nil {
		return nil, s.toStatus(ctx, req.GetParent(), err)
	}
	return teamToProto(id, m), nil
}

// ListTeamMembers lists the team (one page: a team is small).
func (s *Server) ListTeamMembers(ctx context.Context, req *clientsv1.ListTeamMembersRequest) (*clientsv1.ListTeamMembersResponse, error) {
	id, err := clientID(req.GetParent(), "parent")
	if err != nil {
		return nil, err
	}
	team, err := s.app.Team(ctx, id, purpose(ctx))
	if err != nil {
		return nil, s.toStatus(ctx, req.GetParent(), err)
	}
	resp := &clientsv1.ListTeamMembersResponse{}
	for _, m := range team {
		resp.TeamMembers = append(resp.TeamMembers, teamToProto(id, m))
	}
	return resp, nil
}

// DeleteTeamMember removes a team member.
func (s *Server) DeleteTeamMember(ctx context.Context, req *clientsv1.DeleteTeamMemberRequest) (*clientsv1.DeleteTeamMemberResponse, error) {
	id, member, err := childName(req.GetName(), "teamMembers", "name")
	if err != nil {
		return nil, err
	}
	if err := s.app.RemoveTeamMember(ctx, id, member, req.GetRequestId()); err != nil {
		return nil, s.toStatus(ctx, req.GetName(), err)
	}
	return &clientsv1.DeleteTeamMemberResponse{}, nil
}

// CreateConsent records a consent.
func (s *Server) CreateConsent(ctx context.Context, req *clientsv1.CreateConsentRequest) (*clientsv1.Consent, error) {
	id, err := clientID(req.GetParent(), "parent")
	if err != nil {
		return nil, err
	}
	k := req.GetConsent()
	if k == nil {
		return nil, apierr.Invalid(apierr.Violation{Field: "consent", Description: "is required"})
	}
	got, err := s.app.Grant(ctx, id, client.Consent{Category: k.GetCategory().String(), Recipient: k.GetRecipient()}, req.GetRequestId())
	if err != nil {
		return nil, s.toStatus(ctx, req.GetParent(), err)
	}
	return consentToProto(id, got), nil
}

// ListConsents lists the consents (one page: they are few).
func (s *Server) ListConsents(ctx context.Context, req *clientsv1.ListConsentsRequest) (*clientsv1.ListConsentsResponse, error) {
	id, err := clientID(req.GetParent(), "parent")
	if err != nil {
		return nil, err
	}
	ks, err := s.app.Consents(ctx, id, purpose(ctx))
	if err != nil {
		return nil, s.toStatus(ctx, req.GetParent(), err)
	}
	resp := &clientsv1.ListConsentsResponse{}
	for i := len(ks) - 1; i >= 0; i-- { // newest first
		resp.Consents = append(resp.Consents, consentToProto(id, ks[i]))
	}
	return resp, nil
}

// WithdrawConsent withdraws a consent.
func (s *Server) WithdrawConsent(ctx context.Context, req *clientsv1.WithdrawConsentRequest) (*clientsv1.Consent, error) {
	id, consent, err := childName(req.GetName(), "consents", "name")
	if err != nil {
		return nil, err
	}
	got, err := s.app.Withdraw(ctx, id, consent, req.GetRequestId())
	if err != nil {
		return nil, s.toStatus(ctx, req.GetName(), err)
	}
	return consentToProto(id, got), nil
}

// ResolveDisclosure answers what may be disclosed to a recipient.
func (s *Server) ResolveDisclosure(ctx context.Context, req *clientsv1.ResolveDisclosureRequest) (*clientsv1.ResolveDisclosureResponse, error) {
	id, err := clientID(req.GetName(), "name")
	if err != nil {
		return nil, err
	}
	d, err := s.app.ResolveDisclosure(ctx, id, req.GetRecipient(), purpose(ctx))
	if err != nil {
		return nil, s.toStatus(ctx, req.GetName(), err)
	}
	resp := &clientsv1.ResolveDisclosureResponse{
		PreferredLanguages: d.Languages,
		ContactPreference:  clientsv1.ContactPreference(clientsv1.ContactPreference_value[d.ContactPreference]),
		CoordinatingWorker: d.CoordinatingWorker,
	}
	for _, c := range d.Categories {
		resp.AllowedCategories = append(resp.AllowedCategories, clientsv1.DataCategory(clientsv1.DataCategory_value[c]))
	}
	if d.Contact != nil {
		resp.ContactDetails = &clientsv1.ContactDetails{Phone: d.Contact.Phone, Email: d.Contact.Email, PostalAddress: d.Contact.PostalAddress}
	}
	return resp, nil
}

// ListAccessLogEntries lists the access log.
func (s *Server) ListAccessLogEntries(ctx context.Context, req *clientsv1.ListAccessLogEntriesRequest) (*clientsv1.ListAccessLogEntriesResponse, error) {
	id, err := clientID(req.GetParent(), "parent")
	if err != nil {
		return nil, err
	}
	after, n, err := page(req.GetPageSize(), req.GetPageToken(), req.GetParent())
	if err != nil {
		return nil, s.toStatus(ctx, req.GetParent(), err)
	}
	entries, next, err := s.app.AccessLog(ctx, id, after, n)
	if err != nil {
		return nil, s.toStatus(ctx, req.GetParent(), err)
	}
	resp := &clientsv1.ListAccessLogEntriesResponse{NextPageToken: nextToken(next, req.GetParent())}
	for _, e := range entries {
		resp.AccessLogEntries = append(resp.AccessLogEntries, &clientsv1.AccessLogEntry{
			Name:             req.GetParent() + "/accessLogEntries/" + e.ID,
			Accessor:         e.Accessor,
			AccessorRole:     e.Role,
			AccessorProvider: providerName(e.Provider),
			Purpose:          e.Purpose,
			Action:           e.Action,
			AccessTime:       timestamppb.New(e.Time),
		})
	}
	return resp, nil
}

// ListTimelineEvents lists the service-path timeline.
func (s *Server) ListTimelineEvents(ctx context.Context, req *clientsv1.ListTimelineEventsRequest) (*clientsv1.ListTimelineEventsResponse, error) {
	id, err := clientID(req.GetParent(), "parent")
	if err != nil {
		return nil, err
	}
	after, n, err := page(req.GetPageSize(), req.GetPageToken(), req.GetParent())
	if err != nil {
		return nil, s.toStatus(ctx, req.GetParent(), err)
	}
	entries, next, err := s.app.Timeline(ctx, id, purpose(ctx), after, n)
	if err != nil {
		return nil, s.toStatus(ctx, req.GetParent(), err)
	}
	resp := &clientsv1.ListTimelineEventsResponse{NextPageToken: nextToken(next, req.GetParent())}
	lang := readerLang(ctx)
	for _, e := range entries {
		resp.TimelineEvents = append(resp.TimelineEvents, &clientsv1.TimelineEvent{
			Name:      req.GetParent() + "/timelineEvents/" + e.ID,
			Type:      e.Type,
			Source:    e.Source,
			Subject:   e.Subject,
			Summary:   client.Summarize(e.Type, lang),
			ActorRole: e.ActorRole,
			EventTime: timestamppb.New(e.Time),
		})
	}
	return resp, nil
}

func providerName(id string) string {
	if id == "" {
		return ""
	}
	return "providers/" + id
}
