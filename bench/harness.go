package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/goccy/go-json"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/leadflow/leadflow/bench/adminapi"
	"github.com/leadflow/leadflow/bench/report"
	"github.com/leadflow/leadflow/bench/scrape"
	"github.com/leadflow/leadflow/bench/traffic"
	"github.com/leadflow/leadflow/stages/deliver/sink"
)

// Result is everything a run measured (see package report).
type Result = report.Result

// Run runs one benchmark, or with Options.FindMax a search over rates,
// and returns the Result; with Options.Out it also writes result.json,
// report.html and summary.txt there. The pipeline it started (if any) is
// stopped before Run returns. A Result is returned along with an error
// when the run got far enough to measure something.
func Run(ctx context.Context, opts Options) (*Result, error) {
	o := opts.withDefaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	h, err := startHarness(ctx, o)
	if err != nil {
		return nil, err
	}
	var res *Result
	if o.FindMax {
		res, err = h.findMax(ctx)
	} else {
		res, err = h.trial(ctx, o.Rate, "")
	}
	if cerr := h.close(); cerr != nil && err == nil {
		err = cerr
	}
	if res != nil && o.Out != "" {
		if werr := report.WriteDir(o.Out, res); werr != nil {
			err = errors.Join(err, werr)
		}
	}
	return res, err
}

// harness is what trials share: the pipeline, the receiver, the Kafka
// producer client and the admin API client.
type harness struct {
	o       Options
	data    *traffic.Data
	reveals *traffic.Reveals // the contacts the reveal rules of o.Rules can reveal
	tgt     *target
	api     *adminapi.Client
	scraper *scrape.Scraper
	cost    *costProbe
	kcl     *kgo.Client
	srv     *http.Server
	srvDone chan error
	recvURL string
	secret  string

	mu     sync.Mutex
	trials map[string]*trial // by run id, for routing requests
}

// startHarness loads the data set, starts or finds the pipeline, and
// starts the receiver.
func startHarness(ctx context.Context, o Options) (_ *harness, err error) {
	h := &harness{o: o, trials: map[string]*trial{}, secret: o.Secret}
	if h.secret == "" {
		h.secret = "whsec_" + randomHex(16)
	}
	defer func() {
		if err != nil {
			_ = h.close()
		}
	}()
	dataDir, err := resolveDataDir(ctx, o.DataDir)
	if err != nil {
		return nil, err
	}
	if h.data, err = traffic.LoadData(dataDir); err != nil {
		return nil, err
	}
	if h.reveals, err = traffic.LoadReveals(h.data, o.Rules); err != nil {
		return nil, err
	}
	if h.tgt, err = startTarget(ctx, o, dataDir); err != nil {
		return nil, err
	}
	if h.api, err = adminapi.New(h.tgt.adminURL, h.tgt.token, o.HTTPClient); err != nil {
		return nil, err
	}
	h.scraper = &scrape.Scraper{URLs: h.tgt.metricsURLs, Client: &http.Client{Timeout: 5 * time.Second}}
	h.cost = newCostProbe(o, h.tgt.redisAddr, h.tgt.redisNote)
	kopts, err := h.tgt.kafka.ClientOpts()
	if err != nil {
		return nil, err
	}
	kopts = append(kopts,
		kgo.ProducerLinger(5*time.Millisecond),
		kgo.MaxBufferedRecords(int(min(max(o.Rate, 10000), 1_000_000))),
		kgo.ProducerBatchMaxBytes(1<<20),
	)
	if h.kcl, err = kgo.NewClient(kopts...); err != nil {
		return nil, fmt.Errorf("bench: kafka client: %w", err)
	}
	ln, err := net.Listen("tcp", o.ReceiverAddr)
	if err != nil {
		return nil, fmt.Errorf("bench: receiver on %s: %w", o.ReceiverAddr, err)
	}
	h.recvURL = strings.TrimRight(o.ReceiverURL, "/")
	if h.recvURL == "" {
		h.recvURL = "http://" + ln.Addr().String()
	}
	h.srv = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	h.srvDone = make(chan error, 1)
	go func() { h.srvDone <- h.srv.Serve(ln) }()
	return h, nil
}

// close stops the receiver, the producer client and the pipeline.
func (h *harness) close() error {
	var errs []error
	if h.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		_ = h.srv.Shutdown(ctx) // slow endpoints may still be sleeping; they are cut off
		cancel()
		if err := <-h.srvDone; err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, fmt.Errorf("bench: receiver: %w", err))
		}
		h.srv = nil
	}
	if h.kcl != nil {
		h.kcl.Close()
		h.kcl = nil
	}
	if err := h.cost.close(); err != nil {
		errs = append(errs, fmt.Errorf("bench: cost probe: %w", err))
	}
	h.cost = nil
	if h.tgt != nil && h.tgt.stop != nil {
		errs = append(errs, h.tgt.stop())
		h.tgt.stop = nil
	}
	return errors.Join(errs...)
}

// ServeHTTP routes a webhook request, /hooks/RUN/CLASS/WS/RULE, to its
// trial's handler for CLASS, with EndpointHeader set to "WS/RULE".
// Requests for no known trial get 410, which disables the webhook.
func (h *harness) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/hooks/"), "/")
	if len(parts) != 4 || !strings.HasPrefix(r.URL.Path, "/hooks/") {
		http.NotFound(w, r)
		return
	}
	h.mu.Lock()
	tr := h.trials[parts[0]]
	h.mu.Unlock()
	if tr == nil {
		http.Error(w, "no such benchmark run", http.StatusGone)
		return
	}
	class := -1
	for i, n := range classNames {
		if n == parts[1] {
			class = i
		}
	}
	if class < 0 {
		http.NotFound(w, r)
		return
	}
	r.Header.Set(EndpointHeader, parts[2]+"/"+parts[3])
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	tr.handlers[class].ServeHTTP(sw, r)
	switch {
	case sw.status >= 500:
		tr.failed.Add(1)
	case sw.status >= 400:
		tr.rejected.Add(1)
	}
}

// statusWriter remembers the status code a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// newReceiver builds a class's handler with the factory of Options.
func (h *harness) newReceiver(c ReceiverConfig) http.Handler {
	if h.o.NewReceiver != nil {
		return h.o.NewReceiver(c)
	}
	return sink.New(sink.Config{Secret: c.Secret, Delay: c.Delay, FailRate: c.FailRate, Quiet: true, Seed: uint64(h.o.Traffic.Seed),
		OnDelivery: func(event string, subjects []json.RawMessage, header http.Header, arrived time.Time) {
			c.OnDelivery(Delivery{Event: event, Subjects: subjects, Header: header, Arrived: arrived})
		}})
}
