package kafka

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/apk8s/apk8s-platform/components/dataca"
	"github.com/apk8s/apk8s-platform/internal/workload"
)

// The stages of authentication (config kafkaAuth). A running cluster moves
// one stage per rolling update, because during a roll old and new brokers
// must still reach each other:
//
//	off       the book's PLAINTEXT listener for clients and brokers alike
//	dual      adds SASL_SSL (clients, SCRAM-SHA-512 over TLS) and SSL
//	          (brokers, mutual TLS) beside it; brokers still talk PLAINTEXT
//	internal  brokers (and KRaft controllers) talk over mutual TLS
//	on        the authorizer with the brokers as super users, no PLAINTEXT
const (
	AuthOff      = "off"
	AuthDual     = "dual"
	AuthInternal = "internal"
	AuthOn       = "on"
)

// AuthStages are the stages in the order a stack goes through them.
var AuthStages = []string{AuthOff, AuthDual, AuthInternal, AuthOn}

// Listener is a named Kafka listener. Each name is its security protocol
// (CONTROLLER's aside), which both images' configure scripts need: they
// read the key and trust stores only when KAFKA_ADVERTISED_LISTENERS holds
// "SSL://" and ask for KAFKA_OPTS when it holds "SASL_" — they match the
// listener names, not the protocols.
type Listener struct {
	Name     string
	Port     workload.Port
	Protocol string
}

// The listeners, on ports that never change meaning.
var (
	Plaintext = Listener{"PLAINTEXT", Broker, "PLAINTEXT"}
	// SASLSSL is the clients' listener: SCRAM-SHA-512 over TLS.
	SASLSSL = Listener{"SASL_SSL", workload.Port{Name: "kafka-sasl-ssl", Port: 9094, ServicePortName: "clients"}, "SASL_SSL"}
	// SSL is the brokers' listener: mutual TLS with their certificate.
	SSL = Listener{"SSL", workload.Port{Name: "kafka-ssl", Port: 9091}, "SSL"}
	// ControllerPlain and ControllerSSL are KRaft's controller listeners.
	ControllerPlain = Listener{"CONTROLLER", Controller, "PLAINTEXT"}
	ControllerSSL   = Listener{"CONTROLLER_SSL", workload.Port{Name: "controller-ssl", Port: 9095}, "SSL"}
)

// Listeners are a cluster's listeners at one stage.
type Listeners struct {
	Stage string
	// Broker are every broker's listeners, all advertised.
	Broker []Listener
	// InterBroker is the one brokers talk to each other on.
	InterBroker Listener
	// Controller are the KRaft controllers' listeners, the one brokers and
	// controllers talk on first.
	Controller []Listener
}

// ListenersAt are the listeners of stage.
func ListenersAt(stage string) Listeners {
	switch stage {
	case AuthDual:
		return Listeners{stage, []Listener{Plaintext, SASLSSL, SSL}, Plaintext, []Listener{ControllerPlain, ControllerSSL}}
	case AuthInternal:
		return Listeners{stage, []Listener{Plaintext, SASLSSL, SSL}, SSL, []Listener{ControllerSSL, ControllerPlain}}
	case AuthOn:
		return Listeners{stage, []Listener{SASLSSL, SSL}, SSL, []Listener{ControllerSSL}}
	}
	return Listeners{AuthOff, []Listener{Plaintext}, Plaintext, []Listener{ControllerPlain}}
}

// TLS says whether any listener needs the brokers' certificate.
func (l Listeners) TLS() bool { return l.Stage != AuthOff }

// ClientPorts are the ports clients use: the Service's.
func (l Listeners) ClientPorts() []workload.Port {
	var ports []workload.Port
	for _, b := range l.Broker {
		if b != SSL {
			ports = append(ports, b.Port)
		}
	}
	return ports
}

// BrokerPorts are every broker's ports, and ControllerPorts a controller's
// besides.
func (l Listeners) BrokerPorts() []workload.Port     { return ports(l.Broker) }
func (l Listeners) ControllerPorts() []workload.Port { return ports(l.Controller) }

func ports(ls []Listener) []workload.Port {
	out := make([]workload.Port, len(ls))
	for i, l := range ls {
		out[i] = l.Port
	}
	return out
}

// bind is "NAME://host:port,…" of ls ("" or 0.0.0.0: every interface).
func bind(host string, ls []Listener) string {
	parts := make([]string, len(ls))
	for i, l := range ls {
		parts[i] = fmt.Sprintf("%s://%s:%d", l.Name, host, l.Port.Port)
	}
	return strings.Join(parts, ",")
}

// advertise is "NAME://host:port,…" of ls.
func advertise(host string, ls []Listener) string {
	parts := make([]string, len(ls))
	for i, l := range ls {
		parts[i] = fmt.Sprintf("%s://%s:%d", l.Name, host, l.Port.Port)
	}
	return strings.Join(parts, ",")
}

