// Package report holds the figures of a benchmark run (Result) and writes
// them: result.json (the raw figures), report.html (a self-contained page
// with SVG charts: throughput, lag, latency over time and its
// distribution, CPU and memory) and the summary table printed at the end.
package report

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/goccy/go-json"
)

// FormatVersion is the version of result.json's layout.
const FormatVersion = 1

// File names in a report directory.
const (
	ResultFile  = "result.json"
	HTMLFile    = "report.html"
	SummaryFile = "summary.txt"
)

// Result is everything one benchmark run measured. Durations are in
// milliseconds (fields ending in _ms), rates per second.
type Result struct {
	// FormatVersion is FormatVersion.
	FormatVersion int `json:"format_version"`
	// Scenario and Description name what ran.
	Scenario    string `json:"scenario"`
	Description string `json:"description,omitempty"`
	// StartedAt is when the run started (UTC).
	StartedAt time.Time `json:"started_at"`
	// Machine is where it ran.
	Machine Machine `json:"machine"`
	// Mode says where the pipeline ran: "embedded" (kfake and miniredis in
	// this process), "in-process" (this process, external Kafka/Redis) or
	// "external" (another process; only producing and receiving here).
	Mode string `json:"mode"`
	// Settings are the knobs of the run.
	Settings Settings `json:"settings"`
	// Produced is the load that went in.
	Produced Produced `json:"produced"`
	// Deliveries is what the receiver accepted.
	Deliveries Deliveries `json:"deliveries"`
	// Stages are the records in and out of each stage over the measured
	// window, from the processes' /metrics.
	Stages []Stage `json:"stages"`
	// Latency is end to end, from a raw event's timestamp to the arrival
	// of the webhook it caused, for triggers after the warm-up.
	Latency Latency `json:"latency"`
	// Lag is consumer lag over the run.
	Lag Lag `json:"lag"`
	// Process is CPU and memory of the pipeline process(es).
	Process Process `json:"process"`
	// Cost is what the pipeline spent per raw event and per lead.
	Cost Cost `json:"cost"`
	// Correctness compares expected and received webhooks.
	Correctness Correctness `json:"correctness"`
	// Timeline has one sample per second.
	Timeline []Sample `json:"timeline"`
	// FindMax is set for --find-max runs.
	FindMax *FindMax `json:"find_max,omitempty"`
	// Verdict is whether the run met its bounds.
	Verdict Verdict `json:"verdict"`
	// Warnings are things the reader should know (e.g. no webhooks set up).
	Warnings []string `json:"warnings,omitempty"`
}

// Machine describes the host.
type Machine struct {
	GoVersion string `json:"go_version"`
	OS        string `json:"os"`
	Arch      string `json:"arch"`
	CPUs      int    `json:"cpus"`
	CPUModel  string `json:"cpu_model,omitempty"`
	MemoryMB  int64  `json:"memory_mb,omitempty"`
}

// Settings are the knobs of a run, as they were after defaults.
type Settings struct {
	Rate                    float64  `json:"rate"`
	DurationSec             float64  `json:"duration_s"`
	WarmupSec               float64  `json:"warmup_s"`
	Seed                    int64    `json:"seed"`
	RunID                   string   `json:"run_id"`
	Workspaces              int      `json:"workspaces"`
	Companies               int      `json:"companies"`
	IdentifiableShare       float64  `json:"identifiable_share"`
	BotShare                float64  `json:"bot_share"`
	SessionsPerVisitor      float64  `json:"sessions_per_visitor"`
	PageviewsPerSession     float64  `json:"pageviews_per_session"`
	PingShare               float64  `json:"ping_share"`
	MalformedShare          float64  `json:"malformed_share"`
	AutomationsPerWorkspace int      `json:"automations_per_workspace"`
	Automations             []string `json:"automations,omitempty"`
	SlowShare               float64  `json:"slow_share"`
	SlowDelayMs             float64  `json:"slow_delay_ms"`
	FailingShare            float64  `json:"failing_share"`
	FailRate                float64  `json:"fail_rate"`
	MaxSubjects             int      `json:"max_subjects,omitempty"`
	Burst                   string   `json:"burst,omitempty"`
	P99MaxMs                float64  `json:"p99_max_ms"`
	Brokers                 []string `json:"brokers,omitempty"`
	Partitions              int      `json:"partitions,omitempty"`
	ConfigFile              string   `json:"config_file,omitempty"`
}

