// Package produce writes raw session events (DESIGN 1.2, docs/contract.md)
// to the raw topic: what `leadflow produce` does, so that trying leadflow
// needs no other Kafka tool.
//
// Input is one JSON object per line. Each line is checked with the enrich
// stage's own decoder (enrich.Config.Decoder, the same limits and the same
// messages) before it is produced: a bad line is not produced, and the
// report names its line number and the field that is wrong. With
// Options.NoValidate every line is produced as is, and the enrich stage
// dead-letters the bad ones to the dead-letter topic with the same message
// in the leadflow-error header. There is no second validator.
//
// Good lines are produced keyed by session_id (as DESIGN 1.2 requires),
// and each acknowledgement is reported with its partition and offset.
// Memory is bounded by the client's buffered records plus one line of at
// most the decoder's MaxBytes.
package produce

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/leadflow/leadflow/schemas"
)

// Options configure Run.
type Options struct {
	// Client produces the records. Required; the caller owns it.
	Client *kgo.Client
	// Topic is the raw topic (topics.prefix + "sessions.raw"). Required.
	Topic string
	// Decoder checks each line: the enrich stage's (enrich.Config.Decoder).
	Decoder schemas.RawDecoder
	// NoValidate produces every line as is; the enrich stage dead-letters
	// the bad ones. Default false.
	NoValidate bool
	// Report, if set, is called once per line in input order of calls for
	// bad lines and in acknowledgement order for produced ones. Calls are
	// serialised.
	Report func(Line)
}

// Line is what became of one input line.
type Line struct {
	// N is the line number, from 1.
	N int
	// Key is the record key (session_id), "" when the line was not decoded.
	Key string
	// Err is why the line was not produced (a decoder error naming the
	// field) or why Kafka did not take it; nil when acknowledged.
	Err error
	// Rejected is true when the decoder refused the line (Err is the
	// decoder's), false for a produce error.
	Rejected bool
	// Partition and Offset locate the acknowledged record.
	Partition int32
	// Offset is the record's offset in Partition.
	Offset int64
}

// Result counts what Run did.
type Result struct {
	// Lines is the number of non-empty input lines.
	Lines int
	// Acked counts records Kafka acknowledged.
	Acked int
	// Rejected counts lines the decoder refused (not produced).
	Rejected int
	// Failed counts records Kafka did not acknowledge.
	Failed int
}

// ErrBadInput is returned (wrapped) by Run when some line was rejected or
// not acknowledged, after every other line was produced.
var ErrBadInput = errors.New("produce: some lines were not produced")

// Run produces every non-empty line of in and waits for every
// acknowledgement. It returns the counts and, when a line was rejected or
// failed, an error wrapping ErrBadInput; an error reading in or a canceled
// ctx stops it early.
func Run(ctx context.Context, in io.Reader, o Options) (Result, error) {
	if o.Client == nil || o.Topic == "" {
		return Result{}, errors.New("produce: Options.Client and Options.Topic are required")
	}
	limit := o.Decoder.MaxBytes
	if limit <= 0 {
		limit = schemas.DefaultMaxEventBytes
	}
	var (
		mu  sync.Mutex
		res Result
		wg  sync.WaitGroup
	)
	report := func(l Line) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case l.Err == nil:
			res.Acked++
		case l.Rejected:
			res.Rejected++
		default:
			res.Failed++
		}
		if o.Report != nil {
			o.Report(l)
		}
	}
	r := bufio.NewReaderSize(in, 64<<10)
	var ev schemas.RawEvent
	var readErr error
	for n := 1; ; n++ {
		line, size, err := readLine(r, limit)
		tooLong := size > limit
		if err != nil && !errors.Is(err, io.EOF) {
			readErr = fmt.Errorf("produce: reading line %d: %w", n, err)
			break
		}
		if trimmed := bytes.TrimSpace(line); len(trimmed) > 0 || tooLong {
			mu.Lock()
			res.Lines++
			mu.Unlock()
			key, derr := decode(o, trimmed, size, limit, &ev)
			if derr != nil && !o.NoValidate {
				report(Line{N: n, Err: derr, Rejected: true})
			} else {
				wg.Add(1)
				rec := &kgo.Record{Topic: o.Topic, Value: append([]byte(nil), trimmed...)}
				if key != "" {
					rec.Key = []byte(key)
				}
				lineNo := n
				o.Client.Produce(ctx, rec, func(r *kgo.Record, err error) {
					defer wg.Done()
					report(Line{N: lineNo, Key: key, Err: err, Partition: r.Partition, Offset: r.Offset})
				})
			}
		}
		if err != nil || ctx.Err() != nil {
			break
		}
	}
	wg.Wait()
	if readErr == nil && ctx.Err() != nil {
		readErr = context.Cause(ctx)
	}
	if readErr != nil {
		return res, readErr
	}
	if res.Rejected > 0 || res.Failed > 0 {
		return res, fmt.Errorf("%w: %d rejected, %d failed", ErrBadInput, res.Rejected, res.Failed)
	}
	return res, nil
}

