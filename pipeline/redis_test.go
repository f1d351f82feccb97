package pipeline

import (
	"os"
	"strings"
	"testing"
)

func TestRedisConfigSentinelNeedsMasterNameAndOneMode(t *testing.T) {
	c := DefaultRedisConfig()
	c.Sentinel.Addrs = []string{"127.0.0.1:26379"}
	err := c.Validate("redis")
	if err == nil || !strings.Contains(err.Error(), "redis.sentinel.master_name: is required") {
		t.Fatalf("Validate() = %v; want sentinel.master_name named", err)
	}
	c.Sentinel.MasterName = "mymaster"
	if err := c.Validate("redis"); err != nil {
		t.Fatalf("Validate() = %v for a complete sentinel setting", err)
	}
	c.Addr = "127.0.0.1:6379"
	if err := c.Validate("redis"); err == nil || !strings.Contains(err.Error(), "only one of addr, cluster_addrs and sentinel.addrs") {
		t.Fatalf("Validate() = %v with addr and sentinel.addrs; want the conflict named", err)
	}
	c.Addr, c.ClusterReloadInterval = "", 0
	if err := c.Validate("redis"); err == nil || !strings.Contains(err.Error(), "redis.cluster_reload_interval") {
		t.Fatalf("Validate() = %v with cluster_reload_interval 0; want it named", err)
	}
}

func TestInstanceIDIsPerStageAndCanBeTurnedOff(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ id, want string }{
		{"", host + "-leads"},
		{"pod-3", "pod-3-leads"},
		{NoInstanceID, ""},
	} {
		if got := (KafkaConfig{GroupInstanceID: c.id}).InstanceID("leads"); got != c.want {
			t.Errorf("InstanceID with group_instance_id %q = %q; want %q", c.id, got, c.want)
		}
	}
	if err := (KafkaConfig{Brokers: []string{"k:9092"}, DialTimeout: DefaultKafkaConfig().DialTimeout, GroupInstanceID: "a b"}).Validate("kafka"); err == nil ||
		!strings.Contains(err.Error(), "kafka.group_instance_id") {
		t.Errorf("Validate() = %v for an id with a space; want it named", err)
	}
}

func TestRuntimeConfigRebalanceTimeoutMustExceedRevokeTimeout(t *testing.T) {
	c := DefaultRuntimeConfig()
	c.RebalanceTimeout = c.RevokeTimeout
	if err := c.Validate("stages.leads.runtime"); err == nil || !strings.Contains(err.Error(), "stages.leads.runtime.rebalance_timeout") {
		t.Fatalf("Validate() = %v; want rebalance_timeout named", err)
	}
}
