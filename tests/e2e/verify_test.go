//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"

	"github.com/apk8s/apk8s-platform/components/kafka"
	"github.com/apk8s/apk8s-platform/components/mosquitto"
	"github.com/apk8s/apk8s-platform/components/zookeeper"
	"github.com/apk8s/apk8s-platform/ops/brokertest"
	"github.com/apk8s/apk8s-platform/ops/verify"
)

// verifyNamespace keeps the test's data pods apart from the lifecycle
// test's namespace "data".
const verifyNamespace = "verify-e2e"

// portForwards is kwok's PortForward resource: a port-forward to the pod
// of the same name reaches the target address instead of a container.
var portForwards = schema.GroupVersionResource{Group: "kwok.x-k8s.io", Version: "v1alpha1", Resource: "portforwards"}

// TestVerify runs verify against pods of the chapter's names and labels on
// kwok's fake node, whose port-forwards kwok sends to real processes this
// test starts: Mosquitto with a password file for the broker pod, an
// in-process Kafka (kfake) whose two brokers advertise the pods' in-cluster
// names, and a "srvr" answerer per ZooKeeper member. Every connection of
// verify goes through the API server's port-forward, kwok and the dialer.
func TestVerify(t *testing.T) {
	e := loadEnv(t)
	ctx := context.Background()
	rc := e.restConfig(t)
	kube := kubernetes.NewForConfigOrDie(rc)
	dyn := dynamic.NewForConfigOrDie(rc)
	requirePortForwards(t, dyn)
	ns := verifyNamespace
	class := "verify-e2e-static"
	e.staticVolumes(t, class, 2, false)

	brokers := startKafka(t, ns, 2)
	brokers.advertises(t, ns)
	password := randomPassword(t)
	mqttAddr := brokertest.Mosquitto(t, map[string]string{"sysop": password})
	zkModes := []string{"follower", "leader"}

	_, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = kube.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
		e.waitGone(t, "namespace", ns)
	})
	for _, o := range dataWorkloads(ns, class) {
		_, err := kube.AppsV1().StatefulSets(ns).Create(ctx, o, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	_, err = kube.AppsV1().Deployments(ns).Create(ctx, mqttDeployment(ns), metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = kube.CoreV1().Services(ns).Create(ctx, mqttService(ns), metav1.CreateOptions{})
	require.NoError(t, err)
	waitRunning(t, kube, ns, 5)

	for i, b := range brokers.listeners {
		forwardTo(t, dyn, ns, fmt.Sprintf("%s-%d", kafka.Name, i), kafka.Broker.Port, b.Addr().String())
	}
	for i, mode := range zkModes {
		forwardTo(t, dyn, ns, fmt.Sprintf("%s-%d", zookeeper.Name, i), zookeeper.Client.Port, brokertest.ZooKeeperSrvr(t, mode))
	}
	mqttPods, err := kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(mosquitto.Labels).String()})
	require.NoError(t, err)
	require.Len(t, mqttPods.Items, 1)
	forwardTo(t, dyn, ns, mqttPods.Items[0].Name, mosquitto.MQTT.Port, mqttAddr)

	options := verify.Options{Config: rc, Namespace: ns, MQTTUser: "sysop", MQTTPassword: password, Timeout: 30 * time.Second, Log: logTo(t)}
	run := func(t *testing.T, o verify.Options) (map[string]verify.Result, int) {
		t.Helper()
		var results []verify.Result
		timed(t, "verify", func() {
			results, err = verify.Run(ctx, o, verify.Plan(o))
		})
		require.NoError(t, err)
		var table bytes.Buffer
		require.NoError(t, verify.Render(&table, results))
		t.Logf("verify:\n%s", table.String())
		fmt.Print(table.String())
		byName := map[string]verify.Result{}
		for _, r := range results {
			byName[r.Check] = r
		}
		return byName, verify.ExitCode(results)
	}
	status := func(rs map[string]verify.Result) map[string]verify.Status {
		out := map[string]verify.Status{}
		for name, r := range rs {
			out[name] = r.Status
		}
		return out
	}
	allPass := map[string]verify.Status{
		"pods running": verify.Pass, "zookeeper ensemble": verify.Pass, "kafka brokers": verify.Pass,
		"kafka topic created": verify.Pass, "kafka produce/consume": verify.Pass, "mqtt publish/subscribe": verify.Pass,
		"mqtt bridges": verify.Skip, "mqtt to kafka": verify.Skip,
		"certificate data-cert": verify.Skip, "claims bound": verify.Pass,
		"alert rules loaded": verify.Skip, // no monitoring in this namespace
	}

	t.Run("a healthy stack passes every check", func(t *testing.T) {
		rs, code := run(t, options)
		assert.Equal(t, allPass, status(rs))
		assert.Equal(t, verify.ExitPassed, code)
		assert.Equal(t, "2 members: zookeeper-0 follower, zookeeper-1 leader", rs["zookeeper ensemble"].Detail)
		assert.Equal(t, "2 of 2 answer: kafka-0 (id 0), kafka-1 (id 1)", rs["kafka brokers"].Detail)
		assert.Contains(t, rs["mqtt publish/subscribe"].Detail, `connected as "sysop"`)
		assert.Equal(t, "2 claims Bound", rs["claims bound"].Detail)
		topic, _, _ := strings.Cut(rs["kafka topic created"].Detail, ",")
		require.True(t, strings.HasPrefix(topic, verify.TopicPrefix), rs["kafka topic created"].Detail)
		assert.Nil(t, brokers.cluster.TopicInfo(topic), "the run deletes its topic %s", topic)
	})

	t.Run("wrong MQTT credentials fail the MQTT line only", func(t *testing.T) {
		o := options
		o.MQTTPassword = "not-" + password
		rs, code := run(t, o)
		want := maps(allPass, map[string]verify.Status{"mqtt publish/subscribe": verify.Fail})
		assert.Equal(t, want, status(rs))
		assert.Equal(t, `subscriber cannot connect as "sysop": not Authorized`, rs["mqtt publish/subscribe"].Detail)
		assert.Equal(t, verify.ExitFailed, code)
	})

	t.Run("a namespace that does not exist is not deployed", func(t *testing.T) {
		o := options
		o.Namespace = "verify-e2e-absent"
		_, err := verify.Run(ctx, o, verify.Plan(o))
		require.ErrorIs(t, err, verify.ErrNotDeployed)
	})

	t.Run("a stopped broker fails the brokers line", func(t *testing.T) {
		require.NoError(t, brokers.listeners[1].Close())
		rs, code := run(t, options)
		assert.Equal(t, verify.Fail, rs["kafka brokers"].Status)
		// What the client meets first depends on timing: the port-forward's
		// lost connection, or a connection closed during the handshake.
		// Either way the line names the stopped broker and only it.
		assert.True(t, strings.HasPrefix(rs["kafka brokers"].Detail, "kafka-1 does not answer: "), rs["kafka brokers"].Detail)
		assert.NotContains(t, rs["kafka brokers"].Detail, "kafka-0")
		assert.Equal(t, verify.Pass, rs["mqtt publish/subscribe"].Status)
		assert.Equal(t, verify.ExitFailed, code)
	})

	t.Run("a pod that is not running is named", func(t *testing.T) {
		_, err := e.kubectl("cordon", "kwok-node-0")
		require.NoError(t, err)
		t.Cleanup(func() { _, _ = e.kubectl("uncordon", "kwok-node-0") })
		pod := zookeeper.Name + "-1"
		require.NoError(t, kube.CoreV1().Pods(ns).Delete(ctx, pod, metav1.DeleteOptions{GracePeriodSeconds: ptr.To(int64(0))}))
		waitPending(t, kube, ns, pod)
		rs, code := run(t, options)
		assert.Equal(t, verify.Fail, rs["pods running"].Status)
		assert.Contains(t, rs["pods running"].Detail, "zookeeper-1 (Pending: Unschedulable)")
		assert.Equal(t, verify.Fail, rs["zookeeper ensemble"].Status)
		assert.Contains(t, rs["zookeeper ensemble"].Detail, "pod verify-e2e/zookeeper-1 is not running (Pending: Unschedulable)")
		assert.Equal(t, verify.ExitFailed, code)
	})
}

