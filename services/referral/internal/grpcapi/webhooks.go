package grpcapi

import (
	"context"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/polku-hb/polku/platform/pagination"
	referralv1 "github.com/polku-hb/polku/proto/gen/go/polku/referral/v1"
	"github.com/polku-hb/polku/services/referral/internal/app"
	"github.com/polku-hb/polku/services/referral/internal/referral"
)

// Render is the app.Renderer: a WebhookEvent as proto JSON.
func Render(v app.View, eventID, eventType string, eventTime time.Time) ([]byte, error) {
	return protojson.Marshal(&referralv1.WebhookEvent{Id: eventID,
		Type:      referralv1.WebhookEventType(referralv1.WebhookEventType_value[eventType]),
		EventTime: timestamppb.New(eventTime), Referral: toProto(v, "fi")})
}

func providerOf(parent string) (string, bool) {
	p, ok := strings.CutPrefix(parent, "providers/")
	return p, ok && p != "" && !strings.Contains(p, "/")
}

// subName splits providers/{p}/{collection}/{id}.
func subName(name, collection string) (string, string, error) {
	rest, ok := strings.CutPrefix(name, "providers/")
	if ok {
		p, id, ok2 := strings.Cut(rest, "/"+collection+"/")
		if ok2 && p != "" && id != "" && !strings.Contains(p, "/") && !strings.Contains(id, "/") {
			return p, id, nil
		}
	}
	return "", "", referral.Violations{{Field: "name", Rule: "must be providers/{provider}/" + collection + "/{id}"}}
}

func subProto(s *referral.Subscription, v int64, secret bool) *referralv1.WebhookSubscription {
	out := &referralv1.WebhookSubscription{Name: "providers/" + s.ProviderID + "/webhookSubscriptions/" + s.ID, Uri: s.URI,
		Description: s.Description, CreateTime: timestamppb.New(s.CreateTime), UpdateTime: timestamppb.New(s.UpdateTime), Etag: app.Etag(v)}
	for _, t := range s.EventTypes {
		out.EventTypes = append(out.EventTypes, referralv1.WebhookEventType(referralv1.WebhookEventType_value[t]))
	}
	if !s.SecretRotateTime.IsZero() {
		out.SecretRotateTime = timestamppb.New(s.SecretRotateTime)
	}
	if secret {
		out.Secret = s.Secret
	}
	return out
}

func deliveryProto(d *referral.Delivery) *referralv1.WebhookDelivery {
	out := &referralv1.WebhookDelivery{Name: "providers/" + d.ProviderID + "/webhookDeliveries/" + d.ID,
		Subscription: "providers/" + d.ProviderID + "/webhookSubscriptions/" + d.Subscription, EventId: d.EventID,
		EventType: referralv1.WebhookEventType(referralv1.WebhookEventType_value[d.EventType]), Referral: app.Name(d.ReferralID),
		State:        referralv1.WebhookDelivery_State(referralv1.WebhookDelivery_State_value[d.State]),
		AttemptCount: int32(d.Attempts), LastStatusCode: int32(d.LastStatusCode), LastError: d.LastError,
		CreateTime: timestamppb.New(d.CreateTime)}
	if !d.LastAttemptTime.IsZero() {
		out.LastAttemptTime = timestamppb.New(d.LastAttemptTime)
	}
	if !d.NextAttemptTime.IsZero() {
		out.NextAttemptTime = timestamppb.New(d.NextAttemptTime)
	}
	return out
}

// CreateWebhookSubscription implements the API.
func (s *Server) CreateWebhookSubscription(ctx context.Context, req *referralv1.CreateWebhookSubscriptionRequest) (*referralv1.WebhookSubscription, error) {
	prov, ok := providerOf(req.GetParent())
	if !ok {
		return nil, s.toStatus(ctx, req.GetParent(), referral.Violations{{Field: "parent", Rule: "must be providers/{provider}"}})
	}
	in := app.SubscriptionInput{URI: req.GetWebhookSubscription().GetUri(), Description: req.GetWebhookSubscription().GetDescription()}
	for _, t := range req.GetWebhookSubscription().GetEventTypes() {
		in.EventTypes = append(in.EventTypes, t.String())
	}
	sub, v, show, err := s.app.CreateSubscription(ctx, prov, in, req.GetRequestId())
	if err != nil {
		return nil, s.toStatus(ctx, req.GetParent(), err)
	}
	return subProto(sub, v, show), nil
}

// GetWebhookSubscription implements the API.
func (s *Server) GetWebhookSubscription(ctx context.Context, req *referralv1.GetWebhookSubscriptionRequest) (*referralv1.WebhookSubscription, error) {
	prov, id, err := subName(req.GetName(), "webhookSubscriptions")
	if err != nil {
		return nil, s.toStatus(ctx, req.GetName(), err)
	}
	sub, v, err := s.app.GetSubscription(ctx, prov, id)
	if err != nil {
		return nil, s.toStatus(ctx, req.GetName(), err)
	}
	return subProto(sub, v, false), nil
}

