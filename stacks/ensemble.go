package stacks

import (
	"fmt"

	"github.com/apk8s/apk8s-platform/components/kafka"
)

// outputEnsemble is the stack output that remembers the size of the
// ZooKeeper ensemble the last update ran.
const outputEnsemble = "zookeeperReplicas"

// settleEnsemble holds a deployed ZooKeeper ensemble to its size. Each
// member's static server list names every other: a new size restarts the
// members with another list, and 1 -> 3 starts two empty servers that
// outvote the one with the data, 3 -> 5 can elect a second leader among
// the new members (split brain). A stack whose last update predates the
// output is settled from its next update on; kafkaClusterReset lifts the
// hold for the update after the ensemble was destroyed.
func settleEnsemble(r *reader, cfg *Config, lastOutputs lastUpdate) {
	if cfg.Kafka.Mode != kafka.ModeZooKeeper || cfg.KafkaReset {
		return // no ensemble, or a new one after the old was destroyed
	}
	n, ok := lastOutputs[outputEnsemble].(float64)
	if !ok || int32(n) == cfg.ZooKeeper.Replicas || cfg.ZooKeeper.Replicas == 0 {
		return
	}
	r.fail("zookeeperReplicas", fmt.Sprint(cfg.ZooKeeper.Replicas), fmt.Sprintf(
		"%d, the size of this stack's running ensemble: a new size restarts every member with another server list, "+
			"and new, empty members can outvote the ones with the data or form a second quorum. "+
			"The safe way, ZooKeeper's dynamic reconfiguration one server at a time, is not automated here: "+
			"build a new stack, or destroy the ensemble and its claims and update once with kafkaClusterReset = true "+
			"(every topic is lost; docs/data-services.md, \"Resizing the ensemble\")", int32(n)))
}
