// Package configs holds leadflow's configuration: the Config type, its
// documented defaults (leadflow.yaml beside this file documents every
// field), strict YAML loading, LEADFLOW_* environment overrides, and
// validation whose errors name the field.
package configs

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/leadflow/leadflow/pipeline"
	"github.com/leadflow/leadflow/stages/deliver"
	"github.com/leadflow/leadflow/stages/enrich"
	"github.com/leadflow/leadflow/stages/evaluate"
	"github.com/leadflow/leadflow/stages/leads"
)

//go:embed leadflow.yaml dev.yaml
var files embed.FS

// Config is the whole configuration of a leadflow process.
type Config struct {
	// Kafka is the cluster every stage uses.
	Kafka pipeline.KafkaConfig `yaml:"kafka"`
	// Redis holds lead state, dedup claims and delivery logs.
	Redis pipeline.RedisConfig `yaml:"redis"`
	// Topics names and shapes the topics.
	Topics pipeline.TopicsConfig `yaml:"topics"`
	// HTTP is the server for /healthz, /readyz, /metrics and the admin API.
	HTTP HTTPConfig `yaml:"http"`
	// Admin is the admin API.
	Admin AdminConfig `yaml:"admin"`
	// Log is logging.
	Log LogConfig `yaml:"log"`
	// Health tunes /readyz and the stall signal.
	Health pipeline.HealthConfig `yaml:"health"`
	// SecretKey seals webhook secrets at rest in the control topic with
	// AES-256-GCM: 32 bytes, base64 or hex (`openssl rand -base64 32`).
	// Every process that delivers needs it. Default "" (secrets stored in
	// plain text, with a warning at start). Env: LEADFLOW_SECRET_KEY.
	SecretKey string `yaml:"secret_key"`
	// SecretKeyPrevious are older keys still accepted for reading, while
	// secrets are resealed under SecretKey (key rotation). Default none.
	// Env: LEADFLOW_SECRET_KEY_PREVIOUS (comma separated).
	SecretKeyPrevious []string `yaml:"secret_key_previous"`
	// Data points at the IP database, companies and contacts.
	Data DataConfig `yaml:"data"`
	// ShutdownTimeout is how long in-flight work may finish after SIGINT
	// or SIGTERM before it is abandoned (uncommitted). Default 20s.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// Stages tunes each stage.
	Stages StagesConfig `yaml:"stages"`
}

// HTTPConfig is the process's HTTP server.
type HTTPConfig struct {
	// Addr to listen on, host:port. Default "127.0.0.1:8080"; use
	// ":8080" to listen on every interface. Env: LEADFLOW_HTTP_ADDR.
	Addr string `yaml:"addr"`
	// PProf serves Go's profiler (net/http/pprof) under /debug/pprof/,
	// behind the admin token (Authorization: Bearer admin.token), for
	// finding where CPU and memory go in a running process. Default
	// false. Env: LEADFLOW_HTTP_PPROF.
	PProf bool `yaml:"pprof"`
}

// AdminConfig is the admin API.
type AdminConfig struct {
	// Token is the bearer token the admin API requires. Default "" (the
	// admin API refuses every request until it is set). Env:
	// LEADFLOW_ADMIN_TOKEN.
	Token string `yaml:"token"`
	// ConsoleSessionTTL is how long a web console sign-in lasts (the
	// session cookie's lifetime). Default 12h, between 1m and 720h. Env:
	// LEADFLOW_ADMIN_CONSOLE_SESSION_TTL.
	ConsoleSessionTTL time.Duration `yaml:"console_session_ttl"`
	// SecretRotationOverlap is how long a webhook's previous secret keeps
	// signing requests after POST .../webhooks/{id}/secret/rotate (a
	// request may override it with "overlap_seconds"). 0 switches at once.
	// Default 24h. 0 to 720h. Env: LEADFLOW_ADMIN_SECRET_ROTATION_OVERLAP.
	SecretRotationOverlap time.Duration `yaml:"secret_rotation_overlap"`
	// PortalKey signs portal links (POST /v1/workspaces/{ws}/portal-links:
	// a URL that opens the console for one workspace), HMAC-SHA256.
	// Default "" (portal links are disabled); else at least 32 bytes.
	// Changing it invalidates every link not yet opened. Env:
	// LEADFLOW_ADMIN_PORTAL_KEY.
	PortalKey string `yaml:"portal_key"`
	// PortalLinkTTL is how long a new portal link stays valid; the
	// session it opens ends with it. Default 1h, between 1m and 720h.
	// Env: LEADFLOW_ADMIN_PORTAL_LINK_TTL.
	PortalLinkTTL time.Duration `yaml:"portal_link_ttl"`
}

