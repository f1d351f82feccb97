package bench

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"

	"github.com/leadflow/leadflow/bench/report"
)

// fakeProc writes a /proc/PID tree with stat and status under a temp dir
// and returns a probe reading it.
func fakeProc(t *testing.T, pid int, stat, status string) *costProbe {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, strconv.Itoa(pid))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{"stat": stat, "status": status} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return &costProbe{pid: pid, procRoot: root}
}

func TestCostProbeReadsProc(t *testing.T) {
	// A command with spaces and a ")" of its own: fields are counted
	// after the last ")". utime 1234 + stime 766 ticks = 20 s.
	stat := "4242 (leadflow (run) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 766 0 0 20 0 12 0 500 1000000 2000 18446744073709551615\n"
	status := "Name:\tleadflow\nVmPeak:\t 2000000 kB\nVmHWM:\t 1048576 kB\nVmRSS:\t  524288 kB\n"
	p := fakeProc(t, 4242, stat, status)
	cpu, err := p.cpuSeconds()
	if err != nil || cpu != 20 {
		t.Fatalf("cpuSeconds = %v, %v; want 20", cpu, err)
	}
	hwm, err := p.highWaterRSS()
	if err != nil || hwm != 1<<30 {
		t.Fatalf("highWaterRSS = %v, %v; want 1 GiB", hwm, err)
	}

	bad := fakeProc(t, 7, "7 (x) S 1 2 3\n", "Name:\tx\n")
	if _, err := bad.cpuSeconds(); err == nil {
		t.Fatal("a short stat line parsed")
	}
	if _, err := bad.highWaterRSS(); err == nil || !strings.Contains(err.Error(), "VmHWM") {
		t.Fatalf("a status without VmHWM: %v", err)
	}
	var none *costProbe
	if _, err := none.cpuSeconds(); err == nil {
		t.Fatal("a nil probe read a CPU time")
	}
	if _, err := (&costProbe{procRoot: "/proc"}).highWaterRSS(); err == nil {
		t.Fatal("a probe without pid read an RSS")
	}
}

// TestCostProbeReadsOwnProc reads this process's real /proc entries, as
// the in-process bench does.
func TestCostProbeReadsOwnProc(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc on this system")
	}
	p := newCostProbe(Options{}, "", "")
	defer func() { _ = p.close() }()
	// Burn a little CPU so the reading cannot be 0.
	x := 0.0
	for i := range 20_000_000 {
		x += math.Sqrt(float64(i))
	}
	cpu, err := p.cpuSeconds()
	if err != nil || cpu <= 0 || x == 0 {
		t.Fatalf("own CPU = %v, %v", cpu, err)
	}
	hwm, err := p.highWaterRSS()
	if err != nil || hwm < 1<<20 {
		t.Fatalf("own VmHWM = %v, %v", hwm, err)
	}
}

func TestParseUsedMemory(t *testing.T) {
	info := "# Memory\r\nused_memory:1191504\r\nused_memory_human:1.14M\r\nused_memory_rss:9000000\r\n"
	if n, err := parseUsedMemory(info); err != nil || n != 1191504 {
		t.Fatalf("used_memory = %d, %v", n, err)
	}
	if _, err := parseUsedMemory("# Clients\r\nconnected_clients:1\r\n"); err == nil {
		t.Fatal("INFO without used_memory parsed")
	}
	if _, err := parseUsedMemory("used_memory:lots\r\n"); err == nil {
		t.Fatal("a non-numeric used_memory parsed")
	}
}

// TestCostProbeRedis reads used_memory from the real Redis when
// LEADFLOW_REDIS_ADDR is set; miniredis, which answers only INFO clients,
// must give an error rather than a 0 figure.
func TestCostProbeRedis(t *testing.T) {
	ctx := context.Background()
	if addr := os.Getenv("LEADFLOW_REDIS_ADDR"); addr != "" {
		p := newCostProbe(Options{External: true}, addr, "")
		defer func() { _ = p.close() }()
		n, err := p.redisUsedMemory(ctx)
		if err != nil || n <= 0 {
			t.Fatalf("real Redis used_memory = %d, %v", n, err)
		}
	}
	mr := miniredis.RunT(t)
	p := newCostProbe(Options{External: true}, mr.Addr(), "")
	defer func() { _ = p.close() }()
	if n, err := p.redisUsedMemory(ctx); err == nil {
		t.Fatalf("miniredis gave used_memory %d", n)
	}
	if _, err := (&costProbe{}).redisUsedMemory(ctx); err == nil {
		t.Fatal("a probe without Redis read used_memory")
	}
}

