package kafka

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"

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
// pods 0 to voters-1, node ids being the pod ordinals, on the port of the
// controller listener in use.
func QuorumVoters(ns string, voters int32, l Listeners) string {
	list := make([]string, voters)
	for i := range voters {
		list[i] = fmt.Sprintf("%d@%s:%d", i, PodHost(ns, i), l.Controller[0].Port.Port)
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
// read. Immutable: the API server refuses any edit of the ID, which would
// make every broker refuse its own log directory.
func clusterIDMap(ns, id string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: brokerApp(ns).Meta(ClusterIDName),
		Data:       map[string]string{ClusterIDKey: id},
		Immutable:  ptr.To(true),
	}
}

// IsClusterID tells a KRaft cluster ID: 16 bytes in unpadded base64url.
func IsClusterID(id string) bool {
	b, err := base64.RawURLEncoding.DecodeString(id)
	return err == nil && len(b) == 16
}

// kraftStartCommand picks each pod's node id, roles and listeners from its
// ordinal and hands over to the command in "$@" (the image's run script):
// the voters listen on the controller listeners too, which no pod
// advertises (they are no broker endpoints).
func kraftStartCommand(ns string, voters int32, l Listeners) string {
	return fmt.Sprintf(`id=${HOSTNAME##*-}
export KAFKA_NODE_ID="$id"
export KAFKA_ADVERTISED_LISTENERS="%[1]s"
if [ "$id" -lt %[2]d ]; then
  export KAFKA_PROCESS_ROLES=%[3]s
  export KAFKA_LISTENERS="%[4]s"
else
  export KAFKA_PROCESS_ROLES=%[5]s
  export KAFKA_LISTENERS="%[6]s"
fi
exec "$@"`, advertise(BrokerHost(ns, "${HOSTNAME}"), l.Broker), voters, ProcessRoles(0, 1),
		bind("", append(slices.Clone(l.Broker), l.Controller...)), ProcessRoles(1, 1), bind("", l.Broker))
}

func kraftStatefulSet(ns string, c Config) workload.Set {
	l := ListenersAt(c.Auth)
	rf := c.replication()
	replication, isr := fmt.Sprint(rf), fmt.Sprint(c.MinInSyncReplicas())
	// Setting any KAFKA_* variable drops the image's defaults: every
	// property the cluster needs is here. The internal topics' factors
	// default to 3, more than a small cluster has; they and min.insync
	// follow the ZooKeeper mode's (docs/data-services.md, "Replication").
	env := append(c.topicEnv(), []corev1.EnvVar{
		{Name: "CLUSTER_ID", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: ClusterIDName}, Key: ClusterIDKey,
		}}},
		{Name: "KAFKA_CONTROLLER_QUORUM_VOTERS", Value: QuorumVoters(ns, c.Voters, l)},
		{Name: "KAFKA_CONTROLLER_LISTENER_NAMES", Value: l.controllerNames()},
		{Name: "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", Value: l.protocolMap(true)},
		{Name: "KAFKA_INTER_BROKER_LISTENER_NAME", Value: l.InterBroker.Name},
		{Name: "KAFKA_LOG_DIRS", Value: kraftDataDir + "/logs"},
		{Name: "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR", Value: replication},
		{Name: "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR", Value: isr},
		{Name: "LOG_DIR", Value: logDir},
		heapEnv(c),
	}...)
	env = append(env, l.securityEnv(ModeKRaft)...)
	spec := brokerSpec(ns, c, kraftDataDir,
		[]string{"sh", "-ec", kraftStartCommand(ns, c.Voters, l), "kafka", runPath}, env, l,
		append(l.BrokerPorts(), l.ControllerPorts()...)...)
	// The root file system is read-only; the image's run script renders
	// server.properties and the log4j files into /opt/kafka/config beside
	// the image's own. (Read from the image's scripts, not tried on a
	// cluster here.)
	workload.WritableCopy(&spec, &spec.Containers[0], "opt-kafka-config", "/opt/kafka/config")
	// Parallel: the voters must all start before any of them can elect a
	// leader and turn ready; an ordered start would wait on pod 0 forever.
	return withJAASHash(brokerSet(c, spec, true), l)
}
