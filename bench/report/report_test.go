package report

import (
	"bytes"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func sampleResult() *Result {
	r := &Result{
		FormatVersion: FormatVersion, Scenario: "steady", Description: "a <steady> & calm load",
		StartedAt: time.Date(2026, 11, 26, 23, 0, 0, 0, time.UTC),
		Machine:   Machine{GoVersion: "go1.26", OS: "linux", Arch: "amd64", CPUs: 2, CPUModel: "AMD EPYC"},
		Mode:      "embedded",
		Settings:  Settings{Rate: 20000, DurationSec: 30, WarmupSec: 5, Workspaces: 10, IdentifiableShare: 0.3, P99MaxMs: 3000, Automations: []string{"new_lead → webhook 1"}},
		Produced:  Produced{TargetRate: 20000, Rate: 19876.5, Events: 700000},
		Deliveries: Deliveries{Requests: 1000, Subjects: 50000, RequestsPerSec: 33.3, SubjectsPerSec: 1666.7,
			SubjectsByEvent: map[string]uint64{"new_lead": 20000, "new_session": 30000}},
		Stages: []Stage{{Name: "enrich", InPerSec: 19800, OutPerSec: 5900, In: 594000, Out: 177000, OutByTopic: map[string]float64{"leadflow.hits": 177000}}},
		Latency: Latency{Count: 40000, MeanMs: 420, P50Ms: 380, P90Ms: 800, P99Ms: 1400, P999Ms: 2100, MaxMs: 2500,
			Buckets: []LatencyBucket{{LowMs: 10, HighMs: 100, Count: 5000}, {LowMs: 100, HighMs: 1000, Count: 30000}, {LowMs: 1000, HighMs: 2500, Count: 5000}}},
		Lag:     Lag{Max: 1200, Final: 0, MaxByStage: map[string]float64{"enrich": 1200}, DrainSec: 1.5},
		Process: Process{CPUSeconds: 50, CPUPercent: 150, PeakRSSMB: 400, PeakHeapMB: 250, IncludesLoad: true},
		Correctness: Correctness{Checked: true, Pass: false,
			Total:         Counts{Expected: 100, Delivered: 99, Missing: 1, Duplicates: 2, Redelivered: 1},
			ByEvent:       map[string]Counts{"new_lead": {Expected: 40, Delivered: 40}, "new_session": {Expected: 60, Delivered: 59, Missing: 1}},
			ByEndpoint:    map[string]Counts{"healthy": {Expected: 100, Delivered: 99, Missing: 1}},
			MissingSample: []string{`ws_1 new_session s_1f (a&b.com) <rule 2>`}},
		FindMax: &FindMax{P99BoundMs: 3000, MaxRate: 40000, Trials: []Trial{{Rate: 20000, Achieved: 20000, P99Ms: 900, Pass: true},
			{Rate: 80000, Achieved: 61000, P99Ms: 9000, LagGrowing: true, Reason: "lag growing"}}},
		Verdict:  Verdict{Pass: false, Reasons: []string{"1 webhook missing"}},
		Warnings: []string{"stage <deliver> not running"},
	}
	for i := range 40 {
		phase := "measure"
		switch {
		case i < 5:
			phase = "warmup"
		case i >= 35:
			phase = "drain"
		}
		r.Timeline = append(r.Timeline, Sample{T: float64(i + 1), Phase: phase, TargetRate: 20000, Produced: 19900,
			StageIn: map[string]float64{"enrich": 19800}, StageOut: map[string]float64{"enrich": 5900},
			Subjects: 1666, Requests: 33, P50Ms: 380, P99Ms: 1400, Lag: map[string]float64{"enrich": float64(i * 10)},
			LagTotal: float64(i * 10), CPUPercent: 150, RSSMB: 390, HeapMB: 240})
	}
	return r
}

func TestWriteDirRoundTrips(t *testing.T) {
	dir := t.TempDir()
	r := sampleResult()
	if err := WriteDir(dir, r); err != nil {
		t.Fatal(err)
	}
	back, err := ReadResult(filepath.Join(dir, ResultFile))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, r) {
		t.Fatalf("result.json does not round-trip:\n got %+v\nwant %+v", back, r)
	}
	sum, err := os.ReadFile(filepath.Join(dir, SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"latency p99", "1.4s", "correctness", "max rate", "40k/s"} {
		if !strings.Contains(string(sum), want) {
			t.Errorf("summary lacks %q:\n%s", want, sum)
		}
	}
}

// TestHTMLIsWellFormed parses the page as strict XML and checks that it
// holds the charts and escapes what it shows.
func TestHTMLIsWellFormed(t *testing.T) {
	for _, r := range []*Result{sampleResult(), {Scenario: "empty"}} {
		page, err := HTML(r)
		if err != nil {
			t.Fatal(err)
		}
		dec := xml.NewDecoder(bytes.NewReader(page))
		dec.Strict = true
		svgs, polylines, rects := 0, 0, 0
		for {
			tok, err := dec.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: report.html is not well-formed: %v\n%s", r.Scenario, err, page)
			}
			if se, ok := tok.(xml.StartElement); ok {
				switch se.Name.Local {
				case "svg":
					svgs++
				case "polyline":
					polylines++
				case "rect":
					rects++
				}
			}
		}
		if svgs != 6 {
			t.Fatalf("%s: %d charts, want 6", r.Scenario, svgs)
		}
		if r.Scenario == "steady" {
			if polylines < 8 || rects < 3 {
				t.Fatalf("charts hold %d lines and %d rects", polylines, rects)
			}
			s := string(page)
			for _, want := range []string{"Throughput", "Consumer lag", "latency distribution", "&lt;steady&gt; &amp; calm", "enrich", "40k/s"} {
				if !strings.Contains(s, want) {
					t.Errorf("page lacks %q", want)
				}
			}
			if strings.Contains(s, "<script") || strings.Contains(s, "http://") && !strings.Contains(s, "http://www.w3.org/") {
				t.Error("page is not self-contained")
			}
		}
	}
}

func TestNiceCeilAndSI(t *testing.T) {
	for in, want := range map[float64]float64{0: 1, 0.7: 1, 3: 5, 12: 20, 240: 250, 99000: 100000} {
		if got := niceCeil(in); got != want {
			t.Errorf("niceCeil(%v) = %v, want %v", in, got, want)
		}
	}
	for in, want := range map[float64]string{0: "0", 999: "999", 1500: "1.5k", 2500000: "2.5M", 12.345: "12.35"} {
		if got := si(in); got != want {
			t.Errorf("si(%v) = %q, want %q", in, got, want)
		}
	}
}
