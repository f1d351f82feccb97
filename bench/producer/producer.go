// Package producer writes records to Kafka at a controlled rate: the
// load-generating half of `leadflow bench` and the demo's trickle.
//
// The rate is a function of the time since the start, integrated every
// tick: each tick produces the records that the schedule owes by then, so
// timer jitter and slow ticks are made up for instead of lost. If the
// producer falls further behind than MaxDebt (Kafka or the client's buffer
// cannot keep up), the excess is skipped and counted, so that the achieved
// rate is reported honestly rather than hidden in an ever-growing burst.
package producer

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Source appends the next record's value to dst, stamped with now, and
// returns it with the record's key. The key only needs to stay valid until
// the next call (the producer copies it).
type Source func(dst []byte, now time.Time) (value, key []byte)

// Config configures a Producer.
type Config struct {
	// Client produces the records. Required; the caller owns it and its
	// options (linger, batching, compression, buffer limits). The
	// producer flushes it at the end, so nothing else should produce
	// through it meanwhile.
	Client *kgo.Client
	// Topic receives every record. Required.
	Topic string
	// Rate is the target rate in records/s at a time since the start.
	// Required; negative values count as 0.
	Rate func(elapsed time.Duration) float64
	// Duration is how long to produce; 0 means until the context ends.
	Duration time.Duration
	// Source makes the records. Required. It is called from Run's
	// goroutine only.
	Source Source
	// Tick is how often the schedule is caught up with. Default 5ms.
	Tick time.Duration
	// MaxDebt is how far behind schedule (in time at the current rate) the
	// producer may fall before it skips records. Default 1s.
	MaxDebt time.Duration
	// FlushTimeout bounds the wait for outstanding records at the end.
	// Default 30s.
	FlushTimeout time.Duration
	// OnError, if set, is called for every record that failed to produce,
	// from the client's promise goroutine; key is only valid during the call.
	OnError func(key []byte, err error)
}

// Stats are a producer's counters so far.
type Stats struct {
	// Scheduled is how many records the rate asked for so far.
	Scheduled float64 `json:"scheduled"`
	// Sent counts records handed to the client.
	Sent uint64 `json:"sent"`
	// Acked counts records Kafka acknowledged.
	Acked uint64 `json:"acked"`
	// Errors counts records that failed.
	Errors uint64 `json:"errors"`
	// Skipped counts scheduled records not sent because the producer was
	// more than MaxDebt behind.
	Skipped uint64 `json:"skipped"`
	// Bytes counts value bytes sent.
	Bytes uint64 `json:"bytes"`
	// FirstError is the first produce error, if any.
	FirstError string `json:"first_error,omitempty"`
	// Elapsed is how long the producer has been producing.
	Elapsed time.Duration `json:"elapsed_ns"`
}

// Producer is one rate-controlled producing run. Create it with New, run it
// once with Run; Stats may be called from any goroutine meanwhile.
type Producer struct {
	cfg       Config
	start     atomic.Int64 // unix nanos, 0 before Run
	end       atomic.Int64 // unix nanos once Run stopped producing
	scheduled atomic.Uint64
	sent      atomic.Uint64
	acked     atomic.Uint64
	errs      atomic.Uint64
	skipped   atomic.Uint64
	bytes     atomic.Uint64
	firstErr  atomic.Pointer[string]

	arena   []byte
	records []kgo.Record
	promise func(*kgo.Record, error)
}

// Arena sizes: values and keys are carved out of shared chunks, records
// out of slabs, so producing allocates once per many records.
const (
	arenaChunk = 512 << 10
	arenaSpare = 64 << 10 // at least this much room before each record
	recordSlab = 512
)

// ErrConfig is wrapped by New's errors.
var ErrConfig = errors.New("producer: invalid config")

// New checks cfg and returns a Producer.
func New(cfg Config) (*Producer, error) {
	switch {
	case cfg.Client == nil:
		return nil, fmt.Errorf("%w: Client is required", ErrConfig)
	case cfg.Topic == "":
		return nil, fmt.Errorf("%w: Topic is required", ErrConfig)
	case cfg.Rate == nil:
		return nil, fmt.Errorf("%w: Rate is required", ErrConfig)
	case cfg.Source == nil:
		return nil, fmt.Errorf("%w: Source is required", ErrConfig)
	case cfg.Duration < 0:
		return nil, fmt.Errorf("%w: Duration %v is negative", ErrConfig, cfg.Duration)
	}
	if cfg.Tick <= 0 {
		cfg.Tick = 5 * time.Millisecond
	}
	if cfg.MaxDebt <= 0 {
		cfg.MaxDebt = time.Second
	}
	if cfg.FlushTimeout <= 0 {
		cfg.FlushTimeout = 30 * time.Second
	}
	p := &Producer{cfg: cfg}
	p.promise = func(r *kgo.Record, err error) {
		if err == nil {
			p.acked.Add(1)
			return
		}
		p.errs.Add(1)
		if p.firstErr.Load() == nil {
			msg := err.Error()
			p.firstErr.CompareAndSwap(nil, &msg)
		}
		if p.cfg.OnError != nil {
			p.cfg.OnError(r.Key, err)
		}
	}
	return p, nil
}