// decode checks one line with the decoder and returns its session_id. A
// line over the limit (size bytes) was not kept: the error is the
// decoder's own size error.
func decode(o Options, line []byte, size, limit int, ev *schemas.RawEvent) (string, error) {
	if size > limit {
		return "", schemas.TooLarge(size, limit)
	}
	if err := o.Decoder.Decode(line, ev); err != nil {
		return "", err
	}
	return ev.SessionID, nil
}

// readLine reads one line (without its newline) of at most limit bytes;
// a longer line is skipped to its end and only its length (size) kept.
func readLine(r *bufio.Reader, limit int) (line []byte, size int, err error) {
	var buf []byte
	for {
		chunk, err := r.ReadSlice('\n')
		size += len(chunk)
		if size <= limit+1 { // +1: the newline
			buf = append(buf, chunk...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if bytes.HasSuffix(chunk, []byte("\n")) {
			size--
		}
		if size > limit {
			return nil, size, err
		}
		return bytes.TrimSuffix(buf, []byte("\n")), size, err
	}
}

// Sample is a named raw event of the guide's story, for `leadflow produce
// --sample NAME`.
type Sample struct {
	// Name is what --sample takes.
	Name string
	// About says what the sample is and what it should cause.
	About string
	// Event returns the event, with a fresh event_id so that producing a
	// sample again is a new hit, not a replay.
	Event func(eventID string) schemas.RawEvent
}

// Samples returns the samples: the guide's Netcontrol visit, an MDX
// Technology visit, an ISP visitor and a bot.
func Samples() []Sample {
	at := func(ev schemas.RawEvent, id, ip, session, url string) schemas.RawEvent {
		ev.EventID, ev.IP, ev.SessionID, ev.URL = id, ip, session, url
		return ev
	}
	return []Sample{
		{"netcontrol", "the guide's new_lead visit: Netcontrol Group (198.51.100.23, Lahti FI), Safari on a Mac; a new_lead webhook",
			func(id string) schemas.RawEvent { ev := schemas.GuideNetcontrolEvent(); ev.EventID = id; return ev }},
		{"mdx", "a visit from MDX Technology Limited (203.0.113.10, London); with a reveal_contacts automation, John Doe (VP, Sales) as contact_revealed",
			func(id string) schemas.RawEvent {
				return at(schemas.GuideNetcontrolEvent(), id, "203.0.113.10", "s_mdx1", "https://www.example.com/pricing?utm_source=linkedin")
			}},
		{"isp", "a visitor on an ISP network (192.0.2.40): enriched, then dropped (reason isp), no lead",
			func(id string) schemas.RawEvent {
				return at(schemas.GuideNetcontrolEvent(), id, "192.0.2.40", "s_isp1", "https://www.example.com/")
			}},
		{"bot", "Googlebot from Netcontrol's network: dropped (reason bot), no lead",
			func(id string) schemas.RawEvent {
				ev := at(schemas.GuideNetcontrolEvent(), id, "198.51.100.99", "s_bot1", "https://www.example.com/")
				ev.UserAgent = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
				return ev
			}},
	}
}

// SampleLine returns the sample name's event as one JSON line with a
// fresh event_id ("sample-NAME-" and the time), or false for an unknown
// name.
func SampleLine(name string, now time.Time) ([]byte, bool) {
	for _, s := range Samples() {
		if s.Name == name {
			ev := s.Event(fmt.Sprintf("sample-%s-%d", name, now.UnixNano()))
			return append(ev.AppendJSON(nil), '\n'), true
		}
	}
	return nil, false
}