func TestCPUPerEvent(t *testing.T) {
	// /proc wins over /metrics: 3 s of CPU over 1.5M events = 2 µs/event.
	var c report.Cost
	// The bytes allocated come from /metrics: 3 GB over 1.5M events.
	cpuPerEvent(&c, cpuWindow{procFrom: 10, procTo: 13, procOK: true, metricsSecs: 99, metricsOK: true, allocBytes: 3e9, events: 1_500_000})
	if c.CPUSource != "proc" || c.CPUMicrosPerEvent != 2 || c.Events != 1_500_000 || c.AllocBytesPerEvent != 2000 {
		t.Fatalf("proc: %+v", c)
	}
	c = report.Cost{}
	cpuPerEvent(&c, cpuWindow{procFrom: 10, procTo: 13, procOK: true, allocBytes: 3e9, events: 1_500_000})
	if c.AllocBytesPerEvent != 0 {
		t.Fatalf("allocation without /metrics at both ends: %+v", c)
	}
	c = report.Cost{}
	cpuPerEvent(&c, cpuWindow{metricsSecs: 6, metricsOK: true, events: 1_000_000})
	if c.CPUSource != "metrics" || c.CPUMicrosPerEvent != 6 {
		t.Fatalf("metrics: %+v", c)
	}
	c = report.Cost{}
	cpuPerEvent(&c, cpuWindow{events: 1000})
	if c.CPUSource != "" || c.CPUMicrosPerEvent != 0 || c.Events != 1000 {
		t.Fatalf("no reading: %+v", c)
	}
	c = report.Cost{}
	cpuPerEvent(&c, cpuWindow{procFrom: 1, procTo: 2, procOK: true})
	if c.CPUSource != "proc" || c.CPUMicrosPerEvent != 0 {
		t.Fatalf("no events: %+v", c)
	}
}

func TestRedisPerLead(t *testing.T) {
	var c report.Cost
	redisPerLead(&c, 1_000_000, 36_000_000, 10_000, 14_000)
	if c.RedisBytesPerLead != 3500 || c.RedisBytesPerSession != 2500 || c.Leads != 10_000 || c.Sessions != 14_000 ||
		c.RedisUsedBefore != 1_000_000 || c.RedisUsedAfter != 36_000_000 {
		t.Fatalf("%+v", c)
	}
	c = report.Cost{}
	redisPerLead(&c, 5, 9, 0, 0)
	if c.RedisBytesPerLead != 0 || c.RedisBytesPerSession != 0 {
		t.Fatalf("no leads: %+v", c)
	}
}

func TestRedisTarget(t *testing.T) {
	for _, tc := range []struct {
		name       string
		o          Options
		cfgAddr    string
		embedded   bool
		wantAddr   string
		wantInNote string
	}{
		{"flag wins", Options{External: true, RedisAddr: "r:1"}, "cfg:1", false, "r:1", ""},
		{"external config", Options{External: true}, "cfg:1", false, "cfg:1", ""},
		{"external none", Options{External: true}, "", false, "", "--redis-addr"},
		{"in-process miniredis", Options{Brokers: []string{"k:1"}}, "", false, "", "miniredis"},
		{"embedded", Options{}, "", true, "", "miniredis"},
		{"embedded on a real redis", Options{RedisAddr: "r:2"}, "", false, "r:2", ""},
	} {
		addr, note := redisTarget(tc.o, tc.cfgAddr, tc.embedded)
		if addr != tc.wantAddr || (tc.wantInNote == "") != (note == "") || !strings.Contains(note, tc.wantInNote) {
			t.Errorf("%s: addr %q note %q", tc.name, addr, note)
		}
	}
}

func TestNewCostProbePid(t *testing.T) {
	if p := newCostProbe(Options{}, "", ""); p.pid != os.Getpid() {
		t.Fatalf("in process pid %d, want own %d", p.pid, os.Getpid())
	}
	if p := newCostProbe(Options{External: true, LeadflowPID: 77}, "", ""); p.pid != 77 {
		t.Fatalf("external pid %d", p.pid)
	}
	if p := newCostProbe(Options{External: true}, "", "why"); p.pid != 0 || p.rdb != nil || p.redisNote != "why" {
		t.Fatalf("external without pid: %+v", p)
	}
}

func TestValidateLeadflowPID(t *testing.T) {
	for _, o := range []Options{{LeadflowPID: 5}, {External: true, LeadflowPID: -1}} {
		if err := o.withDefaults().validate(); err == nil {
			t.Errorf("%+v validated", o)
		}
	}
	for _, o := range []Options{{External: true, LeadflowPID: 5}, {External: true, RedisAddr: "127.0.0.1:6379"}} {
		if err := o.withDefaults().validate(); err != nil {
			t.Errorf("%+v: %v", o, err)
		}
	}
}

