package bench

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/goccy/go-json"
	"go.uber.org/zap"

	"github.com/leadflow/leadflow/bench/traffic"
	"github.com/leadflow/leadflow/schemas"
)

// ErrOptions is wrapped by every error about invalid Options.
var ErrOptions = errors.New("bench: invalid options")

// Options configure a benchmark run (Run). The zero value of a field
// means its default.
type Options struct {
	// Scenario and Description name the run in its report. Default
	// "custom".
	Scenario, Description string

	// Rate is the raw events/s to produce. Default 20000.
	Rate float64
	// Duration is how long the rate is measured, after Warmup. Default 60s.
	Duration time.Duration
	// Warmup is produced at Rate before measuring starts (caches fill,
	// consumer groups settle); it is not counted. Default 10s; negative
	// means none.
	Warmup time.Duration
	// Burst, if set, multiplies the rate periodically.
	Burst *Burst
	// Traffic shapes the generated events (workspaces, companies, shares,
	// sessions). RunID, Marker and Track are set by the harness; Seed is
	// taken as given (0 is a valid seed). ActiveSessions defaults to
	// Rate/2 within 1000 to 100000.
	Traffic traffic.Config

	// AutomationsPerWorkspace is how many automations (each with its own
	// webhook) every workspace gets, cycling through: new_lead for every
	// lead, new_session for every session, new_lead on a segment of three
	// industries, new_session on a segment of three other industries,
	// new_lead on the first segment revealing sales leaders (the first
	// time only; see DefaultRules). Default 3.
	AutomationsPerWorkspace int
	// Rules, if set, replaces the automations AutomationsPerWorkspace makes.
	// At most one rule may have a reveal action (DESIGN 1.5: a contact is
	// never revealed twice in a workspace, so two reveal rules would share
	// contacts and their expected counts would depend on which fired
	// first).
	Rules []traffic.Rule
	// MaxSubjects is each webhook's max_subjects; 0 leaves the pipeline's
	// default (100).
	MaxSubjects int
	// SlowShare is the share of webhooks whose endpoint answers after
	// SlowDelay (default 2s), 0 to 1.
	SlowShare float64
	SlowDelay time.Duration
	// HealthyDelay is how long a healthy endpoint takes to answer (its
	// service time); default 0. A few milliseconds model a real receiver,
	// whose speed, not leadflow's, then bounds a burst to one endpoint.
	HealthyDelay time.Duration
	// FailingShare is the share of webhooks whose endpoint fails FailRate
	// (default 1: always) of its requests with a 500, 0 to 1.
	FailingShare float64
	FailRate     float64

	// External targets a pipeline running elsewhere (`leadflow run` or
	// `leadflow dev`): the harness only sets up workspaces through its
	// admin API at HTTPAddr, produces to Brokers, and receives. Without
	// it the pipeline runs in this process: on an embedded Kafka (kfake)
	// and Redis (miniredis), or on Brokers and RedisAddr when given.
	External bool
	// Brokers are Kafka seed brokers. Required with External (default
	// 127.0.0.1:9092, where `leadflow dev` listens).
	Brokers []string
	// RedisAddr is the Redis of an in-process pipeline; empty means an
	// embedded miniredis. With External it is the external pipeline's
	// Redis, only read (INFO memory) for the Redis bytes per lead; default
	// then the redis.addr of ConfigFile (or $LEADFLOW_REDIS_ADDR).
	RedisAddr string
	// LeadflowPID is the external pipeline's process id (on this host):
	// the bench then reads its CPU time and peak RSS from /proc instead of
	// /metrics alone. Default none (CPU from process_cpu_seconds_total, no
	// high-water RSS). In process the bench reads its own.
	LeadflowPID int
	// HTTPAddr is the external pipeline's HTTP address (admin API,
	// /metrics, /readyz). Default 127.0.0.1:8080.
	HTTPAddr string
	// AdminToken is the admin API's bearer token. Default for External:
	// $LEADFLOW_ADMIN_TOKEN, else "dev-token" (`leadflow dev`'s); in
	// process a fresh one.
	AdminToken string
	// MetricsURLs are the /metrics URLs to read stage figures from.
	// Default: the pipeline's own (http://HTTPAddr/metrics). List every
	// process when the stages are scaled out.
	MetricsURLs []string
	// ConfigFile is a leadflow configuration for the in-process pipeline
	// (stage tuning, Kafka TLS/SASL); default the dev defaults. With
	// External only its kafka section is used (for producing).
	ConfigFile string
	// TopicPrefix is the topics' prefix. Default "leadflow.".
	TopicPrefix string
	// Partitions is the partition count of topics the in-process pipeline
	// creates. Default: the configuration's (4 in the dev defaults).
	Partitions int
	// EmbeddedRetention is how long the embedded Kafka keeps records of
	// the high-volume topics (sessions.raw, hits, leads.changes,
	// deliveries): kfake keeps every record in memory, so without a bound
	// memory grows with the run (about 3.5 KB of heap per raw event on the
	// default mix, all topics together, measured at 75k events/s: records
	// plus kfake's segment slack). A stage further behind than this loses
	// records, which the run then reports as missing webhooks. Default
	// 15s; negative keeps everything.
	EmbeddedRetention time.Duration
	// DataDir is the sample data set the traffic draws companies and IPs
	// from; the pipeline must enrich with the same set. Default: the one
	// `leadflow dev` uses (generated into the user cache on first use).
	DataDir string

	// ReceiverAddr is where the webhook receiver listens. Default
	// 127.0.0.1:0 (a free port on loopback).
	ReceiverAddr string
	// ReceiverURL is the receiver's base URL as the pipeline reaches it.
	// Default http://ReceiverAddr (set it when the pipeline runs in a
	// container or elsewhere). `leadflow run` refuses private addresses
	// unless deliver.allow_private_networks is true.
	ReceiverURL string
	// Secret signs the webhooks. Default: a fresh random secret.
	Secret string
	// NewReceiver builds the handler for one class of endpoints. Default:
	// `leadflow sink`'s. See ReceiverFactory.
	NewReceiver ReceiverFactory

	// P99Max is the latency bound of the verdict and of FindMax. Default 3s.
	P99Max time.Duration
	// DrainTimeout bounds the wait, after the load stops, for the pipeline
	// to catch up and deliver. Default 30s.
	DrainTimeout time.Duration
	// SettleTime is waited after setting up workspaces (the contract says
	// changes take effect within a second). Default 1.5s.
	SettleTime time.Duration
	// FindMax searches for the highest rate with p99 under P99Max and no
	// growing lag, starting at Rate; each trial runs Warmup + Duration.
	FindMax bool
	// CPUProfile, if set, is a file to write a CPU profile of this process
	// to, taken over the measured window (in process, it covers the
	// pipeline; with FindMax, the last trial). Default none.
	CPUProfile string
	// MemProfile, if set, is a file to write a heap profile of this
	// process to at the end of the load (with FindMax, the last trial).
	MemProfile string
	// PprofAddr, if set, is where this process serves net/http/pprof
	// while the bench runs (e.g. 127.0.0.1:6060), to profile a moment of
	// the run: curl ADDR/debug/pprof/profile?seconds=10. Default none.
	PprofAddr string
	// Out is a directory to write result.json, report.html and
	// summary.txt (and the in-process pipeline's log) to. Default none.
	Out string
	// Progress receives the progress bar. Default none.
	Progress io.Writer
	// Logger receives the in-process pipeline's logs. Default: a JSON log
	// in Out/pipeline.log, or errors only to Progress without Out.
	Logger *zap.Logger
	// HTTPClient calls the admin API and /metrics. Default: a client with
	// a 30 s timeout.
	HTTPClient *http.Client
}

