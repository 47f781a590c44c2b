//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// TestKraftLifecycle runs the local stack in KRaft mode: up, a no-op
// preview, 2 to 3 brokers with the quorum and the cluster ID unchanged, a
// refused switch back to ZooKeeper, destroy. kwok runs no container, so
// what this proves is the configuration the real engine and API server
// accept and keep, not a running Kafka 4.
func TestKraftLifecycle(t *testing.T) {
	e := loadEnv(t)
	ctx := context.Background()
	// On the cluster's default class, as the local stack's own config has
	// it: a growth is checked against the class the claims were given.
	s, class, _ := e.localStack(t, 6, map[string]string{"kafkaMode": "kraft", "storageClass": ""})

	var clusterID string
	t.Run("up creates a KRaft cluster and no ZooKeeper", func(t *testing.T) {
		timed(t, "kraft up", func() {
			_, err := s.Up(ctx, optup.ProgressStreams(logTo(t)))
			require.NoError(t, err)
		})
		clusterID = e.checkKraft(t, 2)
		for _, obj := range []string{"statefulset/zookeeper", "service/zookeeper", "service/zookeeper-headless"} {
			_, err := e.kubectl("get", "-n", "data", obj)
			require.Error(t, err, obj)
			assert.Contains(t, err.Error(), "NotFound", obj)
		}
		out, err := s.Outputs(ctx)
		require.NoError(t, err)
		assert.Equal(t, "kraft", out["kafkaMode"].Value)
		assert.EqualValues(t, 1, out["kafkaControllerVoters"].Value)
		assert.Equal(t, "kafka:9092", out["kafkaBootstrap"].Value)
		assert.Equal(t, clusterID, out["kafkaClusterId"].Value, "the stack records the ID the ConfigMap holds")
	})

	t.Run("a second preview changes nothing", func(t *testing.T) {
		timed(t, "kraft no-op preview", func() { expectNoChanges(t, s) })
	})

	t.Run("2 to 3 brokers keeps the quorum and the cluster ID", func(t *testing.T) {
		setConfig(t, s, map[string]string{"kafkaReplicas": "3"})
		// The new broker's claim gets its growth patch, as in ZooKeeper mode.
		assert.Equal(t, []string{
			"create kubernetes:core/v1:PersistentVolumeClaimPatch::datadir-kafka-2",
			"update kubernetes:apps/v1:StatefulSet::kafka",
		}, previewChanges(t, s))
		timed(t, "kraft scale-out up", func() {
			_, err := s.Up(ctx, optup.ProgressStreams(logTo(t)))
			require.NoError(t, err)
		})
		assert.Equal(t, clusterID, e.checkKraft(t, 3), "the cluster ID is the one made at creation")
	})

	t.Run("growth on a default class without expansion is refused at preview", func(t *testing.T) {
		var pvc corev1.PersistentVolumeClaim
		e.get(t, &pvc, "-n", "data", "pvc", "datadir-kafka-0")
		require.Equal(t, class, *pvc.Spec.StorageClassName, "the default class named on the claim")
		e.refusesGrowthOnAFixedClass(t, s, class, "1Gi", "2Gi")
	})

	t.Run("switching back to ZooKeeper is refused at preview", func(t *testing.T) {
		setConfig(t, s, map[string]string{"kafkaMode": "zookeeper"})
		_, err := s.Preview(ctx, optpreview.ProgressStreams(logTo(t)))
		require.Error(t, err)
		assert.Contains(t, err.Error(), `kafkaMode = "zookeeper" is not allowed: must be "kraft"`)
		setConfig(t, s, map[string]string{"kafkaMode": "kraft"})
		expectNoChanges(t, s)
	})

	t.Run("destroy leaves nothing behind", func(t *testing.T) {
		timed(t, "kraft destroy", func() {
			_, err := s.Destroy(ctx, optdestroy.ProgressStreams(logTo(t)))
			require.NoError(t, err)
		})
		e.waitGone(t, "namespace", "data")
		for _, kind := range []string{"statefulsets", "configmaps", "pods", "persistentvolumeclaims"} {
			out, err := e.kubectl("get", kind, "-A", "-l", "app in (kafka,kafka-client-util)", "-o", "name")
			require.NoError(t, err)
			assert.Empty(t, strings.TrimSpace(out), "%s left behind", kind)
		}
	})
}

// checkKraft reads the KRaft cluster back: every broker ready under the
// Parallel policy, the single voter of a cluster created with 2 brokers,
// the controller port on the headless Service only, and the cluster ID,
// which it returns.
func (e env) checkKraft(t *testing.T, brokers int32) string {
	t.Helper()
	var set appsv1.StatefulSet
	e.get(t, &set, "-n", "data", "statefulset", "kafka")
	assert.Equal(t, brokers, set.Status.ReadyReplicas, "every broker pod is ready")
	assert.Equal(t, appsv1.ParallelPodManagement, set.Spec.PodManagementPolicy)
	c := set.Spec.Template.Spec.Containers[0]
	assert.Equal(t, "apache/kafka:4.3.1", c.Image)
	env := map[string]corev1.EnvVar{}
	for _, v := range c.Env {
		env[v.Name] = v
	}
	assert.Equal(t, "0@kafka-0.kafka-headless.data.svc.cluster.local:9093", env["KAFKA_CONTROLLER_QUORUM_VOTERS"].Value,
		"the quorum of the 2-broker cluster, whatever the brokers now")
	require.NotNil(t, env["CLUSTER_ID"].ValueFrom)
	assert.Equal(t, "kafka-cluster-id", env["CLUSTER_ID"].ValueFrom.ConfigMapKeyRef.Name)

	ports := func(name string) []string {
		var svc corev1.Service
		e.get(t, &svc, "-n", "data", "service", name)
		var out []string
		for _, p := range svc.Spec.Ports {
			out = append(out, fmt.Sprint(p.Port))
		}
		return out
	}
	assert.Equal(t, []string{"9092"}, ports("kafka"))
	assert.ElementsMatch(t, []string{"9092", "9093"}, ports("kafka-headless"))

	var cm corev1.ConfigMap
	e.get(t, &cm, "-n", "data", "configmap", "kafka-cluster-id")
	id := cm.Data["CLUSTER_ID"]
	assert.Len(t, id, 22)
	return id
}