func TestSummaryCostRows(t *testing.T) {
	r := &report.Result{Scenario: "steady", Mode: "external", Verdict: report.Verdict{Pass: true}}
	r.Process.HighWaterRSSMB = 1024
	r.Cost = report.Cost{CPUMicrosPerEvent: 37.5, CPUSource: "proc", Events: 1_200_000, CPUDrained: true,
		RedisUsedBefore: 1_000_000, RedisUsedAfter: 36_000_000, Leads: 10_000, Sessions: 14_000, RedisBytesPerLead: 3500, RedisBytesPerSession: 2500}
	var b bytes.Buffer
	report.WriteSummary(&b, r)
	for _, want := range []string{"cpu/event", "37.5 µs", "proc, 1200000 events, warm-up to drain)", "memory hwm", "1024 MiB", "redis/lead", "3500 B", "35M B over 10000 leads", "per session: 2500 B"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, b.String())
		}
	}
	r.Cost = report.Cost{RedisNote: "not measured: give --redis-addr", CPUIncludesLoad: true, CPUSource: "metrics", CPUMicrosPerEvent: 50}
	r.Process.HighWaterRSSMB = 0
	b.Reset()
	report.WriteSummary(&b, r)
	for _, want := range []string{"incl. load generator", "not measured: give --redis-addr", "NOT DRAINED"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, b.String())
		}
	}
	if strings.Contains(b.String(), "memory hwm") {
		t.Errorf("summary shows a high-water RSS it does not have:\n%s", b.String())
	}
}

func TestCostCPUCoversTheDrain(t *testing.T) {
	from := cumul{procCPU: 100}
	to := cumul{procCPU: 130}
	var c report.Cost
	costCPU(&c, from, to, 1_000_000, true)
	if c.CPUSource != "proc" || c.CPUMicrosPerEvent != 30 || !c.CPUDrained || c.Events != 1_000_000 {
		t.Fatalf("%+v", c)
	}
	c = report.Cost{}
	costCPU(&c, cumul{procErr: os.ErrNotExist}, to, 1000, false)
	if c.CPUSource != "" || c.CPUDrained || c.CPUMicrosPerEvent != 0 {
		t.Fatalf("no /proc at the start, no /metrics: %+v", c)
	}
}

func TestRSSGrowthIsTheSlopeOfTheLastHalf(t *testing.T) {
	samples := func(n int, rss func(t float64) float64) []report.Sample {
		var out []report.Sample
		for i := range n {
			t := float64(i + 1)
			out = append(out, report.Sample{T: t, Phase: phaseMeasure, RSSMB: rss(t)})
		}
		return out
	}
	for _, c := range []struct {
		name    string
		in      []report.Sample
		perMin  float64
		windowS float64
	}{
		{"flat", samples(120, func(float64) float64 { return 500 }), 0, 59},
		{"1 MiB/s", samples(120, func(t float64) float64 { return 300 + t }), 60, 59},
		{"grew, then level", samples(120, func(t float64) float64 { return 300 + 5*min(t, 50) }), 0, 59},
		{"shrinking", samples(60, func(t float64) float64 { return 900 - t/2 }), -30, 29},
		{"too short", samples(30, func(t float64) float64 { return t }), 0, 0},
		{"no reading", samples(120, func(float64) float64 { return 0 }), 0, 0},
	} {
		perMin, windowS := rssGrowth(c.in)
		if math.Abs(perMin-c.perMin) > 1e-9 || windowS != c.windowS {
			t.Errorf("%s: %v MiB/min over %v s, want %v over %v", c.name, perMin, windowS, c.perMin, c.windowS)
		}
	}
}

func TestSummaryShowsRSSGrowth(t *testing.T) {
	r := &report.Result{Scenario: "steady", Mode: "embedded", Verdict: report.Verdict{Pass: true}}
	r.Process.PeakRSSMB, r.Process.RSSGrowthMBPerMin, r.Process.RSSGrowthWindowS = 1800, 64.5, 300
	var b bytes.Buffer
	report.WriteSummary(&b, r)
	if want := "RSS +64.5 MiB/min over the last 300s of the load"; !strings.Contains(b.String(), want) {
		t.Errorf("summary lacks %q:\n%s", want, b.String())
	}
	r.Process.RSSGrowthMBPerMin, r.Process.RSSGrowthWindowS = 0, 0
	b.Reset()
	report.WriteSummary(&b, r)
	if strings.Contains(b.String(), "MiB/min") {
		t.Errorf("summary shows a growth it did not measure:\n%s", b.String())
	}
}
