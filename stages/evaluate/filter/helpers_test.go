package filter

import (
	"testing"
	"time"

	"github.com/leadflow/leadflow/schemas"
)

// guideChange is the guide's new_lead sample (Netcontrol Group, one session
// with one pageview) as a lead change, with lifetime stats and the landing
// page's UTM parameters set.
func guideChange() *schemas.LeadChange {
	return &schemas.LeadChange{
		Kind:        schemas.ChangeNewLead,
		WorkspaceID: "ws_123",
		LeadKey:     schemas.LeadKey("ws_123", "netcontrol.com"),
		SessionKey:  "s_9f1c.1",
		EventID:     "0b7c6f0e-9a4e-4c1e-8f55-5d2b1c9e7a01",
		EventTime:   schemas.GuideHitTime(),
		Stats:       schemas.LeadStats{Sessions: 3, Pageviews: 12, TotalDuration: 420},
		Session: schemas.SessionFacts{
			UTMSource: "google", UTMMedium: "cpc", UTMCampaign: "20933837881",
			UTMTerm: "leadforensics", UTMContent: "158349409355",
		},
		Lead: schemas.GuideNetcontrolLead(),
	}
}

// fullChange is guideChange with the guide's null values filled in, so that
// every field has a value.
func fullChange() *schemas.LeadChange {
	ch := guideChange()
	c := &ch.Lead.Company
	c.AnnualRevenue = new(float64(7867000))
	c.TotalFunding = new(float64(2500000))
	c.Profiles.Facebook = schemas.Profile{Handle: new("netcontrolgroup"), URL: new("https://facebook.com/netcontrolgroup")}
	c.Profiles.Instagram = schemas.Profile{Handle: new("netcontrol.group"), URL: new("https://instagram.com/netcontrol.group")}
	c.Profiles.YouTube = schemas.Profile{Handle: new("NetcontrolTV"), URL: new("https://youtube.com/@NetcontrolTV")}
	return ch
}

// bareChange has no company values, no session and no UTM parameters:
// every nullable field is missing.
func bareChange() *schemas.LeadChange { return &schemas.LeadChange{Kind: schemas.ChangeNewLead} }

// noPageviewsChange is guideChange whose session has no pageviews.
func noPageviewsChange() *schemas.LeadChange {
	ch := guideChange()
	ch.Lead.RecentSessions[0].Pageviews = nil
	return ch
}

// browsingChange is guideChange whose triggering session went on to the
// pricing and careers pages, with an older session (that must be ignored)
// that visited the blog.
func browsingChange() *schemas.LeadChange {
	ch := guideChange()
	s := &ch.Lead.RecentSessions[0]
	at := schemas.GuideHitTime()
	for i, p := range []string{"/pricing", "/careers/senior-engineer?ref=nav", "/Contact"} {
		s.Pageviews = append(s.Pageviews, schemas.Pageview{
			URL: "https://www.snitcher.com" + p, Host: "www.snitcher.com", Path: p, TimeSpent: 20,
			VisitedAt: schemas.NewSessionTime(at.Add(time.Duration(i+1) * time.Minute)),
		})
	}
	s.TotalDuration += 60
	older := schemas.Session{
		StartedAt: schemas.NewSessionTime(at.Add(-48 * time.Hour)),
		Pageviews: []schemas.Pageview{{URL: "https://blog.snitcher.com/post", Host: "blog.snitcher.com", Path: "/post"}},
	}
	ch.Lead.RecentSessions = append(ch.Lead.RecentSessions, older)
	return ch
}

// mustCompile compiles raw or fails the test.
func mustCompile(tb testing.TB, raw string) *Filter {
	tb.Helper()
	f, err := Compile([]byte(raw))
	if err != nil {
		tb.Fatalf("Compile(%s): %v", raw, err)
	}
	return f
}
