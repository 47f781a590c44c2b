// Package kafka is the Kafka cluster of the data namespace: the Service
// "kafka", the headless Service "kafka-headless", the StatefulSet "kafka" with
// a "datadir" claim per broker, the PodDisruptionBudget "kafka" and the Pod
// "kafka-client-util" that the book's console tests run in.
//
// The cluster runs in one of two modes with the same names and client
// address: the book's, Confluent's brokers on a ZooKeeper ensemble (this
// file), or Apache Kafka 4 with a KRaft controller quorum among its own pods
// (kraft.go).
package kafka

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/apk8s/apk8s-platform/internal/workload"
	"github.com/apk8s/apk8s-platform/providers/kube"
)

// Names of the objects, as the book gives them.
const (
	Name          = "kafka"
	HeadlessName  = "kafka-headless"
	ClientPodName = "kafka-client-util"
	ContainerName = "kafka-broker"
	ClaimName     = "datadir"
	dataDir       = "/opt/kafka/data"
)

// Modes of the cluster: the book's brokers on ZooKeeper, or KRaft.
const (
	ModeZooKeeper = "zookeeper"
	ModeKRaft     = "kraft"
)

// Ports of a broker: the book's listener (Service port "broker", container
// port "kafka") and JMX.
var (
	Broker = workload.Port{Name: "kafka", Port: 9092, ServicePortName: "broker"}
	JMX    = workload.Port{Name: "jmx", Port: 5555}
)

// Labels select the brokers.
var Labels = map[string]string{"app": Name}

// Config is the validated shape of the cluster.
type Config struct {
	Mode string // ModeZooKeeper or ModeKRaft
	// Image is the brokers' and the client pod's: Confluent Platform 7.9
	// in ZooKeeper mode, Apache Kafka 4 in KRaft mode.
	Image    string
	Replicas int32
	// Voters is the size of the KRaft controller quorum: pods 0 to Voters-1
	// are controllers as well as brokers. It is fixed when the cluster is
	// created (the image only supports a static voter list).
	Voters               int32
	Heap                 string
	MemoryLimit          resource.Quantity
	StorageSize          resource.Quantity
	StorageClass         string // "" takes the cluster's default class
	OffsetsTopicReplicas int32
}

// Args are the inputs of the component.
type Args struct {
	Namespace kube.Namespace
	// ZooKeeper is the ensemble's connection string (ZooKeeper mode).
	ZooKeeper string
	// After are resources the brokers wait for: the ensemble, and the
	// StorageClass of their claims when this program creates it.
	After  []pulumi.Resource
	Config Config
}

// Kafka is the cluster component.
type Kafka struct {
	pulumi.ResourceState

	Service         *kube.Resource
	HeadlessService *kube.Resource
	StatefulSet     *kube.Resource
	Budget          *kube.Resource
	ServiceAccount  *kube.Resource // the brokers'
	ClusterID       *kube.Resource // KRaft mode: the ConfigMap that keeps the cluster ID
	ClientAccount   *kube.Resource
	ClientPod       *kube.Resource

	// Bootstrap is the address clients in the namespace start from.
	Bootstrap pulumi.StringOutput `pulumi:"bootstrap"`
}

// New creates the cluster.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*Kafka, error) {
	k := &Kafka{}
	if err := ctx.RegisterComponentResource("apk8s:data:Kafka", name, k, opts...); err != nil {
		return nil, err
	}
	ns := args.Namespace.Name
	brokers, client := brokerApp(ns), clientApp(ns)
	c := kube.NewChildren(ctx, k, args.Namespace)
	k.ServiceAccount = c.Add(name, kube.Args{Object: brokers.ServiceAccount()})
	k.Service = c.Add(name, kube.Args{Object: brokers.Service(Broker)})
	var set *appsv1.StatefulSet
	if args.Config.Mode == ModeKRaft {
		// The ID is drawn on every run, but only the first is ever applied:
		// the ConfigMap keeps it from then on, and the brokers read it
		// from there, so their spec never changes with it.
		k.ClusterID = c.Add(name+"-cluster-id", kube.Args{Object: clusterIDMap(ns, NewClusterID())},
			pulumi.IgnoreChanges([]string{"data"}))
		k.HeadlessService = c.Add(name+"-headless", kube.Args{Object: brokers.HeadlessService(HeadlessName, Broker, Controller)})
		set = kraftStatefulSet(ns, args.Config)
	} else {
		k.HeadlessService = c.Add(name+"-headless", kube.Args{Object: brokers.HeadlessService(HeadlessName, Broker)})
		set = statefulSet(ns, args.ZooKeeper, args.Config)
	}
	after := []pulumi.Resource{k.HeadlessService, k.ServiceAccount}
	if k.ClusterID != nil {
		after = append(after, k.ClusterID)
	}
	k.StatefulSet = c.Add(name, kube.Args{Object: set}, pulumi.DependsOn(append(after, args.After...)))
	k.Budget = c.Add(name, kube.Args{Object: brokers.Budget(1)})
	k.ClientAccount = c.Add(ClientPodName, kube.Args{Object: client.ServiceAccount()})
	k.ClientPod = c.Add(ClientPodName, kube.Args{Object: clientPod(ns, args.Config)},
		pulumi.DependsOn([]pulumi.Resource{k.ClientAccount}))
	if err := c.Err(); err != nil {
		return nil, err
	}
	k.Bootstrap = pulumi.Sprintf("%s:%d", Name, Broker.Port)
	return k, ctx.RegisterResourceOutputs(k, pulumi.Map{"bootstrap": k.Bootstrap})
}

