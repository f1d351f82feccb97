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
