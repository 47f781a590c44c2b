package stacks

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/apk8s/apk8s-platform/components/cluster"
)

// Rolling node changes. A new serverImage replaces a server (the image is
// fixed at creation, and the root disk goes with it); a new type stops,
// migrates and starts it. Applied to every server in one update, either
// takes the whole platform down together, and Ceph and ZooKeeper lose
// their quorum. So the program remembers what each server runs (stack
// output servers) and lets one server per update take a new image or type:
// the one rollServers names, the only one when a single server differs.
// Between two such updates, `platform gate` waits until the cluster is
// healthy again. A dependsOn chain would not do: it makes creation serial
// and does not order deletions under delete-before-replace.
var rollKeys = []Key{
	def("rollServers", "string", "", `The server (its name, such as "apk8s-dev3-worker-1") that takes a new serverImage, workerType or controlPlaneType in this update; the others keep what they run. Needed when a change reaches more than one server of a deployed cluster: the refusal prints the sequence (docs/cluster.md, "Rolling node changes").`),
	def("allowControlPlaneReplacement", "boolean", "false", "Let a new serverImage replace a control-plane server of a deployed cluster. With one server this makes a new, empty cluster: every Kubernetes object is created anew and the data on the old one is lost."),
}

// outputShapes remembers the image and type each server ran after the
// last update, by server name.
const outputShapes = "servers"

// server is one server of the cluster in the order a roll takes them:
// the workers, then the control plane.
type server struct {
	Name         string
	ControlPlane bool
	Want         cluster.Shape // what the config asks
}

// serversOf lists the servers of the config, workers first.
func serversOf(stack string, c cluster.Config) []server {
	prefix := ResourcePrefix(stack)
	var out []server
	for i := 1; i <= c.Workers; i++ {
		out = append(out, server{Name: cluster.WorkerName(prefix, i), Want: cluster.Shape{Image: c.Image, Type: c.WorkerType}})
	}
	for i := 1; i <= c.ControlPlanes; i++ {
		out = append(out, server{Name: cluster.ServerName(prefix, i), ControlPlane: true, Want: cluster.Shape{Image: c.Image, Type: c.ControlPlaneType}})
	}
	return out
}

// readShapes is what each server ran after the last update; nil for a
// stack whose last update predates the output.
func readShapes(last lastUpdate) map[string]cluster.Shape {
	raw, ok := last[outputShapes].(map[string]any)
	if !ok {
		return nil
	}
	out := map[string]cluster.Shape{}
	for name, v := range raw {
		m, _ := v.(map[string]any)
		image, _ := m["image"].(string)
		typ, _ := m["type"].(string)
		out[name] = cluster.Shape{Image: image, Type: typ}
	}
	return out
}

// settleRoll lets a change of image or type reach one server of a deployed
// cluster per update and keeps the others to what they run; it refuses,
// before anything is registered, a change that would reach more, a
// rollServers that names no server with a change or more than one, a
// worker count that falls by more than one, and a control plane's
// replacement without allowControlPlaneReplacement.
func settleRoll(r *reader, cfg *Config, last lastUpdate) {
	roll := splitList(r.str("rollServers"))
	allowCP := r.boolean("allowControlPlaneReplacement")
	c := &cfg.Scaleway.Cluster
	ran := readShapes(last)
	if cfg.Cluster != ClusterScaleway || last[outputControlPlane] == nil || ran == nil {
		if len(roll) > 0 {
			r.fail("rollServers", strings.Join(roll, ","), `"": no server of this stack runs yet that a change could reach`)
		}
		return
	}
	servers := serversOf(cfg.Stack, *c)
	var pending []server
	for _, s := range servers {
		if had, ok := ran[s.Name]; ok && had != s.Want {
			pending = append(pending, s)
		}
	}
	if gone := len(workersIn(ran)) - c.Workers; gone > 1 {
		r.fail("workerCount", fmt.Sprint(c.Workers), fmt.Sprintf(
			"at least %d: one worker leaves per update, and its OSD must be out and the placement groups active+clean before the next (docs/cluster.md, \"Removing a worker\")",
			len(workersIn(ran))-1))
	}
	chosen, ok := chooseRoll(r, cfg.Stack, roll, pending)
	if !ok {
		return
	}
	c.Kept = map[string]cluster.Shape{}
	for _, s := range pending {
		if chosen == nil || s.Name != chosen.Name {
			c.Kept[s.Name] = ran[s.Name]
		}
	}
	if chosen != nil && chosen.ControlPlane && ran[chosen.Name].Image != chosen.Want.Image && !allowCP {
		r.fail("serverImage", c.Image, fmt.Sprintf(
			"%q, the image the control-plane server %s runs: a new image replaces it, and with one server that is a new, empty cluster "+
				"(every Kubernetes object is created anew, the data on the old cluster is lost; with three, an etcd member must be removed first). "+
				"Set allowControlPlaneReplacement = true to do it anyway (docs/cluster.md, \"Rolling node changes\")",
			ran[chosen.Name].Image, chosen.Name))
	}
}