// requirePortForwards needs kwok's PortForward resource, which the
// loopback cluster of scripts/e2e.sh has and a cluster of your own lacks.
func requirePortForwards(t *testing.T, dyn dynamic.Interface) {
	t.Helper()
	_, err := dyn.Resource(portForwards).List(context.Background(), metav1.ListOptions{Limit: 1})
	if err == nil {
		return
	}
	if os.Getenv("CI") != "" || !apierrors.IsNotFound(err) {
		require.NoError(t, err, "kwok's PortForward resource (scripts/tools/kube/up.sh installs it)")
	}
	t.Skipf("this cluster has no kwok PortForward resource (%v): TestVerify runs on the loopback cluster of scripts/e2e.sh", err)
}

func maps(base, over map[string]verify.Status) map[string]verify.Status {
	out := map[string]verify.Status{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		out[k] = v
	}
	return out
}

func (e env) restConfig(t *testing.T) *rest.Config {
	t.Helper()
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: e.kubeconfig},
		&clientcmd.ConfigOverrides{CurrentContext: e.context}).ClientConfig()
	require.NoError(t, err)
	return rc
}

// fakeKafka is kfake with each broker's listener: kfake advertises what
// its listener's Addr says, so each listener says the in-cluster name of
// its pod, and the test keeps the real listener to stop a broker.
type fakeKafka struct {
	cluster   *kfake.Cluster
	listeners []net.Listener // the real loopback listeners, by broker id
}

