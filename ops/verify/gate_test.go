package verify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

func node(name string, ready corev1.ConditionStatus) corev1.Node {
	n := corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if ready != "" {
		n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse}, {Type: corev1.NodeReady, Status: ready}}
	}
	return n
}

func TestNodesReport(t *testing.T) {
	up := []corev1.Node{node("cp", corev1.ConditionTrue), node("w1", corev1.ConditionTrue)}
	line, err := nodesReport(up, "w1")
	require.NoError(t, err)
	assert.Equal(t, "2 nodes Ready", line)

	_, err = nodesReport(up, "w2")
	assert.EqualError(t, err, "w2 is not a node (yet)")
	_, err = nodesReport([]corev1.Node{node("cp", corev1.ConditionTrue), node("w1", corev1.ConditionUnknown), node("w2", "")}, "")
	assert.EqualError(t, err, "w1 not Ready; w2 not Ready")
}

func TestCephReport(t *testing.T) {
	since := time.Date(2026, 12, 6, 22, 0, 0, 0, time.UTC)
	after, before := "2026-12-06T22:01:00Z", "2026-12-06T21:59:59Z"
	check := func(msg string) cephHealthCheck { return cephHealthCheck{Message: msg, Severity: "HEALTH_WARN"} }
	tests := []struct {
		name   string
		status *cephStatus
		want   string // the line, or the error with "!" in front
	}{
		{"healthy", &cephStatus{Health: "HEALTH_OK", LastChecked: after},
			"HEALTH_OK, monitors in quorum, no OSD down, placement groups active+clean"},
		{"a small cluster's harmless warning passes", &cephStatus{Health: "HEALTH_WARN", LastChecked: after, Details: map[string]cephHealthCheck{
			"POOL_NO_REDUNDANCY": check("1 pool(s) have no replicas configured"), "MON_CLOCK_SKEW": check("clock skew")}},
			"HEALTH_WARN (MON_CLOCK_SKEW, POOL_NO_REDUNDANCY: none holds a roll), monitors in quorum, no OSD down, placement groups active+clean"},
		{"a monitor out of quorum", &cephStatus{Health: "HEALTH_WARN", LastChecked: after, Details: map[string]cephHealthCheck{
			"MON_DOWN": check("1/3 mons down, quorum a,b")}}, "!MON_DOWN: 1/3 mons down, quorum a,b"},
		{"an OSD down and degraded PGs", &cephStatus{Health: "HEALTH_WARN", LastChecked: after, Details: map[string]cephHealthCheck{
			"OSD_DOWN": check("1 osds down"), "PG_DEGRADED": check("Degraded data redundancy: 12 pgs degraded")}},
			"!OSD_DOWN: 1 osds down; PG_DEGRADED: Degraded data redundancy: 12 pgs degraded"},
		{"misplaced objects (backfill)", &cephStatus{Health: "HEALTH_WARN", LastChecked: after, Details: map[string]cephHealthCheck{
			"OBJECT_MISPLACED": check("10/300 objects misplaced")}}, "!OBJECT_MISPLACED: 10/300 objects misplaced"},
		{"HEALTH_ERR fails whatever its checks", &cephStatus{Health: "HEALTH_ERR", LastChecked: after, Details: map[string]cephHealthCheck{
			"OSD_FULL": {Message: "1 full osd(s)", Severity: "HEALTH_ERR"}}}, "!HEALTH_ERR: OSD_FULL"},
		{"a status read before the gate started", &cephStatus{Health: "HEALTH_OK", LastChecked: before}, "!before the gate started"},
		{"no status", nil, "!no Ceph status yet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line, err := cephReport(tt.status, since)
			if tt.want[0] == '!' {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.want[1:])
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, line)
		})
	}
}

// TestCephHealthyReadsTheCephClusters: the gate reads the CephClusters
// through the API; a cluster without Rook's CRD skips it.
func TestCephHealthyReadsTheCephClusters(t *testing.T) {
	since := time.Now().Add(-time.Minute)
	body := fmt.Sprintf(`{"items":[{"metadata":{"name":"rook-ceph","namespace":"rook-ceph"},"status":{"ceph":{"health":"HEALTH_WARN","lastChecked":%q,"details":{"OSD_DOWN":{"message":"1 osds down","severity":"HEALTH_WARN"}}}}}]}`,
		time.Now().UTC().Format(time.RFC3339))
	crd := true
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path != "/apis/ceph.rook.io/v1/cephclusters" || !crd {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}`)
			return
		}
		fmt.Fprint(w, body)
	}))
	defer api.Close()
	kube, err := kubernetes.NewForConfig(&rest.Config{Host: api.URL})
	require.NoError(t, err)
	s := &Session{Kube: kube}
	_, err = cephHealthy(context.Background(), s, since)
	assert.EqualError(t, err, "rook-ceph/rook-ceph: OSD_DOWN: 1 osds down")

	crd = false
	_, err = cephHealthy(context.Background(), s, since)
	var skip skipped
	require.ErrorAs(t, err, &skip)
	assert.Contains(t, skip.reason, "no CephCluster")
}

func TestInSyncReport(t *testing.T) {
	topic := func(name string, parts ...kadm.PartitionDetail) kadm.TopicDetail {
		d := kadm.TopicDetail{Topic: name, Partitions: kadm.PartitionDetails{}}
		for _, p := range parts {
			p.Topic = name
			d.Partitions[p.Partition] = p
		}
		return d
	}
	healthy := kadm.TopicDetails{
		"__consumer_offsets": topic("__consumer_offsets", kadm.PartitionDetail{Partition: 0, Leader: 1, Replicas: []int32{0, 1, 2}, ISR: []int32{0, 1, 2}}),
		"test":               topic("test", kadm.PartitionDetail{Partition: 0, Leader: 0, Replicas: []int32{0, 1}, ISR: []int32{1, 0}}),
	}
	line, err := inSyncReport(healthy)
	require.NoError(t, err)
	assert.Equal(t, "2 partitions of 2 topics, every replica in sync", line)

	sick := kadm.TopicDetails{
		"test": topic("test",
			kadm.PartitionDetail{Partition: 0, Leader: 0, Replicas: []int32{0, 1, 2}, ISR: []int32{0, 1}},
			kadm.PartitionDetail{Partition: 1, Leader: -1, Replicas: []int32{2}, ISR: nil}),
	}
	_, err = inSyncReport(sick)
	assert.EqualError(t, err, "test-0 under-replicated (2 of 3 replicas in sync); test-1 offline (no leader)")
}

// TestWaitRoundsUntilTheGatesPass: the gates run again, interval apart,
// until a round passes; past the wait, the last round is returned.
func TestWaitRoundsUntilTheGatesPass(t *testing.T) {
	failing := []Result{{Check: "ceph healthy", Status: Fail, Detail: "OSD_DOWN"}}
	passing := []Result{{Check: "ceph healthy", Status: Pass}, {Check: "kafka", Status: Skip}}
	rounds := 0
	results, err := Wait(context.Background(), time.Minute, time.Millisecond, func(context.Context) ([]Result, error) {
		rounds++
		switch rounds {
		case 1:
			return nil, errors.New("the API server does not answer yet")
		case 2:
			return failing, nil
		}
		return passing, nil
	})
	require.NoError(t, err)
	assert.Equal(t, 3, rounds)
	assert.True(t, Passed(results))

	results, err = Wait(context.Background(), 20*time.Millisecond, time.Millisecond, func(context.Context) ([]Result, error) { return failing, nil })
	require.NoError(t, err)
	assert.False(t, Passed(results), "the last round, failing")
}
