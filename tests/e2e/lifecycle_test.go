//go:build e2e

package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"

	"github.com/apk8s/apk8s-platform/components/mosquitto"
	"github.com/apk8s/apk8s-platform/ops/engine"
)

// TestLocalStackLifecycle runs the local stack as a user would: up, a
// no-op preview, a storage growth, a scale-out, destroy. The data
// namespace enforces the restricted Pod Security Standard, and every
// warning the API server sends about an object fails the test.
func TestLocalStackLifecycle(t *testing.T) {
	e := loadEnv(t)
	ctx := context.Background()
	s, class, password := e.localStack(t, 8, map[string]string{"zookeeperStorageSize": "1Gi"})

	// The data namespace never gets the controller's "default" account:
	// every pod must run under the program's own (issue 9).
	e.forbidDefaultAccount(t, "data")

	t.Run("up creates every object of the chapter", func(t *testing.T) {
		timed(t, "up", func() { up(t, s) })
		e.requireNoDefaultAccount(t, "data")
		e.checkObjects(t, class, password, 2)
	})

	t.Run("a second preview changes nothing", func(t *testing.T) {
		timed(t, "no-op preview", func() {
			expectNoChanges(t, s)
		})
	})

	t.Run("a larger kafkaStorageSize grows the claims in place", func(t *testing.T) {
		uids := e.claimUIDs(t, 2)
		setConfig(t, s, map[string]string{"kafkaStorageSize": "2Gi"})
		changes := previewChanges(t, s)
		assert.Equal(t, []string{
			"update kubernetes:core/v1:PersistentVolumeClaimPatch::datadir-kafka-0",
			"update kubernetes:core/v1:PersistentVolumeClaimPatch::datadir-kafka-1",
		}, changes, "the StatefulSet keeps its claim template; only the claims change")
		timed(t, "growth up", func() {
			ops := up(t, s)
			for _, op := range []apitype.OpType{apitype.OpDelete, apitype.OpReplace, apitype.OpCreateReplacement, apitype.OpDeleteReplaced} {
				assert.Zero(t, ops[op], "nothing is deleted or replaced (%s)", op)
			}
		})
		assert.Equal(t, uids, e.claimUIDs(t, 2), "the same claims, not new ones")
		for i := range 2 {
			var pvc corev1.PersistentVolumeClaim
			e.get(t, &pvc, "-n", "data", "pvc", fmt.Sprintf("datadir-kafka-%d", i))
			assert.Equal(t, "2Gi", pvc.Spec.Resources.Requests.Storage().String())
		}
		expectNoChanges(t, s) // the preview after the growth is empty
	})

	t.Run("a smaller kafkaStorageSize is refused at preview", func(t *testing.T) {
		// Below the template (here the floor, 1Gi) the program refuses;
		// between the template and the grown claims it is the API
		// server, through the provider's dry run of the patches.
		for size, refusal := range map[string]string{
			"512Mi":  `kafkaStorageSize = "512Mi" is not allowed: must be at least 1Gi`,
			"1536Mi": "spec.resources.requests.storage: Forbidden",
		} {
			setConfig(t, s, map[string]string{"kafkaStorageSize": size})
			err := previewError(t, s)
			assert.Contains(t, err.Error(), refusal, size)
		}
		setConfig(t, s, map[string]string{"kafkaStorageSize": "2Gi"})
		expectNoChanges(t, s)
	})

	t.Run("growth on a class without allowVolumeExpansion is refused at preview", func(t *testing.T) {
		outs, err := s.Outputs(ctx)
		require.NoError(t, err)
		assert.Equal(t, map[string]any{"kafka": "2Gi", "zookeeper": "1Gi"}, outs["claims"].Value,
			"the sizes the claims reached, which the check compares with")
		e.refusesGrowthOnAFixedClass(t, s, class, "2Gi", "3Gi")
	})

	t.Run("kafka 2 to 3 brokers updates the StatefulSet and grows the new claim", func(t *testing.T) {
		setConfig(t, s, map[string]string{"kafkaReplicas": "3"})
		changes := previewChanges(t, s)
		assert.Equal(t, []string{
			"create kubernetes:core/v1:PersistentVolumeClaimPatch::datadir-kafka-2",
			"update kubernetes:apps/v1:StatefulSet::kafka",
		}, changes)
		timed(t, "scale-out up", func() { up(t, s) })
		e.checkObjects(t, class, password, 3)
		var pvc corev1.PersistentVolumeClaim
		e.get(t, &pvc, "-n", "data", "pvc", "datadir-kafka-2")
		assert.Equal(t, "2Gi", pvc.Spec.Resources.Requests.Storage().String(), "the new broker's claim grown like the others")
	})

	t.Run("destroy leaves nothing behind", func(t *testing.T) {
		timed(t, "destroy", func() {
			_, err := s.Destroy(ctx, optdestroy.ProgressStreams(logTo(t)))
			require.NoError(t, err)
		})
		e.waitGone(t, "namespace", "data")
		for _, kind := range []string{"statefulsets", "deployments", "services", "pods", "persistentvolumeclaims"} {
			out, err := e.kubectl("get", kind, "-A", "-l", "app in (kafka,zookeeper,mqtt,kafka-client-util)", "-o", "name")
			require.NoError(t, err)
			assert.Empty(t, strings.TrimSpace(out), "%s left behind", kind)
		}
		dep, err := s.Export(ctx)
		require.NoError(t, err)
		var state struct {
			Resources []json.RawMessage `json:"resources"`
		}
		require.NoError(t, json.Unmarshal(dep.Deployment, &state))
		assert.Empty(t, state.Resources, "the stack's state must be empty")
	})
}