// chooseRoll is the server of pending that this update changes: the one
// rollServers names, or the only one; nil when none differs. It refuses a
// choice that would change more than one server or names another.
func chooseRoll(r *reader, stack string, roll []string, pending []server) (*server, bool) {
	names := make([]string, len(pending))
	for i, s := range pending {
		names[i] = s.Name
	}
	switch {
	case len(roll) > 1:
		r.fail("rollServers", strings.Join(roll, ","), "one server name: an update changes at most one server\n"+rollSequence(stack, pending))
		return nil, false
	case len(roll) == 1 && !slices.Contains(names, roll[0]):
		if len(pending) == 0 {
			return nil, true // the roll is done; rollServers may stay until it is unset
		}
		r.fail("rollServers", roll[0], fmt.Sprintf("one of the servers whose image or type changes (%s)", strings.Join(names, ", ")))
		return nil, false
	case len(roll) == 1:
		return &pending[slices.Index(names, roll[0])], true
	case len(pending) > 1:
		r.problems = append(r.problems, fmt.Sprintf(
			"%s, %s and %s change %d servers (%s) in one update: each would be replaced or stopped, all together, and Ceph and ZooKeeper would lose their quorum. "+
				"Roll them one at a time, each after the cluster is healthy again:\n%s",
			fullKey("serverImage"), fullKey("workerType"), fullKey("controlPlaneType"), len(pending), strings.Join(names, ", "), rollSequence(stack, pending)))
		return nil, false
	case len(pending) == 1:
		return &pending[0], true
	}
	return nil, true
}

// rollSequence is the sequence of commands that rolls servers one by one:
// each update changes one server, and `platform gate` waits for the health
// gates before the next.
func rollSequence(stack string, servers []server) string {
	var b strings.Builder
	for i, s := range servers {
		fmt.Fprintf(&b, "      %d. pulumi config set %s %s -s %s && pulumi up -s %s && go run ./cmd/platform -stack %s -node %s gate\n",
			i+1, fullKey("rollServers"), s.Name, stack, stack, stack, s.Name)
		if s.ControlPlane {
			fmt.Fprintf(&b, "         (a new image of this control-plane server also needs %s = true: with one server, a new, empty cluster)\n", fullKey("allowControlPlaneReplacement"))
		}
	}
	fmt.Fprintf(&b, "      %d. pulumi config rm %s -s %s", len(servers)+1, fullKey("rollServers"), stack)
	return b.String()
}

// workersIn are the worker names among servers.
func workersIn(servers map[string]cluster.Shape) []string {
	var out []string
	for name := range servers {
		if strings.Contains(name, "-worker-") {
			out = append(out, name)
		}
	}
	return out
}

// splitList reads a comma-separated list, blanks dropped.
func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// shapesOutput is what each server runs after this update, the next
// update's outputShapes.
func shapesOutput(stack string, c cluster.Config) pulumi.Map {
	out := pulumi.Map{}
	for _, s := range serversOf(stack, c) {
		shape := c.ShapeOf(s.Name, s.Want.Type)
		out[s.Name] = pulumi.Map{"image": pulumi.String(shape.Image), "type": pulumi.String(shape.Type)}
	}
	return out
}
