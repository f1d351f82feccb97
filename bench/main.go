package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/leadflow/leadflow/bench/report"
)

// Usage is the help text of `leadflow bench`.
const Usage = `Usage: leadflow bench [flags]

Generates realistic raw events into leadflow.sessions.raw at --rate events/s
for --duration (after --warmup), runs the pipeline in this process (on an
embedded Kafka and Redis, or --brokers/--redis-addr) or targets one running
elsewhere (--external), receives the webhooks, and reports throughput,
end-to-end latency, consumer lag, CPU, memory, the cost per event and per
lead (pipeline CPU µs per raw event, Redis bytes per lead: give
--leadflow-pid and --redis-addr with --external) and correctness. A progress
bar goes to stderr, the summary to stdout, and with --out DIR a report
(result.json, report.html with charts, summary.txt).

Scenarios (--scenario): %s, or a .yaml file. Flags override the scenario.

Flags:
`

// Main runs `leadflow bench` with args (without the command name): it
// parses flags, runs the benchmark, prints the summary to stdout and the
// progress bar to stderr. It returns flag.ErrHelp for -h, and an error if
// the run failed or its verdict is a failure.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := ParseFlags(args, stderr)
	if err != nil {
		return err
	}
	o.Progress = stderr
	if o.PprofAddr != "" {
		stop, err := servePprof(o.PprofAddr)
		if err != nil {
			return err
		}
		defer stop()
		fmt.Fprintf(stderr, "pprof: http://%s/debug/pprof/\n", o.PprofAddr)
	}
	res, err := Run(ctx, o)
	if res != nil {
		fmt.Fprintln(stdout)
		report.WriteSummary(stdout, res)
		if o.Out != "" {
			fmt.Fprintf(stdout, "\nreport: %s/%s\n", strings.TrimRight(o.Out, "/"), report.HTMLFile)
		}
	}
	if err != nil {
		return err
	}
	if !res.Verdict.Pass {
		return fmt.Errorf("verdict: fail (%s)", strings.Join(res.Verdict.Reasons, "; "))
	}
	return nil
}

// ParseFlags turns `leadflow bench` flags into Options: the scenario
// (--scenario, default steady) first, then every flag given explicitly on
// top of it.
func ParseFlags(args []string, stderr io.Writer) (Options, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, Usage, strings.Join(ScenarioNames(), ", "))
		fs.PrintDefaults()
	}
	c := defineFlags(fs)
	if err := fs.Parse(args); err != nil {
		return Options{}, err
	}
	if fs.NArg() > 0 {
		return Options{}, fmt.Errorf("bench: unexpected arguments %q", fs.Args())
	}
	if *c.listScen {
		for _, n := range ScenarioNames() {
			s, _ := LoadScenario(n)
			fmt.Fprintf(stderr, "%-18s %s\n", n, s.Description)
		}
		return Options{}, flag.ErrHelp
	}
	sc, err := LoadScenario(*c.scenario)
	if err != nil {
		return Options{}, err
	}
	var o Options
	o.Traffic.Seed = 1
	sc.Apply(&o)
	if err := c.override(&o, fs); err != nil {
		return Options{}, err
	}
	o.External, o.RedisAddr, o.HTTPAddr, o.AdminToken = c.f.External, c.f.RedisAddr, c.f.HTTPAddr, c.f.AdminToken
	o.LeadflowPID = c.f.LeadflowPID
	o.ConfigFile, o.TopicPrefix, o.Partitions, o.DataDir = c.f.ConfigFile, c.f.TopicPrefix, c.f.Partitions, c.f.DataDir
	o.EmbeddedRetention, o.CPUProfile, o.MemProfile, o.PprofAddr = c.f.EmbeddedRetention, c.f.CPUProfile, c.f.MemProfile, c.f.PprofAddr
	o.ReceiverAddr, o.ReceiverURL, o.Secret, o.FindMax, o.Out = c.f.ReceiverAddr, c.f.ReceiverURL, c.f.Secret, c.f.FindMax, c.f.Out
	o.Brokers = splitList(*c.brokers)
	o.MetricsURLs = splitList(*c.metrics)
	if o.AdminToken == "" && o.External {
		o.AdminToken = os.Getenv("LEADFLOW_ADMIN_TOKEN")
	}
	d := o.withDefaults()
	if err := d.validate(); err != nil {
		return Options{}, err
	}
	return o, nil
}

// cliFlags are the parsed flags of `leadflow bench` before they become
// Options: f holds those bound to an Options field, the rest are read
// when set.
type cliFlags struct {
	f                          Options
	scenario, brokers, metrics *string
	listScen, noBots           *bool
	automations                *int
	burstEvery, burstLength    *time.Duration
	warmupFlag, durationFlag   *time.Duration
	burstFactor, rateFlag      *float64
	seedFlag                   *int64
}