// localStack opens the local stack on the test cluster with cfg on top of
// its own config, a fresh password and claims of 1Gi on the test's class
// (volumes static PersistentVolumes where the cluster has no provisioner),
// and destroys it when the test ends, failed or not.
func (e env) localStack(t *testing.T, volumes int, cfg map[string]string) (s auto.Stack, class, password string) {
	t.Helper()
	ctx := context.Background()
	class = e.storageClass
	// storageClass "" in cfg: the claims take the cluster's default class,
	// the test's own made default.
	_, onDefault := cfg["storageClass"]
	if class == "" {
		class = e2eClass
		e.staticVolumes(t, class, volumes, onDefault)
	}
	password = randomPassword(t)
	s = e.stack(t, "local")
	if !onDefault {
		cfg["storageClass"] = class
	}
	cfg["kafkaStorageSize"] = "1Gi"
	if e.context != "" {
		cfg["kubeContext"] = e.context
	}
	setConfig(t, s, cfg)
	require.NoError(t, engine.SetSecret(ctx, s, "apk8s-platform:basicAuthPassword", password))
	require.NoError(t, engine.SetSecret(ctx, s, "apk8s-platform:mqttPassword", randomPassword(t)))
	t.Cleanup(func() {
		// A failed test still takes its objects away.
		_, _ = s.Destroy(ctx)
		_ = s.Workspace().RemoveStack(ctx, s.Name())
	})
	return s, class, password
}

// checkObjects reads every object back from the API server.
func (e env) checkObjects(t *testing.T, class, password string, brokers int32) {
	t.Helper()
	var ns corev1.Namespace
	e.get(t, &ns, "namespace", "data")
	assert.Equal(t, corev1.NamespaceActive, ns.Status.Phase)

	var kafka appsv1.StatefulSet
	e.get(t, &kafka, "-n", "data", "statefulset", "kafka")
	assert.Equal(t, brokers, *kafka.Spec.Replicas)
	assert.Equal(t, brokers, kafka.Status.ReadyReplicas, "every broker pod is ready")
	assert.Equal(t, "kafka-headless", kafka.Spec.ServiceName)
	assert.False(t, *kafka.Spec.Template.Spec.EnableServiceLinks)
	require.Len(t, kafka.Spec.VolumeClaimTemplates, 1)
	assert.Equal(t, "datadir", kafka.Spec.VolumeClaimTemplates[0].Name)
	assert.Equal(t, class, *kafka.Spec.VolumeClaimTemplates[0].Spec.StorageClassName)
	for i := range brokers {
		var pvc corev1.PersistentVolumeClaim
		e.get(t, &pvc, "-n", "data", "pvc", fmt.Sprintf("datadir-kafka-%d", i))
		assert.Equal(t, corev1.ClaimBound, pvc.Status.Phase)
	}

	var zk appsv1.StatefulSet
	e.get(t, &zk, "-n", "data", "statefulset", "zookeeper")
	assert.Equal(t, int32(2), zk.Status.ReadyReplicas)
	assert.Equal(t, "zookeeper-headless", zk.Spec.ServiceName)

	var headless corev1.Service
	e.get(t, &headless, "-n", "data", "service", "zookeeper-headless")
	assert.Equal(t, corev1.ClusterIPNone, headless.Spec.ClusterIP)
	assert.True(t, headless.Spec.PublishNotReadyAddresses)
	var svc corev1.Service
	e.get(t, &svc, "-n", "data", "service", "kafka")
	require.Len(t, svc.Spec.Ports, 1)
	assert.Equal(t, int32(9092), svc.Spec.Ports[0].Port)
	assert.Equal(t, "kafka", svc.Spec.Ports[0].TargetPort.String())

	var pdb policyv1.PodDisruptionBudget
	e.get(t, &pdb, "-n", "data", "poddisruptionbudget.v1.policy", "kafka")
	assert.Equal(t, 1, pdb.Spec.MaxUnavailable.IntValue())
	assert.Equal(t, brokers, pdb.Status.ExpectedPods, "the budget covers every broker")

	var client corev1.Pod
	e.get(t, &client, "-n", "data", "pod", "kafka-client-util")
	assert.Equal(t, corev1.PodRunning, client.Status.Phase)

	var mqtt appsv1.Deployment
	e.get(t, &mqtt, "-n", "data", "deployment", "mqtt")
	assert.Equal(t, int32(1), mqtt.Status.AvailableReplicas)
	var cm corev1.ConfigMap
	e.get(t, &cm, "-n", "data", "configmap", "mqtt")
	assert.Equal(t, mosquitto.Conf("", mosquitto.PasswordFile, mosquitto.Listener{Port: mosquitto.MQTT.Port}), cm.Data["mosquitto.conf"])

	// Pod Security enforced, and every pod admitted under it.
	assert.Equal(t, "restricted", ns.Labels["pod-security.kubernetes.io/enforce"])
	var pods corev1.PodList
	e.get(t, &pods, "-n", "data", "pods")
	assert.NotEmpty(t, pods.Items)
	for _, p := range pods.Items {
		assert.Equal(t, corev1.PodRunning, p.Status.Phase, "pod %s", p.Name)
	}
	var policies networkingv1.NetworkPolicyList
	e.get(t, &policies, "-n", "data", "networkpolicies")
	var names []string
	for _, p := range policies.Items {
		names = append(names, p.Name)
	}
	assert.Subset(t, names, []string{"default-deny-ingress", "zookeeper", "kafka", "mqtt", "acme-http01-solver"})

	var secret corev1.Secret
	e.get(t, &secret, "-n", "data", "secret", "sysop-basic-auth")
	user, hash, ok := strings.Cut(string(secret.Data["auth"]), ":")
	require.True(t, ok)
	assert.Equal(t, "sysop", user)
	assert.NoError(t, bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)))

	_, err := e.kubectl("get", "-n", "data", "certificates.cert-manager.io", "data-cert")
	assert.Error(t, err, "the local stack makes no certificate")
}

