package stacks

import (
	"fmt"
	"slices"

	"github.com/apk8s/apk8s-platform/components/kafka"
)

// outputKafkaAuth remembers the stage of authentication the brokers run
// at; the next update moves at most one stage from it.
const outputKafkaAuth = "kafkaAuth"

// loadKafkaAuth reads kafkaAuth: any stage past "off" needs the
// namespace's CA, so cert-manager.
func loadKafkaAuth(r *reader, c *Config) {
	c.Kafka.Auth = r.oneOf("kafkaAuth", kafka.AuthStages...)
	if c.Kafka.Auth != kafka.AuthOff && c.Addons.CertManager == AddonNone {
		r.fail("kafkaAuth", c.Kafka.Auth, `"off" while certManager is "none": the TLS listeners need the brokers' certificate from the namespace's CA, which cert-manager keeps`)
	}
	if c.Kafka.Auth == kafka.AuthOn && c.Addons.Monitoring != AddonNone {
		r.fail("kafkaAuth", c.Kafka.Auth, `at most "internal" while monitoring is "`+c.Addons.Monitoring+`": the Kafka exporter reads the brokers on PLAINTEXT, which "on" closes, and has no SCRAM user yet (set monitoring to "none" to go on without it)`)
	}
	if c.Kafka.Auth == kafka.AuthOn && c.Console != nil {
		r.fail("kafkaAuth", c.Kafka.Auth, `at most "internal" while kafkaConsole is "install": the console reads the brokers on PLAINTEXT, which "on" closes, and has no SCRAM user yet (set kafkaConsole to "none" to go on without it)`)
	}
}

// settleKafkaAuth holds a running cluster to one stage per update: during
// a roll, old and new brokers must share the listener they replicate on
// (and in KRaft mode the controllers theirs), which a skipped stage breaks.
// A stack whose last update had Kafka but no record ran "off". A new
// cluster (or one kafkaClusterReset rebuilds) starts at any stage.
func settleKafkaAuth(r *reader, cfg *Config, last lastUpdate) {
	if cfg.KafkaReset || last[outputKafkaBroker] == nil {
		return
	}
	was, _ := last[outputKafkaAuth].(string)
	if was == "" {
		was = kafka.AuthOff
	}
	from, to := slices.Index(kafka.AuthStages, was), slices.Index(kafka.AuthStages, cfg.Kafka.Auth)
	if from < 0 || to < 0 || to-from <= 1 && from-to <= 1 {
		return
	}
	allowed := []string{was}
	if from > 0 {
		allowed = append(allowed, kafka.AuthStages[from-1])
	}
	if from+1 < len(kafka.AuthStages) {
		allowed = append(allowed, kafka.AuthStages[from+1])
	}
	r.fail("kafkaAuth", cfg.Kafka.Auth, fmt.Sprintf(
		`one of %s: the brokers run at %q, and each update moves one stage (off, dual, internal, on), so that old and new brokers still reach each other during the roll (docs/kafka-auth.md)`,
		quoteAll(allowed), was))
}