// brokerApp is the brokers' StatefulSet and what selects them.
func brokerApp(ns string) workload.App {
	return workload.App{Name: Name, Namespace: ns, Labels: Labels}
}

// clientApp is the client pod, which no Service selects.
func clientApp(ns string) workload.App {
	return workload.App{Name: ClientPodName, Namespace: ns, Labels: map[string]string{"app": ClientPodName}}
}

// BrokerHost is the name the broker in pod advertises to clients: the
// pod under the headless Service (the book advertised the pod IP, which
// changes on every restart). Clients outside the cluster (verify) map it
// onto their port-forwards.
func BrokerHost(ns, pod string) string {
	return fmt.Sprintf("%s.%s.%s.svc.cluster.local", pod, HeadlessName, ns)
}

// startCommand takes the broker id from the pod ordinal and advertises the
// pod's own name (its HOSTNAME) under the headless Service.
func startCommand(ns string) string {
	return fmt.Sprintf(`export KAFKA_BROKER_ID=${HOSTNAME##*-}
export KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://%s:%d
exec /etc/confluent/docker/run`, BrokerHost(ns, "${HOSTNAME}"), Broker.Port)
}

func statefulSet(ns, zookeeper string, c Config) *appsv1.StatefulSet {
	broker := brokerContainer(c, dataDir, []string{"sh", "-exc", startCommand(ns)},
		[]corev1.EnvVar{
			{Name: "KAFKA_LISTENERS", Value: fmt.Sprintf("PLAINTEXT://0.0.0.0:%d", Broker.Port)},
			heapEnv(c),
			{Name: "KAFKA_ZOOKEEPER_CONNECT", Value: zookeeper},
			{Name: "KAFKA_LOG_DIRS", Value: dataDir + "/logs"},
			{Name: "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", Value: fmt.Sprint(c.OffsetsTopicReplicas)},
			{Name: "KAFKA_JMX_PORT", Value: fmt.Sprint(JMX.Port)},
		}, Broker, JMX)
	app := brokerApp(ns)
	spec := app.PodSpec(broker)
	// The Confluent image runs as appuser (uid 1000): the claim must be its.
	spec.SecurityContext = &corev1.PodSecurityContext{FSGroup: ptr.To(kafkaUID)}
	return brokerSet(ns, c, spec, appsv1.OrderedReadyPodManagement)
}

// brokerContainer is a broker of either mode: the image's start command and
// variables, the ports, resources, probes and the data volume at
// dir.
func brokerContainer(c Config, dir string, command []string, env []corev1.EnvVar, ports ...workload.Port) corev1.Container {
	return corev1.Container{
		Name:    ContainerName,
		Image:   c.Image,
		Command: command,
		Env:     env,
		Ports:   workload.ContainerPorts(ports...),
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: c.MemoryLimit},
			Limits:   corev1.ResourceList{corev1.ResourceMemory: c.MemoryLimit},
		},
		ReadinessProbe: &corev1.Probe{
			ProbeHandler:        corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString(Broker.Name)}},
			InitialDelaySeconds: 30, PeriodSeconds: 10, TimeoutSeconds: 5, FailureThreshold: 3,
		},
		LivenessProbe: &corev1.Probe{
			ProbeHandler:        corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString(Broker.Name)}},
			InitialDelaySeconds: 60, PeriodSeconds: 10, TimeoutSeconds: 5, FailureThreshold: 6,
		},
		VolumeMounts: []corev1.VolumeMount{{Name: ClaimName, MountPath: dir}},
	}
}

// heapEnv fixes the brokers' heap; both images pass it to the JVM, not to
// the broker's properties.
func heapEnv(c Config) corev1.EnvVar {
	return corev1.EnvVar{Name: "KAFKA_HEAP_OPTS", Value: workload.HeapOpts(c.Heap)}
}

// brokerSet is the StatefulSet "kafka" of either mode around the pod spec:
// one "datadir" claim per broker, a minute to shut down cleanly.
func brokerSet(ns string, c Config, spec corev1.PodSpec, policy appsv1.PodManagementPolicyType) *appsv1.StatefulSet {
	app := brokerApp(ns)
	spec.TerminationGracePeriodSeconds = ptr.To(int64(60))
	return &appsv1.StatefulSet{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "StatefulSet"},
		ObjectMeta: app.Meta(Name),
		Spec: appsv1.StatefulSetSpec{
			Replicas:             &c.Replicas,
			ServiceName:          HeadlessName,
			PodManagementPolicy:  policy,
			RevisionHistoryLimit: ptr.To(int32(1)),
			Selector:             &metav1.LabelSelector{MatchLabels: Labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: Labels},
				Spec:       spec,
			},
			VolumeClaimTemplates:                 []corev1.PersistentVolumeClaim{workload.Claim(ClaimName, c.StorageSize, c.StorageClass)},
			PersistentVolumeClaimRetentionPolicy: workload.DeleteWithSet(),
		},
	}
}

// clientPod idles so that users can exec the console tools in it.
func clientPod(ns string, c Config) *corev1.Pod {
	app := clientApp(ns)
	spec := app.PodSpec(corev1.Container{
		Name:    Name,
		Image:   c.Image,
		Command: []string{"sh", "-c", "exec tail -f /dev/null"},
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m"), corev1.ResourceMemory: resource.MustParse("256Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")},
		},
	})
	if c.Mode == ModeKRaft {
		kraftSecurity(&spec)
	}
	return &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: app.Meta(ClientPodName),
		Spec:       spec,
	}
}
