package pipeline

import (
	"errors"
	"fmt"
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
	// RetryBackoffMax caps the wait between retries. Default 10s.
	RetryBackoffMax time.Duration `yaml:"retry_backoff_max"`
	// FetchMaxBytes bounds one fetch response. Default 16 MiB.
	FetchMaxBytes int32 `yaml:"fetch_max_bytes"`
	// FetchMaxWait is how long the broker may wait for data before
	// answering a fetch. Default 100ms.
	FetchMaxWait time.Duration `yaml:"fetch_max_wait"`
	// ProducerLinger is how long a produced batch may wait for more
	// records. Default 2ms.
	ProducerLinger time.Duration `yaml:"producer_linger"`
	// ProducerMaxBufferedRecords bounds records waiting to be produced;
	// Emit blocks above it (backpressure). Default 50000.
	ProducerMaxBufferedRecords int `yaml:"producer_max_buffered_records"`
	// ProducerCompression compresses produced batches: "snappy", "lz4",
	// "zstd", "gzip" or "none". Default "snappy". `leadflow dev` uses
	// "none": its broker is in the same process, so compressing only
	// costs CPU.
	ProducerCompression string `yaml:"producer_compression"`
	// SessionTimeout is the consumer group session timeout. Default 45s.
	SessionTimeout time.Duration `yaml:"session_timeout"`
	// RebalanceTimeout is how long a rebalance waits for every member to
	// rejoin. A member that crashed holds up the rebalance this long (then
	// it is dropped), so it bounds how fast a restarted or surviving
	// process takes over a crashed one's partitions. Default 60s.
	RebalanceTimeout time.Duration `yaml:"rebalance_timeout"`
}

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
		RetryBackoffMax:            10 * time.Second,
		FetchMaxBytes:              16 << 20,
		FetchMaxWait:               100 * time.Millisecond,
		ProducerLinger:             2 * time.Millisecond,
		ProducerMaxBufferedRecords: 50000,
		ProducerCompression:        "snappy",
		SessionTimeout:             45 * time.Second,
		RebalanceTimeout:           time.Minute,
	}
}

// DefaultKafkaConfig returns the Kafka defaults documented on KafkaConfig.
func DefaultKafkaConfig() KafkaConfig {
	return KafkaConfig{ClientID: "leadflow", DialTimeout: 10 * time.Second}
}

// DefaultRedisConfig returns the Redis defaults documented on RedisConfig.
func DefaultRedisConfig() RedisConfig {
	return RedisConfig{KeyPrefix: "lf:", Timeout: 3 * time.Second}
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
		DurationLimit("producer_linger", c.ProducerLinger, 0, 10*time.Second),
		IntLimit("producer_max_buffered_records", c.ProducerMaxBufferedRecords, 1, 10000000),
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
	errs = append(errs, CheckLimits(section, DurationLimit("dial_timeout", c.DialTimeout, 100*time.Millisecond, 5*time.Minute)))
	return errors.Join(errs...)
}

// Validate checks c; errors name the field under section.
func (c RedisConfig) Validate(section string) error {
	var errs []error
	if c.Addr == "" && len(c.ClusterAddrs) == 0 {
		errs = append(errs, &FieldError{Field: join(section, "addr"), Reason: "set addr or cluster_addrs"})
	}
	if c.Addr != "" && len(c.ClusterAddrs) > 0 {
		errs = append(errs, &FieldError{Field: join(section, "cluster_addrs"), Reason: "set addr or cluster_addrs, not both"})
	}
	if len(c.ClusterAddrs) > 0 && c.DB != 0 {
		errs = append(errs, &FieldError{Field: join(section, "db"), Reason: "Redis Cluster has only database 0"})
	}
	errs = append(errs, CheckLimits(section,
		IntLimit("db", c.DB, 0, 15),
		IntLimit("pool_size", c.PoolSize, 0, 10000),
		DurationLimit("timeout", c.Timeout, time.Millisecond, time.Minute),
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
