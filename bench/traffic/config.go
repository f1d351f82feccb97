package traffic

import (
	"errors"
	"fmt"
	"regexp"
)

// ErrConfig is wrapped by every error about an invalid Config.
var ErrConfig = errors.New("traffic: invalid config")

// Config configures a Generator. The zero value of a field means its
// default; Defaults returns every default filled in.
type Config struct {
	// Seed selects the traffic: the same Seed, RunID and Config give the
	// same events (apart from timestamps, which are the times passed to
	// Next). Any value is valid; 0 is a seed like any other.
	Seed int64
	// RunID is mixed into every id (workspace, visitor, session, event),
	// so that two runs against the same Kafka and Redis never share ids.
	// Lower-case letters and digits, at most 16. Default "" (ids like
	// "ws_1", "s_1f").
	RunID string
	// WorkspaceIDs names the workspaces; when set it overrides Workspaces.
	// Default: Workspaces ids "ws_[RUNID_]N", N from 1.
	WorkspaceIDs []string
	// Workspaces is the number of tracked workspaces (sites). Default 10.
	Workspaces int
	// HotWorkspaceShare is the share of visitors that go to the first
	// workspace (a large customer); the others are spread evenly over all
	// workspaces. Default 0 (all even).
	HotWorkspaceShare float64
	// Companies is how many companies of the data set visitors come from
	// (the first ones in networks.jsonl order, so the guide's Netcontrol
	// and MDX are always among them). Default 0: every company.
	Companies int
	// IdentifiableShare is the share of sessions from a company's business
	// network (those make leads), 0 to 1. Default 0.3.
	IdentifiableShare float64
	// BotShare is the share of sessions from crawlers (user agents naming a
	// bot), 0 to 1; IdentifiableShare + BotShare is at most 1. Default 0.05.
	// Set NoBots to generate none.
	BotShare float64
	// NoBots forces BotShare to 0 (a zero BotShare means the default).
	NoBots bool
	// SessionsPerVisitor is the mean number of sessions of a visitor
	// (returning visitors), at least 1. Default 1.5.
	SessionsPerVisitor float64
	// PageviewsPerSession is the mean number of pageviews of a human
	// session (geometric, at least 1, at most 50). Default 4.
	PageviewsPerSession float64
	// PingShare is the share of a human session's events that are pings,
	// 0 to 0.95. Default 0.5. Set NoPings for none.
	PingShare float64
	// NoPings forces PingShare to 0.
	NoPings bool
	// MalformedShare is the share of events that are deliberately bad
	// input (truncated JSON, a missing or invalid field, an unknown key),
	// 0 to 0.5. Default 0.
	MalformedShare float64
	// ActiveSessions is how many sessions are in flight at once; events of
	// in-flight sessions interleave. Default 1000.
	ActiveSessions int
	// Marker adds lf_sid=SESSION_ID to every pageview URL, so receivers
	// can tell which session a subject is about. Default false.
	Marker bool
	// GuideFirst makes the first company sessions the guide's visits: the
	// Netcontrol pageview of the guide's new_lead sample (198.51.100.x,
	// Safari on Mac, the guide's URL, 14 s), then a visit from MDX
	// Technology (203.0.113.x). Default false.
	GuideFirst bool
	// Track keeps a Ledger of every company session and lead, for
	// correctness checks; it grows with the run (about 24 bytes per company
	// session). Default false.
	Track bool
}

// Defaults returns c with every unset field set to its default.
func (c Config) Defaults() Config {
	if c.Workspaces == 0 {
		c.Workspaces = 10
	}
	if len(c.WorkspaceIDs) > 0 {
		c.Workspaces = len(c.WorkspaceIDs)
	}
	if c.IdentifiableShare == 0 {
		c.IdentifiableShare = 0.3
	}
	if c.BotShare == 0 {
		c.BotShare = 0.05
	}
	if c.NoBots {
		c.BotShare = 0
	}
	if c.SessionsPerVisitor == 0 {
		c.SessionsPerVisitor = 1.5
	}
	if c.PageviewsPerSession == 0 {
		c.PageviewsPerSession = 4
	}
	if c.PingShare == 0 {
		c.PingShare = 0.5
	}
	if c.NoPings {
		c.PingShare = 0
	}
	if c.ActiveSessions == 0 {
		c.ActiveSessions = 1000
	}
	return c
}

var runIDPattern = regexp.MustCompile(`^[a-z0-9]{0,16}$`)

// limit is one checked bound of Validate.
type limit struct {
	name     string
	v        float64
	min, max float64
}

// Validate checks c (after Defaults); the error names the field and its
// allowed range.
func (c Config) Validate() error {
	if !runIDPattern.MatchString(c.RunID) {
		return fmt.Errorf("%w: RunID %q must be at most 16 lower-case letters and digits", ErrConfig, c.RunID)
	}
	for _, id := range c.WorkspaceIDs {
		if id == "" || len(id) > 128 {
			return fmt.Errorf("%w: WorkspaceIDs: %q must be 1 to 128 bytes", ErrConfig, id)
		}
	}
	for _, l := range []limit{
		{"Workspaces", float64(c.Workspaces), 1, 1_000_000},
		{"Companies", float64(c.Companies), 0, 10_000_000},
		{"HotWorkspaceShare", c.HotWorkspaceShare, 0, 0.99},
		{"IdentifiableShare", c.IdentifiableShare, 0, 1},
		{"BotShare", c.BotShare, 0, 1},
		{"IdentifiableShare+BotShare", c.IdentifiableShare + c.BotShare, 0, 1},
		{"SessionsPerVisitor", c.SessionsPerVisitor, 1, 100},
		{"PageviewsPerSession", c.PageviewsPerSession, 1, maxPageviews},
		{"PingShare", c.PingShare, 0, 0.95},
		{"MalformedShare", c.MalformedShare, 0, 0.5},
		{"ActiveSessions", float64(c.ActiveSessions), 1, 10_000_000},
	} {
		if l.v < l.min || l.v > l.max || l.v != l.v {
			return fmt.Errorf("%w: %s is %v, must be %v to %v", ErrConfig, l.name, l.v, l.min, l.max)
		}
	}
	return nil
}