// Burst makes the rate Factor times higher for Length at the end of every
// Every (so a run starts steady).
type Burst struct {
	Every  time.Duration `yaml:"every"`
	Length time.Duration `yaml:"length"`
	Factor float64       `yaml:"factor"`
}

// String describes b, e.g. "5x for 5s every 20s".
func (b *Burst) String() string {
	if b == nil {
		return ""
	}
	return fmt.Sprintf("%gx for %v every %v", b.Factor, b.Length, b.Every)
}

// rate returns the rate at elapsed for base rate r.
func (b *Burst) rate(r float64, elapsed time.Duration) float64 {
	if b == nil || b.Every <= 0 {
		return r
	}
	if elapsed%b.Every >= b.Every-b.Length {
		return r * b.Factor
	}
	return r
}

// Delivery is one webhook request a receiver accepted (answered 2xx).
type Delivery struct {
	// Event is the body's "event".
	Event string
	// Subjects are the body's "subjects", each as raw JSON.
	Subjects []json.RawMessage
	// Header is the request's header (EndpointHeader and webhook-id are
	// read from it).
	Header http.Header
	// Arrived is when the request arrived.
	Arrived time.Time
}

// ReceiverConfig is what a ReceiverFactory gets for one class of
// endpoints (healthy, slow or failing).
type ReceiverConfig struct {
	// Class is "healthy", "slow" or "failing".
	Class string
	// Secret is the webhooks' secret: verify signatures with it.
	Secret string
	// Delay is how long to wait before answering; FailRate the share of
	// requests to answer 500.
	Delay    time.Duration
	FailRate float64
	// OnDelivery must be called for every request answered 2xx, with the
	// request's headers (the harness reads which webhook it was for from
	// EndpointHeader, which it sets before calling the handler) and
	// arrival time. It is safe for concurrent use.
	OnDelivery func(Delivery)
}

