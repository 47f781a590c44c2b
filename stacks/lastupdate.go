package stacks

import (
	"fmt"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// lastUpdate holds the outputs the stack's last update exported: the
// program's memory of what it made (the Kafka mode and quorum, the claims'
// class and size). Empty for a stack that has never been updated.
type lastUpdate map[string]any

// readStackOutputs is the engine's built-in function that returns a stack's
// outputs: the same read a StackReference makes, but answered in place. (A
// StackReference's typed outputs make the compiler instantiate the whole
// pulumix output family in this package: 5 s on every build.)
const readStackOutputs = "pulumi:pulumi:readStackOutputs"

// readLastUpdate reads the stack's own outputs of its last update: the Go
// SDK gives a program no other way to its previous outputs, and a read
// creates nothing.
func readLastUpdate(ctx *pulumi.Context) (lastUpdate, error) {
	self := fmt.Sprintf("%s/%s/%s", ctx.Organization(), ctx.Project(), ctx.Stack())
	var err error
	// The engine is saving this very stack's checkpoint as the update
	// starts, and a read that meets the file half-written fails ("failed to
	// load checkpoint: EOF", seen on the file backend): look again.
	for attempt := range readAttempts {
		if attempt > 0 {
			time.Sleep(time.Duration(attempt) * readBackoff)
		}
		var out struct {
			Outputs map[string]any `pulumi:"outputs"`
		}
		// Raw: the outputs hold secrets too, which this read leaves alone.
		if _, err = ctx.InvokePackageRaw(readStackOutputs, &struct {
			Name string `pulumi:"name"`
		}{self}, &out, ""); err == nil {
			return out.Outputs, nil
		}
	}
	return nil, fmt.Errorf("reading the outputs of the stack's last update (%d attempts): %w", readAttempts, err)
}

// How often, and how far apart, readLastUpdate looks.
const (
	readAttempts = 5
	readBackoff  = 100 * time.Millisecond
)

// settle holds the config to what the stack's last update made (the Kafka
// mode, quorum and cluster ID, the ZooKeeper ensemble's size, the cluster's Kubernetes minor) and lists every
// contradiction at once; it returns the last update for the checks that
// need live objects (claimGrowth).
// Nothing but the read of the last outputs is registered before it passes.
func settle(ctx *pulumi.Context, cfg *Config) (lastUpdate, error) {
	last, err := readLastUpdate(ctx)
	if err != nil {
		return nil, err
	}
	r := &reader{get: ctx.GetConfig, isSecret: ctx.IsConfigSecret}
	settleKafka(r, cfg, last)
	settleKafkaAuth(r, cfg, last)
	settleEnsemble(r, cfg, last)
	settleCluster(r, cfg, last)
	settleKapsule(r, cfg, last)
	settleK3s(r, cfg, last)
	settleServers(r, cfg, last)
	settleRoll(r, cfg, last)
	if len(r.problems) > 0 {
		return nil, &ConfigError{Stack: cfg.Stack, Problems: r.problems}
	}
	return last, nil
}
