package enrich

import (
	"errors"
	"time"

	"github.com/leadflow/leadflow/pipeline"
	"github.com/leadflow/leadflow/schemas"
)

// YAML keys of Config, as validation errors name them under the section
// (e.g. "stages.enrich.ua_cache_size").
const (
	KeyRuntime            = "runtime"
	KeyMaxEventBytes      = "max_event_bytes"
	KeyAllowUnknownFields = "allow_unknown_fields"
	KeyUACacheSize        = "ua_cache_size"
	KeyDropEmptyUserAgent = "drop_empty_user_agent"
	KeyIPCacheSize        = "ip_cache_size"
	KeyIPDatabaseReload   = "ip_database_reload"
	KeyCompanyCacheSize   = "company_cache_size"
	KeyMaxEventAge        = "max_event_age"
	KeyMaxEventAhead      = "max_event_ahead"
)

// Section is where Config lives in leadflow's configuration; New names
// fields under it.
const Section = "stages.enrich"

// Config tunes the enrich stage (the `stages.enrich` section).
type Config struct {
	// Runtime tunes consuming, batching, bounds and commits.
	Runtime pipeline.RuntimeConfig `yaml:"runtime"`
	// MaxEventBytes is the largest raw event accepted, in bytes; larger
	// ones are dead-lettered (reason "too_large") without being parsed.
	// Default 65536 (64 KiB). 1 KiB to 1 MiB.
	MaxEventBytes int `yaml:"max_event_bytes"`
	// AllowUnknownFields makes the decoder skip unknown keys of a raw
	// event instead of dead-lettering it ("invalid_field"). Turn it on
	// while upstream rolls out a field leadflow does not know yet.
	// Default false.
	AllowUnknownFields bool `yaml:"allow_unknown_fields"`
	// UACacheSize is how many distinct User-Agent headers keep their
	// parsed browser, OS, device type and bot verdict (pipeline/cache).
	// Memory is at most about 1.2 KiB per entry. Default 10000 entries. 16 to 10000000.
	UACacheSize int `yaml:"ua_cache_size"`
	// DropEmptyUserAgent drops events without a user_agent as bots. The
	// field is optional in the raw event, so by default such events are
	// kept with browser, OS and device type unknown. Default false.
	DropEmptyUserAgent bool `yaml:"drop_empty_user_agent"`
	// IPCacheSize is how many decoded IP database records (one per network)
	// are kept per loaded database file (pipeline/cache). Default 100000
	// records. 16 to 10000000.
	IPCacheSize int `yaml:"ip_cache_size"`
	// IPDatabaseReload is how often the IP database file is checked
	// (stat: inode, size, mtime) for a replacement, which is then loaded
	// without a restart. 0 never checks. Default 10s. 0, or 100ms to 24h.
	IPDatabaseReload time.Duration `yaml:"ip_database_reload"`
	// CompanyCacheSize is how many company domains this process remembers
	// having sent to the companies topic (pipeline/cache): a company is
	// sent when it is first seen, and again only after it was evicted or
	// the process restarted. Default 100000 domains. 16 to 10000000.
	CompanyCacheSize int `yaml:"company_cache_size"`
	// MaxEventAge dead-letters events whose timestamp is older than this
	// (reason "invalid_field", naming "timestamp"): a hit dated 1970 would
	// set a lead's first_seen for good. The check is made once, here; the
	// later stages trust the time enrich passed. 0 turns the lower bound
	// off. Default 168h (7 days). 0, or 1m to 87600h (10 years).
	MaxEventAge time.Duration `yaml:"max_event_age"`
	// MaxEventAhead dead-letters events whose timestamp is further ahead
	// of this process's clock than this (reason "invalid_field", naming
	// "timestamp"): a hit dated 9999-12-31 would set a lead's last_seen
	// for good. 0 turns the upper bound off. The zero time
	// (0001-01-01T00:00:00Z) is refused whatever the settings. Default 10m.
	// 0, or 1s to 8760h (1 year).
	MaxEventAhead time.Duration `yaml:"max_event_ahead"`
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	return Config{
		Runtime:          pipeline.DefaultRuntimeConfig(),
		MaxEventBytes:    schemas.DefaultMaxEventBytes,
		UACacheSize:      10000,
		IPCacheSize:      100000,
		IPDatabaseReload: 10 * time.Second,
		CompanyCacheSize: 100000,
		MaxEventAge:      7 * 24 * time.Hour,
		MaxEventAhead:    10 * time.Minute,
	}
}

// Decoder returns the raw-event decoder of c: what the stage decodes with,
// and what `leadflow produce` checks lines with before producing them.
func (c Config) Decoder() schemas.RawDecoder {
	return schemas.RawDecoder{MaxBytes: c.MaxEventBytes, AllowUnknownFields: c.AllowUnknownFields}
}

// Validate checks c; each error is a *pipeline.FieldError naming the field
// under section (e.g. "stages.enrich.ua_cache_size") with its limit.
func (c Config) Validate(section string) error {
	limits := []pipeline.Limit{
		pipeline.IntLimit(KeyMaxEventBytes, c.MaxEventBytes, 1<<10, 1<<20),
		pipeline.IntLimit(KeyUACacheSize, c.UACacheSize, 16, 10_000_000),
		pipeline.IntLimit(KeyIPCacheSize, c.IPCacheSize, 16, 10_000_000),
		pipeline.IntLimit(KeyCompanyCacheSize, c.CompanyCacheSize, 16, 10_000_000),
	}
	if c.IPDatabaseReload != 0 { // 0: never
		limits = append(limits, pipeline.DurationLimit(KeyIPDatabaseReload, c.IPDatabaseReload, 100*time.Millisecond, 24*time.Hour))
	}
	if c.MaxEventAge != 0 { // 0: off
		limits = append(limits, pipeline.DurationLimit(KeyMaxEventAge, c.MaxEventAge, time.Minute, 10*365*24*time.Hour))
	}
	if c.MaxEventAhead != 0 { // 0: off
		limits = append(limits, pipeline.DurationLimit(KeyMaxEventAhead, c.MaxEventAhead, time.Second, 365*24*time.Hour))
	}
	return errors.Join(
		c.Runtime.Validate(join(section, KeyRuntime)),
		pipeline.CheckLimits(section, limits...),
	)
}

func join(section, key string) string {
	if section == "" {
		return key
	}
	return section + "." + key
}