// Produced is the load that went into sessions.raw.
type Produced struct {
	// TargetRate is the mean rate asked for over the measured window.
	TargetRate float64 `json:"target_rate"`
	// Rate is the acknowledged events/s over the measured window.
	Rate float64 `json:"rate"`
	// Events counts acknowledged events over the whole run; Errors failed
	// ones; Skipped those not sent because the producer fell behind.
	Events  uint64 `json:"events"`
	Errors  uint64 `json:"errors"`
	Skipped uint64 `json:"skipped"`
	// Bytes counts value bytes.
	Bytes uint64 `json:"bytes"`
	// FirstError is the first produce error.
	FirstError string `json:"first_error,omitempty"`
	// ByKind counts generated events by visitor kind (company, isp,
	// hosting, education, unknown, bot, malformed).
	ByKind map[string]uint64 `json:"by_kind,omitempty"`
}

// Deliveries is what the receiver accepted.
type Deliveries struct {
	// Requests and Subjects count accepted requests and their subjects
	// over the whole run; the rates are over the measured window.
	Requests       uint64  `json:"requests"`
	Subjects       uint64  `json:"subjects"`
	RequestsPerSec float64 `json:"requests_per_sec"`
	SubjectsPerSec float64 `json:"subjects_per_sec"`
	// SubjectsByEvent counts subjects per event name.
	SubjectsByEvent map[string]uint64 `json:"subjects_by_event,omitempty"`
	// Failed counts requests answered 500 on purpose (failing endpoints);
	// Rejected requests with a bad signature or body.
	Failed   uint64 `json:"failed"`
	Rejected uint64 `json:"rejected"`
}

// Stage is one stage's throughput over the measured window.
type Stage struct {
	Name        string             `json:"name"`
	InPerSec    float64            `json:"in_per_sec"`
	OutPerSec   float64            `json:"out_per_sec"`
	In          float64            `json:"in"`
	Out         float64            `json:"out"`
	DeadLetters float64            `json:"dead_letters"`
	OutByTopic  map[string]float64 `json:"out_by_topic,omitempty"`
}

// Latency is an end-to-end latency distribution.
type Latency struct {
	Count   uint64          `json:"count"`
	MeanMs  float64         `json:"mean_ms"`
	P50Ms   float64         `json:"p50_ms"`
	P90Ms   float64         `json:"p90_ms"`
	P99Ms   float64         `json:"p99_ms"`
	P999Ms  float64         `json:"p999_ms"`
	MaxMs   float64         `json:"max_ms"`
	Buckets []LatencyBucket `json:"buckets,omitempty"`
}

// LatencyBucket is one bar of the distribution.
type LatencyBucket struct {
	LowMs  float64 `json:"low_ms"`
	HighMs float64 `json:"high_ms"`
	Count  uint64  `json:"count"`
}

// Lag summarises consumer lag (records behind, all stages together) and
// records in flight (fetched but not finished: queued in a stage or
// waiting on a webhook). Lag alone misses a stage that fetches everything
// and queues it; their sum, the backlog, does not.
type Lag struct {
	Max   float64 `json:"max"`
	Final float64 `json:"final"`
	// MaxInflight is the most records in flight.
	MaxInflight float64 `json:"max_inflight"`
	// EndOfLoad is the lag when producing stopped.
	EndOfLoad float64 `json:"end_of_load"`
	// Growing is set when the backlog (lag plus in flight) kept growing
	// over the measured window: the pipeline did not keep up. With failing
	// endpoints, whose deliveries wait in flight for their retries by
	// design, lag alone is judged.
	Growing bool `json:"growing"`
	// MaxByStage is the largest lag of each stage.
	MaxByStage map[string]float64 `json:"max_by_stage,omitempty"`
	// DrainSec is how long after the load stopped the backlog took to
	// reach 0 (-1: it did not within the drain timeout).
	DrainSec float64 `json:"drain_s"`
}