// DataConfig points at the data leadflow enriches with: an IP database in
// MaxMind DB format (network type, company domain and visitor geo per
// network), company firmographics and contacts (JSON lines, one company or
// contact per line; see `leadflow datagen`).
type DataConfig struct {
	// Dir is a data set directory as `leadflow datagen --out` writes it;
	// each file below that is empty is taken from it. Default "" (in
	// `leadflow dev`: the bundled sample set, generated on first start
	// into the user cache directory).
	Dir string `yaml:"dir"`
	// IPDatabase is the .mmdb file. It is reloaded when replaced on disk.
	// Default "" (Dir/ipdb.mmdb).
	IPDatabase string `yaml:"ip_database"`
	// Companies is the companies file (JSON lines). Default "" (Dir/companies.jsonl).
	Companies string `yaml:"companies"`
	// Contacts is the contacts file (JSON lines). Default "" (Dir/contacts.jsonl).
	Contacts string `yaml:"contacts"`
}

// Resolved returns d with every empty file path taken from Dir.
func (d DataConfig) Resolved() DataConfig {
	pick := func(p, name string) string {
		if p == "" && d.Dir != "" {
			return filepath.Join(d.Dir, name)
		}
		return p
	}
	d.IPDatabase = pick(d.IPDatabase, "ipdb.mmdb")
	d.Companies = pick(d.Companies, "companies.jsonl")
	d.Contacts = pick(d.Contacts, "contacts.jsonl")
	return d
}

// LogConfig is logging.
type LogConfig struct {
	// Level is debug, info, warn or error. Default "info".
	Level string `yaml:"level"`
	// Format is "json" (one object per line) or "console". Default "json";
	// `leadflow dev` uses "console".
	Format string `yaml:"format"`
}

// StagesConfig tunes each stage. Each stage section has a `runtime:`
// block (pipeline.RuntimeConfig) and the stage's own settings.
type StagesConfig struct {
	// Enrich is the enrich stage.
	Enrich enrich.Config `yaml:"enrich"`
	// Leads is the leads stage.
	Leads leads.Config `yaml:"leads"`
	// Evaluate is the evaluate stage.
	Evaluate evaluate.Config `yaml:"evaluate"`
	// Deliver is the deliver stage.
	Deliver deliver.Config `yaml:"deliver"`
}

// Default returns the configuration with every documented default.
func Default() Config {
	return Config{
		Kafka:           pipeline.DefaultKafkaConfig(),
		Redis:           pipeline.DefaultRedisConfig(),
		Topics:          pipeline.DefaultTopicsConfig(),
		HTTP:            HTTPConfig{Addr: "127.0.0.1:8080"},
		Admin:           AdminConfig{ConsoleSessionTTL: 12 * time.Hour, SecretRotationOverlap: 24 * time.Hour, PortalLinkTTL: time.Hour},
		Log:             LogConfig{Level: "info", Format: "json"},
		Health:          pipeline.DefaultHealthConfig(),
		ShutdownTimeout: 20 * time.Second,
		Stages: StagesConfig{
			Enrich:   enrich.DefaultConfig(),
			Leads:    leads.DefaultConfig(),
			Evaluate: evaluate.DefaultConfig(),
			Deliver:  deliver.DefaultConfig(),
		},
	}
}

