package configs

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/leadflow/leadflow/pipeline"
)

// The reference file must state the real defaults: decoding it over a
// zero Config gives exactly Default().
func TestReferenceFileStatesTheDefaults(t *testing.T) {
	var cfg Config
	if err := decode(Documented(), &cfg); err != nil {
		t.Fatalf("leadflow.yaml: %v", err)
	}
	// YAML "[]" decodes to an empty slice where the default is nil.
	if len(cfg.Kafka.Brokers) == 0 {
		cfg.Kafka.Brokers = nil
	}
	if len(cfg.Redis.ClusterAddrs) == 0 {
		cfg.Redis.ClusterAddrs = nil
	}
	if len(cfg.SecretKeyPrevious) == 0 {
		cfg.SecretKeyPrevious = nil
	}
	if len(cfg.Redis.Sentinel.Addrs) == 0 {
		cfg.Redis.Sentinel.Addrs = nil
	}
	if want := Default(); !reflect.DeepEqual(cfg, want) {
		t.Fatalf("leadflow.yaml and Default() differ:\nfile:    %+v\ndefault: %+v", cfg, want)
	}
}

// Every setting appears in the reference file (so every setting is documented).
func TestReferenceFileListsEverySetting(t *testing.T) {
	var tree map[string]any
	if err := yaml.Unmarshal(Documented(), &tree); err != nil {
		t.Fatal(err)
	}
	for _, path := range EnvNames() {
		var node any = tree
		for _, part := range strings.Split(path, ".") {
			m, ok := node.(map[string]any)
			if !ok {
				t.Fatalf("%s: not a mapping at %s", path, part)
			}
			if node, ok = m[part]; !ok {
				t.Errorf("setting %s is not in leadflow.yaml", path)
				break
			}
		}
	}
}

func TestDevConfigIsValidOnceBrokersAndRedisAreSet(t *testing.T) {
	cfg := DevDefault()
	cfg.Kafka.Brokers = []string{"127.0.0.1:9092"}
	cfg.Redis.Addr = "127.0.0.1:6379"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.Log.Format != "console" || cfg.Topics.Partitions != 4 {
		t.Fatalf("dev.yaml not applied: %+v", cfg)
	}
	// The embedded broker keeps what it is given in memory: dev bounds it
	// by bytes and compresses what it produces (issue 17: 8.6 GiB peak RSS
	// at 20,000 events/s without).
	if cfg.Topics.RetentionBytes != 16<<20 || cfg.Stages.Leads.Runtime.ProducerCompression != "snappy" {
		t.Fatalf("dev topics %+v, leads runtime %+v; want retention_bytes 16 MiB and snappy", cfg.Topics, cfg.Stages.Leads.Runtime)
	}
}

func TestPartialRuntimeBlockOverridesOnlyWhatItNames(t *testing.T) {
	cfg := Default()
	if err := decode([]byte("stages:\n  leads:\n    runtime: {producer_compression: none}\n"), &cfg); err != nil {
		t.Fatal(err)
	}
	if rt := cfg.Stages.Leads.Runtime; rt.ProducerCompression != "none" || rt.MaxBatchRecords != 500 {
		t.Fatalf("leads runtime = %+v; want compression none and the default batch size", rt)
	}
	if rt := cfg.Stages.Evaluate.Runtime; rt.ProducerCompression != "snappy" {
		t.Fatalf("evaluate runtime = %+v; want the default compression", rt)
	}
}

func TestUnknownKeyIsAnErrorNamingFileAndLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(path, []byte("kafka:\n  brokers: [a:1]\n  bokers: [b:2]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path, nil)
	if err == nil || !strings.Contains(err.Error(), "line 3") || !strings.Contains(err.Error(), "bokers") || !strings.Contains(err.Error(), path) {
		t.Fatalf("err = %v; want one naming %s, line 3 and bokers", err, path)
	}
}

func TestEnvOverridesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(path, []byte("kafka:\n  brokers: [file:1]\nredis:\n  addr: file:2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path, []string{
		"LEADFLOW_KAFKA_BROKERS=a:1, b:2", "LEADFLOW_REDIS_ADDR=r:6379",
		"LEADFLOW_STAGES_ENRICH_RUNTIME_COMMIT_INTERVAL=250ms", "LEADFLOW_TOPICS_CREATE=false",
		"LEADFLOW_ADMIN_TOKEN=s3cret", "LEADFLOW_SECRET_KEY=not-a-setting", "OTHER=x",
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Kafka.Brokers; !reflect.DeepEqual(got, []string{"a:1", "b:2"}) {
		t.Errorf("brokers = %v", got)
	}
	if cfg.Redis.Addr != "r:6379" || cfg.Stages.Enrich.Runtime.CommitInterval != 250*time.Millisecond ||
		cfg.Topics.Create || cfg.Admin.Token != "s3cret" {
		t.Errorf("env not applied: %+v", cfg)
	}
}

func TestBadEnvValueNamesTheSetting(t *testing.T) {
	_, err := Load("", []string{"LEADFLOW_TOPICS_PARTITIONS=many"})
	var fe *pipeline.FieldError
	if !errors.As(err, &fe) || fe.Field != "topics.partitions" || !strings.Contains(err.Error(), "LEADFLOW_TOPICS_PARTITIONS") {
		t.Fatalf("err = %v; want a FieldError for topics.partitions", err)
	}
}

func TestValidateNamesEveryBadField(t *testing.T) {
	cfg := Default()
	cfg.Kafka.Brokers = []string{"nohostport"}
	cfg.Redis.Addr = "r:1"
	cfg.Stages.Enrich.Runtime.MaxBatchRecords = 0
	cfg.Log.Level = "loud"
	cfg.Stages.Deliver.Runtime.ProducerCompression = "brotli"
	err := cfg.Validate()
	for _, want := range []string{
		"kafka.brokers[0]", "stages.enrich.runtime.max_batch_records: 0 is out of range: must be between 1 and 100000", "log.level",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v; want it to name %q", err, want)
		}
	}
	if !errors.Is(err, pipeline.ErrInvalidConfig) {
		t.Errorf("errors.Is(err, ErrInvalidConfig) = false")
	}
}

func TestMissingBrokersAndRedisAreNamed(t *testing.T) {
	err := Default().Validate()
	for _, want := range []string{"kafka.brokers", "redis.addr"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v; want it to name %s", err, want)
		}
	}
}