// Process is CPU and memory of the pipeline process(es) (in embedded and
// in-process modes this process, so the load generator and receiver are
// included).
type Process struct {
	CPUSeconds float64 `json:"cpu_seconds"`
	// CPUPercent is the mean over the measured window; 100 is one core.
	CPUPercent   float64 `json:"cpu_percent"`
	PeakRSSMB    float64 `json:"peak_rss_mb"`
	PeakHeapMB   float64 `json:"peak_heap_mb"`
	IncludesLoad bool    `json:"includes_load_generator"`
	// HighWaterRSSMB is the process's peak RSS over its whole life
	// (VmHWM of /proc/PID/status) read after the drain: unlike PeakRSSMB,
	// sampled once a second, it misses no spike. 0 when the bench does not
	// know the pipeline's pid (--leadflow-pid with --external).
	HighWaterRSSMB float64 `json:"high_water_rss_mb,omitempty"`
	// RSSGrowthMBPerMin is how fast RSS grew over the second half of the
	// measured window (least-squares slope of the per-second samples, MiB
	// a minute; negative: it shrank), and RSSGrowthWindowS that half's
	// length. A bounded pipeline levels off: a run long enough for its
	// caches to fill shows about 0. Not set for a window under 20 s.
	RSSGrowthMBPerMin float64 `json:"rss_growth_mb_per_min,omitempty"`
	RSSGrowthWindowS  float64 `json:"rss_growth_window_s,omitempty"`
}

// Cost is what the pipeline spent for the traffic of the run.
type Cost struct {
	// CPUMicrosPerEvent is the pipeline's CPU time (µs) from the start of
	// the trial to the end of the drain divided by the raw events acked
	// (warm-up included): work a busy pipeline defers into the drain
	// counts. Unless CPUDrained, work still queued at the end is missing
	// and the figure is low.
	CPUMicrosPerEvent float64 `json:"cpu_us_per_event"`
	// CPUDrained is set when the backlog reached 0 before the end.
	CPUDrained bool `json:"cpu_drained"`
	// CPUSource says where the CPU time came from: "proc" (utime+stime of
	// /proc/PID/stat of the pipeline process), "metrics"
	// (process_cpu_seconds_total of its /metrics), "" when neither.
	CPUSource string `json:"cpu_source,omitempty"`
	// CPUIncludesLoad is set when the pipeline shares this process, so the
	// figure includes the load generator and the receiver.
	CPUIncludesLoad bool `json:"cpu_includes_load_generator"`
	// Events is the raw events acked over the trial.
	Events uint64 `json:"events"`
	// AllocBytesPerEvent is what the pipeline's Go heap allocated
	// (go_memstats_alloc_bytes_total of its /metrics) over the same window
	// as the CPU, per raw event: what drives its garbage collections.
	// 0 when /metrics was not scraped at both ends. CPUIncludesLoad
	// applies to it too.
	AllocBytesPerEvent float64 `json:"alloc_bytes_per_event,omitempty"`
	// RedisUsedBefore and RedisUsedAfter are the Redis used_memory (bytes)
	// at the start of the trial and after its drain.
	RedisUsedBefore int64 `json:"redis_used_before"`
	RedisUsedAfter  int64 `json:"redis_used_after"`
	// Leads and Sessions are the leads and company sessions the trial's
	// traffic created (each trial has its own workspaces, so every lead is
	// new): the whole trial, warm-up included.
	Leads    int `json:"leads"`
	Sessions int `json:"sessions"`
	// RedisBytesPerLead and RedisBytesPerSession are the used_memory growth
	// divided by Leads and by Sessions (each the whole growth: a lead's
	// figure includes its sessions' share).
	RedisBytesPerLead    float64 `json:"redis_bytes_per_lead"`
	RedisBytesPerSession float64 `json:"redis_bytes_per_session"`
	// RedisNote says why the Redis figures are missing, or what may skew
	// them (a Redis shared with other work).
	RedisNote string `json:"redis_note,omitempty"`
}

// Correctness compares the webhooks the traffic should cause with those
// that arrived.
type Correctness struct {
	// Checked is false when no check was possible (Note says why).
	Checked bool   `json:"checked"`
	Note    string `json:"note,omitempty"`
	// Total is over every endpoint; ByEvent and ByEndpoint split it.
	Total      Counts            `json:"total"`
	ByEvent    map[string]Counts `json:"by_event,omitempty"`
	ByEndpoint map[string]Counts `json:"by_endpoint,omitempty"`
	// MissingSample and UnexpectedSample list a few cases.
	MissingSample    []string `json:"missing_sample,omitempty"`
	UnexpectedSample []string `json:"unexpected_sample,omitempty"`
	// LeadIDConflicts counts subjects whose lead id differs from an earlier
	// subject of the same lead.
	LeadIDConflicts uint64 `json:"lead_id_conflicts"`
	// ProduceAffected counts sessions with a failed produce (not counted).
	ProduceAffected int `json:"produce_affected"`
	// Contacts counts contact_revealed subjects and repeats of a contact
	// to the same webhook.
	Contacts          uint64 `json:"contacts"`
	ContactDuplicates uint64 `json:"contact_duplicates"`
	// Pass: nothing missing on healthy and slow endpoints, nothing
	// unexpected, no lead id conflicts, no contact repeated to a webhook.
	Pass bool `json:"pass"`
}

