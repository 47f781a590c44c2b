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
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
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
	// logDir is where kafka-run-class writes the JVM's GC log and the
	// tools their logs (LOG_DIR): a scratch directory under the read-only
	// root.
	logDir = "/var/log/kafka"
)

// Modes of the cluster: the book's brokers on ZooKeeper, or KRaft.
const (
	ModeZooKeeper = "zookeeper"
	ModeKRaft     = "kraft"
)

// Broker is the book's listener (Service port "broker", container port
// "kafka"). The book's JMX port is gone in both modes: remote JMX without
// authentication lets any client run code through MBeans, and the exporter
// reads the metrics through the Kafka protocol instead.
var Broker = workload.Port{Name: "kafka", Port: 9092, ServicePortName: "broker"}

// User is the appuser of both images (Confluent's and Apache Kafka's).
const User = 1000

// Labels select the brokers.
var Labels = map[string]string{"app": Name}

// Config is the validated shape of the cluster.
type Config struct {
	Mode string // ModeZooKeeper or ModeKRaft
	// Auth is the stage of authentication (AuthStages): which listeners
	// the brokers open and whether they authorize.
	Auth string
	// Image is the brokers' and the client pod's: Confluent Platform 7.9
	// in ZooKeeper mode, Apache Kafka 4 in KRaft mode.
	Image    string
	Replicas int32
	// Voters is the size of the KRaft controller quorum: pods 0 to Voters-1
	// are controllers as well as brokers. It is fixed when the cluster is
	// created (the image only supports a static voter list).
	Voters int32
	// ClusterID is the KRaft cluster ID the ConfigMap is created with:
	// the one the stack recorded, or drawn for a new cluster.
	ClusterID            string
	Heap                 string
	MemoryLimit          resource.Quantity
	StorageSize          resource.Quantity
	StorageClass         string // "" takes the cluster's default class
	OffsetsTopicReplicas int32  // 0 = Replication(Replicas)
}

// Replication is the replication factor of the internal topics (consumer
// offsets, transaction state) on brokers brokers: three copies, or one per
// broker on a smaller cluster.
func Replication(brokers int32) int32 { return min(3, brokers) }

// MinInSync is the min.insync.replicas for topics of replication factor
// rf: writes with acks=all go on while one replica is down, and need two
// copies where there are three.
func MinInSync(rf int32) int32 { return max(1, min(rf-1, 2)) }

// InternalReplication is the factor the internal topics get under c, the
// rule every internal topic of the platform follows (Kafka Connect's too).
func (c Config) InternalReplication() int32 { return c.replication() }

// MinInSyncReplicas is the min.insync.replicas the brokers run with.
func (c Config) MinInSyncReplicas() int32 { return MinInSync(c.replication()) }

// replication is the factor the internal topics get under c.
func (c Config) replication() int32 {
	if c.OffsetsTopicReplicas > 0 {
		return c.OffsetsTopicReplicas
	}
	return Replication(c.Replicas)
}

// topicEnv are the replication settings of both modes: the internal
// topics' factor, default.replication.factor (what a topic created without
// one gets, an auto-created one included) by the same rule, and
// min.insync.replicas to match. Left unset, the default factor is 1, and
// at three brokers (min.insync.replicas 2) every such topic refuses
// acks=all writes.
func (c Config) topicEnv() []corev1.EnvVar {
	rf := fmt.Sprint(c.replication())
	isr := fmt.Sprint(c.MinInSyncReplicas())
	return []corev1.EnvVar{
		{Name: "KAFKA_DEFAULT_REPLICATION_FACTOR", Value: fmt.Sprint(Replication(c.Replicas))},
		{Name: "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", Value: rf},
		{Name: "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", Value: rf},
		{Name: "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", Value: isr},
		{Name: "KAFKA_MIN_INSYNC_REPLICAS", Value: isr},
	}
}

