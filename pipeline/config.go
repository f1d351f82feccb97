package pipeline

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// KafkaConfig is how every stage reaches the Kafka cluster.
type KafkaConfig struct {
	// Brokers are the seed brokers, host:port. Required in `run`; `dev`
	// fills it with its embedded broker. Env: LEADFLOW_KAFKA_BROKERS
	// (comma separated).
	Brokers []string `yaml:"brokers"`
	// ClientID is sent to the brokers in every request. Default "leadflow".
	ClientID string `yaml:"client_id"`
	// TLS enables TLS to the brokers. Default off.
	TLS TLSConfig `yaml:"tls"`
	// SASL authenticates to the brokers. Default none.
	SASL SASLConfig `yaml:"sasl"`
	// DialTimeout bounds each connection attempt. Default 10s.
	DialTimeout time.Duration `yaml:"dial_timeout"`
	// GroupInstanceID names this process in the consumer group of each
	// of its stages (static membership, KIP-345): a stage joins as
	// GROUP_INSTANCE_ID-STAGE, so a process that is killed and restarted
	// with the same id gets its partitions back at once, without waiting
	// for its old session to expire or for a rebalance; a clean shutdown
	// leaves the group explicitly, so its partitions move at once.
	// Default "" (the host name, stable for a Kubernetes StatefulSet pod
	// or a VM). Two processes of one stage must never share an id (the
	// later one fences the earlier): set it per process when they share a
	// host. "none" turns static membership off. Env:
	// LEADFLOW_KAFKA_GROUP_INSTANCE_ID.
	GroupInstanceID string `yaml:"group_instance_id"`
}

// NoInstanceID is the GroupInstanceID that turns static membership off.
const NoInstanceID = "none"

// InstanceID returns the static group instance id of stage for this
// process, or "" when static membership is off.
func (c KafkaConfig) InstanceID(stage string) string {
	id := c.GroupInstanceID
	switch id {
	case NoInstanceID:
		return ""
	case "":
		host, err := os.Hostname()
		if err != nil || host == "" {
			return ""
		}
		id = host
	}
	return id + "-" + stage
}