// awaitStatus is how the provider words an object's condition while it
// waits for it.
var awaitStatus = regexp.MustCompile(`^\[[A-Za-z]+\] `)

// up runs `pulumi up`, fails the test on any warning the engine reports
// about a resource (the API server's warnings, Pod Security's among them,
// arrive so), and counts the steps by operation.
func up(t *testing.T, s auto.Stack) map[apitype.OpType]int {
	t.Helper()
	ch := make(chan events.EngineEvent)
	ops := map[apitype.OpType]int{}
	var warnings []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range ch {
			// The program's own config warnings (an even ensemble) belong
			// to the stack, and the provider reports an object's progress
			// while it waits as "[Reason] ..." (a Deployment not yet
			// available); any other warning about an object is the API
			// server's, Pod Security's among them.
			if d := ev.DiagnosticEvent; d != nil && d.Severity == "warning" && d.URN != "" &&
				!strings.Contains(d.URN, "::pulumi:pulumi:Stack::") && !awaitStatus.MatchString(d.Message) {
				warnings = append(warnings, d.URN+": "+strings.TrimSpace(d.Message))
			}
			if ev.ResOutputsEvent != nil {
				ops[ev.ResOutputsEvent.Metadata.Op]++
			}
		}
	}()
	_, err := s.Up(context.Background(), optup.EventStreams(ch), optup.ProgressStreams(logTo(t)))
	<-done
	require.NoError(t, err)
	assert.Empty(t, warnings, "the API server warned")
	return ops
}

// claimUIDs are the UIDs of the first n brokers' claims.
func (e env) claimUIDs(t *testing.T, n int) []string {
	t.Helper()
	var out []string
	for i := range n {
		var pvc corev1.PersistentVolumeClaim
		e.get(t, &pvc, "-n", "data", "pvc", fmt.Sprintf("datadir-kafka-%d", i))
		require.NotEmpty(t, pvc.UID)
		out = append(out, string(pvc.UID))
	}
	return out
}

// expectNoChanges previews s and requires every step to be "same", or a
// read (the stack reading its own last outputs), which changes nothing.
func expectNoChanges(t *testing.T, s auto.Stack) {
	t.Helper()
	res, err := s.Preview(context.Background(), optpreview.ExpectNoChanges(), optpreview.Diff(), optpreview.ProgressStreams(logTo(t)))
	require.NoError(t, err)
	for op, n := range res.ChangeSummary {
		assert.True(t, leavesClusterAlone(op), "%d resources would %s", n, op)
	}
}

// leavesClusterAlone is true of the operations that change nothing in the
// cluster: same, a read, and the discard of a read the run no longer makes
// (the StorageClass read when claims grow), which the engine's own
// --expect-no-changes accepts too.
func leavesClusterAlone(op apitype.OpType) bool {
	return op == apitype.OpSame || op == apitype.OpRead || op == apitype.OpReadDiscard
}

