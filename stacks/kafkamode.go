package stacks

import (
	"fmt"

	"github.com/apk8s/apk8s-platform/components/kafka"
)

// Stack outputs that remember how the stack's Kafka was created. The next
// run reads them back (settleKafka) and keeps to them.
const (
	outputKafkaMode   = "kafkaMode"
	outputVoters      = "kafkaControllerVoters"
	outputClusterID   = "kafkaClusterId"
	outputKafkaBroker = "kafkaBootstrap" // every stack with Kafka has it
)

// lastKafka is what the stack's last update left: the mode ("" for a stack
// without Kafka yet) and, in KRaft mode, the controller quorum.
type lastKafka struct {
	Mode      string
	Voters    int32
	ClusterID string // "" when the last update predates the output
}

// readLastKafka is the Kafka the stack's last update left.
func readLastKafka(last lastUpdate) lastKafka {
	var k lastKafka
	k.Mode, _ = last[outputKafkaMode].(string)
	if k.Mode == "" && last[outputKafkaBroker] != nil {
		// Updates before kafkaMode existed ran the book's ZooKeeper mode.
		k.Mode = kafka.ModeZooKeeper
	}
	if k.Mode == kafka.ModeKRaft {
		if n, ok := last[outputVoters].(float64); ok {
			k.Voters = int32(n)
		}
		k.ClusterID, _ = last[outputClusterID].(string)
	}
	return k
}

// settleKafka holds the stack to the Kafka it has: the mode cannot change
// (the other mode's brokers would start empty, the topics lost), nor can a
// KRaft quorum; a quorum left to creation time is chosen now, from the
// brokers of the cluster's first update. kafkaClusterReset lifts the hold
// once the old cluster is gone.
func settleKafka(r *reader, cfg *Config, lastOutputs lastUpdate) {
	k := &cfg.Kafka
	last := readLastKafka(lastOutputs)
	if cfg.KafkaReset && last.Mode != "" {
		cfg.Warnings = append(cfg.Warnings, fmt.Sprintf(
			"%s:kafkaClusterReset = true: this update makes a new Kafka cluster whatever the stack ran before (%s); set it back to false once it is done",
			Project, last.Mode))
		last = lastKafka{}
	}
	if last.Mode != "" && last.Mode != k.Mode {
		r.fail("kafkaMode", k.Mode, fmt.Sprintf(
			`%q, the mode this stack's Kafka runs in: a switch starts an empty cluster and every topic is lost (docs/kafka-modes.md, "Switching modes", tells how to move)`, last.Mode))
	}
	if k.Mode == kafka.ModeKRaft {
		settleClusterID(r, k, last)
		switch {
		case last.Voters == 0: // a new KRaft cluster
			if k.Voters == 0 {
				k.Voters = kafka.DefaultVoters(k.Replicas)
			}
		case k.Voters != 0 && k.Voters != last.Voters:
			r.fail("kafkaControllerVoters", fmt.Sprint(k.Voters), fmt.Sprintf(
				"%d or 0, the quorum this stack's cluster was created with: the image only runs a static quorum, which cannot change", last.Voters))
		default:
			k.Voters = last.Voters
			if k.Replicas < last.Voters {
				r.fail("kafkaReplicas", fmt.Sprint(k.Replicas), fmt.Sprintf(
					"at least %d: pods 0 to %d are the controllers of this stack's cluster", last.Voters, last.Voters-1))
			}
		}
	}
}

// settleClusterID keeps a KRaft cluster's ID to the one its stack
// recorded, and draws one, once, for a new cluster (or a stack whose last
// update predates the record: its ConfigMap keeps the ID it has, and this
// update records that one).
func settleClusterID(r *reader, k *kafka.Config, last lastKafka) {
	switch {
	case last.ClusterID == "":
		k.ClusterID = kafka.NewClusterID()
	case !kafka.IsClusterID(last.ClusterID):
		r.problems = append(r.problems, fmt.Sprintf(
			"the stack output %s = %q of the last update is not a KRaft cluster ID (16 bytes in unpadded base64url): "+
				"restore it from the ConfigMap %s (docs/kafka-modes.md)", outputClusterID, last.ClusterID, kafka.ClusterIDName))
	default:
		k.ClusterID = last.ClusterID
	}
}
