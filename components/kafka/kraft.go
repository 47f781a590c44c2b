package kafka

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/apk8s/apk8s-platform/internal/workload"
)

// KRaft mode: Apache Kafka 4 without ZooKeeper. The first Voters pods of the
// StatefulSet "kafka" are controllers as well as brokers and form the
// controller quorum; the pods after them are brokers only, so scaling the
// set never touches the quorum. The official image formats its storage on
// every start (an already formatted volume is left alone) with the cluster
// ID it is given, and only supports a static voter list.

// Controller is the KRaft controller listener. Only the headless Service
// carries it: controllers and brokers reach the voters under their pod
// names, clients never do.
var Controller = workload.Port{Name: "controller", Port: 9093}

// ClusterIDName names the ConfigMap that keeps the cluster ID, under the
// key ClusterIDKey.
const (
	ClusterIDName = "kafka-cluster-id"
	ClusterIDKey  = "CLUSTER_ID"
	kraftDataDir  = "/var/lib/kafka/data"
	// runPath is the image's own start script, which turns KAFKA_*
	// variables into server.properties, formats the storage and starts.
	runPath = "/etc/kafka/docker/run"
)

// kafkaUID is the user of both Kafka images ("appuser").
const kafkaUID = int64(1000)

// DefaultVoters is the quorum a new cluster of brokers gets: three
// controllers when there are three brokers to carry them, else one. An even
// quorum would survive no more failures than the odd one below it.
func DefaultVoters(brokers int32) int32 {
	if brokers >= 3 {
		return 3
	}
	return 1
}

// ProcessRoles is process.roles of the pod with ordinal i in a cluster of
// voters controllers: the first voters pods are controllers too.
func ProcessRoles(i, voters int32) string {
	if i < voters {
		return "broker,controller"
	}
	return "broker"
}

// PodHost is the stable DNS name of pod i under the headless Service.
func PodHost(ns string, i int32) string {
	return fmt.Sprintf("%s-%d.%s.%s.svc.cluster.local", Name, i, HeadlessName, ns)
}

// QuorumVoters is controller.quorum.voters: "<node id>@<host>:<port>" of
// pods 0 to voters-1, node ids being the pod ordinals.
func QuorumVoters(ns string, voters int32) string {
	list := make([]string, voters)
	for i := range voters {
		list[i] = fmt.Sprintf("%d@%s:%d", i, PodHost(ns, i), Controller.Port)
	}
	return strings.Join(list, ",")
}

// NewClusterID draws a KRaft cluster ID: 16 random bytes in unpadded
// base64url, the form `kafka-storage random-uuid` prints. Like Kafka's own,
// it never starts with '-', which a command line would take for an option.
func NewClusterID() string {
	b := make([]byte, 16)
	for {
		if _, err := rand.Read(b); err != nil {
			panic(err) // crypto/rand does not fail on supported platforms
		}
		if id := base64.RawURLEncoding.EncodeToString(b); id[0] != '-' {
			return id
		}
	}
}

// clusterIDMap keeps the cluster ID in the namespace for the brokers to
// read; the program registers it with its data ignored after creation.
func clusterIDMap(ns, id string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: brokerApp(ns).Meta(ClusterIDName),
		Data:       map[string]string{ClusterIDKey: id},
	}
}

// kraftStartCommand picks each pod's node id, roles and listeners from its
// ordinal and hands over to the command in "$@" (the image's run script).
func kraftStartCommand(ns string, voters int32) string {
	return fmt.Sprintf(`id=${HOSTNAME##*-}
export KAFKA_NODE_ID="$id"
export KAFKA_ADVERTISED_LISTENERS="PLAINTEXT://${HOSTNAME}.%[1]s.%[2]s.svc.cluster.local:%[3]d"
if [ "$id" -lt %[4]d ]; then
  export KAFKA_PROCESS_ROLES=%[5]s
  export KAFKA_LISTENERS="PLAINTEXT://:%[3]d,CONTROLLER://:%[6]d"
else
  export KAFKA_PROCESS_ROLES=%[7]s
  export KAFKA_LISTENERS="PLAINTEXT://:%[3]d"
fi
exec "$@"`, HeadlessName, ns, Broker.Port, voters, ProcessRoles(0, 1), Controller.Port, ProcessRoles(1, 1))
}

func kraftStatefulSet(ns string, c Config) *appsv1.StatefulSet {
	replication := fmt.Sprint(c.OffsetsTopicReplicas)
	// Setting any KAFKA_* variable drops the image's defaults: every
	// property the cluster needs is here. The internal topics' factors
	// default to 3, more than a small cluster has.
	env := []corev1.EnvVar{
		{Name: "CLUSTER_ID", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: ClusterIDName}, Key: ClusterIDKey,
		}}},
		{Name: "KAFKA_CONTROLLER_QUORUM_VOTERS", Value: QuorumVoters(ns, c.Voters)},
		{Name: "KAFKA_CONTROLLER_LISTENER_NAMES", Value: "CONTROLLER"},
		{Name: "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", Value: "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"},
		{Name: "KAFKA_INTER_BROKER_LISTENER_NAME", Value: "PLAINTEXT"},
		{Name: "KAFKA_LOG_DIRS", Value: kraftDataDir + "/logs"},
		{Name: "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", Value: replication},
		{Name: "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", Value: replication},
		{Name: "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", Value: "1"},
		{Name: "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR", Value: replication},
		{Name: "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR", Value: "1"},
		heapEnv(c),
	}
	broker := brokerContainer(c, kraftDataDir,
		[]string{"sh", "-ec", kraftStartCommand(ns, c.Voters), "kafka", runPath}, env, Broker, Controller)
	spec := brokerApp(ns).PodSpec(broker)
	kraftSecurity(&spec)
	// Parallel: the voters must all start before any of them can elect a
	// leader and turn ready; an ordered start would wait on pod 0 forever.
	return brokerSet(ns, c, spec, appsv1.ParallelPodManagement)
}

// kraftSecurity runs the pods of the Apache Kafka image as its appuser,
// never as root, under the runtime's default seccomp profile, without
// privilege escalation or capabilities; fsGroup makes each claim theirs.
func kraftSecurity(spec *corev1.PodSpec) {
	spec.SecurityContext = &corev1.PodSecurityContext{
		RunAsNonRoot:   ptr.To(true),
		RunAsUser:      ptr.To(kafkaUID),
		RunAsGroup:     ptr.To(kafkaUID),
		FSGroup:        ptr.To(kafkaUID),
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
	for i := range spec.Containers {
		spec.Containers[i].SecurityContext = &corev1.SecurityContext{
			AllowPrivilegeEscalation: ptr.To(false),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		}
	}
}