// ListWebhookSubscriptions implements the API.
func (s *Server) ListWebhookSubscriptions(ctx context.Context, req *referralv1.ListWebhookSubscriptionsRequest) (*referralv1.ListWebhookSubscriptionsResponse, error) {
	if err := unsupportedListOptions("", req.GetOrderBy()); err != nil {
		return nil, s.toStatus(ctx, req.GetParent(), err)
	}
	prov, ok := providerOf(req.GetParent())
	if !ok || req.GetFilter() != "" {
		return nil, s.toStatus(ctx, req.GetParent(), referral.Violations{{Field: "parent", Rule: "must be providers/{provider} (and filter empty)"}})
	}
	size, err := pagination.Size(req.GetPageSize())
	if err != nil {
		return nil, s.toStatus(ctx, req.GetParent(), err)
	}
	after, err := pagination.Decode(req.GetPageToken(), req.GetParent())
	if err != nil {
		return nil, s.toStatus(ctx, req.GetParent(), err)
	}
	subs, next, err := s.app.ListSubscriptions(ctx, prov, after, size)
	if err != nil {
		return nil, s.toStatus(ctx, req.GetParent(), err)
	}
	resp := &referralv1.ListWebhookSubscriptionsResponse{}
	for _, sub := range subs {
		resp.WebhookSubscriptions = append(resp.WebhookSubscriptions, subProto(sub, 0, false))
	}
	if next.ID != "" {
		resp.NextPageToken = pagination.Encode(next, req.GetParent())
	}
	return resp, nil
}

// DeleteWebhookSubscription implements the API.
func (s *Server) DeleteWebhookSubscription(ctx context.Context, req *referralv1.DeleteWebhookSubscriptionRequest) (*referralv1.DeleteWebhookSubscriptionResponse, error) {
	prov, id, err := subName(req.GetName(), "webhookSubscriptions")
	if err != nil {
		return nil, s.toStatus(ctx, req.GetName(), err)
	}
	if err := s.app.DeleteSubscription(ctx, prov, id, req.GetEtag()); err != nil {
		return nil, s.toStatus(ctx, req.GetName(), err)
	}
	return &referralv1.DeleteWebhookSubscriptionResponse{}, nil
}

// UpdateWebhookSubscription implements the API.
func (s *Server) UpdateWebhookSubscription(ctx context.Context, req *referralv1.UpdateWebhookSubscriptionRequest) (*referralv1.WebhookSubscription, error) {
	ws := req.GetWebhookSubscription()
	prov, id, err := subName(ws.GetName(), "webhookSubscriptions")
	if err != nil {
		return nil, s.toStatus(ctx, ws.GetName(), err)
	}
	in := app.SubscriptionInput{URI: ws.GetUri(), Description: ws.GetDescription()}
	for _, t := range ws.GetEventTypes() {
		in.EventTypes = append(in.EventTypes, t.String())
	}
	sub, v, err := s.app.UpdateSubscription(ctx, prov, id, ws.GetEtag(), in, req.GetUpdateMask().GetPaths())
	if err != nil {
		return nil, s.toStatus(ctx, ws.GetName(), err)
	}
	return subProto(sub, v, false), nil
}

// RotateWebhookSubscriptionSecret implements the API.
func (s *Server) RotateWebhookSubscriptionSecret(ctx context.Context, req *referralv1.RotateWebhookSubscriptionSecretRequest) (*referralv1.WebhookSubscription, error) {
	prov, id, err := subName(req.GetName(), "webhookSubscriptions")
	if err != nil {
		return nil, s.toStatus(ctx, req.GetName(), err)
	}
	sub, v, err := s.app.RotateSecret(ctx, prov, id, req.GetEtag())
	if err != nil {
		return nil, s.toStatus(ctx, req.GetName(), err)
	}
	return subProto(sub, v, true), nil
}

// GetWebhookDelivery implements the API.
func (s *Server) GetWebhookDelivery(ctx context.Context, req *referralv1.GetWebhookDeliveryRequest) (*referralv1.WebhookDelivery, error) {
	prov, id, err := subName(req.GetName(), "webhookDeliveries")
	if err != nil {
		return nil, s.toStatus(ctx, req.GetName(), err)
	}
	d, err := s.app.GetDelivery(ctx, prov, id)
	if err != nil {
		return nil, s.toStatus(ctx, req.GetName(), err)
	}
	return deliveryProto(d), nil
}

// ListWebhookDeliveries implements the API (filters are not supported yet).
func (s *Server) ListWebhookDeliveries(ctx context.Context, req *referralv1.ListWebhookDeliveriesRequest) (*referralv1.ListWebhookDeliveriesResponse, error) {
	if err := unsupportedListOptions(req.GetFilter(), req.GetOrderBy()); err != nil {
		return nil, s.toStatus(ctx, req.GetParent(), err)
	}
	prov, ok := providerOf(req.GetParent())
	if !ok {
		return nil, s.toStatus(ctx, req.GetParent(), referral.Violations{{Field: "parent", Rule: "must be providers/{provider}"}})
	}
	size, err := pagination.Size(req.GetPageSize())
	if err != nil {
		return nil, s.toStatus(ctx, req.GetParent(), err)
	}
	after, err := pagination.Decode(req.GetPageToken(), req.GetParent())
	if err != nil {
		return nil, s.toStatus(ctx, req.GetParent(), err)
	}
	ds, next, err := s.app.ListDeliveries(ctx, prov, after, size)
	if err != nil {
		return nil, s.toStatus(ctx, req.GetParent(), err)
	}
	resp := &referralv1.ListWebhookDeliveriesResponse{}
	for _, d := range ds {
		resp.WebhookDeliveries = append(resp.WebhookDeliveries, deliveryProto(d))
	}
	if next.ID != "" {
		resp.NextPageToken = pagination.Encode(next, req.GetParent())
	}
	return resp, nil
}
