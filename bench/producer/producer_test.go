package producer

import (
	"context"
	"errors"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/leadflow/leadflow/stages/topics/topicstest"
)

// endOffsets sums the end offsets of topic's partitions: how many records
// it holds.
func endOffsets(t *testing.T, env *topicstest.Env, topic string) int64 {
	t.Helper()
	offs, err := env.Admin.ListEndOffsets(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	offs.Each(func(o kadm.ListedOffset) { n += o.Offset })
	return n
}

func newClient(t *testing.T, env *topicstest.Env) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(env.Brokers...), kgo.ProducerLinger(5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func counterSource() Source {
	i := 0
	return func(dst []byte, now time.Time) ([]byte, []byte) {
		i++
		dst = strconv.AppendInt(dst, int64(i), 10)
		dst = append(dst, ' ')
		dst = now.AppendFormat(dst, time.RFC3339Nano)
		return dst, []byte("k" + strconv.Itoa(i%17))
	}
}

// TestRateByCounting produces at 2000/s for 1.5 s and counts what arrived.
// The assertion is on counts, not on timing, and the tolerance is wide:
// the machine is shared.
func TestRateByCounting(t *testing.T) {
	env := topicstest.New(t, 3)
	p, err := New(Config{Client: newClient(t, env), Topic: env.Topics.Raw, Duration: 1500 * time.Millisecond,
		Rate: func(time.Duration) float64 { return 2000 }, Source: counterSource()})
	if err != nil {
		t.Fatal(err)
	}
	st, err := p.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(st.Scheduled-3000) > 1 {
		t.Fatalf("scheduled %.1f records, want 3000 (the integral of the rate)", st.Scheduled)
	}
	if st.Errors != 0 || st.Acked != st.Sent {
		t.Fatalf("stats %+v: want every record acked", st)
	}
	// Every scheduled record is sent or skipped, to the last one: the
	// scheduled sum is rounded at the end (it came out 799,999.99... of
	// 800,000 in benches, and the last record went unsent).
	if st.Sent+st.Skipped != uint64(math.Round(st.Scheduled)) || st.Sent < 2500 {
		t.Fatalf("sent %d + skipped %d of %.3f scheduled", st.Sent, st.Skipped, st.Scheduled)
	}
	if got := endOffsets(t, env, env.Topics.Raw); got != int64(st.Acked) {
		t.Fatalf("topic holds %d records, producer says %d acked", got, st.Acked)
	}
}

// TestRateProfile follows a rate that changes over time: 0 for the first
// half, then 4000/s.
func TestRateProfile(t *testing.T) {
	env := topicstest.New(t, 1)
	p, err := New(Config{Client: newClient(t, env), Topic: env.Topics.Raw, Duration: time.Second, Source: counterSource(),
		Rate: func(el time.Duration) float64 {
			if el < 500*time.Millisecond {
				return 0
			}
			return 4000
		}})
	if err != nil {
		t.Fatal(err)
	}
	st, err := p.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(st.Scheduled-2000) > 50 || st.Sent+st.Skipped < 1950 {
		t.Fatalf("stats %+v, want about 2000 scheduled and sent", st)
	}
}

// TestFallsBehindHonestly uses a source slower than the rate: the producer
// skips what it cannot send in time and says so.
func TestFallsBehindHonestly(t *testing.T) {
	env := topicstest.New(t, 1)
	src := counterSource()
	p, err := New(Config{Client: newClient(t, env), Topic: env.Topics.Raw, Duration: time.Second, MaxDebt: 100 * time.Millisecond,
		Rate: func(time.Duration) float64 { return 5000 },
		Source: func(dst []byte, now time.Time) ([]byte, []byte) {
			time.Sleep(time.Millisecond) // at most 1000/s
			return src(dst, now)
		}})
	if err != nil {
		t.Fatal(err)
	}
	st, err := p.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Skipped == 0 || st.Sent > 2000 {
		t.Fatalf("stats %+v: want many skipped and at most ~1000 sent", st)
	}
	if got := float64(st.Sent + st.Skipped); got < 0.9*st.Scheduled {
		t.Fatalf("sent+skipped %v of %.0f scheduled", got, st.Scheduled)
	}
}

func TestStopsWithContext(t *testing.T) {
	env := topicstest.New(t, 1)
	p, err := New(Config{Client: newClient(t, env), Topic: env.Topics.Raw, Source: counterSource(),
		Rate: func(time.Duration) float64 { return 1000 }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	st, err := p.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Sent == 0 || st.Elapsed > 5*time.Second {
		t.Fatalf("stats %+v", st)
	}
}

func TestConfigErrors(t *testing.T) {
	if _, err := New(Config{}); !errors.Is(err, ErrConfig) {
		t.Fatalf("err %v", err)
	}
}