// previewChanges lists the steps of a preview that are not "same", as
// "<op> <type>::<name>".
func previewChanges(t *testing.T, s auto.Stack) []string {
	t.Helper()
	ch := make(chan events.EngineEvent)
	var changes []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range ch {
			if ev.ResourcePreEvent == nil {
				continue
			}
			m := ev.ResourcePreEvent.Metadata
			if leavesClusterAlone(m.Op) {
				continue
			}
			name := m.URN[strings.LastIndex(m.URN, "::")+2:]
			changes = append(changes, fmt.Sprintf("%s %s::%s", m.Op, m.Type, name))
		}
	}()
	timed(t, "preview of the change", func() {
		_, err := s.Preview(context.Background(), optpreview.EventStreams(ch), optpreview.Diff(), optpreview.ProgressStreams(logTo(t)))
		require.NoError(t, err)
	})
	<-done
	slices.Sort(changes)
	return changes
}

// staticVolumes makes a StorageClass called class and n PersistentVolumes
// of it for the claims (the loopback cluster has no provisioner), and
// removes them afterwards; the class is the cluster's default if asked.
// Each test takes a class of its own: a Retain volume is never bound
// twice. The class allows expansion, so the API server admits a claim's
// growth.
func (e env) staticVolumes(t *testing.T, class string, n int, isDefault bool) {
	t.Helper()
	docs := []string{fmt.Sprintf(`apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: %[1]s
  labels: {apk8s-e2e: %[1]s}
  annotations: {storageclass.kubernetes.io/is-default-class: "%[2]t"}
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: Immediate
allowVolumeExpansion: true
`, class, isDefault)}
	for i := range n {
		docs = append(docs, fmt.Sprintf(`apiVersion: v1
kind: PersistentVolume
metadata:
  name: %[1]s-%[2]d
  labels: {apk8s-e2e: %[1]s}
spec:
  capacity: {storage: 10Gi}
  accessModes: [ReadWriteOnce]
  storageClassName: %[1]s
  persistentVolumeReclaimPolicy: Retain
  hostPath: {path: /tmp/apk8s-%[1]s-pv-%[2]d}
`, class, i))
	}
	file := t.TempDir() + "/pvs.yaml"
	require.NoError(t, os.WriteFile(file, []byte(strings.Join(docs, "---\n")), 0o644))
	_, err := e.kubectl("apply", "-f", file)
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = e.kubectl("delete", "pv,storageclass", "-l", "apk8s-e2e="+class, "--wait=false") })
}

// refusesGrowthOnAFixedClass turns the claims' class's volume expansion
// off, and requires that kafkaStorageSize from -> to then fails the
// preview with the program's explanation; it puts both back after.
func (e env) refusesGrowthOnAFixedClass(t *testing.T, s auto.Stack, class, from, to string) {
	t.Helper()
	if class != e2eClass {
		require.Empty(t, os.Getenv("CI"), "CI runs on the loopback cluster with the test's own class")
		t.Skipf("the claims are on the cluster's own class %q, which this test does not change", class)
	}
	e.allowExpansion(t, class, false)
	setConfig(t, s, map[string]string{"kafkaStorageSize": to})
	err := previewError(t, s)
	assert.Contains(t, err.Error(), fmt.Sprintf(
		`apk8s-platform:kafkaStorageSize = %q would grow the claims of kafka from %s, but their StorageClass %q does not allow volume expansion`, to, from, class))
	e.allowExpansion(t, class, true)
	setConfig(t, s, map[string]string{"kafkaStorageSize": from})
	expectNoChanges(t, s)
}

// previewError runs a preview that must fail and returns its error.
func previewError(t *testing.T, s auto.Stack) error {
	t.Helper()
	_, err := s.Preview(context.Background(), optpreview.ProgressStreams(logTo(t)))
	require.Error(t, err, "the preview must fail")
	return err
}

// allowExpansion sets the class's allowVolumeExpansion.
func (e env) allowExpansion(t *testing.T, class string, allow bool) {
	t.Helper()
	_, err := e.kubectl("patch", "storageclass", class, "-p", fmt.Sprintf(`{"allowVolumeExpansion":%t}`, allow))
	require.NoError(t, err)
}

// waitGone polls until the object is gone from the API server.
func (e env) waitGone(t *testing.T, kind, name string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		_, err := e.kubectl("get", kind, name)
		if err != nil && strings.Contains(err.Error(), "NotFound") {
			return
		}
		require.True(t, time.Now().Before(deadline), "%s %s still exists", kind, name)
		time.Sleep(2 * time.Second)
	}
}

func randomPassword(t *testing.T) string {
	b := make([]byte, 12)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return "e2e-" + hex.EncodeToString(b)
}