// Load returns Default() overlaid with the YAML file at path (if path is
// not empty) and then with LEADFLOW_* variables from env (os.Environ()
// form). Unknown keys are an error naming the file and line. Load does
// not validate; call Validate.
func Load(path string, env []string) (Config, error) {
	return load(Default(), path, env)
}

// LoadDev is Load for `leadflow dev`: the same file and LEADFLOW_*
// variables, overlaid on DevDefault() instead of Default(). Like Load it
// does not validate.
func LoadDev(path string, env []string) (Config, error) {
	return load(DevDefault(), path, env)
}

// load overlays base with the file at path and then with env: the one
// loading path of every command.
func load(base Config, path string, env []string) (Config, error) {
	cfg := base
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return cfg, fmt.Errorf("config: %w", err)
		}
		if err := decode(data, &cfg); err != nil {
			return cfg, fmt.Errorf("config %s: %w", path, err)
		}
	}
	if err := applyEnv(&cfg, env); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// DevDefault returns the configuration `leadflow dev` starts from: the
// defaults overlaid with the embedded dev.yaml.
func DevDefault() Config {
	cfg := Default()
	data, err := files.ReadFile("dev.yaml")
	if err == nil {
		err = decode(data, &cfg)
	}
	if err != nil {
		panic("configs: embedded dev.yaml is invalid: " + err.Error()) // a test keeps this from happening
	}
	return cfg
}

// Documented returns the bytes of leadflow.yaml, the documented reference
// configuration.
func Documented() []byte {
	b, _ := files.ReadFile("leadflow.yaml")
	return b
}

// decode strictly decodes YAML into cfg: unknown keys are errors.
func decode(data []byte, cfg *Config) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) { // io.EOF: an empty file
		return err
	}
	return nil
}

// Validate checks every section; the error lists each bad field by its
// dotted path.
func (c Config) Validate() error {
	errs := []error{
		c.Kafka.Validate("kafka"),
		c.Redis.Validate("redis"),
		c.Topics.Validate("topics"),
		c.Health.Validate("health"),
		c.Stages.Enrich.Validate("stages.enrich"),
		c.Stages.Leads.Validate("stages.leads"),
		c.Stages.Evaluate.Validate("stages.evaluate"),
		c.Stages.Deliver.Validate("stages.deliver"),
		pipeline.CheckLimits("", pipeline.DurationLimit("shutdown_timeout", c.ShutdownTimeout, 0, time.Hour)),
		pipeline.CheckLimits("admin",
			pipeline.DurationLimit("console_session_ttl", c.Admin.ConsoleSessionTTL, time.Minute, 720*time.Hour),
			pipeline.DurationLimit("secret_rotation_overlap", c.Admin.SecretRotationOverlap, 0, 720*time.Hour),
			pipeline.DurationLimit("portal_link_ttl", c.Admin.PortalLinkTTL, time.Minute, 720*time.Hour)),
		c.Admin.validatePortalKey(),
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, &pipeline.FieldError{Field: "log.level", Reason: fmt.Sprintf("%q is not one of debug, info, warn, error", c.Log.Level)})
	}
	switch c.Log.Format {
	case "json", "console":
	default:
		errs = append(errs, &pipeline.FieldError{Field: "log.format", Reason: fmt.Sprintf("%q is not json or console", c.Log.Format)})
	}
	if c.HTTP.Addr == "" {
		errs = append(errs, &pipeline.FieldError{Field: "http.addr", Reason: "must be host:port"})
	}
	return errors.Join(errs...)
}

// validatePortalKey refuses a portal key shorter than 32 bytes.
func (a AdminConfig) validatePortalKey() error {
	if a.PortalKey != "" && len(a.PortalKey) < 32 {
		return &pipeline.FieldError{Field: "admin.portal_key", Reason: fmt.Sprintf("is %d bytes; use at least 32 (e.g. openssl rand -hex 32), or \"\" to disable portal links", len(a.PortalKey))}
	}
	return nil
}
