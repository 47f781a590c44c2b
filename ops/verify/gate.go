package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The health gates of a rolling node change (docs/cluster.md, "Rolling
// node changes"): what must hold again after one server was replaced or
// stopped before the next may go.

// GateOptions say what the gates wait for besides the stack's services.
type GateOptions struct {
	// Node is the server the last step changed: it must be back as a
	// node ("" = any nodes).
	Node string
	// Since is when the gate started: Ceph's status must be newer, not a
	// health read before the change settled.
	Since time.Time
}

// GatePlan is the gates, each a check: the nodes, Ceph, the coordination
// layer (the ensemble, or the KRaft quorum), the brokers and their
// partitions.
func GatePlan(o Options, g GateOptions) []Check {
	coordination := Check{Name: "zookeeper ensemble", Run: zookeeperEnsemble}
	if o.KRaftVoters > 0 {
		coordination = Check{Name: "kafka controller quorum", Run: controllerQuorum}
	}
	return []Check{
		{Name: "nodes ready", Run: func(ctx context.Context, s *Session) (string, error) {
			nodes, err := s.Kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
			if err != nil {
				return "", err
			}
			return nodesReport(nodes.Items, g.Node)
		}},
		{Name: "ceph healthy", Run: func(ctx context.Context, s *Session) (string, error) {
			return cephHealthy(ctx, s, g.Since)
		}},
		coordination,
		{Name: "kafka brokers", Run: kafkaBrokers},
		{Name: "kafka partitions in sync", Run: kafkaInSync},
	}
}

// nodesReport passes when every node is Ready and node (if any) is one.
func nodesReport(nodes []corev1.Node, node string) (string, error) {
	var bad []string
	found := node == ""
	for _, n := range nodes {
		found = found || n.Name == node
		if !nodeReady(n) {
			bad = append(bad, n.Name+" not Ready")
		}
	}
	if !found {
		bad = append(bad, node+" is not a node (yet)")
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return "", errors.New(strings.Join(bad, "; "))
	}
	return fmt.Sprintf("%d nodes Ready", len(nodes)), nil
}

func nodeReady(n corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// cephStatus is the part of a CephCluster's status the gate reads: Rook
// copies Ceph's health and its health checks there every minute or so.
type cephStatus struct {
	Health      string                     `json:"health"`
	LastChecked string                     `json:"lastChecked"`
	Details     map[string]cephHealthCheck `json:"details"`
}

type cephHealthCheck struct {
	Message  string `json:"message"`
	Severity string `json:"severity"`
}

// cephHealthy reads every CephCluster of the cluster; none (no Rook-Ceph
// on this stack) skips the gate.
func cephHealthy(ctx context.Context, s *Session, since time.Time) (string, error) {
	raw, err := s.Kube.CoreV1().RESTClient().Get().AbsPath("/apis/ceph.rook.io/v1/cephclusters").DoRaw(ctx)
	if apierrors.IsNotFound(err) {
		return "", Skipped("no CephCluster in the cluster (rookCeph is not installed)")
	}
	if err != nil {
		return "", err
	}
	var list struct {
		Items []struct {
			Metadata metav1.ObjectMeta `json:"metadata"`
			Status   struct {
				Ceph *cephStatus `json:"ceph"`
			} `json:"status"`
		} `json:"items"`
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		return "", fmt.Errorf("CephClusters: %w", err)
	}
	if len(list.Items) == 0 {
		return "", Skipped("no CephCluster in the cluster (rookCeph is not installed)")
	}
	var lines []string
	for _, c := range list.Items {
		line, err := cephReport(c.Status.Ceph, since)
		if err != nil {
			return "", fmt.Errorf("%s/%s: %w", c.Metadata.Namespace, c.Metadata.Name, err)
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "; "), nil
}

// cephBlocking tells the health checks that hold a roll: a monitor out of
// quorum, an OSD or its host down, and any placement group or object that
// is not active+clean. Others (a clock skew, a pool without an
// application, HEALTH_WARN for reasons a small cluster lives with) do not.
func cephBlocking(check string) bool {
	switch check {
	case "MON_DOWN", "OSD_DOWN", "OSD_HOST_DOWN", "OSD_ROOT_DOWN", "OSD_ORPHAN":
		return true
	}
	return strings.HasPrefix(check, "PG_") || strings.HasPrefix(check, "OBJECT_")
}

// cephReport passes when Ceph's status was read after since and none of
// its health checks holds the roll; HEALTH_ERR always fails.
func cephReport(st *cephStatus, since time.Time) (string, error) {
	if st == nil || st.Health == "" {
		return "", errors.New("no Ceph status yet (the operator has not reached the monitors)")
	}
	checked, err := time.Parse(time.RFC3339, st.LastChecked)
	if err != nil || checked.Before(since) {
		return "", fmt.Errorf("Ceph's status was last read at %q, before the gate started (%s): waiting for a newer one", st.LastChecked, since.UTC().Format(time.RFC3339))
	}
	var blocking, other []string
	for name, c := range st.Details {
		if cephBlocking(name) {
			blocking = append(blocking, name+": "+c.Message)
		} else {
			other = append(other, name)
		}
	}
	sort.Strings(blocking)
	sort.Strings(other)
	switch {
	case len(blocking) > 0:
		return "", errors.New(strings.Join(blocking, "; "))
	case st.Health == "HEALTH_ERR":
		return "", fmt.Errorf("HEALTH_ERR: %s", strings.Join(other, ", "))
	case len(other) > 0:
		return fmt.Sprintf("%s (%s: none holds a roll), monitors in quorum, no OSD down, placement groups active+clean", st.Health, strings.Join(other, ", ")), nil
	}
	return st.Health + ", monitors in quorum, no OSD down, placement groups active+clean", nil
}

// kafkaInSync asks the brokers for every topic's partitions, the internal
// ones included.
func kafkaInSync(ctx context.Context, s *Session) (string, error) {
	if s.kafka == nil {
		return "", errors.New("no broker to ask (see kafka brokers)")
	}
	topics, err := kadm.NewClient(s.kafka.client).ListTopicsWithInternal(ctx)
	if err != nil {
		return "", err
	}
	return inSyncReport(topics)
}

// inSyncReport passes when every partition has a leader and all its
// replicas in sync: an under-replicated partition is one broker away from
// refusing acks=all writes.
func inSyncReport(topics kadm.TopicDetails) (string, error) {
	var bad []string
	partitions := 0
	for _, t := range topics.Sorted() {
		if t.Err != nil {
			bad = append(bad, fmt.Sprintf("%s: %v", t.Topic, t.Err))
			continue
		}
		for _, p := range t.Partitions.Sorted() {
			partitions++
			switch {
			case p.Leader < 0:
				bad = append(bad, fmt.Sprintf("%s-%d offline (no leader)", t.Topic, p.Partition))
			case len(p.ISR) < len(p.Replicas):
				bad = append(bad, fmt.Sprintf("%s-%d under-replicated (%d of %d replicas in sync)", t.Topic, p.Partition, len(p.ISR), len(p.Replicas)))
			}
		}
	}
	if len(bad) > 0 {
		return "", errors.New(strings.Join(bad, "; "))
	}
	return fmt.Sprintf("%d partitions of %d topics, every replica in sync", partitions, len(topics)), nil
}

// Passed tells whether every gate passed or was skipped.
func Passed(results []Result) bool {
	for _, r := range results {
		if r.Status == Fail {
			return false
		}
	}
	return true
}

// Wait runs the gates in rounds, interval apart, until a round passes or
// wait has gone by; it returns the last round. Each round opens a fresh
// session: a replaced node's pods have new port-forwards.
func Wait(ctx context.Context, wait, interval time.Duration, round func(context.Context) ([]Result, error)) ([]Result, error) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	for {
		results, err := round(ctx)
		if err == nil && Passed(results) {
			return results, nil
		}
		select {
		case <-ctx.Done():
			if err != nil {
				return nil, err
			}
			return results, nil
		case <-time.After(interval):
		}
	}
}
