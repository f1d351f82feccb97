// Package sink is a webhook receiver for `leadflow sink`, the demo, the
// benchmarks and the tests: it verifies leadflow's signatures, counts what
// arrives, and can answer slowly, fail on purpose, or answer a fixed
// status.
package sink

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/goccy/go-json"
)

// MaxBody bounds a request body the sink reads.
const MaxBody = 64 << 20

// Config configures a Sink.
type Config struct {
	// Secret verifies Signature and the Standard Webhooks signature when
	// not empty; requests that fail either get 401. Default "" (no check).
	Secret string
	// Tolerance is how far webhook-timestamp may be from now. Default 0
	// (not checked).
	Tolerance time.Duration
	// Delay is how long the sink waits before answering. Default 0.
	Delay time.Duration
	// FailRate is the fraction of requests answered 500 on purpose, 0..1.
	// Default 0.
	FailRate float64
	// Status, when not 0, is answered to every verified request. Default 0.
	Status int
	// Quiet turns off the line printed per request. Default false.
	Quiet bool
	// Verbose also prints each request's headers, whether each signature
	// verified, and its body pretty-printed (Verbose). The secret is
	// never printed. Default false.
	Verbose bool
	// Out receives the lines; nil means io.Discard.
	Out io.Writer
	// Seed seeds the fail-rate draws. Default 0.
	Seed uint64
	// OnDelivery, if set, is called for each request answered 2xx with its
	// event, subjects, headers and arrival time. It runs on the request's
	// goroutine: keep it short.
	OnDelivery func(event string, subjects []json.RawMessage, headers http.Header, arrived time.Time)
}

// Sink is an http.Handler that receives webhooks. It is safe for
// concurrent use.
type Sink struct {
	cfg   Config
	start time.Time

	mu  sync.Mutex
	rng *rand.Rand
	out io.Writer

	requests atomic.Int64 // verified, well-formed
	accepted atomic.Int64 // answered 2xx
	failed   atomic.Int64 // answered non-2xx on purpose
	rejected atomic.Int64 // bad signature or body
	subjects atomic.Int64 // in accepted requests
	bytes    atomic.Int64
	byEvent  sync.Map // event -> *atomic.Int64 (subjects)
	latest   sync.Map // event -> Received: the latest accepted request
}

// New returns a Sink for cfg.
func New(cfg Config) *Sink {
	out := cfg.Out
	if out == nil || cfg.Quiet {
		out = io.Discard
	}
	return &Sink{cfg: cfg, start: time.Now(), rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)), out: out}
}

// payload is a webhook body.
type payload struct {
	Event    string            `json:"event"`
	Subjects []json.RawMessage `json:"subjects"`
}

// ServeHTTP receives one webhook request.
func (s *Sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	arrived := time.Now()
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody))
	if err != nil {
		s.rejected.Add(1)
		http.Error(w, "read: "+err.Error(), http.StatusBadRequest)
		return
	}
	if s.cfg.Verbose && s.out != io.Discard {
		s.mu.Lock()
		writeVerbose(s.out, s.cfg.Secret, r, body)
		s.mu.Unlock()
	}
	if s.cfg.Secret != "" {
		if err := VerifySignature(s.cfg.Secret, body, r.Header.Get("Signature")); err != nil {
			s.reject(w, "Signature: "+err.Error())
			return
		}
		if err := VerifyStandard(s.cfg.Secret, r.Header, body, s.cfg.Tolerance); err != nil {
			s.reject(w, "webhook-signature: "+err.Error())
			return
		}
	}
	var p payload
	if err := json.Unmarshal(body, &p); err != nil || p.Event == "" {
		s.rejected.Add(1)
		http.Error(w, "body is not {\"event\":...,\"subjects\":[...]}", http.StatusBadRequest)
		return
	}
	s.requests.Add(1)
	s.bytes.Add(int64(len(body)))
	if s.cfg.Delay > 0 {
		select {
		case <-time.After(s.cfg.Delay):
		case <-r.Context().Done():
			return
		}
	}
	status := http.StatusOK
	switch {
	case s.cfg.Status != 0:
		status = s.cfg.Status
	case s.cfg.FailRate > 0 && s.draw() < s.cfg.FailRate:
		status = http.StatusInternalServerError
	}
	if status/100 == 2 {
		s.accepted.Add(1)
		s.subjects.Add(int64(len(p.Subjects)))
		c, ok := s.byEvent.Load(p.Event)
		if !ok {
			c, _ = s.byEvent.LoadOrStore(p.Event, new(atomic.Int64))
		}
		c.(*atomic.Int64).Add(int64(len(p.Subjects)))
		s.keepLatest(p.Event, body, arrived)
		if s.cfg.OnDelivery != nil {
			s.cfg.OnDelivery(p.Event, p.Subjects, r.Header, arrived)
		}
	} else {
		s.failed.Add(1)
	}
	if s.out != io.Discard {
		s.mu.Lock()
		fmt.Fprintf(s.out, "%s %d %s subjects=%d bytes=%d id=%s\n", arrived.Format("15:04:05.000"), status, p.Event,
			len(p.Subjects), len(body), r.Header.Get("webhook-id"))
		s.mu.Unlock()
	}
	w.WriteHeader(status)
}

func (s *Sink) reject(w http.ResponseWriter, msg string) {
	s.rejected.Add(1)
	if s.out != io.Discard {
		s.mu.Lock()
		fmt.Fprintf(s.out, "%s 401 rejected: %s\n", time.Now().Format("15:04:05.000"), msg)
		s.mu.Unlock()
	}
	http.Error(w, msg, http.StatusUnauthorized)
}

func (s *Sink) draw() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rng.Float64()
}

// Stats are a sink's totals since New.
type Stats struct {
	Requests        int64            // verified, well-formed requests
	Accepted        int64            // answered 2xx
	Failed          int64            // answered non-2xx on purpose (fail rate, status)
	Rejected        int64            // bad signature (401) or body (400)
	Subjects        int64            // subjects in accepted requests
	Bytes           int64            // body bytes of verified requests
	SubjectsByEvent map[string]int64 // accepted subjects by event
	Elapsed         time.Duration    // since New
	RequestsPerSec  float64          // accepted requests per second since New
	SubjectsPerSec  float64          // accepted subjects per second since New
}

// Stats returns the sink's totals and rates.
func (s *Sink) Stats() Stats {
	st := Stats{Requests: s.requests.Load(), Accepted: s.accepted.Load(), Failed: s.failed.Load(),
		Rejected: s.rejected.Load(), Subjects: s.subjects.Load(), Bytes: s.bytes.Load(),
		SubjectsByEvent: map[string]int64{}, Elapsed: time.Since(s.start)}
	s.byEvent.Range(func(k, v any) bool {
		st.SubjectsByEvent[k.(string)] = v.(*atomic.Int64).Load()
		return true
	})
	if secs := st.Elapsed.Seconds(); secs > 0 {
		st.RequestsPerSec = float64(st.Accepted) / secs
		st.SubjectsPerSec = float64(st.Subjects) / secs
	}
	return st
}
