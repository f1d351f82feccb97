package schemas

import "time"

// Lead change kinds.
const (
	// ChangeNewLead is the lead's first hit ever.
	ChangeNewLead = "new_lead"
	// ChangeNewSession is the first hit of a new session of an existing lead.
	ChangeNewSession = "new_session"
	// ChangeSessionUpdated is any later hit of a session (a pageview or ping).
	ChangeSessionUpdated = "session_updated"
)

// LeadChange is what the leads stage produces to leadflow.leads.changes,
// keyed by the lead key (workspace|domain), for every hit that changes a
// lead, and what the evaluate stage consumes.
type LeadChange struct {
	// Kind is ChangeNewLead, ChangeNewSession or ChangeSessionUpdated.
	Kind string `json:"kind"`
	// WorkspaceID owns the lead.
	WorkspaceID string `json:"workspace_id"`
	// LeadKey is LeadKey(WorkspaceID, company domain).
	LeadKey string `json:"lead_key"`
	// SessionKey identifies the session instance that changed: unique per
	// session, also when a session_id is reused after the session timed
	// out (then a new session with a new key starts).
	SessionKey string `json:"session_key"`
	// EventID is the raw event that caused the change.
	EventID string `json:"event_id"`
	// EventTime is that raw event's timestamp.
	EventTime time.Time `json:"event_time"`
	// Stats are the lead's totals over its whole history (not only the
	// recent sessions): segment fields lead.sessions_count etc.
	Stats LeadStats `json:"stats"`
	// Session holds facts of the changed session that the subject does
	// not show (UTM parameters of its landing page).
	Session SessionFacts `json:"session"`
	// Lead is the full subject, exactly as a new_lead webhook shows it,
	// with recent_sessions newest first: Lead.RecentSessions[0] is the
	// session that changed.
	Lead Lead `json:"lead"`
}

// LeadStats are a lead's lifetime totals.
type LeadStats struct {
	Sessions      int64 `json:"sessions"`
	Pageviews     int64 `json:"pageviews"`
	TotalDuration int64 `json:"total_duration"`
}

// SessionFacts are facts of a session that its subject does not show.
type SessionFacts struct {
	UTMSource   string `json:"utm_source,omitempty"`
	UTMMedium   string `json:"utm_medium,omitempty"`
	UTMCampaign string `json:"utm_campaign,omitempty"`
	UTMTerm     string `json:"utm_term,omitempty"`
	UTMContent  string `json:"utm_content,omitempty"`
}
