// Package scrape reads the Prometheus text exposition of leadflow
// processes (GET /metrics) and sums the figures the benchmark reports:
// records in and out of each stage, consumer lag, dead letters, CPU and
// memory.
package scrape

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Metric names read from leadflow processes.
const (
	MetricRecordsIn   = "leadflow_records_in_total"
	MetricRecordsOut  = "leadflow_records_out_total"
	MetricLag         = "leadflow_consumer_lag_records"
	MetricInflight    = "leadflow_inflight_records"
	MetricDeadLetters = "leadflow_dead_letters_total"
	MetricCPU         = "process_cpu_seconds_total"
	MetricRSS         = "process_resident_memory_bytes"
	MetricHeap        = "go_memstats_heap_inuse_bytes"
	MetricAlloc       = "go_memstats_alloc_bytes_total"
)

// Sample is one line of the exposition: a metric name, its labels and
// value.
type Sample struct {
	Name   string
	Labels map[string]string
	Value  float64
}

// Parse reads the text exposition format from r, keeping the samples
// whose name keep accepts (nil keeps all). Comments and blank lines are
// skipped; a line that does not parse is an error naming its number.
func Parse(r io.Reader, keep func(name string) bool) ([]Sample, error) {
	var out []Sample
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || text[0] == '#' {
			continue
		}
		name, rest := text, ""
		if i := strings.IndexAny(text, "{ \t"); i >= 0 {
			name, rest = text[:i], text[i:]
		}
		if keep != nil && !keep(name) {
			continue
		}
		s := Sample{Name: name}
		if strings.HasPrefix(rest, "{") {
			labels, n, err := parseLabels(rest)
			if err != nil {
				return nil, fmt.Errorf("scrape: line %d: %w", line, err)
			}
			s.Labels, rest = labels, rest[n:]
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			return nil, fmt.Errorf("scrape: line %d: no value", line)
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return nil, fmt.Errorf("scrape: line %d: value %q: %w", line, fields[0], err)
		}
		s.Value = v
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("scrape: %w", err)
	}
	return out, nil
}

// parseLabels parses `{a="x",b="y\"z"}` at the start of s and returns the
// labels and the bytes consumed.
func parseLabels(s string) (map[string]string, int, error) {
	labels := map[string]string{}
	i := 1
	for {
		for i < len(s) && (s[i] == ' ' || s[i] == ',') {
			i++
		}
		if i < len(s) && s[i] == '}' {
			return labels, i + 1, nil
		}
		eq := strings.IndexByte(s[i:], '=')
		if eq < 0 || i+eq+1 >= len(s) || s[i+eq+1] != '"' {
			return nil, 0, errors.New("malformed labels")
		}
		key := strings.TrimSpace(s[i : i+eq])
		i += eq + 2
		var v strings.Builder
		for ; i < len(s) && s[i] != '"'; i++ {
			if s[i] == '\\' && i+1 < len(s) {
				i++
				switch s[i] {
				case 'n':
					v.WriteByte('\n')
				default:
					v.WriteByte(s[i])
				}
				continue
			}
			v.WriteByte(s[i])
		}
		if i >= len(s) {
			return nil, 0, errors.New("unterminated label value")
		}
		labels[key] = v.String()
		i++
	}
}