// ReceiverFactory builds the HTTP handler of one class of endpoints. The
// default is `leadflow sink`'s handler (stages/deliver/sink), which checks
// Signature and the Standard Webhooks signature, and answers late or fails
// on purpose; tests and other receivers can be plugged in here.
type ReceiverFactory func(ReceiverConfig) http.Handler

// EndpointHeader is the request header the harness sets (before calling a
// ReceiverFactory's handler) to "WORKSPACE_INDEX/RULE_INDEX" of the
// webhook a request was sent to, taken from the request's URL path.
const EndpointHeader = "X-Leadflow-Bench-Endpoint"

// Defaults of Options.
const (
	defaultRate     = 20000
	defaultDuration = 60 * time.Second
	defaultWarmup   = 10 * time.Second
)

// withDefaults returns o with every default filled in.
func (o Options) withDefaults() Options {
	if o.Scenario == "" {
		o.Scenario = "custom"
	}
	if o.Rate == 0 {
		o.Rate = defaultRate
	}
	if o.Duration == 0 {
		o.Duration = defaultDuration
	}
	switch {
	case o.Warmup == 0:
		o.Warmup = defaultWarmup
	case o.Warmup < 0:
		o.Warmup = 0
	}
	if o.Traffic.ActiveSessions == 0 {
		o.Traffic.ActiveSessions = int(min(max(o.Rate/2, 1000), 100000))
	}
	if o.AutomationsPerWorkspace == 0 {
		o.AutomationsPerWorkspace = 3
	}
	if len(o.Rules) == 0 {
		o.Rules = DefaultRules(o.AutomationsPerWorkspace)
	}
	o.AutomationsPerWorkspace = len(o.Rules)
	if o.SlowDelay == 0 {
		o.SlowDelay = 2 * time.Second
	}
	if o.FailRate == 0 {
		o.FailRate = 1
	}
	if o.External && len(o.Brokers) == 0 {
		o.Brokers = []string{"127.0.0.1:9092"}
	}
	if o.HTTPAddr == "" {
		o.HTTPAddr = "127.0.0.1:8080"
	}
	if o.TopicPrefix == "" {
		o.TopicPrefix = "leadflow."
	}
	if o.ReceiverAddr == "" {
		o.ReceiverAddr = "127.0.0.1:0"
	}
	if o.P99Max == 0 {
		o.P99Max = 3 * time.Second
	}
	if o.DrainTimeout == 0 {
		o.DrainTimeout = 30 * time.Second
	}
	if o.EmbeddedRetention == 0 {
		o.EmbeddedRetention = 15 * time.Second
	}
	if o.SettleTime == 0 {
		o.SettleTime = 1500 * time.Millisecond
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	return o
}

// validate checks o after withDefaults; errors name the option.
func (o Options) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrOptions}, args...)...)
	}
	switch {
	case o.Rate < 0 || o.Rate > 10_000_000:
		return bad("rate %v must be 0 to 10000000 events/s", o.Rate)
	case o.Duration < time.Second:
		return bad("duration %v must be at least 1s", o.Duration)
	case o.SlowShare < 0 || o.FailingShare < 0 || o.SlowShare+o.FailingShare > 1:
		return bad("slow share %v and failing share %v must be 0 to 1 together", o.SlowShare, o.FailingShare)
	case o.HealthyDelay < 0 || o.HealthyDelay > time.Second:
		return bad("healthy endpoints' delay %v must be 0 to 1s", o.HealthyDelay)
	case o.FailRate < 0 || o.FailRate > 1:
		return bad("fail rate %v must be 0 to 1", o.FailRate)
	case o.MaxSubjects < 0:
		return bad("max subjects %d must not be negative", o.MaxSubjects)
	case o.AutomationsPerWorkspace > 64:
		return bad("automations per workspace %d must be at most 64", o.AutomationsPerWorkspace)
	case o.P99Max <= 0:
		return bad("p99 max %v must be positive", o.P99Max)
	case o.Burst != nil && (o.Burst.Every <= 0 || o.Burst.Length <= 0 || o.Burst.Length > o.Burst.Every || o.Burst.Factor <= 0):
		return bad("burst %s: every and length must be positive, length at most every, factor positive", o.Burst)
	case o.LeadflowPID < 0:
		return bad("leadflow pid %d must not be negative", o.LeadflowPID)
	case !o.External && o.LeadflowPID != 0:
		return bad("--leadflow-pid is for an --external pipeline; in process the bench reads its own")
	}
	reveals := 0
	for i, r := range o.Rules {
		if r.Trigger != schemas.EventNewLead && r.Trigger != schemas.EventNewSession {
			return bad("rule %d: trigger %q must be new_lead or new_session", i, r.Trigger)
		}
		if r.Reveal == nil {
			continue
		}
		reveals++
		switch {
		case r.Trigger != schemas.EventNewLead:
			return bad("rule %d: a reveal_contacts rule must have the trigger new_lead, not %q", i, r.Trigger)
		case r.Reveal.Limit < 0 || r.Reveal.Limit > traffic.MaxRevealLimit:
			return bad("rule %d: reveal limit %d must be 1 to %d, or 0 for no limit", i, r.Reveal.Limit, traffic.MaxRevealLimit)
		case reveals > 1:
			return bad("rule %d: at most one rule may reveal contacts (a contact is revealed once per workspace, so two reveal rules would share contacts); drop the reveal action of all but one", i)
		}
	}
	cfg := o.Traffic.Defaults()
	cfg.Track, cfg.Marker = true, true
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrOptions, err)
	}
	return nil
}