// defineFlags defines every flag of `leadflow bench` on fs.
func defineFlags(fs *flag.FlagSet) *cliFlags {
	c := &cliFlags{}
	c.scenario = fs.String("scenario", "steady", "built-in scenario name or a scenario .yaml file")
	c.listScen = fs.Bool("list-scenarios", false, "list the built-in scenarios and exit")
	c.brokers = fs.String("brokers", "", "Kafka seed brokers, comma separated (default: an embedded Kafka; with --external 127.0.0.1:9092)")
	c.metrics = fs.String("metrics", "", "extra /metrics URLs of pipeline processes, comma separated (scaled-out stages)")
	c.automations = fs.Int("automations", 0, "automations (each with its own webhook) per workspace, cycling through 5 kinds; the 5th reveals contacts (default 3)")
	c.burstEvery = fs.Duration("burst-every", 0, "make a burst every this long (with --burst-factor)")
	c.burstLength = fs.Duration("burst-length", 5*time.Second, "length of each burst")
	c.burstFactor = fs.Float64("burst-factor", 0, "rate multiplier during bursts")
	c.noBots = fs.Bool("no-bots", false, "generate no bot traffic")
	c.seedFlag = fs.Int64("seed", 1, "traffic seed")
	c.warmupFlag = fs.Duration("warmup", defaultWarmup, "load before measuring (not counted)")
	c.durationFlag = fs.Duration("duration", defaultDuration, "how long to measure, after the warm-up")
	c.rateFlag = fs.Float64("rate", defaultRate, "raw events per second")
	fs.IntVar(&c.f.Traffic.Workspaces, "workspaces", 0, "workspaces (default 10)")
	fs.IntVar(&c.f.Traffic.Companies, "companies", 0, "companies visitors come from (default: all of the data set)")
	fs.Float64Var(&c.f.Traffic.IdentifiableShare, "identifiable-share", 0, "share of sessions from identifiable companies (default 0.3)")
	fs.Float64Var(&c.f.Traffic.BotShare, "bot-share", 0, "share of sessions from bots (default 0.05)")
	fs.Float64Var(&c.f.Traffic.SessionsPerVisitor, "sessions-per-visitor", 0, "mean sessions per visitor (default 1.5)")
	fs.Float64Var(&c.f.Traffic.PageviewsPerSession, "pageviews-per-session", 0, "mean pageviews per session (default 4)")
	fs.Float64Var(&c.f.Traffic.PingShare, "ping-share", 0, "share of events that are pings (default 0.5)")
	fs.Float64Var(&c.f.Traffic.MalformedShare, "malformed-share", 0, "share of deliberately malformed events (default 0)")
	fs.IntVar(&c.f.Traffic.ActiveSessions, "active-sessions", 0, "sessions in flight at once (default rate/2, 1000 to 100000)")
	fs.IntVar(&c.f.MaxSubjects, "max-subjects", 0, "max_subjects of each webhook (default: the pipeline's, 100)")
	fs.Float64Var(&c.f.SlowShare, "slow-share", 0, "share of endpoints that answer slowly")
	fs.DurationVar(&c.f.SlowDelay, "slow-delay", 0, "how slowly slow endpoints answer (default 2s)")
	fs.DurationVar(&c.f.HealthyDelay, "healthy-delay", 0, "how long healthy endpoints take to answer (a receiver's service time)")
	fs.Float64Var(&c.f.FailingShare, "failing-share", 0, "share of endpoints that fail")
	fs.Float64Var(&c.f.FailRate, "fail-rate", 0, "share of requests failing endpoints answer with 500 (default 1)")
	fs.BoolVar(&c.f.External, "external", false, "target a pipeline running elsewhere (leadflow dev/run): only set up, produce and receive")
	fs.StringVar(&c.f.RedisAddr, "redis-addr", "", "Redis of the in-process pipeline (default: embedded); with --external the pipeline's Redis, read for bytes per lead (default: --config's redis.addr)")
	fs.IntVar(&c.f.LeadflowPID, "leadflow-pid", 0, "pid of the --external pipeline: its CPU per event and peak RSS are read from /proc")
	fs.StringVar(&c.f.HTTPAddr, "http-addr", "127.0.0.1:8080", "HTTP address (admin API, /metrics, /readyz) of the --external pipeline")
	fs.StringVar(&c.f.AdminToken, "admin-token", "", "admin API token of the --external pipeline (default $LEADFLOW_ADMIN_TOKEN, else dev-token)")
	fs.StringVar(&c.f.ConfigFile, "config", "", "leadflow config for the in-process pipeline (stage tuning); with --external only its kafka section")
	fs.StringVar(&c.f.TopicPrefix, "topic-prefix", "", "topic prefix (default leadflow.)")
	fs.IntVar(&c.f.Partitions, "partitions", 0, "partitions of the topics the in-process pipeline creates (default: the config's, 4 in dev)")
	fs.DurationVar(&c.f.EmbeddedRetention, "embedded-retention", 15*time.Second, "how long the embedded Kafka keeps records of the busy topics (it keeps them in memory); negative: everything")
	fs.StringVar(&c.f.DataDir, "data-dir", "", "sample data set (leadflow datagen --out); the pipeline must use the same (default: dev's)")
	fs.StringVar(&c.f.ReceiverAddr, "receiver-addr", "127.0.0.1:0", "where the webhook receiver listens")
	fs.StringVar(&c.f.ReceiverURL, "receiver-url", "", "the receiver's base URL as the pipeline reaches it (default http://RECEIVER-ADDR)")
	fs.StringVar(&c.f.Secret, "secret", "", "webhook secret (default: random)")
	fs.DurationVar(&c.f.P99Max, "p99-max", 0, "p99 latency bound of the verdict and --find-max (default 3s)")
	fs.DurationVar(&c.f.DrainTimeout, "drain-timeout", 0, "how long to wait after the load for the pipeline to catch up (default 30s)")
	fs.BoolVar(&c.f.FindMax, "find-max", false, "search for the highest rate with p99 under --p99-max and no growing lag, from --rate up")
	fs.StringVar(&c.f.CPUProfile, "cpu-profile", "", "write a CPU profile of the measured window (of this process: in process, the pipeline) to this file")
	fs.StringVar(&c.f.MemProfile, "mem-profile", "", "write a heap profile of this process at the end of the load to this file")
	fs.StringVar(&c.f.PprofAddr, "pprof", "", "serve net/http/pprof of this process on this address while the bench runs (e.g. 127.0.0.1:6060)")
	fs.StringVar(&c.f.Out, "out", "", "write result.json, report.html, summary.txt (and pipeline.log) into this directory")
	return c
}