// Snapshot is the figures of one scrape, summed over every process.
type Snapshot struct {
	// At is when the scrape was taken.
	At time.Time `json:"at"`
	// RecordsIn is leadflow_records_in_total by stage.
	RecordsIn map[string]float64 `json:"records_in"`
	// RecordsOut is leadflow_records_out_total by stage (all topics).
	RecordsOut map[string]float64 `json:"records_out"`
	// RecordsOutByTopic is leadflow_records_out_total by "stage topic".
	RecordsOutByTopic map[string]float64 `json:"records_out_by_topic"`
	// Lag is leadflow_consumer_lag_records summed by stage.
	Lag map[string]float64 `json:"lag"`
	// Inflight is leadflow_inflight_records (fetched, not finished: queued
	// in the stage or waiting on a webhook) summed by stage.
	Inflight map[string]float64 `json:"inflight"`
	// DeadLetters is leadflow_dead_letters_total summed by stage.
	DeadLetters map[string]float64 `json:"dead_letters"`
	// CPUSeconds is process_cpu_seconds_total summed over processes.
	CPUSeconds float64 `json:"cpu_seconds"`
	// RSS is process_resident_memory_bytes summed over processes.
	RSS float64 `json:"rss_bytes"`
	// HeapInuse is go_memstats_heap_inuse_bytes summed over processes.
	HeapInuse float64 `json:"heap_inuse_bytes"`
	// AllocBytes is go_memstats_alloc_bytes_total (bytes the Go heap
	// ever allocated) summed over processes.
	AllocBytes float64 `json:"alloc_bytes"`
}

// TotalLag is the lag of every stage together.
func (s *Snapshot) TotalLag() float64 {
	var t float64
	for _, v := range s.Lag {
		t += v
	}
	return t
}

// TotalInflight is the records in flight in every stage together.
func (s *Snapshot) TotalInflight() float64 {
	var t float64
	for _, v := range s.Inflight {
		t += v
	}
	return t
}

// Backlog is what the pipeline has not finished: lag plus in flight.
func (s *Snapshot) Backlog() float64 { return s.TotalLag() + s.TotalInflight() }

// Scraper reads /metrics of one or more processes.
type Scraper struct {
	// URLs are the /metrics URLs.
	URLs []string
	// Client does the requests; nil means a client with a 5 s timeout.
	Client *http.Client
}

// wanted reports whether name is one the Snapshot needs.
func wanted(name string) bool {
	switch name {
	case MetricRecordsIn, MetricRecordsOut, MetricLag, MetricInflight, MetricDeadLetters, MetricCPU, MetricRSS, MetricHeap, MetricAlloc:
		return true
	}
	return false
}

// Scrape reads every URL and sums them into one Snapshot. A URL that
// fails makes the whole scrape fail (the error names it).
func (s *Scraper) Scrape(ctx context.Context) (*Snapshot, error) {
	client := s.Client
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	snap := &Snapshot{At: time.Now(), RecordsIn: map[string]float64{}, RecordsOut: map[string]float64{},
		RecordsOutByTopic: map[string]float64{}, Lag: map[string]float64{}, Inflight: map[string]float64{}, DeadLetters: map[string]float64{}}
	for _, u := range s.URLs {
		samples, err := get(ctx, client, u)
		if err != nil {
			return nil, err
		}
		snap.add(samples)
	}
	return snap, nil
}

func get(ctx context.Context, client *http.Client, u string) ([]Sample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", u, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", u, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape %s: %s", u, resp.Status)
	}
	samples, err := Parse(resp.Body, wanted)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", u, err)
	}
	return samples, nil
}

// add sums samples into s.
func (s *Snapshot) add(samples []Sample) {
	for _, m := range samples {
		stage := m.Labels["stage"]
		switch m.Name {
		case MetricRecordsIn:
			s.RecordsIn[stage] += m.Value
		case MetricRecordsOut:
			s.RecordsOut[stage] += m.Value
			s.RecordsOutByTopic[stage+" "+m.Labels["topic"]] += m.Value
		case MetricLag:
			s.Lag[stage] += m.Value
		case MetricInflight:
			s.Inflight[stage] += m.Value
		case MetricDeadLetters:
			s.DeadLetters[stage] += m.Value
		case MetricCPU:
			s.CPUSeconds += m.Value
		case MetricRSS:
			s.RSS += m.Value
		case MetricHeap:
			s.HeapInuse += m.Value
		case MetricAlloc:
			s.AllocBytes += m.Value
		}
	}
}