// Counts are expected and received webhook subjects.
type Counts struct {
	// Expected subjects; Delivered of them at least once; Missing never.
	Expected  uint64 `json:"expected"`
	Delivered uint64 `json:"delivered"`
	Missing   uint64 `json:"missing"`
	// Duplicates are extra copies of delivered subjects (at-least-once);
	// Redelivered those of them in a request with an already seen
	// webhook-id (a retried batch).
	Duplicates  uint64 `json:"duplicates"`
	Redelivered uint64 `json:"redelivered"`
	// Unexpected are subjects nothing should have caused.
	Unexpected uint64 `json:"unexpected"`
}

// Add adds o to c.
func (c *Counts) Add(o Counts) {
	c.Expected += o.Expected
	c.Delivered += o.Delivered
	c.Missing += o.Missing
	c.Duplicates += o.Duplicates
	c.Redelivered += o.Redelivered
	c.Unexpected += o.Unexpected
}

// Sample is one second of the run.
type Sample struct {
	// T is seconds since the start; Phase is "warmup", "measure" or "drain".
	T     float64 `json:"t"`
	Phase string  `json:"phase"`
	// TargetRate and Produced are events/s asked for and acknowledged.
	TargetRate float64 `json:"target_rate"`
	Produced   float64 `json:"produced"`
	// StageIn and StageOut are records/s by stage.
	StageIn  map[string]float64 `json:"stage_in,omitempty"`
	StageOut map[string]float64 `json:"stage_out,omitempty"`
	// Requests and Subjects are accepted webhook requests and subjects/s.
	Requests float64 `json:"requests"`
	Subjects float64 `json:"subjects"`
	// P50Ms and P99Ms are the latency of webhooks that arrived in the second.
	P50Ms float64 `json:"p50_ms"`
	P99Ms float64 `json:"p99_ms"`
	// Lag is by stage; LagTotal all together.
	Lag      map[string]float64 `json:"lag,omitempty"`
	LagTotal float64            `json:"lag_total"`
	// Inflight is records in flight by stage; InflightTotal all together.
	Inflight      map[string]float64 `json:"inflight,omitempty"`
	InflightTotal float64            `json:"inflight_total"`
	// CPUPercent (100 = one core), RSSMB and HeapMB of the pipeline process(es).
	CPUPercent float64 `json:"cpu_percent"`
	RSSMB      float64 `json:"rss_mb"`
	HeapMB     float64 `json:"heap_mb"`
}

// FindMax is the result of a --find-max search.
type FindMax struct {
	// P99BoundMs is the latency bound a rate must meet.
	P99BoundMs float64 `json:"p99_bound_ms"`
	// MaxRate is the highest rate that passed (0 if none did).
	MaxRate float64 `json:"max_rate"`
	// Trials in the order they ran.
	Trials []Trial `json:"trials"`
}

// Trial is one rate tried by --find-max.
type Trial struct {
	Rate       float64 `json:"rate"`
	Achieved   float64 `json:"achieved"`
	P99Ms      float64 `json:"p99_ms"`
	LagGrowing bool    `json:"lag_growing"`
	Pass       bool    `json:"pass"`
	Reason     string  `json:"reason,omitempty"`
}

// Verdict is whether a run met its bounds.
type Verdict struct {
	Pass    bool     `json:"pass"`
	Reasons []string `json:"reasons,omitempty"`
}

// WriteDir writes result.json, report.html and summary.txt into dir
// (created if missing).
func WriteDir(dir string, r *Result) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("report: encoding %s: %w", ResultFile, err)
	}
	page, err := HTML(r)
	if err != nil {
		return err
	}
	var sum bytes.Buffer
	WriteSummary(&sum, r)
	return errors.Join(
		writeFile(filepath.Join(dir, ResultFile), append(data, '\n')),
		writeFile(filepath.Join(dir, HTMLFile), page),
		writeFile(filepath.Join(dir, SummaryFile), sum.Bytes()),
	)
}

// ReadResult reads a result.json.
func ReadResult(path string) (*Result, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	var r Result
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("report: %s: %w", path, err)
	}
	return &r, nil
}

func writeFile(path string, data []byte) error {
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}
