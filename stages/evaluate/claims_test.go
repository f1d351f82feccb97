package evaluate

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2/server"
	"github.com/redis/go-redis/v9"

	"github.com/leadflow/leadflow/pipeline/kafkatest"
)

func TestClaimOnceAndRecogniseOwnReplay(t *testing.T) {
	rdb, _ := kafkatest.Redis(t)
	k := keys{prefix: kafkatest.Prefix(t)}
	ctx := context.Background()
	for _, c := range []struct{ name, key, field string }{
		{"new_lead (field of the lead's hash)", k.lead("ws_1|netcontrol.com"), leadClaimField("aut_1")},
		{"new_session (field of the lead's hash)", k.lead("ws_1|netcontrol.com"), sessionClaimField("aut_1", "7:1")},
	} {
		first := &claim{key: c.key, field: c.field, owner: "ev-1", ttl: time.Hour}
		if err := claimAll(ctx, rdb, []*claim{first}); err != nil {
			t.Fatal(err)
		}
		replay := &claim{key: c.key, field: c.field, owner: "ev-1", ttl: time.Hour}
		other := &claim{key: c.key, field: c.field, owner: "ev-2", ttl: time.Hour}
		if err := claimAll(ctx, rdb, []*claim{replay, other}); err != nil {
			t.Fatal(err)
		}
		if first.result != claimNew || replay.result != claimOwn || other.result != claimTaken {
			t.Fatalf("%s: results = %d, %d, %d; want new, own, taken", c.name, first.result, replay.result, other.result)
		}
		// The claim holds an 8-byte hash of its owner, not the event id.
		if v := rdb.HGet(ctx, c.key, c.field).Val(); len(v) != 8 || v != ownerValue("ev-1") {
			t.Fatalf("%s: stored owner %q, want the 8-byte hash of ev-1", c.name, v)
		}
	}
}

// A claim stored before claims held a hash of their owner holds the event
// id itself: the owner's replay still finds it its own, others taken.
func TestClaimStoredWithTheEventIDIsRecognised(t *testing.T) {
	rdb, _ := kafkatest.Redis(t)
	k := keys{prefix: kafkatest.Prefix(t)}
	ctx := context.Background()
	lead := k.lead("ws_1|netcontrol.com")
	if err := rdb.HSet(ctx, lead, leadClaimField("aut_1"), "0b7c6f0e-ev").Err(); err != nil {
		t.Fatal(err)
	}
	own := &claim{key: lead, field: leadClaimField("aut_1"), owner: "0b7c6f0e-ev", ttl: time.Hour}
	other := &claim{key: lead, field: leadClaimField("aut_1"), owner: "ev-2", ttl: time.Hour}
	if err := claimAll(ctx, rdb, []*claim{own, other}); err != nil {
		t.Fatal(err)
	}
	if own.result != claimOwn || other.result != claimTaken {
		t.Fatalf("results = %d, %d; want own, taken", own.result, other.result)
	}
}

