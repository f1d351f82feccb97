package system_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/leadflow/leadflow/pipeline"
	"github.com/leadflow/leadflow/pipeline/kafkatest"
	"github.com/leadflow/leadflow/stages/system"
	"github.com/leadflow/leadflow/stages/topics"
)

// TestEmbeddedRedisExpiresKeysInRealTime: a key with a TTL is gone from
// the embedded Redis soon after the TTL, as from a real one. Before,
// miniredis counted TTLs down only in tests that fast-forwarded it, so
// `leadflow dev` kept every expiring key (claims, attempt logs, status
// keys) for as long as it ran.
func TestEmbeddedRedisExpiresKeysInRealTime(t *testing.T) {
	infra, err := system.StartDevInfra("127.0.0.1:0", "")
	if err != nil {
		t.Fatal(err)
	}
	defer infra.Close()
	rdb := redis.NewClient(&redis.Options{Addr: infra.RedisAddr})
	defer rdb.Close()
	ctx := context.Background()
	if err := rdb.Set(ctx, "short", "v", 1500*time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Set(ctx, "long", "v", time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	if n := rdb.Exists(ctx, "short").Val(); n != 1 {
		t.Fatalf("the key is gone at once (exists %d)", n)
	}
	kafkatest.Eventually(t, 10*time.Second, "the 1.5 s key expired", func() bool {
		return rdb.Exists(ctx, "short").Val() == 0
	})
	if ttl := rdb.TTL(ctx, "long").Val(); ttl <= 0 || ttl > time.Hour-time.Second {
		t.Fatalf("the hour-long key's TTL is %v; want it counting down from an hour", ttl)
	}
}

// TestEmbeddedBrokerDropsWhatEveryGroupConsumed: the embedded broker keeps
// a stream's records until every group reading the topic committed past
// them, and keeps the dead letters (replays commit per webhook) whole.
// Before, it kept each busy partition's retention (16 MiB in dev), about
// 260 MB of the embedded bench's heap.
func TestEmbeddedBrokerDropsWhatEveryGroupConsumed(t *testing.T) {
	infra, err := system.StartDevInfra("127.0.0.1:0", "")
	if err != nil {
		t.Fatal(err)
	}
	defer infra.Close()
	ctx := context.Background()
	names := topics.New("trim.")
	cl, err := pipeline.NewClient(pipeline.KafkaConfig{Brokers: []string{infra.KafkaAddr}},
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopics(ctx, 2, 1, nil, names.Raw, names.DeliveriesDLQ); err != nil {
		t.Fatal(err)
	}
	for _, topic := range []string{names.Raw, names.DeliveriesDLQ} {
		for p := range int32(2) {
			for range 10 {
				r := &kgo.Record{Topic: topic, Partition: p, Value: []byte("v")}
				if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	commit := func(group, topic string, at map[int32]int64) {
		t.Helper()
		os := make(kadm.Offsets)
		for p, o := range at {
			os.Add(kadm.Offset{Topic: topic, Partition: p, At: o, LeaderEpoch: -1})
		}
		if err := adm.CommitAllOffsets(ctx, group, os); err != nil {
			t.Fatal(err)
		}
	}
	commit(names.Group("enrich"), names.Raw, map[int32]int64{0: 6, 1: 4})
	commit(names.Group("other"), names.Raw, map[int32]int64{0: 8}) // has not committed on partition 1
	commit(names.Group("deliver-replay.wh_1"), names.DeliveriesDLQ, map[int32]int64{0: 5, 1: 5})
	if err := infra.TrimConsumed(ctx, names); err != nil {
		t.Fatal(err)
	}
	starts := func() map[string]map[int32]int64 {
		got := map[string]map[int32]int64{}
		so, err := adm.ListStartOffsets(ctx, names.Raw, names.DeliveriesDLQ)
		if err != nil {
			t.Fatal(err)
		}
		so.Each(func(o kadm.ListedOffset) {
			if got[o.Topic] == nil {
				got[o.Topic] = map[int32]int64{}
			}
			got[o.Topic][o.Partition] = o.Offset
		})
		return got
	}
	kafkatest.Eventually(t, 10*time.Second, "sessions.raw partition 0 starts at the lowest committed offset, 6", func() bool {
		return starts()[names.Raw][0] == 6
	})
	time.Sleep(2500 * time.Millisecond) // two more passes
	got := starts()
	want := map[string]map[int32]int64{names.Raw: {0: 6, 1: 0}, names.DeliveriesDLQ: {0: 0, 1: 0}}
	for topic, ps := range want {
		for p, o := range ps {
			if got[topic][p] != o {
				t.Errorf("%s partition %d starts at %d, want %d (all: %v)", topic, p, got[topic][p], o, got)
			}
		}
	}
	commit(names.Group("other"), names.Raw, map[int32]int64{0: 8, 1: 3})
	kafkatest.Eventually(t, 10*time.Second, "sessions.raw partition 1 starts at 3 once both groups committed on it", func() bool {
		return starts()[names.Raw][1] == 3
	})
}
