// Package systemtest starts the whole leadflow system in a test's process,
// as `leadflow dev` does: on kfake and miniredis, or on the real Kafka and
// Redis when LEADFLOW_KAFKA_BROKERS and LEADFLOW_REDIS_ADDR name them
// (pipeline/kafkatest). The end-to-end tests of stages/system and the
// console's browser tests share it.
package systemtest

import (
	"context"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/leadflow/leadflow/configs"
	"github.com/leadflow/leadflow/pipeline/kafkatest"
	"github.com/leadflow/leadflow/stages/system"
)

// Config returns the dev defaults (configs.DevDefault) pointed at the
// test's Kafka and Redis (kfake and miniredis started for it, stopped at
// cleanup, or the real ones), with the test's own topic and key prefix and
// the HTTP server on a free loopback port.
func Config(t testing.TB) configs.Config {
	t.Helper()
	cfg := configs.DevDefault()
	prefix := kafkatest.Prefix(t)
	if kafkatest.Real() {
		cfg.Kafka.Brokers = kafkatest.Brokers(t)
		_, cfg.Redis.Addr = kafkatest.Redis(t)
	} else {
		infra, err := system.StartDevInfra("127.0.0.1:0", "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(infra.Close)
		cfg.Kafka.Brokers = []string{infra.KafkaAddr}
		cfg.Redis.Addr = infra.RedisAddr
	}
	cfg.Topics.Prefix = prefix
	cfg.Redis.KeyPrefix = prefix
	cfg.HTTP.Addr = "127.0.0.1:0"
	return cfg
}

// Start runs every stage in this process on Config's configuration.
// configure (may be nil) changes the configuration before the system is
// built. Start returns once /readyz would answer 200 (at most 60 s); the
// system stops, and its Run error fails the test, at cleanup. version
// names the build in User-Agent.
func Start(t testing.TB, version string, configure func(*configs.Config)) (*system.System, configs.Config) {
	t.Helper()
	cfg := Config(t)
	if configure != nil {
		configure(&cfg)
	}
	sys, err := system.New(context.Background(), system.Options{
		Config: cfg, Dev: true, CacheDir: t.TempDir(), Version: version,
		Logger: zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sys.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("system: %v", err)
		}
	})
	kafkatest.Eventually(t, 60*time.Second, "system ready", func() bool {
		return sys.HTTPAddr() != nil && sys.Ready(context.Background()) == nil
	})
	return sys, cfg
}
