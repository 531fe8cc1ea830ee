package config

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/stepstream/express/kafka"
)

// ClientOpts returns the franz-go options for f's brokers, TLS and SASL.
func (f *File) ClientOpts() ([]kgo.Opt, error) {
	// a produce refused because a leader moved waits for the next
	// metadata refresh: see kafka.MetadataMinAge
	opts := []kgo.Opt{kgo.SeedBrokers(f.Brokers...), kgo.MetadataMinAge(kafka.MetadataMinAge)}
	if f.ClientID != "" {
		opts = append(opts, kgo.ClientID(f.ClientID))
	} else {
		opts = append(opts, kgo.ClientID("express"))
	}
	if f.SessionTimeout > 0 {
		opts = append(opts, kgo.SessionTimeout(time.Duration(f.SessionTimeout)))
		if f.SessionTimeout < Duration(9*time.Second) {
			opts = append(opts, kgo.HeartbeatInterval(time.Duration(f.SessionTimeout)/3))
		}
	}
	if t := f.TLS; t != nil && (t.Enabled || t.CAFile != "" || t.CertFile != "") {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify} //nolint:gosec // opt-in
		if t.CAFile != "" {
			pem, err := os.ReadFile(t.CAFile)
			if err != nil {
				return nil, fmt.Errorf("tls.ca_file: %v", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("tls.ca_file: %s holds no PEM certificate", t.CAFile)
			}
			cfg.RootCAs = pool
		}
		if t.CertFile != "" {
			cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
			if err != nil {
				return nil, fmt.Errorf("tls.cert_file: %v", err)
			}
			cfg.Certificates = []tls.Certificate{cert}
		}
		opts = append(opts, kgo.DialTLSConfig(cfg))
	}
	if s := f.SASL; s != nil {
		pass := s.Password
		if s.PasswordEnv != "" {
			pass = os.Getenv(s.PasswordEnv)
		}
		switch strings.ToUpper(s.Mechanism) {
		case "PLAIN":
			opts = append(opts, kgo.SASL(plain.Auth{User: s.Username, Pass: pass}.AsMechanism()))
		case "SCRAM-SHA-256":
			opts = append(opts, kgo.SASL(scram.Auth{User: s.Username, Pass: pass}.AsSha256Mechanism()))
		case "SCRAM-SHA-512":
			opts = append(opts, kgo.SASL(scram.Auth{User: s.Username, Pass: pass}.AsSha512Mechanism()))
		default:
			return nil, fmt.Errorf("sasl.mechanism: %q is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512", s.Mechanism)
		}
	}
	return opts, nil
}
