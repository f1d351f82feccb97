package pipeline_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/leadflow/leadflow/pipeline"
	"github.com/leadflow/leadflow/pipeline/kafkatest"
)

// freePort returns a loopback port nobody listens on (now).
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// redisProcess starts redis-server with args until the test ends.
func redisProcess(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("redis-server", args...)
	if err := cmd.Start(); err != nil {
		t.Fatalf("redis-server: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

// TestSentinelFailoverIsFollowed runs a primary, a replica and a sentinel
// (redis-server processes), writes through NewRedis's sentinel client,
// SIGKILLs the primary, and checks that writes succeed again once the
// sentinel promoted the replica, reporting how long that took. It runs
// where the real services do (LEADFLOW_REDIS_ADDR set, as in CI), which
// install redis-server.
func TestSentinelFailoverIsFollowed(t *testing.T) {
	if os.Getenv(kafkatest.EnvRedis) == "" {
		t.Skip("needs redis-server: runs with the real services (LEADFLOW_REDIS_ADDR set, as in CI)")
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("LEADFLOW_REDIS_ADDR is set but redis-server is not installed: %v", err)
	}
	pp, rp, sp := freePort(t), freePort(t), freePort(t)
	// The replica writes the primary's snapshot on sync: keep it in a temp dir.
	common := []string{"--bind", "127.0.0.1", "--save", "", "--appendonly", "no"}
	primary := redisProcess(t, append([]string{"--port", strconv.Itoa(pp), "--dir", t.TempDir()}, common...)...)
	redisProcess(t, append([]string{"--port", strconv.Itoa(rp), "--dir", t.TempDir(), "--replicaof", "127.0.0.1", strconv.Itoa(pp)}, common...)...)
	conf := filepath.Join(t.TempDir(), "sentinel.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, "bind 127.0.0.1\nport %d\nsentinel monitor lf 127.0.0.1 %d 1\nsentinel down-after-milliseconds lf 1000\nsentinel failover-timeout lf 5000\n", sp, pp), 0o600); err != nil {
		t.Fatal(err)
	}
	redisProcess(t, conf, "--sentinel")

	ctx := context.Background()
	sentinel := redis.NewSentinelClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", sp)})
	defer sentinel.Close()
	kafkatest.Eventually(t, 30*time.Second, "the sentinel sees the replica", func() bool {
		r, err := sentinel.Replicas(ctx, "lf").Result()
		return err == nil && len(r) == 1
	})

	cfg := pipeline.DefaultRedisConfig()
	cfg.Sentinel.MasterName, cfg.Sentinel.Addrs = "lf", []string{fmt.Sprintf("127.0.0.1:%d", sp)}
	cfg.Timeout, cfg.DialTimeout = 500*time.Millisecond, 500*time.Millisecond
	if err := cfg.Validate("redis"); err != nil {
		t.Fatal(err)
	}
	process, err := pipeline.NewWatch(pipeline.WatchConfig{Name: "process", Grace: time.Second}, pipeline.WatchDeps{Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	rdb, err := pipeline.NewRedis(cfg, process)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	if err := rdb.Incr(ctx, "n").Err(); err != nil {
		t.Fatalf("write through the sentinel client: %v", err)
	}
	kafkatest.Eventually(t, 10*time.Second, "the write reached the replica", func() bool {
		c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", rp)})
		defer c.Close()
		return c.Get(ctx, "n").Val() == "1"
	})

	_ = primary.Process.Kill() // SIGKILL
	killed := time.Now()
	kafkatest.Eventually(t, 60*time.Second, "writes succeed after the failover", func() bool {
		return rdb.Incr(ctx, "n").Err() == nil
	})
	t.Logf("writes resumed %v after the primary was killed (down-after-milliseconds 1000)", time.Since(killed).Round(100*time.Millisecond))
	addr, err := sentinel.GetMasterAddrByName(ctx, "lf").Result()
	if err != nil || addr[1] != strconv.Itoa(rp) {
		t.Fatalf("sentinel's primary after the failover = %v, %v; want the replica on port %d", addr, err, rp)
	}
}