// override sets the fields of o (the scenario's) whose flags were given
// explicitly on fs.
func (c *cliFlags) override(o *Options, fs *flag.FlagSet) error {
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	ot := &o.Traffic
	for name, apply := range map[string]func(){
		"rate":                  func() { o.Rate = *c.rateFlag },
		"duration":              func() { o.Duration = *c.durationFlag },
		"warmup":                func() { o.Warmup = warmupOrNone(*c.warmupFlag) },
		"seed":                  func() { ot.Seed = *c.seedFlag },
		"no-bots":               func() { ot.NoBots = *c.noBots },
		"workspaces":            func() { ot.Workspaces = c.f.Traffic.Workspaces },
		"companies":             func() { ot.Companies = c.f.Traffic.Companies },
		"identifiable-share":    func() { ot.IdentifiableShare = c.f.Traffic.IdentifiableShare },
		"bot-share":             func() { ot.BotShare = c.f.Traffic.BotShare; ot.NoBots = c.f.Traffic.BotShare == 0 },
		"sessions-per-visitor":  func() { ot.SessionsPerVisitor = c.f.Traffic.SessionsPerVisitor },
		"pageviews-per-session": func() { ot.PageviewsPerSession = c.f.Traffic.PageviewsPerSession },
		"ping-share":            func() { ot.PingShare = c.f.Traffic.PingShare; ot.NoPings = c.f.Traffic.PingShare == 0 },
		"malformed-share":       func() { ot.MalformedShare = c.f.Traffic.MalformedShare },
		"active-sessions":       func() { ot.ActiveSessions = c.f.Traffic.ActiveSessions },
		"automations":           func() { o.AutomationsPerWorkspace = *c.automations },
		"max-subjects":          func() { o.MaxSubjects = c.f.MaxSubjects },
		"slow-share":            func() { o.SlowShare = c.f.SlowShare },
		"slow-delay":            func() { o.SlowDelay = c.f.SlowDelay },
		"healthy-delay":         func() { o.HealthyDelay = c.f.HealthyDelay },
		"failing-share":         func() { o.FailingShare = c.f.FailingShare },
		"fail-rate":             func() { o.FailRate = c.f.FailRate },
		"p99-max":               func() { o.P99Max = c.f.P99Max },
		"drain-timeout":         func() { o.DrainTimeout = c.f.DrainTimeout },
	} {
		if set[name] {
			apply()
		}
	}
	if set["burst-every"] || set["burst-factor"] {
		if *c.burstEvery <= 0 || *c.burstFactor <= 0 {
			return errors.New("bench: --burst-every and --burst-factor go together and must be positive")
		}
		o.Burst = &Burst{Every: *c.burstEvery, Length: *c.burstLength, Factor: *c.burstFactor}
	}
	return nil
}

// warmupOrNone maps an explicit --warmup 0 to "no warm-up".
func warmupOrNone(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
