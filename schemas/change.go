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
	// Lead is the subject as a new_lead webhook shows it, with
	// recent_sessions newest first: Lead.RecentSessions[0] is the session
	// that changed. The leads stage writes only that session here and the
	// other recent sessions, which the change did not touch, as
	// OlderSessions: the subject is complete once those are read from the
	// lead's stored state (leadstore.SessionStore.Complete, which the evaluate
	// stage runs for an automation that fires) and appended in order.
	Lead Lead `json:"lead"`
	// CompanyRef: Lead.Company is by reference, its name and domain only
	// (Company.AppendRefJSON); the rest is the company directory's record
	// of that domain (data.companies), which the leads and evaluate stages
	// both load. ResolveCompany completes it. The company is the same in
	// every change of a lead and was half of a change's bytes; the leads
	// stage writes every change so since 2026-12-04.
	CompanyRef bool `json:"company_ref,omitempty"`
	// OlderSessions are the subject's recent sessions after the first, by
	// reference: what of each can still change (its numbers and the
	// time_spent of its kept pageviews), as it was at this change. Their
	// facts and pageviews never change once written, so the stored state
	// rebuilds them exactly. Empty when Lead.RecentSessions is complete.
	OlderSessions []SessionRef `json:"older_sessions,omitempty"`
}

// SessionRef is a session of a lead's subject by reference (see
// LeadChange.OlderSessions): the parts that change between hits.
type SessionRef struct {
	// Seq is the session's number in its lead: its session key is
	// "LEADID:SEQ", its stored facts and pageviews are named by it.
	Seq int64 `json:"seq"`
	// StartedAt is the session's started_at, in unix microseconds.
	StartedAt int64 `json:"started_at"`
	// TotalDuration is the session's total_duration, in seconds.
	TotalDuration int64 `json:"total_duration"`
	// Pageviews counts every pageview the session had: the subject shows
	// the last len(TimeSpent) of them, numbered Pageviews-len(TimeSpent)
	// .. Pageviews-1.
	Pageviews int64 `json:"pageviews"`
	// TimeSpent is the time_spent of each shown pageview, oldest first, in
	// seconds.
	TimeSpent []int64 `json:"time_spent"`
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

// ResolveCompany completes a company by reference (CompanyRef) from dir,
// the company directory: the subject's company is then dir's record of
// the domain without its phone, as the leads stage would have written it
// whole. A domain dir does not know keeps the name and domain the change
// carries (for a company the directory lacks, the leads stage writes the
// domain as its name). It reports false only for such a domain; a change
// that carries its company whole is left as it is.
func (c *LeadChange) ResolveCompany(dir func(domain string) (Company, bool)) bool {
	if !c.CompanyRef {
		return true
	}
	co, ok := dir(c.Lead.Company.Domain)
	if !ok {
		return false
	}
	co.Phone = nil
	c.Lead.Company, c.CompanyRef = co, false
	return true
}
