package stacks

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/apk8s/apk8s-platform/components/kafka"
)

// Stack outputs that remember how the stack's Kafka was created. The next
// run reads them back (settleKafka) and keeps to them.
const (
	outputKafkaMode   = "kafkaMode"
	outputVoters      = "kafkaControllerVoters"
	outputKafkaBroker = "kafkaBootstrap" // every stack with Kafka has it
)

// lastKafka is what the stack's last update left: the mode ("" for a stack
// without Kafka yet) and, in KRaft mode, the controller quorum.
type lastKafka struct {
	Mode   string
	Voters int32
}

// readStackOutputs is the engine's built-in function that returns a stack's
// outputs: the same read a StackReference makes, but answered in place. (A
// StackReference's typed outputs make the compiler instantiate the whole
// pulumix output family in this package: 5 s on every build.)
const readStackOutputs = "pulumi:pulumi:readStackOutputs"

// readLastKafka reads the stack's own outputs of its last update: the Go SDK
// gives a program no other way to its previous outputs, and a read creates
// nothing.
func readLastKafka(ctx *pulumi.Context) (lastKafka, error) {
	self := fmt.Sprintf("%s/%s/%s", ctx.Organization(), ctx.Project(), ctx.Stack())
	var out struct {
		Outputs map[string]any `pulumi:"outputs"`
	}
	// Raw: the outputs hold secrets too, which this read leaves alone.
	if _, err := ctx.InvokePackageRaw(readStackOutputs, &struct {
		Name string `pulumi:"name"`
	}{self}, &out, ""); err != nil {
		return lastKafka{}, fmt.Errorf("reading the outputs of the stack's last update: %w", err)
	}
	var last lastKafka
	last.Mode, _ = out.Outputs[outputKafkaMode].(string)
	if last.Mode == "" && out.Outputs[outputKafkaBroker] != nil {
		// Updates before kafkaMode existed ran the book's ZooKeeper mode.
		last.Mode = kafka.ModeZooKeeper
	}
	if last.Mode == kafka.ModeKRaft {
		if n, ok := out.Outputs[outputVoters].(float64); ok {
			last.Voters = int32(n)
		}
	}
	return last, nil
}

// settleKafka holds the stack to the Kafka it has: the mode cannot change
// (the other mode's brokers would start empty, the topics lost), nor can a
// KRaft quorum; a quorum left to creation time is chosen now, from the
// brokers of the cluster's first update. kafkaClusterReset lifts the hold
// once the old cluster is gone. Nothing but the read of the last outputs is
// registered before it passes.
func settleKafka(ctx *pulumi.Context, cfg *Config) error {
	k := &cfg.Kafka
	last, err := readLastKafka(ctx)
	if err != nil {
		return err
	}
	if cfg.KafkaReset && last.Mode != "" {
		cfg.Warnings = append(cfg.Warnings, fmt.Sprintf(
			"%s:kafkaClusterReset = true: this update makes a new Kafka cluster whatever the stack ran before (%s); set it back to false once it is done",
			Project, last.Mode))
		last = lastKafka{}
	}
	r := &reader{get: ctx.GetConfig, isSecret: ctx.IsConfigSecret}
	if last.Mode != "" && last.Mode != k.Mode {
		r.fail("kafkaMode", k.Mode, fmt.Sprintf(
			`%q, the mode this stack's Kafka runs in: a switch starts an empty cluster and every topic is lost (docs/kafka-modes.md, "Switching modes", tells how to move)`, last.Mode))
	}
	if k.Mode == kafka.ModeKRaft {
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
	if len(r.problems) > 0 {
		return &ConfigError{Stack: cfg.Stack, Problems: r.problems}
	}
	return nil
}
