package daemon

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"github.com/stepstream/express/internal/testutil"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stepstream/express/daemon/config"
)

// selfSigned writes a CA-less self-signed certificate for 127.0.0.1 and
// returns the server TLS config and the PEM file path.
func selfSigned(t *testing.T) (*tls.Config, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kfake"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	kb, _ := x509.MarshalECPrivateKey(key)
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, path
}

// TestTLSAndSASL runs the daemon against a broker that requires TLS and
// SCRAM-SHA-256 (and one that requires SASL PLAIN).
func TestTLSAndSASL(t *testing.T) {
	srvTLS, caFile := selfSigned(t)
	for _, tc := range []struct {
		name string
		mech string
		tls  bool
	}{{"tls+scram", "SCRAM-SHA-256", true}, {"plain", "PLAIN", false}, {"scram512", "SCRAM-SHA-512", false}} {
		t.Run(tc.name, func(t *testing.T) {
			opts := []kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(2, "readings", "readings-out", "readings-dlq"),
				kfake.EnableSASL(), kfake.Superuser(tc.mech, "express", "s3cret"),
				kfake.ListenFn(func(network, _ string) (net.Listener, error) { return net.Listen(network, "127.0.0.1:0") })}
			if tc.tls {
				opts = append(opts, kfake.TLS(srvTLS))
			}
			c, err := kfake.NewCluster(opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			t.Setenv("TEST_KAFKA_PASSWORD", "s3cret")
			f := demoConfig()
			f.MetricsAddr = ""
			f.Brokers = c.ListenAddrs()
			f.SASL = &config.SASL{Mechanism: tc.mech, Username: "express", PasswordEnv: "TEST_KAFKA_PASSWORD"}
			if tc.tls {
				f.TLS = &config.TLS{Enabled: true, CAFile: caFile}
			}
			copts, err := f.ClientOpts()
			if err != nil {
				t.Fatal(err)
			}
			cl, err := kgo.NewClient(copts...)
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- Run(ctx, f, Options{}) }()
			defer func() {
				cancel()
				if err := <-done; err != nil {
					t.Error(err)
				}
			}()
			rec := &kgo.Record{Topic: "readings", Value: []byte(`{"deviceId":"d","ts":"t","type":"humidity","value":50,"unit":"%","battery":1,"tags":[]}`)}
			if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
				t.Fatal(err)
			}
			cons, err := kgo.NewClient(append(copts, kgo.ConsumeTopics("readings-out"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
			if err != nil {
				t.Fatal(err)
			}
			defer cons.Close()
			pctx, pcancel := context.WithTimeout(ctx, 20*time.Second)
			defer pcancel()
			fs := cons.PollFetches(pctx)
			if len(fs.Records()) == 0 {
				t.Fatalf("no output: %v", fs.Errors())
			}
		})
	}
}

// TestSASLWrongPassword: a refused login is logged at the default level
// within seconds (it used to be silent even at debug) and /readyz says the
// brokers cannot be reached.
func TestSASLWrongPassword(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "readings", "readings-out", "readings-dlq"),
		kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-256", "express", "s3cret"),
		kfake.ListenFn(func(network, _ string) (net.Listener, error) { return net.Listen(network, "127.0.0.1:0") }))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	t.Setenv("TEST_KAFKA_PASSWORD", "wrong")
	f := demoConfig()
	f.Brokers = c.ListenAddrs()
	f.SASL = &config.SASL{Mechanism: "SCRAM-SHA-256", Username: "express", PasswordEnv: "TEST_KAFKA_PASSWORD"}
	var logs testutil.SyncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var metricsAddr atomic.Value
	go func() {
		done <- Run(ctx, f, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil)),
			Ready: func(_ []string, addr string) { metricsAddr.Store(addr) }})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(logs.String(), "broker unreachable") || !strings.Contains(logs.String(), "SASL") {
		if time.Now().After(deadline) {
			t.Fatalf("no log line about the refused login:\n%s", logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if addr, _ := metricsAddr.Load().(string); addr != "" {
		if code, body := get(t, "http://"+addr+"/readyz"); code != 503 {
			t.Fatalf("readyz %d %q with a refused login", code, body)
		}
	}
}
