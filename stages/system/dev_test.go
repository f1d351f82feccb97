package system_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/leadflow/leadflow/pipeline/kafkatest"
	"github.com/leadflow/leadflow/stages/system"
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
