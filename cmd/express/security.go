package main

import (
	"flag"

	"github.com/stepstream/express/daemon/config"
)

// securityFlags are the TLS and SASL flags of the commands that connect to
// Kafka (serve and load).
type securityFlags struct {
	tls, insecure                         *bool
	ca, cert, key, serverName             *string
	saslMechanism, saslUser, saslPassword *string
}

func addSecurityFlags(fs *flag.FlagSet) *securityFlags {
	return &securityFlags{
		tls:           fs.Bool("tls", false, "connect to the brokers with TLS"),
		ca:            fs.String("tls-ca", "", "CA certificate `FILE` (PEM)"),
		cert:          fs.String("tls-cert", "", "client certificate `FILE` (PEM)"),
		key:           fs.String("tls-key", "", "client key `FILE` (PEM)"),
		serverName:    fs.String("tls-server-name", "", "TLS server name to verify"),
		insecure:      fs.Bool("tls-insecure-skip-verify", false, "do not verify the brokers' certificates (testing only)"),
		saslMechanism: fs.String("sasl-mechanism", "", "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"),
		saslUser:      fs.String("sasl-user", "", "SASL user name"),
		saslPassword:  fs.String("sasl-password-env", "EXPRESS_SASL_PASSWORD", "environment variable holding the SASL password"),
	}
}

// apply sets f's TLS and SASL settings from the flags that were given.
func (s *securityFlags) apply(f *config.File) {
	if *s.tls || *s.ca != "" || *s.cert != "" {
		f.TLS = &config.TLS{Enabled: true, CAFile: *s.ca, CertFile: *s.cert, KeyFile: *s.key, ServerName: *s.serverName, InsecureSkipVerify: *s.insecure}
	}
	if *s.saslMechanism != "" {
		f.SASL = &config.SASL{Mechanism: *s.saslMechanism, Username: *s.saslUser, PasswordEnv: *s.saslPassword}
	}
}