// DefaultRules returns n automations cycling through new_lead (every
// lead), new_session (every session), new_lead on the segment
// company.industry in [Software, Information Technology & Services,
// Financial Services], new_session on [Manufacturing, Machinery,
// Logistics], and new_lead on the first segment revealing contacts
// (DefaultReveal). The reveal rule comes fifth, so n < 5 sets up none;
// as at most one rule may reveal, the fifth kind's later turns (rules 10,
// 15, ...) are new_lead on the first segment without the reveal.
func DefaultRules(n int) []traffic.Rule {
	out := make([]traffic.Rule, n)
	for i := range out {
		switch i % 5 {
		case 0:
			out[i] = traffic.Rule{Trigger: schemas.EventNewLead}
		case 1:
			out[i] = traffic.Rule{Trigger: schemas.EventNewSession}
		case 2:
			out[i] = traffic.Rule{Trigger: schemas.EventNewLead, Industries: segmentA()}
		case 3:
			out[i] = traffic.Rule{Trigger: schemas.EventNewSession, Industries: []string{"Manufacturing", "Machinery", "Logistics"}}
		case 4:
			out[i] = traffic.Rule{Trigger: schemas.EventNewLead, Industries: segmentA()}
			if i == 4 {
				out[i].Reveal = DefaultReveal()
			}
		}
	}
	return out
}

// segmentA returns the industries of the first default segment.
func segmentA() []string {
	return []string{"Software", "Information Technology & Services", "Financial Services"}
}

// DefaultReveal returns the reveal action of the default reveal rule: the
// persona "sales leaders" (seniority vp, director or c_level in the sales
// or executive department; it fits every company's CEO and the guide's
// John Doe) and at most 2 contacts per company.
func DefaultReveal() *traffic.Reveal {
	return &traffic.Reveal{Seniorities: []string{"vp", "director", "c_level"}, Departments: []string{"sales", "executive"}, Limit: 2}
}

// describeRule returns e.g. "new_lead on industry in [Software, ...]" or
// "new_lead on industry in [...] → reveal_contacts (seniority in [...],
// department in [...], at most 2 per company)".
func describeRule(r traffic.Rule) string {
	var s string
	if len(r.Industries) == 0 {
		s = r.Trigger + " for every " + strings.TrimPrefix(r.Trigger, "new_")
	} else {
		s = r.Trigger + " on industry in [" + strings.Join(r.Industries, ", ") + "]"
	}
	if rv := r.Reveal; rv != nil {
		limit := "no limit"
		if rv.Limit > 0 {
			limit = fmt.Sprintf("at most %d per company", rv.Limit)
		}
		s += fmt.Sprintf(" → reveal_contacts (seniority in [%s], department in [%s], %s)",
			strings.Join(rv.Seniorities, ", "), strings.Join(rv.Departments, ", "), limit)
	}
	return s
}
