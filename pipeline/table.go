package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TableConfig configures a Table.
type TableConfig struct {
	// Topic is the topic to materialise (typically compacted). Required.
	Topic string
	// FetchMaxWait bounds how long a fetch waits for new records, and so
	// how soon a record written by another process is applied. Default 100ms.
	FetchMaxWait time.Duration
	// TopicWait is how long Open retries a topic the broker answers for
	// does not know yet (created a moment ago). Default 30s.
	TopicWait time.Duration
	// ProduceTimeout bounds how long a record written through Client is
	// retried when the brokers do not take it. Default 1 minute.
	ProduceTimeout time.Duration
	// ExtraOpts are appended to the client's options (tests use them).
	ExtraOpts []kgo.Opt
}

// Table materialises a topic into its owner's state, the runtime's
// capability for a table: Open connects and returns the end offsets the
// topic has now (the owner applies until it reaches them: "read to its
// end"), then Follow starts a goroutine owned by the Table that fetches
// every partition from the start, without a consumer group, and hands
// each poll's records to apply until Close ("then followed"). Its client
// writes to the topic too (Client; default produce topic is Topic, no
// linger). Create it with NewTable; its methods are safe for concurrent use.
type Table struct {
	cfg     TableConfig
	kafka   KafkaConfig
	apply   func([]*kgo.Record)
	onError func(error)

	mu     sync.Mutex
	client *kgo.Client
	stop   context.CancelFunc
	done   chan struct{} // closed when the follower has stopped (or never started)
	closed bool
}

// NewTable validates kafka and cfg. apply is called on the follower
// goroutine with each poll's records, in offset order per partition;
// onError (if set) with each poll's fetch errors (context cancellation and
// a closed client excepted). It does not connect: Open does.
func NewTable(kafka KafkaConfig, cfg TableConfig, apply func([]*kgo.Record), onError func(error)) (*Table, error) {
	if cfg.Topic == "" {
		return nil, errors.New("pipeline: TableConfig.Topic is required")
	}
	if apply == nil {
		return nil, errors.New("pipeline: a table needs an apply function")
	}
	if _, err := kafka.ClientOpts(); err != nil {
		return nil, err
	}
	if cfg.FetchMaxWait <= 0 {
		cfg.FetchMaxWait = 100 * time.Millisecond
	}
	if cfg.TopicWait <= 0 {
		cfg.TopicWait = 30 * time.Second
	}
	if cfg.ProduceTimeout <= 0 {
		cfg.ProduceTimeout = time.Minute
	}
	if onError == nil {
		onError = func(error) {}
	}
	return &Table{cfg: cfg, kafka: kafka, apply: apply, onError: onError, done: make(chan struct{})}, nil
}

// Open connects and returns the end offset of every partition that has
// records to read now (none for an empty topic). It retries retriable
// errors for up to TopicWait; ctx bounds it. Call it once, before Follow.
func (t *Table) Open(ctx context.Context) (map[int32]int64, error) {
	begin := time.Now()
	cl, err := NewClient(t.kafka, append([]kgo.Opt{
		kgo.ConsumeTopics(t.cfg.Topic), // direct: every partition, no group
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(t.cfg.FetchMaxWait),
		kgo.DefaultProduceTopic(t.cfg.Topic),
		kgo.ProducerLinger(0),
		kgo.RecordDeliveryTimeout(t.cfg.ProduceTimeout),
	}, t.cfg.ExtraOpts...)...)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	if t.closed || t.client != nil {
		t.mu.Unlock()
		cl.Close()
		return nil, errors.New("pipeline: table opened twice or after Close")
	}
	t.client = cl
	t.mu.Unlock()
	// A topic created a moment ago can be unknown to the broker answering
	// for a short while: retry retriable errors for a bounded time.
	for wait := 50 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		target, err := t.endOffsets(ctx, cl)
		if err == nil {
			return target, nil
		}
		if !kerr.IsRetriable(err) || time.Since(begin)+wait > t.cfg.TopicWait {
			return nil, err
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, err
		}
	}
}

// endOffsets returns the end offset of every partition that has records
// to read.
func (t *Table) endOffsets(ctx context.Context, cl *kgo.Client) (map[int32]int64, error) {
	topic := t.cfg.Topic
	adm := kadm.NewClient(cl)
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("listing offsets of %s: %w", topic, err)
	}
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("listing offsets of %s: %w", topic, err)
	}
	target := map[int32]int64{}
	var errs []error
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			errs = append(errs, o.Err)
			return
		}
		if st, ok := starts.Lookup(topic, o.Partition); ok && st.Err == nil && st.Offset >= o.Offset {
			return // nothing to read
		}
		if o.Offset > 0 {
			target[o.Partition] = o.Offset
		}
	})
	if len(errs) > 0 {
		return nil, fmt.Errorf("topic %s: %w (is it created? topics.create)", topic, errors.Join(errs...))
	}
	if len(ends[topic]) == 0 {
		return nil, fmt.Errorf("topic %s has no partitions (is it created? topics.create)", topic)
	}
	return target, nil
}

// Follow starts the follower goroutine, which applies fetched records
// until Close. ctx's values are kept, not its cancellation. Call it once,
// after Open succeeded.
func (t *Table) Follow(ctx context.Context) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed || t.client == nil || t.stop != nil {
		return
	}
	fctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	t.stop = stop
	cl := t.client
	go t.follow(fctx, cl)
}

func (t *Table) follow(ctx context.Context, cl *kgo.Client) {
	defer close(t.done)
	for {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return
		}
		var ferr error
		fetches.EachError(func(topic string, p int32, err error) {
			if errors.Is(err, context.Canceled) || errors.Is(err, kgo.ErrClientClosed) {
				return
			}
			ferr = errors.Join(ferr, fmt.Errorf("fetching %s[%d]: %w", topic, p, err))
		})
		if ferr != nil {
			t.onError(ferr)
		}
		var recs []*kgo.Record
		fetches.EachRecord(func(r *kgo.Record) { recs = append(recs, r) })
		if len(recs) > 0 {
			t.apply(recs)
		}
	}
}

// Client is the table's client, for writing to the topic; nil before Open.
func (t *Table) Client() *kgo.Client {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.client
}

// Close stops the follower, waits for it, and closes the client. It is
// idempotent.
func (t *Table) Close() {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return
	}
	t.closed = true
	stop, cl := t.stop, t.client
	t.mu.Unlock()
	if stop != nil {
		stop()
		<-t.done
	}
	if cl != nil {
		cl.Close()
	}
}