// Args are the inputs of the component.
type Args struct {
	Namespace kube.Namespace
	// ZooKeeper is the ensemble's connection string (ZooKeeper mode).
	ZooKeeper string
	// After are resources the brokers wait for: the ensemble, and the
	// StorageClass of their claims when this program creates it.
	After []pulumi.Resource
	// Growth is how the brokers' claims follow a new size
	// (workload.App.Durable).
	Growth workload.Growth
	// Clients may connect to the brokers besides the brokers themselves
	// and the client pod (the exporter).
	Clients []workload.Peer
	// CA is the namespace's CA Issuer, which signs the brokers'
	// certificate (kafkaAuth past "off").
	CA     pulumi.Resource
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
	Policy          *kube.Resource
	// With TLS listeners: the brokers' Certificate, the password of its
	// key and trust stores, and the JAAS file.
	Certificate      *kube.Resource
	KeystorePassword *kube.Resource
	JAAS             *kube.Resource

	// Bootstrap is the address clients in the namespace start from.
	Bootstrap pulumi.StringOutput `pulumi:"bootstrap"`
	// ClaimSize is the size every broker's claim has once this update
	// patched them.
	ClaimSize pulumi.StringOutput
	// ClusterIDValue is, in KRaft mode, the ID the ConfigMap holds in the
	// cluster: the stack records it, and the next run settles it.
	ClusterIDValue pulumi.StringOutput
}

// New creates the cluster.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*Kafka, error) {
	k, c, err := kube.Register[Kafka](ctx, "apk8s:data:Kafka", name, args.Namespace, opts...)
	if err != nil {
		return nil, err
	}
	ns := args.Namespace.Name
	brokers, client := brokerApp(ns), clientApp(ns)
	l := ListenersAt(args.Config.Auth)
	var tlsObjects []pulumi.Resource
	if l.TLS() {
		if args.CA == nil {
			return nil, fmt.Errorf("kafka %q: kafkaAuth %q needs the namespace's CA", name, l.Stage)
		}
		k.KeystorePassword = c.Add(KeystorePassword, kube.Args{
			Object: keystorePassword(ns),
			Fields: pulumi.Map{"stringData": pulumi.ToSecret(pulumi.StringMap{passwordKey: pulumi.String(newPassword())})},
		}, pulumi.IgnoreChanges([]string{"stringData", "data"}))
		k.Certificate = c.Add(CertificateName, kube.Args{Object: brokerCertificate(ns)},
			pulumi.DependsOn([]pulumi.Resource{args.CA, k.KeystorePassword}))
		k.JAAS = c.Add(JAASName, kube.Args{Object: jaasMap(ns)})
		tlsObjects = []pulumi.Resource{k.Certificate, k.JAAS}
	}
	k.ServiceAccount = c.Add(name, kube.Args{Object: brokers.ServiceAccount()})
	k.Service = c.Add(name, kube.Args{Object: brokers.Service(l.ClientPorts()...)})
	var set workload.Set
	if args.Config.Mode == ModeKRaft {
		// The ID is the stack's (settled from its last outputs); the
		// ConfigMap mirrors it, immutable, and the brokers read it from
		// there, so their spec never changes with it. Its data is
		// ignored after creation as well: a run whose predecessor was
		// interrupted before recording the ID must not write another.
		k.ClusterID = c.Add(name+"-cluster-id", kube.Args{Object: clusterIDMap(ns, args.Config.ClusterID)},
			pulumi.IgnoreChanges([]string{"data"}))
		k.HeadlessService = c.Add(name+"-headless", kube.Args{Object: brokers.HeadlessService(HeadlessName,
			append(l.BrokerPorts(), l.ControllerPorts()...)...)})
		set = kraftStatefulSet(ns, args.Config)
	} else {
		k.HeadlessService = c.Add(name+"-headless", kube.Args{Object: brokers.HeadlessService(HeadlessName, l.BrokerPorts()...)})
		set = statefulSet(ns, args.ZooKeeper, args.Config)
	}
	after := append([]pulumi.Resource{k.HeadlessService, k.ServiceAccount}, tlsObjects...)
	if k.ClusterID != nil {
		after = append(after, k.ClusterID)
	}
	k.StatefulSet, k.ClaimSize = brokers.Durable(c, name, set, args.Growth, pulumi.DependsOn(append(after, args.After...)))
	k.Budget = c.Add(name, kube.Args{Object: brokers.Budget(1)})
	k.Policy = c.Add(name, kube.Args{Object: policy(ns, args.Config.Mode, l, args.Clients)})
	k.ClientAccount = c.Add(ClientPodName, kube.Args{Object: client.ServiceAccount()})
	k.ClientPod = c.Add(ClientPodName, kube.Args{Object: clientPod(ns, args.Config)},
		pulumi.DependsOn([]pulumi.Resource{k.ClientAccount}))
	if err := c.Err(); err != nil {
		return nil, err
	}
	if k.ClusterID != nil {
		k.ClusterIDValue = k.ClusterID.Data.ApplyT(func(data map[string]any) string {
			id, _ := data[ClusterIDKey].(string)
			return id
		}).(pulumi.StringOutput)
	}
	k.Bootstrap = pulumi.Sprintf("%s:%d", Name, l.ClientPorts()[0].Port)
	return k, ctx.RegisterResourceOutputs(k, pulumi.Map{"bootstrap": k.Bootstrap})
}

