package system_test

import (
	"context"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/leadflow/leadflow/pipeline/kafkatest"
	"github.com/leadflow/leadflow/stages/system"
	"github.com/leadflow/leadflow/stages/system/systemtest"
)

// TestRunThatFailsBeforeStartingReleasesEverything: Run fails before its
// runners start (http.addr is taken), and what New built (each runner's
// Kafka client, the stages, Redis) is closed: the process is back to the
// goroutines it had before New. Before, each runner's Kafka client and the
// Redis pool were left running.
func TestRunThatFailsBeforeStartingReleasesEverything(t *testing.T) {
	cfg := systemtest.Config(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfg.HTTP.Addr = taken.Addr().String()

	time.Sleep(100 * time.Millisecond) // let the test's Kafka and Redis settle
	before := runtime.NumGoroutine()
	sys, err := system.New(context.Background(), system.Options{
		Config: cfg, Dev: true, CacheDir: t.TempDir(), Version: "release",
		Logger: zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)),
	})
	if err != nil {
		t.Fatal(err)
	}
	err = sys.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "http.addr") {
		t.Fatalf("Run with http.addr taken returned %v; want an error naming http.addr", err)
	}
	var now int
	kafkatest.Eventually(t, 10*time.Second, "goroutines back to where they were before New", func() bool {
		now = runtime.NumGoroutine()
		return now <= before+2 // slack: a pooled connection's reader may still be exiting
	})
	t.Logf("goroutines before New %d, after the failed Run %d", before, now)
}