type advertised struct {
	net.Listener
	name string
}

func (a advertised) Addr() net.Addr { return advertisedAddr(a.name) }

type advertisedAddr string

func (a advertisedAddr) Network() string { return "tcp" }
func (a advertisedAddr) String() string  { return string(a) }

func startKafka(t *testing.T, ns string, n int) *fakeKafka {
	t.Helper()
	k := &fakeKafka{}
	var err error
	k.cluster, err = kfake.NewCluster(kfake.NumBrokers(n), kfake.ListenFn(func(network, address string) (net.Listener, error) {
		l, err := net.Listen(network, address)
		if err != nil {
			return nil, err
		}
		pod := fmt.Sprintf("%s-%d", kafka.Name, len(k.listeners))
		k.listeners = append(k.listeners, l)
		return advertised{Listener: l, name: fmt.Sprintf("%s:%d", kafka.BrokerHost(ns, pod), kafka.Broker.Port)}, nil
	}))
	require.NoError(t, err)
	t.Cleanup(k.cluster.Close)
	require.Len(t, k.listeners, n)
	return k
}

// advertises checks that kfake's metadata names the pods, not loopback.
func (k *fakeKafka) advertises(t *testing.T, ns string) {
	t.Helper()
	for i, addr := range k.cluster.ListenAddrs() {
		assert.Equal(t, fmt.Sprintf("%s:%d", kafka.BrokerHost(ns, fmt.Sprintf("%s-%d", kafka.Name, i)), kafka.Broker.Port), addr)
	}
}

// forwardTo makes kwok send port-forwards to pod's port to addr.
func forwardTo(t *testing.T, dyn dynamic.Interface, ns, pod string, port int32, addr string) {
	t.Helper()
	host, p, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	var target int64
	_, err = fmt.Sscan(p, &target)
	require.NoError(t, err)
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "kwok.x-k8s.io/v1alpha1",
		"kind":       "PortForward",
		"metadata":   map[string]any{"name": pod, "namespace": ns},
		"spec": map[string]any{"forwards": []any{map[string]any{
			"ports":  []any{int64(port)},
			"target": map[string]any{"address": host, "port": target},
		}}},
	}}
	_, err = dyn.Resource(portForwards).Namespace(ns).Create(context.Background(), obj, metav1.CreateOptions{})
	require.NoError(t, err)
}

