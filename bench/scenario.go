package bench

import (
	"github.com/leadflow/leadflow/bench/traffic"

	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

//go:embed scenarios/*.yaml
var scenarioFS embed.FS

// Scenario is a named benchmark setup, as in bench/scenarios/*.yaml. Every
// field is optional (zero: the Options default); unknown keys are an error.
type Scenario struct {
	// Name is the scenario's name (default: the file name without .yaml).
	Name string `yaml:"name"`
	// Description says what the scenario shows.
	Description string `yaml:"description"`
	// Rate is raw events/s.
	Rate float64 `yaml:"rate"`
	// Duration is the measured time, after Warmup ("60s").
	Duration time.Duration `yaml:"duration"`
	Warmup   time.Duration `yaml:"warmup"`
	// Burst multiplies the rate periodically.
	Burst *Burst `yaml:"burst"`
	// Traffic shapes the generated events.
	Traffic ScenarioTraffic `yaml:"traffic"`
	// Automations are set up in every workspace.
	Automations ScenarioAutomations `yaml:"automations"`
	// Endpoints shape the receiving side.
	Endpoints ScenarioEndpoints `yaml:"endpoints"`
	// P99Max is the latency bound ("3s").
	P99Max time.Duration `yaml:"p99_max"`
	// DrainTimeout bounds the wait for the pipeline to catch up.
	DrainTimeout time.Duration `yaml:"drain_timeout"`
}

// ScenarioTraffic is the traffic section of a scenario (see traffic.Config).
type ScenarioTraffic struct {
	Seed                *int64  `yaml:"seed"`
	Workspaces          int     `yaml:"workspaces"`
	HotWorkspaceShare   float64 `yaml:"hot_workspace_share"`
	Companies           int     `yaml:"companies"`
	IdentifiableShare   float64 `yaml:"identifiable_share"`
	BotShare            float64 `yaml:"bot_share"`
	SessionsPerVisitor  float64 `yaml:"sessions_per_visitor"`
	PageviewsPerSession float64 `yaml:"pageviews_per_session"`
	PingShare           float64 `yaml:"ping_share"`
	MalformedShare      float64 `yaml:"malformed_share"`
	ActiveSessions      int     `yaml:"active_sessions"`
}

// ScenarioAutomations is the automations section of a scenario.
type ScenarioAutomations struct {
	// PerWorkspace is Options.AutomationsPerWorkspace.
	PerWorkspace int `yaml:"per_workspace"`
	// MaxSubjects is each webhook's max_subjects.
	MaxSubjects int `yaml:"max_subjects"`
	// Triggers, if set, are the automations of every workspace, one per
	// trigger (new_lead, new_session), each with its own webhook and no
	// segment; they replace PerWorkspace's default rules.
	Triggers []string `yaml:"triggers"`
}

// ScenarioEndpoints is the endpoints section of a scenario.
type ScenarioEndpoints struct {
	SlowShare    float64       `yaml:"slow_share"`
	SlowDelay    time.Duration `yaml:"slow_delay"`
	HealthyDelay time.Duration `yaml:"healthy_delay"`
	FailingShare float64       `yaml:"failing_share"`
	FailRate     float64       `yaml:"fail_rate"`
}

// ScenarioNames lists the scenarios built into the binary.
func ScenarioNames() []string {
	entries, _ := fs.ReadDir(scenarioFS, "scenarios") // embedded: cannot fail
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	slices.Sort(names)
	return names
}

// LoadScenario returns a built-in scenario by name ("steady"), or reads the
// YAML file at nameOrPath when it names a file (contains a '/' or ends in
// .yaml).
func LoadScenario(nameOrPath string) (*Scenario, error) {
	var data []byte
	var err error
	name := nameOrPath
	if strings.ContainsRune(nameOrPath, os.PathSeparator) || strings.HasSuffix(nameOrPath, ".yaml") || strings.HasSuffix(nameOrPath, ".yml") {
		data, err = os.ReadFile(nameOrPath)
		name = strings.TrimSuffix(strings.TrimSuffix(path.Base(nameOrPath), ".yaml"), ".yml")
	} else {
		data, err = scenarioFS.ReadFile("scenarios/" + nameOrPath + ".yaml")
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("bench: no scenario %q (built in: %s; or give a .yaml file)", nameOrPath, strings.Join(ScenarioNames(), ", "))
		}
	}
	if err != nil {
		return nil, fmt.Errorf("bench: scenario: %w", err)
	}
	s, err := ParseScenario(data)
	if err != nil {
		return nil, fmt.Errorf("bench: scenario %s: %w", nameOrPath, err)
	}
	if s.Name == "" {
		s.Name = name
	}
	return s, nil
}

// ParseScenario decodes one scenario strictly: unknown keys, a second
// document and wrong types are errors (naming the line).
func ParseScenario(data []byte) (*Scenario, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var s Scenario
	if err := dec.Decode(&s); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one YAML document")
	}
	return &s, nil
}

// Apply sets the options the scenario sets (non-zero fields) on o.
func (s *Scenario) Apply(o *Options) {
	set := func(dst *float64, v float64) {
		if v != 0 {
			*dst = v
		}
	}
	setI := func(dst *int, v int) {
		if v != 0 {
			*dst = v
		}
	}
	setD := func(dst *time.Duration, v time.Duration) {
		if v != 0 {
			*dst = v
		}
	}
	o.Scenario = s.Name
	if s.Description != "" {
		o.Description = s.Description
	}
	set(&o.Rate, s.Rate)
	setD(&o.Duration, s.Duration)
	setD(&o.Warmup, s.Warmup)
	if s.Burst != nil {
		b := *s.Burst
		o.Burst = &b
	}
	t := s.Traffic
	if t.Seed != nil {
		o.Traffic.Seed = *t.Seed
	}
	setI(&o.Traffic.Workspaces, t.Workspaces)
	setI(&o.Traffic.Companies, t.Companies)
	set(&o.Traffic.HotWorkspaceShare, t.HotWorkspaceShare)
	set(&o.Traffic.IdentifiableShare, t.IdentifiableShare)
	set(&o.Traffic.BotShare, t.BotShare)
	set(&o.Traffic.SessionsPerVisitor, t.SessionsPerVisitor)
	set(&o.Traffic.PageviewsPerSession, t.PageviewsPerSession)
	set(&o.Traffic.PingShare, t.PingShare)
	set(&o.Traffic.MalformedShare, t.MalformedShare)
	setI(&o.Traffic.ActiveSessions, t.ActiveSessions)
	setI(&o.AutomationsPerWorkspace, s.Automations.PerWorkspace)
	if len(s.Automations.Triggers) > 0 {
		o.Rules = nil
		for _, tr := range s.Automations.Triggers {
			o.Rules = append(o.Rules, traffic.Rule{Trigger: tr})
		}
	}
	setI(&o.MaxSubjects, s.Automations.MaxSubjects)
	set(&o.SlowShare, s.Endpoints.SlowShare)
	setD(&o.SlowDelay, s.Endpoints.SlowDelay)
	setD(&o.HealthyDelay, s.Endpoints.HealthyDelay)
	set(&o.FailingShare, s.Endpoints.FailingShare)
	set(&o.FailRate, s.Endpoints.FailRate)
	setD(&o.P99Max, s.P99Max)
	setD(&o.DrainTimeout, s.DrainTimeout)
}