func TestClaimTTL(t *testing.T) {
	rdb, _ := kafkatest.Redis(t)
	k := keys{prefix: kafkatest.Prefix(t)}
	ctx := context.Background()
	// Regression (issue 12): new_lead claims had no TTL (new_lead_claim_ttl
	// 0 = forever), outlived the lead, and so a lead that expired and came
	// back never fired new_lead again. They are now fields of the lead's
	// hash: they keep the lead's TTL, and a hash that a claim creates (the
	// lead's state is gone) gets the lead TTL.
	lead := k.lead("ws|d.com")
	if err := rdb.HSet(ctx, lead, "h0", "state").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.PExpire(ctx, lead, 5*time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	withLead := &claim{key: lead, field: leadClaimField("aut"), owner: "ev", ttl: time.Hour}
	// new_session claims were keys of their own with new_session_claim_ttl
	// (168 h), 170 bytes of Redis each; they are fields of the lead's hash
	// now, with its TTL, and the leads stage drops them with their session.
	session := &claim{key: lead, field: sessionClaimField("aut", "7:1"), owner: "ev", ttl: time.Hour}
	if err := claimAll(ctx, rdb, []*claim{withLead, session}); err != nil {
		t.Fatal(err)
	}
	if withLead.result != claimNew || session.result != claimNew {
		t.Fatalf("claims = %d, %d; want new, new", withLead.result, session.result)
	}
	if ttl := rdb.PTTL(ctx, lead).Val(); ttl <= time.Hour || ttl > 5*time.Hour {
		t.Fatalf("lead ttl after a claim = %s, want the lead's own (1h, 5h]", ttl)
	}
	gone := k.lead("ws|gone.com")
	orphan := &claim{key: gone, field: leadClaimField("aut"), owner: "ev", ttl: time.Hour}
	if err := claimAll(ctx, rdb, []*claim{orphan}); err != nil {
		t.Fatal(err)
	}
	if ttl := rdb.PTTL(ctx, gone).Val(); ttl <= 0 || ttl > time.Hour {
		t.Fatalf("claim of a lead without state: ttl = %s, want the lead TTL (0, 1h]", ttl)
	}
	// The lead expires: its claim goes with it, and the lead fires again.
	if err := rdb.Del(ctx, lead).Err(); err != nil {
		t.Fatal(err)
	}
	again := &claim{key: lead, field: leadClaimField("aut"), owner: "ev-later", ttl: time.Hour}
	if err := claimAll(ctx, rdb, []*claim{again}); err != nil {
		t.Fatal(err)
	}
	if again.result != claimNew {
		t.Fatalf("claim after the lead expired = %d, want new (%d)", again.result, claimNew)
	}
}

// Many owners racing for the same company's contacts never reveal more
// than the limit in all, nor any contact twice.
func TestRevealLimitUnderConcurrency(t *testing.T) {
	rdb, _ := kafkatest.Redis(t)
	k := keys{prefix: kafkatest.Prefix(t)}
	ctx := context.Background()
	lead := "ws_1|mdxtechnology.com"
	var cands []string
	for i := 0; i < 10; i++ {
		cands = append(cands, revealedField(fmt.Sprintf("c%d@mdx.com", i)))
	}
	const limit, owners = 3, 20
	var mu sync.Mutex
	revealedBy := map[int]string{}
	var wg sync.WaitGroup
	for o := 0; o < owners; o++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			owner := fmt.Sprintf("ev-%d", o)
			idx, err := reveal(ctx, rdb, k.lead(lead), revealCountField("aut_r"), cands, owner, limit, time.Hour)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, i := range idx {
				if prev, dup := revealedBy[i]; dup {
					t.Errorf("contact %d revealed by %s and %s", i, prev, owner)
				}
				revealedBy[i] = owner
			}
		}()
	}
	wg.Wait()
	if len(revealedBy) != limit {
		t.Fatalf("revealed %d contacts, want the limit %d", len(revealedBy), limit)
	}
	// A replay of an owner gets exactly its own contacts back, no new ones.
	owner := revealedBy[0]
	var want []int
	for i := range cands {
		if revealedBy[i] == owner {
			want = append(want, i)
		}
	}
	idx, err := reveal(ctx, rdb, k.lead(lead), revealCountField("aut_r"), cands, owner, limit, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(idx) != fmt.Sprint(want) {
		t.Fatalf("replay of %s revealed %v, want its own %v", owner, idx, want)
	}
	// Another automation with its own limit cannot reveal the same people again.
	idx, err = reveal(ctx, rdb, k.lead(lead), revealCountField("aut_other"), cands, "ev-x", -1, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(idx) != len(cands)-limit {
		t.Fatalf("second automation revealed %d, want the %d not yet revealed", len(idx), len(cands)-limit)
	}
	for _, i := range idx {
		if _, dup := revealedBy[i]; dup {
			t.Fatalf("contact %d revealed twice in the workspace", i)
		}
	}
	// Regression (issue 12): reveal records had no TTL (reveal_ttl 0 =
	// forever). They are fields of the lead's hash, which here had no
	// state, so the script gave it the lead TTL.
	if ttl := rdb.PTTL(ctx, k.lead(lead)).Val(); ttl <= 0 || ttl > time.Hour {
		t.Fatalf("reveal records' ttl = %s, want the lead TTL (0, 1h]", ttl)
	}
}

func TestCheckClaims(t *testing.T) {
	rdb, _ := kafkatest.Redis(t)
	if err := CheckClaims(context.Background(), rdb, kafkatest.Prefix(t)); err != nil {
		t.Fatalf("CheckClaims on a Redis that takes PEXPIRE NX: %v", err)
	}

	// A server that refuses PEXPIRE ... NX, as Redis before 7.0 does.
	srv, err := server.NewServer("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	if err := srv.Register("PEXPIRE", func(c *server.Peer, _ string, _ []string) {
		c.WriteError("ERR wrong number of arguments for 'pexpire' command")
	}); err != nil {
		t.Fatal(err)
	}
	old := redis.NewClient(&redis.Options{Addr: srv.Addr().String(), Protocol: 2, MaxRetries: -1})
	t.Cleanup(func() { old.Close() })
	err = CheckClaims(context.Background(), old, "lf:")
	if err == nil || !strings.Contains(err.Error(), "Redis 7.0 or later") || !strings.Contains(err.Error(), "wrong number of arguments") {
		t.Fatalf("CheckClaims on a Redis that refuses PEXPIRE NX = %v, want an error naming Redis 7.0", err)
	}

	// A Redis that cannot be reached is left to the stage's retries.
	gone := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { gone.Close() })
	if err := CheckClaims(context.Background(), gone, "lf:"); err != nil {
		t.Fatalf("CheckClaims on an unreachable Redis = %v, want nil", err)
	}
}
