package clusterview

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/leadflow/leadflow/pipeline/kafkatest"
	"github.com/leadflow/leadflow/stages/topics/topicstest"
)

// commitAt commits group's offset of every partition of topic at the
// offset pick returns for the partition's end offset.
func commitAt(t *testing.T, env *topicstest.Env, group, topic string, pick func(end int64) int64) {
	t.Helper()
	ctx := context.Background()
	ends, err := env.Admin.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	var os kadm.Offsets
	ends.Each(func(o kadm.ListedOffset) {
		os.Add(kadm.Offset{Topic: topic, Partition: o.Partition, At: pick(o.Offset), LeaderEpoch: -1})
	})
	resp, err := env.Admin.CommitOffsets(ctx, group, os)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		t.Fatal(err)
	}
}

func produceN(t *testing.T, env *topicstest.Env, topic string, n int) {
	t.Helper()
	recs := make([]*kgo.Record, n)
	for i := range recs {
		recs[i] = &kgo.Record{Topic: topic, Key: []byte("k" + strconv.Itoa(i)), Value: []byte("v")}
	}
	env.Produce(t, recs...)
}

// TestStagesLagAndRates: the lag of a group is read from Kafka's
// committed offsets (10 records behind, then caught up), the rates come
// from two reads, and a group that never committed reads as empty, not as
// an error. Runs on kfake, or on the real broker with
// LEADFLOW_KAFKA_BROKERS.
func TestStagesLagAndRates(t *testing.T) {
	env := topicstest.New(t, 2)
	enrich := env.Topics.Group("enrich")
	produceN(t, env, env.Topics.Raw, 10)
	commitAt(t, env, enrich, env.Topics.Raw, func(int64) int64 { return 0 })

	r := New(env.Client, env.Topics, []string{"enrich", "leads"})
	clock := time.Unix(1_700_000_000, 0)
	r.now = func() time.Time { return clock }
	st, err := r.Stages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 2 || st[0].Name != "enrich" || st[0].Group != enrich {
		t.Fatalf("stages %+v", st)
	}
	if st[0].Lag != 10 || len(st[0].Partitions) != 2 || st[0].InPerSec != -1 || st[0].Behind {
		t.Fatalf("enrich after 10 records, committed at 0: %+v", st[0])
	}
	if st[1].Lag != 0 || st[1].Err != "" || len(st[1].Members) != 0 || st[1].State != "not started" {
		t.Fatalf("leads, never committed: %+v", st[1])
	}

	// 5 more arrive and the group commits to the end: caught up; 15
	// records in and out over the 2 s between the reads.
	produceN(t, env, env.Topics.Raw, 5)
	commitAt(t, env, enrich, env.Topics.Raw, func(end int64) int64 { return end })
	clock = clock.Add(2 * time.Second)
	st, err = r.Stages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st[0].Lag != 0 || st[0].InPerSec != 2.5 || st[0].OutPerSec != 7.5 || st[0].Behind {
		t.Fatalf("enrich caught up: %+v", st[0])
	}

	// More arrive than it commits: falling behind.
	produceN(t, env, env.Topics.Raw, 4)
	clock = clock.Add(time.Second)
	if st, err = r.Stages(context.Background()); err != nil || !st[0].Behind || st[0].Lag != 4 {
		t.Fatalf("enrich with 4 new records and no commit: %+v %v", st[0], err)
	}
}

// TestLatestIsBounded: Latest reads only the last N records of each
// partition, newest first, values cut to the bound, headers kept; an
// empty topic is no records.
func TestLatestIsBounded(t *testing.T) {
	env := topicstest.New(t, 2)
	r := New(env.Client, env.Topics, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	kafkatest.Eventually(t, 30*time.Second, "the new topic is listed", func() bool {
		o, err := env.Admin.ListEndOffsets(ctx, env.Topics.DLQ)
		return err == nil && o.Error() == nil
	})
	if recs, err := r.Latest(ctx, env.Topics.DLQ, 3, 10); err != nil || len(recs) != 0 {
		t.Fatalf("empty topic: %d records, %v", len(recs), err)
	}
	var recs []*kgo.Record
	for i := range 10 {
		recs = append(recs, &kgo.Record{Topic: env.Topics.DLQ, Partition: 0, Key: []byte(strconv.Itoa(i)),
			Value: []byte("value-number-" + strconv.Itoa(i)), Headers: []kgo.RecordHeader{{Key: "leadflow-reason", Value: []byte("bad_json")}}})
	}
	recs[9].Value = []byte("last")
	env.Produce(t, recs...) // default partitioner: spread over both partitions by key
	got, err := r.Latest(ctx, env.Topics.DLQ, 3, 10)
	if err != nil {
		t.Fatal(err)
	}
	per := map[int32]int{}
	for _, g := range got {
		per[g.Partition]++
		if g.Headers["leadflow-reason"] != "bad_json" || len(g.Value) > 10 || (g.Key != "9" && !g.Truncated) {
			t.Fatalf("record %+v: want the reason header and the value cut to 10 bytes", g)
		}
	}
	if len(got) > 6 || len(got) < 3 || per[0] > 3 || per[1] > 3 {
		t.Fatalf("read %d records (%v per partition), want at most 3 per partition", len(got), per)
	}
}