// brokerApp is the brokers' StatefulSet and what selects them.
func brokerApp(ns string) workload.App {
	return workload.App{Name: Name, Namespace: ns, Labels: Labels, User: User}
}

// ClientLabels select the client pod.
var ClientLabels = map[string]string{"app": ClientPodName}

// clientApp is the client pod, which no Service selects.
func clientApp(ns string) workload.App {
	return workload.App{Name: ClientPodName, Namespace: ns, Labels: ClientLabels, User: User}
}

// policy admits the brokers, the client pod and clients to the clients'
// listeners, the brokers alone to their own (SSL: replication) and in
// KRaft mode to the controller ports (the quorum: fetches and votes);
// nothing else reaches a broker.
func policy(ns, mode string, l Listeners, clients []workload.Peer) *networkingv1.NetworkPolicy {
	from := append([]workload.Peer{workload.Pods(Labels), workload.Pods(ClientLabels)}, clients...)
	brokersOnly := []workload.Peer{workload.Pods(Labels)}
	rules := []workload.Ingress{{Ports: l.ClientPorts(), From: from}}
	if l.TLS() {
		rules = append(rules, workload.Ingress{Ports: []workload.Port{SSL.Port}, From: brokersOnly})
	}
	if mode == ModeKRaft {
		rules = append(rules, workload.Ingress{Ports: l.ControllerPorts(), From: brokersOnly})
	}
	return brokerApp(ns).Policy(rules...)
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
func startCommand(ns string, l Listeners) string {
	return fmt.Sprintf(`export KAFKA_BROKER_ID=${HOSTNAME##*-}
export KAFKA_ADVERTISED_LISTENERS=%s
exec /etc/confluent/docker/run`, advertise(BrokerHost(ns, "${HOSTNAME}"), l.Broker))
}

func statefulSet(ns, zookeeper string, c Config) workload.Set {
	l := ListenersAt(c.Auth)
	env := []corev1.EnvVar{
		{Name: "KAFKA_LISTENERS", Value: bind("0.0.0.0", l.Broker)},
		heapEnv(c),
		{Name: "KAFKA_ZOOKEEPER_CONNECT", Value: zookeeper},
		{Name: "KAFKA_LOG_DIRS", Value: dataDir + "/logs"},
		// The image's start script checks that this directory is
		// writable (default /var/lib/kafka/data, the image's volume
		// path, which no claim backs): the claim.
		{Name: "KAFKA_DATA_DIRS", Value: dataDir},
		{Name: "LOG_DIR", Value: logDir},
	}
	// Kafka creates its internal topics once, with the values of that
	// moment (docs/data-services.md, "Replication").
	env = append(env, c.topicEnv()...)
	if l.TLS() {
		// PLAINTEXT alone needs neither: it is Kafka's default.
		env = append(env,
			corev1.EnvVar{Name: "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", Value: l.protocolMap(false)},
			corev1.EnvVar{Name: "KAFKA_INTER_BROKER_LISTENER_NAME", Value: l.InterBroker.Name})
	}
	env = append(env, l.securityEnv(ModeZooKeeper)...)
	spec := brokerSpec(ns, c, dataDir, []string{"sh", "-exc", startCommand(ns, l)}, env, l, l.BrokerPorts()...)
	// The root file system is read-only. The Confluent entrypoint writes
	// kafka.properties and the log4j files into /etc/kafka beside the
	// image's own. (Read from the image's scripts, not tried on a cluster here.)
	workload.WritableCopy(&spec, &spec.Containers[0], "etc-kafka", "/etc/kafka")
	return withJAASHash(brokerSet(c, spec, false), l)
}

// brokerSpec is the pod of a broker of either mode under the restricted
// security context: the image's start command and variables, the ports,
// resources, probes, the data volume at dir, and scratch directories for
// the JVM's GC log (LOG_DIR) and perf data (/tmp).
func brokerSpec(ns string, c Config, dir string, command []string, env []corev1.EnvVar, l Listeners, ports ...workload.Port) corev1.PodSpec {
	probe := intstr.FromString(l.Broker[0].Port.Name)
	spec := brokerApp(ns).PodSpec(corev1.Container{
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
			ProbeHandler:        corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: probe}},
			InitialDelaySeconds: 30, PeriodSeconds: 10, TimeoutSeconds: 5, FailureThreshold: 3,
		},
		LivenessProbe: &corev1.Probe{
			ProbeHandler:        corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: probe}},
			InitialDelaySeconds: 60, PeriodSeconds: 10, TimeoutSeconds: 5, FailureThreshold: 6,
		},
		VolumeMounts: []corev1.VolumeMount{{Name: ClaimName, MountPath: dir}},
	})
	spec.TerminationGracePeriodSeconds = ptr.To(int64(60))
	broker := &spec.Containers[0]
	workload.Scratch(&spec, broker, "log", logDir)
	workload.Scratch(&spec, broker, "tmp", "/tmp")
	if l.TLS() {
		mountSecrets(&spec, broker)
	}
	return spec
}

