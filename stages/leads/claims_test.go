package leads

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/leadflow/leadflow/stages/leadstore"
)

// The evaluate stage's new_session claims (entries of
// leadstore.ClaimsField) go with their session: a lead loaded from Redis
// prunes, at its next write, the claims of the sessions none of its heads
// keeps and those of an earlier life of the lead (another lead id), and
// keeps its new_lead claims and its sessions' claims.
func TestSessionClaimsInTheClaimsFieldGoWithTheirSession(t *testing.T) {
	cfg := testStageConfig()
	cfg.RecentSessions = 2
	cfg.MaxSessions = 2
	f := newFixture(t, cfg)
	ctx := context.Background()
	rkey := f.s.store.redisKey(lead1)
	claim := func(sessionKey string) *leadstore.Claim {
		return &leadstore.Claim{Key: rkey, Automation: "aut_1", SessionKey: sessionKey, Owner: "ev", TTL: time.Hour}
	}
	var claims []*leadstore.Claim
	n := 0
	for i := range 4 { // 4 sessions, one hour apart
		f.run(nil, f.rec(pv("e"+itoa(n), "s"+itoa(i), time.Duration(i)*time.Hour, 1, "https://acme.io/"+itoa(i))))
		n++
		id := f.state(lead1).id
		claims = append(claims, claim(string(leadstore.AppendSessionKey(nil, id, uint64(i+1)))))
	}
	id := f.state(lead1).id
	claims = append(claims, claim(""), claim(string(leadstore.AppendSessionKey(nil, id+1, 4))))
	if err := leadstore.ClaimAll(ctx, f.rdb, claims); err != nil {
		t.Fatal(err)
	}
	// More hits of session 4, so that no stored head keeps sessions 1 and 2.
	for range replayHeads {
		f.run(nil, f.rec(pv("e"+itoa(n), "s3", 3*time.Hour+time.Duration(n)*time.Minute, 1, "https://acme.io/p"+itoa(n))))
		n++
	}
	// The stage that wrote them knows of no claims; a new process loads
	// the lead and prunes at its first write.
	f.run(f.newStage(), f.rec(pv("e"+itoa(n), "s3", 3*time.Hour+time.Duration(n)*time.Minute, 1, "https://acme.io/p"+itoa(n))))
	v, err := f.rdb.HGet(ctx, rkey, leadstore.ClaimsField).Result()
	if err != nil {
		t.Fatal(err)
	}
	ss, err := leadstore.ClaimSessions(v)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range ss {
		got = append(got, strconv.Itoa(int(s.ID32))+":"+strconv.Itoa(int(s.Seq)))
	}
	var want []string
	for _, s := range f.state(lead1).sessions {
		want = append(want, strconv.Itoa(int(id))+":"+strconv.Itoa(int(s.seq)))
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) || len(want) != 2 {
		t.Fatalf("claims of sessions %v after the prune, want those of the kept sessions %v", got, want)
	}
	if len(v) != 1+3*24 {
		t.Fatalf("claims field of %d bytes, want the new_lead claim and the two kept sessions' (73)", len(v))
	}
}
