package grpcapi

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	clientsv1 "github.com/polku-hb/polku/proto/gen/go/polku/clients/v1"
	"github.com/polku-hb/polku/services/clients/internal/app"
	"github.com/polku-hb/polku/services/clients/internal/client"
)

// fromProto takes the fields a caller may set; output-only fields are ignored.
func fromProto(p *clientsv1.Client) client.Client {
	c := client.Client{
		GivenName:          p.GetGivenName(),
		FamilyName:         p.GetFamilyName(),
		PreferredLanguages: p.GetPreferredLanguages(),
		ContactPreference:  p.GetContactPreference().String(),
		TargetGroup:        p.GetTargetGroup().String(),
		Cohort:             p.GetCohort().String(),
		Region:             p.GetRegion(),
	}
	if cd := p.GetContactDetails(); cd != nil {
		c.Contact = client.Contact{Phone: cd.GetPhone(), Email: cd.GetEmail(), PostalAddress: cd.GetPostalAddress()}
	}
	return c
}

// optTime leaves unset times unset instead of sending 0001-01-01.
func optTime(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func toProto(c *client.Client, version int64) *clientsv1.Client {
	name := "clients/" + c.ID
	p := &clientsv1.Client{
		Name:                       name,
		GivenName:                  c.GivenName,
		FamilyName:                 c.FamilyName,
		PersonalIdentityCodeMasked: c.PICMasked,
		PreferredLanguages:         c.PreferredLanguages,
		ContactPreference:          clientsv1.ContactPreference(clientsv1.ContactPreference_value[c.ContactPreference]),
		ContactDetails:             &clientsv1.ContactDetails{Phone: c.Contact.Phone, Email: c.Contact.Email, PostalAddress: c.Contact.PostalAddress},
		TargetGroup:                clientsv1.TargetGroup(clientsv1.TargetGroup_value[c.TargetGroup]),
		Cohort:                     clientsv1.Cohort(clientsv1.Cohort_value[c.Cohort]),
		Region:                     c.Region,
		CoordinatingWorker:         c.Coordinator,
		State:                      clientsv1.Client_State(clientsv1.Client_State_value[string(c.State)]),
		CloseReason:                c.CloseReason,
		CreateTime:                 timestamppb.New(c.CreateTime),
		UpdateTime:                 timestamppb.New(c.UpdateTime),
		CloseTime:                  optTime(c.CloseTime),
		Etag:                       app.Etag(version),
	}
	for _, a := range c.CoordinatorHistory {
		p.CoordinatorHistory = append(p.CoordinatorHistory, &clientsv1.CoordinatorAssignment{
			Worker: a.Worker, StartTime: timestamppb.New(a.Start), EndTime: optTime(a.End), Reason: a.Reason,
		})
	}
	for _, m := range c.Team {
		p.TeamMembers = append(p.TeamMembers, teamToProto(c.ID, m))
	}
	return p
}

func roleName(r clientsv1.TeamMember_Role) string {
	if r == clientsv1.TeamMember_ROLE_UNSPECIFIED {
		return ""
	}
	return r.String()
}

func teamToProto(clientID string, m client.TeamMember) *clientsv1.TeamMember {
	return &clientsv1.TeamMember{
		Name:        "clients/" + clientID + "/teamMembers/" + m.ID,
		Role:        clientsv1.TeamMember_Role(clientsv1.TeamMember_Role_value[m.Role]),
		Subject:     m.Subject,
		DisplayName: m.DisplayName,
		CreateTime:  timestamppb.New(m.CreateTime),
	}
}

func consentToProto(clientID string, k client.Consent) *clientsv1.Consent {
	st := clientsv1.Consent_GRANTED
	if k.Withdrawn {
		st = clientsv1.Consent_WITHDRAWN
	}
	return &clientsv1.Consent{
		Name:         "clients/" + clientID + "/consents/" + k.ID,
		Category:     clientsv1.DataCategory(clientsv1.DataCategory_value[k.Category]),
		Recipient:    k.Recipient,
		State:        st,
		RecordedBy:   k.RecordedBy,
		GrantTime:    timestamppb.New(k.GrantTime),
		WithdrawTime: optTime(k.WithdrawTime),
	}
}