// heapEnv fixes the brokers' heap; both images pass it to the JVM, not to
// the broker's properties.
func heapEnv(c Config) corev1.EnvVar {
	return corev1.EnvVar{Name: "KAFKA_HEAP_OPTS", Value: workload.HeapOpts(c.Heap)}
}

// brokerSet is the StatefulSet "kafka" of either mode around the pod spec:
// one "datadir" claim per broker, retained and grown by App.Durable.
func brokerSet(c Config, spec corev1.PodSpec, parallel bool) workload.Set {
	return workload.Set{
		Replicas:    c.Replicas,
		ServiceName: HeadlessName,
		Parallel:    parallel,
		Pod:         spec,
		Claim:       workload.Claim(ClaimName, c.StorageSize, c.StorageClass),
	}
}

// clientPod idles so that users can exec the console tools in it.
func clientPod(ns string, c Config) *corev1.Pod {
	app := clientApp(ns)
	spec := app.PodSpec(corev1.Container{
		Name:    Name,
		Image:   c.Image,
		Command: []string{"sh", "-c", "exec tail -f /dev/null"},
		Env:     []corev1.EnvVar{{Name: "LOG_DIR", Value: logDir}},
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m"), corev1.ResourceMemory: resource.MustParse("256Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")},
		},
	})
	// The console tools write their logs and the JVM's perf data; users
	// work in /tmp.
	workload.Scratch(&spec, &spec.Containers[0], "log", logDir)
	workload.Scratch(&spec, &spec.Containers[0], "tmp", "/tmp")
	return &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: app.Meta(ClientPodName),
		Spec:       spec,
	}
}
