// Package clusterview reads what Kafka itself knows about leadflow's
// stages, for the console's operations pages: each stage's consumer group
// (state, members and the partitions each holds), its committed offsets
// against the end of each partition (lag), and records in and out per
// second between two reads. It asks the brokers through the admin client
// (kadm), so the answer is the same whichever process serves the page and
// whichever stages that process runs.
package clusterview

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/leadflow/leadflow/pipeline"
	"github.com/leadflow/leadflow/stages/topics"
)

// BehindLag is the lag (records) above which a stage counts as falling
// behind even when it keeps up with what arrives.
const BehindLag = 1000

// Member is one consumer of a stage's group.
type Member struct {
	ID, ClientID, Host string
	// Partitions are the partitions it is assigned, "topic[p]", sorted.
	Partitions []string
}

// PartitionLag is one partition a stage consumes.
type PartitionLag struct {
	Topic     string
	Partition int32
	// Committed is the group's committed offset (-1: none yet); End the
	// partition's end offset; Lag the records between them (-1 unknown).
	Committed, End, Lag int64
	// Member is the client id of the member that holds it ("" none).
	Member string
}

// Stage is one stage as Kafka sees it.
type Stage struct {
	Name, Group string
	// State is the group's state (Stable, Empty, PreparingRebalance, ...),
	// or "not started" when the group does not exist.
	State      string
	Members    []Member
	Partitions []PartitionLag
	// Lag is the sum of the partitions' known lags.
	Lag int64
	// InPerSec is records arriving on its input partitions per second and
	// OutPerSec records it committed per second, between the previous
	// read and this one; -1 on the first read.
	InPerSec, OutPerSec float64
	// Behind is set when the stage has lag and either takes in less than
	// arrives or has more than BehindLag records to go.
	Behind bool
	// Err says why part of this stage could not be read ("" none).
	Err string
}

// Reader reads the stages' groups. It remembers the previous read of each
// stage for the rates; it is safe for concurrent use.
type Reader struct {
	adm    *kadm.Client
	ranges *pipeline.RangeReader
	topics topics.Names
	stages []string
	now    func() time.Time

	mu   sync.Mutex
	prev map[string]sample
}

// sample is a stage's offsets at one read.
type sample struct {
	at             time.Time
	end, committed int64
}

// New returns a reader of the groups of stages (named as in
// topics.Names.Group) through cl, a client the process keeps for the
// operations pages (pipeline.NewClient; not a group member), which also
// serves Latest's reads: no client is made per page. The caller owns cl.
func New(cl *kgo.Client, names topics.Names, stages []string) *Reader {
	rr := pipeline.NewRangeReader(cl)
	return &Reader{adm: rr.Admin(), ranges: rr, topics: names, stages: stages, now: time.Now, prev: map[string]sample{}}
}

// Stages reads every stage's group, in the order New was given. An error
// means the cluster could not be asked at all; a group that could not be
// described has its Err set.
func (r *Reader) Stages(ctx context.Context) ([]Stage, error) {
	groups := make([]string, len(r.stages))
	for i, s := range r.stages {
		groups[i] = r.topics.Group(s)
	}
	lags, err := r.adm.Lag(ctx, groups...)
	if err != nil && len(lags) == 0 {
		return nil, fmt.Errorf("clusterview: reading consumer groups %v: %w", groups, err)
	}
	now := r.now()
	out := make([]Stage, len(r.stages))
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, name := range r.stages {
		st := stageOf(name, groups[i], lags[groups[i]])
		var cur sample
		cur.at = now
		for _, p := range st.Partitions {
			cur.end += p.End
			cur.committed += max(p.Committed, 0)
		}
		st.InPerSec, st.OutPerSec = -1, -1
		if prev, ok := r.prev[name]; ok && now.Sub(prev.at) > 0 {
			dt := now.Sub(prev.at).Seconds()
			st.InPerSec = max(float64(cur.end-prev.end)/dt, 0)
			st.OutPerSec = max(float64(cur.committed-prev.committed)/dt, 0)
		}
		r.prev[name] = cur
		st.Behind = st.Lag > 0 && (st.Lag > BehindLag || (st.InPerSec >= 0 && st.InPerSec > st.OutPerSec))
		out[i] = st
	}
	return out, nil
}

// stageOf turns a described group with its lag into a Stage.
func stageOf(name, group string, l kadm.DescribedGroupLag) Stage {
	st := Stage{Name: name, Group: group, State: l.State}
	switch err := l.Error(); {
	case errors.Is(err, kerr.GroupIDNotFound):
		st.State = "not started" // no process of this stage ever joined
		return st
	case err != nil:
		st.Err = err.Error()
	}
	held := map[string][]string{}
	for _, ml := range l.Lag.Sorted() {
		pl := PartitionLag{Topic: ml.Topic, Partition: ml.Partition, Committed: ml.Commit.At, End: ml.End.Offset, Lag: ml.Lag}
		if ml.Member != nil {
			pl.Member = ml.Member.ClientID
			held[ml.Member.MemberID] = append(held[ml.Member.MemberID], ml.Topic+"["+strconv.Itoa(int(ml.Partition))+"]")
		}
		if ml.Err != nil && st.Err == "" {
			st.Err = fmt.Sprintf("%s[%d]: %v", ml.Topic, ml.Partition, ml.Err)
		}
		if pl.Lag > 0 {
			st.Lag += pl.Lag
		}
		st.Partitions = append(st.Partitions, pl)
	}
	for _, m := range l.Members {
		ps := held[m.MemberID]
		sort.Strings(ps)
		st.Members = append(st.Members, Member{ID: m.MemberID, ClientID: m.ClientID, Host: m.ClientHost, Partitions: ps})
	}
	if st.State == "" {
		st.State = "unknown"
	}
	return st
}
