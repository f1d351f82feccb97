package bench

import (
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestBuiltInScenariosLoad(t *testing.T) {
	names := ScenarioNames()
	for _, want := range []string{"steady", "burst", "slow-endpoints", "failing-endpoint", "many-workspaces", "reveal"} {
		found := false
		for _, n := range names {
			found = found || n == want
		}
		if !found {
			t.Errorf("scenario %s missing from %v", want, names)
		}
	}
	for _, n := range names {
		s, err := LoadScenario(n)
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		if s.Name != n || s.Description == "" || s.Rate <= 0 || s.Duration <= 0 {
			t.Errorf("%s: %+v", n, s)
		}
		var o Options
		s.Apply(&o)
		if err := o.withDefaults().validate(); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
	s, _ := LoadScenario("reveal")
	var o Options
	s.Apply(&o)
	if rules := o.withDefaults().Rules; len(rules) != 5 || rules[4].Reveal == nil {
		t.Fatalf("reveal scenario rules %+v: want the fifth to reveal contacts", rules)
	}
	s, _ = LoadScenario("burst")
	if s.Burst == nil || s.Burst.Factor != 5 || s.Burst.Every != 20*time.Second {
		t.Fatalf("burst: %+v", s.Burst)
	}
	if b := s.Burst; b.rate(100, 10*time.Second) != 100 || b.rate(100, 16*time.Second) != 500 || b.rate(100, 21*time.Second) != 100 {
		t.Fatal("burst rate profile")
	}
}

func TestScenarioUnknownKeysRejected(t *testing.T) {
	for name, doc := range map[string]string{
		"top level": "name: x\nrat: 100\n",
		"nested":    "traffic:\n  workspace: 3\n",
		"endpoints": "endpoints:\n  slow_shares: 0.1\n",
		"type":      "duration: soon\n",
		"two docs":  "rate: 1\n---\nrate: 2\n",
	} {
		if _, err := ParseScenario([]byte(doc)); err == nil {
			t.Errorf("%s: %q accepted", name, doc)
		}
	}
	s, err := ParseScenario([]byte("rate: 100\ntraffic:\n  seed: 0\n  workspaces: 3\nendpoints:\n  slow_delay: 500ms\n"))
	if err != nil || s.Rate != 100 || s.Traffic.Seed == nil || *s.Traffic.Seed != 0 || s.Endpoints.SlowDelay != 500*time.Millisecond {
		t.Fatalf("%+v %v", s, err)
	}
	path := filepath.Join(t.TempDir(), "mine.yaml")
	if err := os.WriteFile(path, []byte("description: mine\nrate: 5\nbogus: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadScenario(path); err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Fatalf("file with an unknown key: %v", err)
	}
	if _, err := LoadScenario("nope"); err == nil || !strings.Contains(err.Error(), "steady") {
		t.Fatalf("unknown scenario: %v", err)
	}
}

func TestParseFlags(t *testing.T) {
	o, err := ParseFlags([]string{"--scenario", "slow-endpoints", "--rate", "5000", "--workspaces", "7", "--warmup", "0",
		"--brokers", "a:9092, b:9092", "--external", "--p99-max", "2s", "--seed", "0", "--bot-share", "0"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.Scenario != "slow-endpoints" || o.Rate != 5000 || o.Traffic.Workspaces != 7 || o.SlowShare != 0.3 || o.Warmup >= 0 ||
		len(o.Brokers) != 2 || o.Brokers[1] != "b:9092" || !o.External || o.P99Max != 2*time.Second || o.Traffic.Seed != 0 || !o.Traffic.NoBots {
		t.Fatalf("options %+v", o)
	}
	o, err = ParseFlags([]string{"--pprof", "127.0.0.1:6060", "--mem-profile", "/tmp/heap.prof", "--cpu-profile", "/tmp/cpu.prof"}, io.Discard)
	if err != nil || o.PprofAddr != "127.0.0.1:6060" || o.MemProfile != "/tmp/heap.prof" || o.CPUProfile != "/tmp/cpu.prof" {
		t.Fatalf("profiling flags: %+v %v", o, err)
	}
	o, err = ParseFlags(nil, io.Discard)
	if err != nil || o.Scenario != "steady" || o.Rate != 20000 || o.Traffic.Seed != 1 {
		t.Fatalf("defaults: %+v %v", o, err)
	}
	if _, err := ParseFlags([]string{"--rate", "-5"}, io.Discard); !errors.Is(err, ErrOptions) {
		t.Fatalf("negative rate: %v", err)
	}
	if _, err := ParseFlags([]string{"--slow-share", "0.8", "--failing-share", "0.5"}, io.Discard); !errors.Is(err, ErrOptions) {
		t.Fatalf("shares over 1: %v", err)
	}
	if _, err := ParseFlags([]string{"-h"}, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
	if _, err := ParseFlags([]string{"--list-scenarios"}, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--list-scenarios: %v", err)
	}
	if _, err := ParseFlags([]string{"--burst-every", "10s"}, io.Discard); err == nil {
		t.Fatal("--burst-every without --burst-factor accepted")
	}
}

func TestPlanClasses(t *testing.T) {
	c := planClasses(10, 3, 0.2, 0.1, 1)
	var n [numClasses]int
	for _, v := range c {
		n[v]++
	}
	if n[classSlow] != 6 || n[classFailing] != 3 || n[classHealthy] != 21 {
		t.Fatalf("classes %v", n)
	}
	if d := planClasses(10, 3, 0.2, 0.1, 1); string(d) != string(c) {
		t.Fatal("not deterministic")
	}
}