// dataWorkloads are the ensemble and the brokers under the chapter's names
// and labels; the brokers claim datadir from the test's static volumes.
func dataWorkloads(ns, class string) []*appsv1.StatefulSet {
	set := func(name string, port int32, claims []corev1.PersistentVolumeClaim) *appsv1.StatefulSet {
		l := map[string]string{"app": name}
		return &appsv1.StatefulSet{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: l},
			Spec: appsv1.StatefulSetSpec{
				Replicas:             ptr.To(int32(2)),
				ServiceName:          name + "-headless",
				PodManagementPolicy:  appsv1.ParallelPodManagement,
				Selector:             &metav1.LabelSelector{MatchLabels: l},
				VolumeClaimTemplates: claims,
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: l},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{
						Name: name, Image: "registry.invalid/" + name,
						Ports: []corev1.ContainerPort{{ContainerPort: port}},
					}}},
				},
			},
		}
	}
	datadir := []corev1.PersistentVolumeClaim{{
		ObjectMeta: metav1.ObjectMeta{Name: kafka.ClaimName},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: ptr.To(class),
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}}
	return []*appsv1.StatefulSet{
		set(zookeeper.Name, zookeeper.Client.Port, nil),
		set(kafka.Name, kafka.Broker.Port, datadir),
	}
}

func mqttDeployment(ns string) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: mosquitto.Name, Namespace: ns, Labels: mosquitto.Labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(int32(1)),
			Selector: &metav1.LabelSelector{MatchLabels: mosquitto.Labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: mosquitto.Labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: mosquitto.Name, Image: "registry.invalid/mosquitto",
					Ports: []corev1.ContainerPort{{ContainerPort: mosquitto.MQTT.Port}},
				}}},
			},
		},
	}
}

// mqttService is the Service mqtt of a stack with the plain listener only
// (mqttPlainListener on, no certificate): verify reads its ports to choose
// between the TLS and the plain listener.
func mqttService(ns string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: mosquitto.Name, Namespace: ns, Labels: mosquitto.Labels},
		Spec: corev1.ServiceSpec{
			Selector: mosquitto.Labels,
			Ports: []corev1.ServicePort{{
				Name: mosquitto.MQTT.Name, Port: mosquitto.MQTT.Port, TargetPort: intstr.FromString(mosquitto.MQTT.Name),
			}},
		},
	}
}

// waitRunning waits until n pods of ns run and are ready, and every claim
// is bound.
func waitRunning(t *testing.T, kube kubernetes.Interface, ns string, n int) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		pods, err := kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		require.NoError(t, err)
		claims, err := kube.CoreV1().PersistentVolumeClaims(ns).List(ctx, metav1.ListOptions{})
		require.NoError(t, err)
		ready := 0
		for _, p := range pods.Items {
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
					ready++
				}
			}
		}
		bound := 0
		for _, c := range claims.Items {
			if c.Status.Phase == corev1.ClaimBound {
				bound++
			}
		}
		if ready == n && bound == len(claims.Items) && bound > 0 {
			return
		}
		require.True(t, time.Now().Before(deadline), "%d of %d pods ready, %d of %d claims bound", ready, n, bound, len(claims.Items))
		time.Sleep(time.Second)
	}
}

// waitPending waits until pod exists again and the scheduler has said it
// cannot place it.
func waitPending(t *testing.T, kube kubernetes.Interface, ns, name string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		p, err := kube.CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err == nil && p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodPending {
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodScheduled && c.Reason == corev1.PodReasonUnschedulable {
					return
				}
			}
		}
		if err != nil && !apierrors.IsNotFound(err) {
			require.NoError(t, err)
		}
		require.True(t, time.Now().Before(deadline), "pod %s/%s did not turn Pending/Unschedulable", ns, name)
		time.Sleep(time.Second)
	}
}