// Stats returns the counters so far.
func (p *Producer) Stats() Stats {
	s := Stats{
		Scheduled: math.Float64frombits(p.scheduled.Load()),
		Sent:      p.sent.Load(), Acked: p.acked.Load(), Errors: p.errs.Load(),
		Skipped: p.skipped.Load(), Bytes: p.bytes.Load(),
	}
	if e := p.firstErr.Load(); e != nil {
		s.FirstError = *e
	}
	if start := p.start.Load(); start != 0 {
		end := p.end.Load()
		if end == 0 {
			end = time.Now().UnixNano()
		}
		s.Elapsed = time.Duration(end - start)
	}
	return s
}

// Run produces until Duration has passed or ctx ends, then waits (up to
// FlushTimeout) for every record to be acknowledged or to fail, and
// returns the final Stats. Its error is only about the run itself (ctx
// ending before Duration is not an error; produce errors are in Stats).
func (p *Producer) Run(ctx context.Context) (Stats, error) {
	cfg := p.cfg
	start := time.Now()
	p.start.Store(start.UnixNano())
	ticker := time.NewTicker(cfg.Tick)
	defer ticker.Stop()
	var scheduled float64
	var done uint64 // sent + skipped
	last := start
loop:
	for {
		now := time.Now()
		el := now.Sub(start)
		finished := cfg.Duration > 0 && el >= cfg.Duration
		if finished {
			el, now = cfg.Duration, start.Add(cfg.Duration)
		}
		mid := last.Sub(start) + now.Sub(last)/2
		rate := max(cfg.Rate(el), 0)
		scheduled += max(cfg.Rate(mid), 0) * now.Sub(last).Seconds()
		last = now
		p.scheduled.Store(math.Float64bits(scheduled))
		owed := scheduled - float64(done)
		if finished {
			// scheduled is a floating-point sum of thousands of
			// ticks: a whole number of records (rate × Duration) can
			// come out a hair below it, which would leave the last
			// record unsent.
			owed = math.Round(owed)
		}
		if debt := max(rate*cfg.MaxDebt.Seconds(), 1); owed > debt {
			skip := uint64(owed - debt)
			p.skipped.Add(skip)
			done += skip
			owed -= float64(skip)
		}
		for n := int(owed); n > 0; n-- {
			if ctx.Err() != nil {
				break loop
			}
			p.produce(ctx)
			done++
		}
		if finished {
			break
		}
		select {
		case <-ctx.Done():
			break loop
		case <-ticker.C:
		}
	}
	p.end.Store(time.Now().UnixNano())
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.FlushTimeout)
	defer cancel()
	if ctx.Err() != nil {
		// Stopped early: give outstanding records a short while only.
		fctx, cancel = context.WithTimeout(fctx, 2*time.Second)
		defer cancel()
	}
	err := cfg.Client.Flush(fctx)
	if err != nil && ctx.Err() == nil {
		err = fmt.Errorf("producer: flushing outstanding records (FlushTimeout %v): %w", cfg.FlushTimeout, err)
	} else {
		err = nil
	}
	return p.Stats(), err
}

// produce makes one record and hands it to the client.
func (p *Producer) produce(ctx context.Context) {
	if cap(p.arena)-len(p.arena) < arenaSpare {
		p.arena = make([]byte, 0, arenaChunk)
	}
	if len(p.records) == 0 {
		p.records = make([]kgo.Record, recordSlab)
	}
	base := len(p.arena)
	value, key := p.cfg.Source(p.arena[base:base], time.Now())
	if len(value) > 0 && cap(value) == cap(p.arena)-base && &value[:1][0] == &p.arena[base : base+1][0] {
		p.arena = p.arena[:base+len(value)] // written in place
	} else {
		p.arena = append(p.arena, value...)
	}
	value = p.arena[base:len(p.arena):len(p.arena)]
	kb := len(p.arena)
	p.arena = append(p.arena, key...)
	rec := &p.records[0]
	p.records = p.records[1:]
	rec.Topic = p.cfg.Topic
	rec.Key = p.arena[kb:len(p.arena):len(p.arena)]
	rec.Value = value
	p.sent.Add(1)
	p.bytes.Add(uint64(len(value)))
	p.cfg.Client.Produce(ctx, rec, p.promise)
}
