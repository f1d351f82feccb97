package leads

import (
	"errors"
	"time"

	"github.com/leadflow/leadflow/pipeline"
)

// YAML keys of Config, used by Validate to name the field it rejects.
const (
	keySessionTimeout = "session_timeout"
	keyRecentSessions = "recent_sessions"
	keyMaxSessions    = "max_sessions"
	keyMaxPageviews   = "max_pageviews"
	keyDedupWindow    = "dedup_window"
	keyLeadTTL        = "lead_ttl"
	keyCacheSize      = "cache_size"
	keyCacheMaxAge    = "cache_max_age"
	keyCacheMaxBytes  = "cache_max_bytes"
)

// Config is the leads stage's section of the configuration (`stages.leads`).
// DefaultConfig returns every documented default.
type Config struct {
	// Runtime tunes consuming, batching, bounds and commits. Larger
	// batches mean fewer Redis round trips per hit (two per batch).
	Runtime pipeline.RuntimeConfig `yaml:"runtime"`

	// SessionTimeout ends a session after this long without a hit (in
	// event time: hit timestamps, not the clock); a later hit with the
	// same session_id starts a new session with a new session key.
	// Default 30m.
	SessionTimeout time.Duration `yaml:"session_timeout"`
	// RecentSessions is how many sessions a lead subject shows in
	// recent_sessions, most recently changed first. Default 5.
	RecentSessions int `yaml:"recent_sessions"`
	// MaxSessions bounds the sessions kept per lead: the RecentSessions
	// shown plus older ones that are still open (concurrent visitors of
	// one company), so that a hit of an open session is never taken for a
	// new session. At least RecentSessions. Default 20.
	MaxSessions int `yaml:"max_sessions"`
	// MaxPageviews bounds the pageviews kept per session: the last
	// MaxPageviews are kept and shown (the page that just changed is
	// always in the subject); older ones still count in the session's
	// total_duration and the lead's lifetime counters. Default 50.
	MaxPageviews int `yaml:"max_pageviews"`
	// DedupWindow is how many of a lead's most recently applied event ids
	// are remembered (as 64-bit hashes) to drop duplicate hits that
	// upstream delivers again at a new offset. Default 32.
	DedupWindow int `yaml:"dedup_window"`
	// LeadTTL is how long a lead's state is kept in Redis after its last
	// change; a lead unseen for longer is forgotten and comes back as a
	// new lead with a new id. Default 2160h (90 days).
	LeadTTL time.Duration `yaml:"lead_ttl"`
	// CacheSize bounds the lead states cached in this process, shared
	// evenly by the partitions it owns. A hit of a cached lead needs no
	// Redis read. 0 caches nothing across batches (every batch reads its
	// leads from Redis). Default 100000 (leads).
	CacheSize int `yaml:"cache_size"`
	// CacheMaxBytes bounds the same cache by the estimated heap its lead
	// states hold (sessions, pageviews, their encoded JSON), shared like
	// CacheSize; whichever bound is reached first evicts. A lead keeps up
	// to max_sessions × max_pageviews pageviews, so a count alone does not
	// bound memory. Default 512 MiB.
	CacheMaxBytes int64 `yaml:"cache_max_bytes"`
	// CacheMaxAge is how long a cached lead state may be used without
	// being read from Redis again; it must stay well below LeadTTL so
	// that a state that expired in Redis is never written back partially.
	// Default 24h.
	CacheMaxAge time.Duration `yaml:"cache_max_age"`
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	return Config{
		Runtime:        pipeline.DefaultRuntimeConfig(),
		SessionTimeout: 30 * time.Minute,
		RecentSessions: 5,
		MaxSessions:    20,
		MaxPageviews:   50,
		DedupWindow:    32,
		LeadTTL:        90 * 24 * time.Hour,
		CacheSize:      100000,
		CacheMaxBytes:  512 << 20,
		CacheMaxAge:    24 * time.Hour,
	}
}

// Validate checks c; errors name the field under section (e.g.
// "stages.leads.session_timeout").
func (c Config) Validate(section string) error {
	return errors.Join(c.Runtime.Validate(join(section, "runtime")), pipeline.CheckLimits(section,
		pipeline.DurationLimit(keySessionTimeout, c.SessionTimeout, time.Minute, 24*time.Hour),
		pipeline.IntLimit(keyRecentSessions, c.RecentSessions, 1, 100),
		pipeline.IntLimit(keyMaxSessions, c.MaxSessions, c.RecentSessions, 1000),
		pipeline.IntLimit(keyMaxPageviews, c.MaxPageviews, 1, 1000),
		pipeline.IntLimit(keyDedupWindow, c.DedupWindow, 1, 1024),
		pipeline.DurationLimit(keyLeadTTL, c.LeadTTL, time.Hour, 10*365*24*time.Hour),
		pipeline.IntLimit(keyCacheSize, c.CacheSize, 0, 100_000_000),
		pipeline.IntLimit(keyCacheMaxBytes, c.CacheMaxBytes, 0, 1<<40),
		pipeline.DurationLimit(keyCacheMaxAge, c.CacheMaxAge, time.Second, c.LeadTTL/2),
	))
}

func join(section, field string) string {
	if section == "" {
		return field
	}
	return section + "." + field
}