// TLSConfig is client TLS for Kafka or Redis.
type TLSConfig struct {
	// Enabled turns TLS on. Default false.
	Enabled bool `yaml:"enabled"`
	// CAFile is a PEM bundle of CAs to trust instead of the system pool. Default "".
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are a PEM client certificate and key for mutual TLS. Default "".
	CertFile string `yaml:"cert_file"`
	// KeyFile is the PEM key of CertFile. Default "".
	KeyFile string `yaml:"key_file"`
	// ServerName overrides the name checked in the server certificate. Default "" (the host dialled).
	ServerName string `yaml:"server_name"`
	// InsecureSkipVerify disables certificate checks. Default false; never in production.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

// SASLConfig is Kafka SASL authentication.
type SASLConfig struct {
	// Mechanism is "", "plain", "scram-sha-256" or "scram-sha-512". Default "" (no SASL).
	Mechanism string `yaml:"mechanism"`
	// Username for SASL. Default "".
	Username string `yaml:"username"`
	// Password for SASL. Default "". Env: LEADFLOW_KAFKA_SASL_PASSWORD.
	Password string `yaml:"password"`
}

// RedisConfig is how stateful stages reach Redis.
type RedisConfig struct {
	// Addr is a single Redis server, host:port. Default "" (required in
	// `run` unless ClusterAddrs is set; `dev` uses its embedded Redis).
	// Env: LEADFLOW_REDIS_ADDR.
	Addr string `yaml:"addr"`
	// ClusterAddrs are Redis Cluster seed nodes; set instead of Addr. Default none.
	ClusterAddrs []string `yaml:"cluster_addrs"`
	// Username for Redis ACL auth. Default "".
	Username string `yaml:"username"`
	// Password for Redis auth. Default "". Env: LEADFLOW_REDIS_PASSWORD.
	Password string `yaml:"password"`
	// DB is the database number (not on Cluster). Default 0.
	DB int `yaml:"db"`
	// KeyPrefix starts every key leadflow writes, so that several
	// deployments can share one Redis. Default "lf:".
	KeyPrefix string `yaml:"key_prefix"`
	// TLS enables TLS to Redis. Default off.
	TLS TLSConfig `yaml:"tls"`
	// PoolSize is the connection pool size per node. Default 0 (go-redis: 10 per CPU).
	PoolSize int `yaml:"pool_size"`
	// Timeout bounds each Redis command (read and write). Default 3s.
	Timeout time.Duration `yaml:"timeout"`
	// DialTimeout bounds each connection attempt. Default 5s.
	DialTimeout time.Duration `yaml:"dial_timeout"`
	// ClusterReloadInterval is how often the Redis Cluster slot map is
	// reloaded even without errors. A connection error or CLUSTERDOWN
	// reloads it at once; this bounds how stale it gets otherwise (a
	// failover with no traffic to the failed node). Default 5s.
	ClusterReloadInterval time.Duration `yaml:"cluster_reload_interval"`
	// Sentinel reaches a Sentinel-managed primary; set instead of Addr
	// and ClusterAddrs. Default: not used.
	Sentinel SentinelConfig `yaml:"sentinel"`
}

// SentinelConfig is a Redis primary found through Redis Sentinel. The
// client asks the sentinels for the primary on every new connection and
// follows their switch-master announcements, so a failover is followed
// as soon as the sentinels promote a replica.
type SentinelConfig struct {
	// MasterName is the name the sentinels monitor the primary under.
	// Required with Addrs. Default "".
	MasterName string `yaml:"master_name"`
	// Addrs are the sentinels, host:port. Default none.
	Addrs []string `yaml:"addrs"`
	// Username for the sentinels' ACL auth (the primary uses
	// redis.username). Default "".
	Username string `yaml:"username"`
	// Password for the sentinels. Default "". Env:
	// LEADFLOW_REDIS_SENTINEL_PASSWORD.
	Password string `yaml:"password"`
}

// HealthConfig tunes what /readyz and the stall signal report.
type HealthConfig struct {
	// Grace is how long a stage's dependency (Kafka fetch or produce,
	// Redis) may fail with no success, or its input may wait with no
	// batch processed, before /readyz answers 503 naming it, the
	// leadflow_stalled gauge is 1 and an outage is logged. Default 15s:
	// longer than a Kafka leader failover (about 10s with the brokers'
	// defaults), so a routine failover does not flap readiness.
	Grace time.Duration `yaml:"grace"`
}

// DefaultHealthConfig returns the defaults documented on HealthConfig.
func DefaultHealthConfig() HealthConfig { return HealthConfig{Grace: DefaultGrace} }

// Validate checks c; errors name the field under section.
func (c HealthConfig) Validate(section string) error {
	return CheckLimits(section, DurationLimit("grace", c.Grace, minGrace, maxGrace))
}

// TopicsConfig names and shapes the topics leadflow uses.
type TopicsConfig struct {
	// Prefix starts every topic name and consumer group. Default "leadflow.".
	Prefix string `yaml:"prefix"`
	// Partitions is the partition count of topics created at start.
	// Default 12. Existing topics are left as they are.
	Partitions int32 `yaml:"partitions"`
	// ReplicationFactor of created topics. Default -1 (the broker's default).
	ReplicationFactor int16 `yaml:"replication_factor"`
	// Create makes every process create the topics it uses at start.
	// Default true.
	Create bool `yaml:"create"`
	// Retention is retention.ms of the (not compacted) topics created at
	// start. Default 0: the broker's default. `leadflow dev` keeps 15m so
	// that its in-memory broker does not grow without bound.
	Retention time.Duration `yaml:"retention"`
	// RetentionBytes is retention.bytes of the (not compacted) topics
	// created at start: what each partition keeps at most, in bytes as
	// stored (compressed). Default 0: the broker's default. `leadflow dev`
	// keeps 16 MiB, so that its in-memory broker's memory does not grow
	// with the event rate.
	RetentionBytes int64 `yaml:"retention_bytes"`
}

// RuntimeConfig tunes how the runtime consumes, batches, bounds and
// commits for one stage. Every stage section of the config has one under
// `runtime:`.
type RuntimeConfig struct {
	// MaxBatchRecords is the most records of one partition handed to one
	// Process call. Default 500.
	MaxBatchRecords int `yaml:"max_batch_records"`
	// PartitionMaxRecords bounds records of one partition that were
	// fetched but are not yet finished; above it the partition is paused.
	// Default 10000.
	PartitionMaxRecords int `yaml:"partition_max_records"`
	// PartitionMaxBytes is the same bound in bytes (key+value). Default 16 MiB.
	PartitionMaxBytes int64 `yaml:"partition_max_bytes"`
	// MaxInflightRecords bounds unfinished records of the whole stage in
	// this process; above it the stage stops polling. Default 50000.
	MaxInflightRecords int `yaml:"max_inflight_records"`
	// MaxInflightBytes is the same bound in bytes. Default 128 MiB.
	MaxInflightBytes int64 `yaml:"max_inflight_bytes"`
	// CommitInterval is how often finished offsets are committed. Default 1s.
	CommitInterval time.Duration `yaml:"commit_interval"`
	// RevokeTimeout is how long a revoked partition may drain before its
	// unfinished work is abandoned (not committed). Default 10s.
	RevokeTimeout time.Duration `yaml:"revoke_timeout"`
	// RetryBackoff is the first wait before a failed Process call is
	// retried; it doubles up to RetryBackoffMax. Default 100ms.
	RetryBackoff time.Duration `yaml:"retry_backoff"`
	// RetryBackoffMax caps the wait between retries. Default 2s: after an
	// outage a stage resumes within this of the dependency's return.
	RetryBackoffMax time.Duration `yaml:"retry_backoff_max"`
	// FetchMaxBytes bounds one fetch response (compressed, as the broker
	// stores it). Default 16 MiB. The client uses at most a quarter of
	// MaxInflightBytes, and per partition at most 4 MiB and a quarter of
	// PartitionMaxBytes, so that what a poll brings in beyond the in-flight
	// bounds stays small beside them.
	FetchMaxBytes int32 `yaml:"fetch_max_bytes"`
	// FetchMaxWait is how long the broker may wait for data before
	// answering a fetch. Default 100ms.
	FetchMaxWait time.Duration `yaml:"fetch_max_wait"`
	// FetchMinBytes is how many bytes (compressed) the broker gathers,
	// waiting up to FetchMaxWait, before it answers a fetch. Default
	// 256 KiB: a stage gets its records in batches of up to FetchMaxWait
	// of traffic instead of a few records a fetch, which cost about a
	// third of the CPU per event in per-batch work (Redis round trips,
	// produce requests, commits) at 20,000 events/s; it adds up to
	// FetchMaxWait of latency per stage when traffic is low. 1: answer as
	// soon as there is a record.
	FetchMinBytes int32 `yaml:"fetch_min_bytes"`
	// ProducerLinger is how long a produced batch may wait for more
	// records. Default 20ms (fewer, larger produce requests; 2ms cost
	// about a fifth more CPU per event at 20,000 events/s).
	ProducerLinger time.Duration `yaml:"producer_linger"`
	// ProducerMaxBufferedRecords bounds records waiting to be produced;
	// Emit blocks above it (backpressure). Default 50000.
	ProducerMaxBufferedRecords int `yaml:"producer_max_buffered_records"`
	// ProducerMaxBufferedBytes bounds the bytes (key+value+headers,
	// uncompressed) of records waiting to be produced; Emit blocks above
	// it (backpressure). Default 64 MiB. It must hold at least two of the
	// stage's largest records (deliver: two retry records). Without it a
	// stage whose broker acks slowly buffered up to
	// producer_max_buffered_records of its largest records (the leads
	// stage: 50,000 lead changes, about 500 MB).
	ProducerMaxBufferedBytes int64 `yaml:"producer_max_buffered_bytes"`
	// ProducerCompression compresses produced batches: "snappy", "lz4",
	// "zstd", "gzip" or "none". Default "snappy". `leadflow dev` keeps it:
	// its broker is in the same process, but holds every batch in memory
	// as produced.
	ProducerCompression string `yaml:"producer_compression"`
	// SessionTimeout is the consumer group session timeout: a member
	// that died (and was not restarted with its kafka.group_instance_id)
	// holds its partitions this long, and a member that cannot reach its
	// group coordinator this long loses its partitions (then replays
	// unfinished work: duplicates). Default 30s: longer than a Kafka
	// broker failover that takes the group coordinator with it (10s was
	// not: the failover test lost partitions and sent 190 duplicates).
	// A restart is fast whatever it is, by static membership.
	SessionTimeout time.Duration `yaml:"session_timeout"`
	// RebalanceTimeout is how long a rebalance waits for every member to
	// rejoin; a member still draining revoked partitions (up to
	// RevokeTimeout) must rejoin within it, so it must exceed
	// RevokeTimeout. Default 30s.
	RebalanceTimeout time.Duration `yaml:"rebalance_timeout"`
}

// fetchMaxBytes is the fetch response bound the client uses: FetchMaxBytes,
// but at most a quarter of MaxInflightBytes. A poll returns everything
// fetched, decompressed, while the client fetches the next response, so
// the process holds up to the in-flight bound plus two responses.
func (c RuntimeConfig) fetchMaxBytes() int32 {
	return int32(min(int64(c.FetchMaxBytes), max(c.MaxInflightBytes/4, 1<<10)))
}

// fetchMaxPartitionBytes is the per-partition share of a fetch response:
// at most 4 MiB and a quarter of PartitionMaxBytes.
func (c RuntimeConfig) fetchMaxPartitionBytes() int32 {
	return int32(min(int64(c.fetchMaxBytes()), 4<<20, max(c.PartitionMaxBytes/4, 1<<10)))
}

// fetchMinBytes is what the broker waits for: FetchMinBytes, at most a
// whole fetch response (fetchMaxBytes).
func (c RuntimeConfig) fetchMinBytes() int32 { return min(c.FetchMinBytes, c.fetchMaxBytes()) }

// DefaultRuntimeConfig returns the runtime defaults documented on RuntimeConfig.
func DefaultRuntimeConfig() RuntimeConfig {
	return RuntimeConfig{
		MaxBatchRecords:            500,
		PartitionMaxRecords:        10000,
		PartitionMaxBytes:          16 << 20,
		MaxInflightRecords:         50000,
		MaxInflightBytes:           128 << 20,
		CommitInterval:             time.Second,
		RevokeTimeout:              10 * time.Second,
		RetryBackoff:               100 * time.Millisecond,
		RetryBackoffMax:            2 * time.Second,
		FetchMaxBytes:              16 << 20,
		FetchMaxWait:               100 * time.Millisecond,
		FetchMinBytes:              256 << 10,
		ProducerLinger:             20 * time.Millisecond,
		ProducerMaxBufferedRecords: 50000,
		ProducerMaxBufferedBytes:   64 << 20,
		ProducerCompression:        "snappy",
		SessionTimeout:             30 * time.Second,
		RebalanceTimeout:           30 * time.Second,
	}
}

// DefaultKafkaConfig returns the Kafka defaults documented on KafkaConfig.
func DefaultKafkaConfig() KafkaConfig {
	return KafkaConfig{ClientID: "leadflow", DialTimeout: 10 * time.Second}
}

// DefaultRedisConfig returns the Redis defaults documented on RedisConfig.
func DefaultRedisConfig() RedisConfig {
	return RedisConfig{KeyPrefix: "lf:", Timeout: 3 * time.Second, DialTimeout: 5 * time.Second, ClusterReloadInterval: 5 * time.Second}
}

// DefaultTopicsConfig returns the topic defaults documented on TopicsConfig.
func DefaultTopicsConfig() TopicsConfig {
	return TopicsConfig{Prefix: "leadflow.", Partitions: 12, ReplicationFactor: -1, Create: true}
}

// Validate checks c; errors name the field relative to section (e.g. "stages.enrich.runtime").
func (c RuntimeConfig) Validate(section string) error {
	if _, err := c.compression(); err != nil {
		return &FieldError{Field: join(section, "producer_compression"), Reason: err.Error()}
	}
	if c.RebalanceTimeout <= c.RevokeTimeout {
		return &FieldError{Field: join(section, "rebalance_timeout"), Reason: fmt.Sprintf("%s must exceed revoke_timeout (%s): a member draining revoked partitions must rejoin within it", c.RebalanceTimeout, c.RevokeTimeout)}
	}
	return CheckLimits(section,
		IntLimit("max_batch_records", c.MaxBatchRecords, 1, 100000),
		IntLimit("partition_max_records", c.PartitionMaxRecords, 1, 10000000),
		IntLimit("partition_max_bytes", c.PartitionMaxBytes, 1<<10, 1<<34),
		IntLimit("max_inflight_records", c.MaxInflightRecords, 1, 100000000),
		IntLimit("max_inflight_bytes", c.MaxInflightBytes, 1<<10, 1<<36),
		DurationLimit("commit_interval", c.CommitInterval, 10*time.Millisecond, time.Hour),
		DurationLimit("revoke_timeout", c.RevokeTimeout, 0, 10*time.Minute),
		DurationLimit("retry_backoff", c.RetryBackoff, time.Millisecond, time.Minute),
		DurationLimit("retry_backoff_max", c.RetryBackoffMax, c.RetryBackoff, time.Hour),
		IntLimit("fetch_max_bytes", c.FetchMaxBytes, 1<<10, 1<<30),
		DurationLimit("fetch_max_wait", c.FetchMaxWait, time.Millisecond, 30*time.Second),
		IntLimit("fetch_min_bytes", c.FetchMinBytes, 1, 1<<26),
		DurationLimit("producer_linger", c.ProducerLinger, 0, 10*time.Second),
		IntLimit("producer_max_buffered_records", c.ProducerMaxBufferedRecords, 1, 10000000),
		IntLimit("producer_max_buffered_bytes", c.ProducerMaxBufferedBytes, 1<<20, 1<<40),
		DurationLimit("session_timeout", c.SessionTimeout, 6*time.Second, 30*time.Minute),
		DurationLimit("rebalance_timeout", c.RebalanceTimeout, time.Second, 30*time.Minute),
	)
}

// Validate checks c; errors name the field under section.
func (c KafkaConfig) Validate(section string) error {
	var errs []error
	if len(c.Brokers) == 0 {
		errs = append(errs, &FieldError{Field: join(section, "brokers"), Reason: "must list at least one host:port"})
	}
	for i, b := range c.Brokers {
		if !strings.Contains(b, ":") {
			errs = append(errs, &FieldError{Field: fmt.Sprintf("%s[%d]", join(section, "brokers"), i), Reason: fmt.Sprintf("%q is not host:port", b)})
		}
	}
	switch c.SASL.Mechanism {
	case "", "plain", "scram-sha-256", "scram-sha-512":
	default:
		errs = append(errs, &FieldError{Field: join(section, "sasl.mechanism"), Reason: fmt.Sprintf("%q is not one of plain, scram-sha-256, scram-sha-512", c.SASL.Mechanism)})
	}
	if c.SASL.Mechanism != "" && c.SASL.Username == "" {
		errs = append(errs, &FieldError{Field: join(section, "sasl.username"), Reason: "is required with sasl.mechanism"})
	}
	if id := c.GroupInstanceID; len(id) > 200 || strings.ContainsAny(id, " \t\n/") {
		errs = append(errs, &FieldError{Field: join(section, "group_instance_id"), Reason: "must be at most 200 characters, without spaces or '/'"})
	}
	errs = append(errs, CheckLimits(section, DurationLimit("dial_timeout", c.DialTimeout, 100*time.Millisecond, 5*time.Minute)))
	return errors.Join(errs...)
}

// Validate checks c; errors name the field under section.
func (c RedisConfig) Validate(section string) error {
	var errs []error
	modes := 0
	for _, set := range []bool{c.Addr != "", len(c.ClusterAddrs) > 0, len(c.Sentinel.Addrs) > 0} {
		if set {
			modes++
		}
	}
	switch {
	case modes == 0:
		errs = append(errs, &FieldError{Field: join(section, "addr"), Reason: "set addr, cluster_addrs or sentinel.addrs"})
	case modes > 1:
		errs = append(errs, &FieldError{Field: join(section, "cluster_addrs"), Reason: "set only one of addr, cluster_addrs and sentinel.addrs"})
	}
	if len(c.ClusterAddrs) > 0 && c.DB != 0 {
		errs = append(errs, &FieldError{Field: join(section, "db"), Reason: "Redis Cluster has only database 0"})
	}
	if len(c.Sentinel.Addrs) > 0 && c.Sentinel.MasterName == "" {
		errs = append(errs, &FieldError{Field: join(section, "sentinel.master_name"), Reason: "is required with sentinel.addrs"})
	}
	errs = append(errs, CheckLimits(section,
		IntLimit("db", c.DB, 0, 15),
		IntLimit("pool_size", c.PoolSize, 0, 10000),
		DurationLimit("timeout", c.Timeout, time.Millisecond, time.Minute),
		DurationLimit("dial_timeout", c.DialTimeout, 10*time.Millisecond, time.Minute),
		DurationLimit("cluster_reload_interval", c.ClusterReloadInterval, 100*time.Millisecond, 10*time.Minute),
	))
	return errors.Join(errs...)
}

// Validate checks c; errors name the field under section.
func (c TopicsConfig) Validate(section string) error {
	var errs []error
	if c.Prefix != "" && strings.ContainsAny(c.Prefix, " /\\,:") {
		errs = append(errs, &FieldError{Field: join(section, "prefix"), Reason: "may hold only letters, digits, '.', '_' and '-'"})
	}
	errs = append(errs, CheckLimits(section,
		IntLimit("partitions", c.Partitions, 1, 10000),
		IntLimit("replication_factor", c.ReplicationFactor, -1, 16),
		DurationLimit("retention", c.Retention, 0, 100*365*24*time.Hour),
		IntLimit("retention_bytes", c.RetentionBytes, 0, 1<<50),
	))
	return errors.Join(errs...)
}

func join(section, field string) string {
	if section == "" {
		return field
	}
	return section + "." + field
}

// compression is the franz-go codec of ProducerCompression.
func (c RuntimeConfig) compression() (kgo.CompressionCodec, error) {
	switch c.ProducerCompression {
	case "snappy":
		return kgo.SnappyCompression(), nil
	case "lz4":
		return kgo.Lz4Compression(), nil
	case "zstd":
		return kgo.ZstdCompression(), nil
	case "gzip":
		return kgo.GzipCompression(), nil
	case "none":
		return kgo.NoCompression(), nil
	}
	return kgo.CompressionCodec{}, fmt.Errorf("%q is not one of snappy, lz4, zstd, gzip, none", c.ProducerCompression)
}
