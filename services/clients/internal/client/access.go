package client

import "slices"

// Viewer is who is asking, as the domain needs to know it.
type Viewer struct {
	Subject  string
	Role     string // WORKER, MANAGER, PROVIDER, CLIENT, ASSISTANT, OPERATOR, SERVICE
	Region   string
	ClientID string   // CLIENT: self
	Clients  []string // ASSISTANT: the clients who delegated to them
}

// Action is something a viewer wants to do with a client record.
type Action int

const (
	// Read the record (and its team and consents).
	Read Action = iota
	// Change the profile, team or coordinating worker, or close the path.
	Manage
	// Record or withdraw the client's consent.
	RecordConsent
	// Resolve what may be disclosed to a recipient (referral sending).
	Disclose
	// Read the access log.
	ReadAccessLog
)

// Allows is the relationship check of the clients service:
//   - a worker acts on clients whose team they are in;
//   - a manager acts on the clients of their region;
//   - a client sees themself (and records their own consents), an assistant the
//     clients who delegated to them;
//   - a Polku service may resolve disclosures (the referral service at send time);
//   - providers and operators see no client records.
func (c *Client) Allows(v Viewer, a Action) bool {
	isSelf := (v.Role == "CLIENT" && v.ClientID == c.ID) ||
		(v.Role == "ASSISTANT" && slices.Contains(v.Clients, c.ID))
	teamWorker := v.Role == "WORKER" && c.InTeam(v.Subject)
	regionManager := v.Role == "MANAGER" && v.Region != "" && v.Region == c.Region
	switch a {
	case Read, ReadAccessLog:
		return teamWorker || regionManager || isSelf
	case Manage:
		return teamWorker || regionManager
	case RecordConsent:
		return teamWorker || isSelf
	case Disclose:
		return teamWorker || v.Role == "SERVICE"
	}
	return false
}

// MayCreate reports whether the viewer may register clients.
func MayCreate(v Viewer) bool { return v.Role == "WORKER" || v.Role == "MANAGER" }