// protocolMap is listener.security.protocol.map of every listener used.
func (l Listeners) protocolMap(kraft bool) string {
	all := slices.Clone(l.Broker)
	if kraft {
		all = append(all, l.Controller...)
	}
	parts := make([]string, len(all))
	for i, x := range all {
		parts[i] = x.Name + ":" + x.Protocol
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

// controllerNames is controller.listener.names: the one in use first.
func (l Listeners) controllerNames() string {
	names := make([]string, len(l.Controller))
	for i, c := range l.Controller {
		names[i] = c.Name
	}
	return strings.Join(names, ",")
}

// Files of the brokers' secrets directory, /etc/kafka/secrets, where both
// images' configure scripts look for what KAFKA_SSL_*_FILENAME and
// KAFKA_SSL_*_CREDENTIALS name.
const (
	SecretsDir       = "/etc/kafka/secrets"
	KeystoreFile     = "keystore.p12"   // cert-manager's PKCS#12 key store
	TruststoreFile   = "truststore.p12" // and trust store (the CA)
	PasswordFile     = "keystore-password"
	JAASFile         = "kafka_server_jaas.conf"
	CertificateName  = "kafka-tls"
	TLSSecretName    = "kafka-tls"
	KeystorePassword = "kafka-keystore-password" // the Secret, under key "password"
	JAASName         = "kafka-jaas"              // the ConfigMap
	passwordKey      = "password"
	// BrokerPrincipal is the user the brokers are when they present their
	// certificate (its common name, through the mapping rule below).
	BrokerPrincipal = "kafka"
	SCRAM           = "SCRAM-SHA-512"
)

// principalRule maps a certificate's subject to its common name, so that
// "CN=kafka" is the user kafka.
const principalRule = `RULE:^CN=([^,]+)$/$1/,DEFAULT`

// JAAS is the brokers' JAAS file: the SASL_SSL listener checks SCRAM
// credentials, which Kafka keeps itself (in ZooKeeper or the KRaft
// metadata); the file holds no secret.
const JAAS = "KafkaServer {\n  org.apache.kafka.common.security.scram.ScramLoginModule required;\n};\n"

// Authorizers of each mode.
const (
	AclAuthorizer      = "kafka.security.authorizer.AclAuthorizer"
	StandardAuthorizer = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
)

// securityEnv are the variables of the stage beyond the listeners, the
// same for both images: their configure scripts turn the _FILENAME and
// _CREDENTIALS variables into ssl.keystore.location and the passwords
// (read from the files, never from the pod spec), and every other KAFKA_*
// into a property.
func (l Listeners) securityEnv(mode string) []corev1.EnvVar {
	if !l.TLS() {
		return nil
	}
	env := []corev1.EnvVar{
		{Name: "KAFKA_SSL_KEYSTORE_FILENAME", Value: KeystoreFile},
		{Name: "KAFKA_SSL_KEYSTORE_TYPE", Value: "PKCS12"},
		{Name: "KAFKA_SSL_KEYSTORE_CREDENTIALS", Value: PasswordFile},
		{Name: "KAFKA_SSL_KEY_CREDENTIALS", Value: PasswordFile},
		{Name: "KAFKA_SSL_TRUSTSTORE_FILENAME", Value: TruststoreFile},
		{Name: "KAFKA_SSL_TRUSTSTORE_TYPE", Value: "PKCS12"},
		{Name: "KAFKA_SSL_TRUSTSTORE_CREDENTIALS", Value: PasswordFile},
		// Mutual TLS on the SSL listeners; a SASL_SSL listener ignores
		// an ssl.client.auth without its listener prefix (KIP-684).
		{Name: "KAFKA_SSL_CLIENT_AUTH", Value: "required"},
		{Name: "KAFKA_SSL_PRINCIPAL_MAPPING_RULES", Value: principalRule},
		{Name: "KAFKA_SASL_ENABLED_MECHANISMS", Value: SCRAM},
		{Name: "KAFKA_OPTS", Value: "-Djava.security.auth.login.config=" + SecretsDir + "/" + JAASFile},
	}
	if l.Stage == AuthOn {
		authorizer := AclAuthorizer
		if mode == ModeKRaft {
			authorizer = StandardAuthorizer
		}
		env = append(env,
			corev1.EnvVar{Name: "KAFKA_AUTHORIZER_CLASS_NAME", Value: authorizer},
			corev1.EnvVar{Name: "KAFKA_SUPER_USERS", Value: "User:" + BrokerPrincipal},
			corev1.EnvVar{Name: "KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND", Value: "false"},
		)
	}
	return env
}

// BrokerHosts are the names the brokers' certificate covers: the Service
// kafka, the headless Service and, by wildcard, every pod under it (a
// scale-out needs no new certificate).
func BrokerHosts(ns string) []string {
	hosts := dataca.ServiceHosts(ns, Name)
	hosts = append(hosts, dataca.ServiceHosts(ns, HeadlessName)...)
	return append(hosts, "*."+HeadlessName+"."+ns+".svc", "*."+HeadlessName+"."+ns+".svc.cluster.local")
}
