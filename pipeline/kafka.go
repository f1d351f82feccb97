package pipeline

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// ClientOpts turns c into franz-go client options (brokers, client id,
// dial timeout, TLS, SASL). Every Kafka client leadflow makes starts here.
func (c KafkaConfig) ClientOpts() ([]kgo.Opt, error) {
	if len(c.Brokers) == 0 {
		return nil, &FieldError{Field: "kafka.brokers", Reason: "must list at least one host:port"}
	}
	opts := []kgo.Opt{kgo.SeedBrokers(c.Brokers...)}
	if c.ClientID != "" {
		opts = append(opts, kgo.ClientID(c.ClientID))
	}
	dialer := &net.Dialer{Timeout: c.DialTimeout}
	if c.TLS.Enabled {
		tc, err := c.TLS.Config()
		if err != nil {
			return nil, fmt.Errorf("kafka.tls: %w", err)
		}
		opts = append(opts, kgo.DialTLSConfig(tc))
		if c.DialTimeout > 0 {
			opts = append(opts, kgo.DialTimeout(c.DialTimeout))
		}
	} else if c.DialTimeout > 0 {
		opts = append(opts, kgo.Dialer(dialer.DialContext))
	}
	switch c.SASL.Mechanism {
	case "":
	case "plain":
		opts = append(opts, kgo.SASL(plain.Auth{User: c.SASL.Username, Pass: c.SASL.Password}.AsMechanism()))
	case "scram-sha-256":
		opts = append(opts, kgo.SASL(scram.Auth{User: c.SASL.Username, Pass: c.SASL.Password}.AsSha256Mechanism()))
	case "scram-sha-512":
		opts = append(opts, kgo.SASL(scram.Auth{User: c.SASL.Username, Pass: c.SASL.Password}.AsSha512Mechanism()))
	default:
		return nil, &FieldError{Field: "kafka.sasl.mechanism", Reason: fmt.Sprintf("unknown mechanism %q", c.SASL.Mechanism)}
	}
	return opts, nil
}

// Config builds a *tls.Config from c.
func (c TLSConfig) Config() (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.ServerName, InsecureSkipVerify: c.InsecureSkipVerify} //nolint:gosec // opt-in, documented
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("ca_file: no PEM certificates found")
		}
		tc.RootCAs = pool
	}
	if c.CertFile != "" || c.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("cert_file/key_file: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// NewClient builds a franz-go client for c with extra appended to its
// options (ClientOpts): the one way a leadflow process or command makes a
// Kafka client outside of a Runner, which builds its own from the same
// options. It does not connect; the caller closes it.
func NewClient(c KafkaConfig, extra ...kgo.Opt) (*kgo.Client, error) {
	opts, err := c.ClientOpts()
	if err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(append(opts, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	return cl, nil
}
