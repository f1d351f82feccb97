package leadstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/leadflow/leadflow/schemas"
)

// TestCompleteRedisDown: a Redis failure is an error wrapping
// ErrSessionRead, and the changes are left as they were.
func TestCompleteRedisDown(t *testing.T) {
	down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	defer down.Close()
	ch := schemas.LeadChange{LeadKey: "ws|x.com", Lead: schemas.Lead{ID: 1, RecentSessions: []schemas.Session{{}}},
		OlderSessions: []schemas.SessionRef{{Seq: 1, Pageviews: 1, TimeSpent: []int64{5}}}}
	_, err := NewSessionStore(down, "lf:", 10).Complete(context.Background(), []*schemas.LeadChange{&ch})
	if !errors.Is(err, ErrSessionRead) {
		t.Fatalf("err = %v, want ErrSessionRead", err)
	}
	if len(ch.Lead.RecentSessions) != 1 || len(ch.OlderSessions) != 1 {
		t.Fatalf("change altered after a failure: %+v", ch)
	}
}
