package stacks

import "slices"

// Project is the Pulumi project name and the namespace of every config key.
const Project = "apk8s-platform"

// Key is one stack config key: the Pulumi.yaml `config:` section declares
// exactly these, with the same type and default (a test holds them equal).
type Key struct {
	Name        string
	Type        string // "string", "integer", "boolean" or "array", as Pulumi.yaml spells it
	Items       string // an array's item type ("object")
	Default     string // "" with HasDefault false: no default
	HasDefault  bool
	Secret      bool
	Description string
}

func def(name, typ, value, description string) Key {
	return Key{Name: name, Type: typ, Default: value, HasDefault: true, Description: description}
}

// Keys are every config key of the project: the Kubernetes layer's here,
// the cluster's and the add-ons' beside the code that reads them.
var Keys = slices.Concat(coreKeys, clusterKeys, rollKeys, ciPathKeys, kapsuleKeys, addonKeys, bridgeKeys, pipelineKeys)

// coreKeys are the keys of the data layer, with the book's values as defaults.
var coreKeys = []Key{
	def("cluster", "string", "scaleway", `Where Kubernetes runs: "scaleway" builds the book's cluster (k3s on Instances), "kapsule" a cluster on Scaleway's managed Kubernetes, "existing" deploys to the cluster of a kubeconfig context. Fixed for a stack's life: a switch is a new cluster.`),
	def("kubeContext", "string", "", `kubeconfig context of an existing cluster ("" = the current context). Only with cluster "existing".`),
	def("disposable", "boolean", "false", "The stack is a dev stack that the teardown workflow may destroy; any other stack it refuses."),
	def("renderYamlToDirectory", "string", "", `Write the Kubernetes manifests to this directory instead of applying them ("" = apply).`),
	def("domain", "string", "dev3.apk8s.dev", "DNS domain of the cluster; the data certificate covers data.<domain>, nifi.data.<domain> and kib.data.<domain>."),
	def("certificate", "boolean", "true", "Create the Certificate data-cert (needs cert-manager's CRDs in the cluster)."),
	def("certificateIssuer", "string", "", `ClusterIssuer of data-cert: "letsencrypt-staging" (high rate limits; its certificates are not trusted by browsers), "letsencrypt-production", or "" = staging for a disposable stack (rebuilt often: production allows 5 duplicate certificates a week), production for a kept one.`),
	def("basicAuthUser", "string", "sysop", "User of the htpasswd line in Secret sysop-basic-auth."),
	{Name: "basicAuthPassword", Type: "string", Secret: true, Description: "Password of the basic-auth user, 8 to 72 bytes; set it with `pulumi config set --secret`."},
	def("storageClass", "string", "rook-ceph-block", `StorageClass of the ZooKeeper and Kafka claims ("" = the cluster's default class).`),
	def("zookeeperImage", "string", "zookeeper:3.8.6", "ZooKeeper container image."),
	def("zookeeperReplicas", "integer", "2", "ZooKeeper ensemble size, 1 to 7 (an even size tolerates no more failures than the odd size below it). Fixed once the ensemble runs: a change is refused (docs/data-services.md, \"Resizing the ensemble\")."),
	def("zookeeperHeap", "string", "1G", "ZooKeeper JVM heap (-Xmx/-Xms), at least 128m."),
	def("zookeeperMemoryLimit", "string", "2Gi", "ZooKeeper container memory limit, at least 256Mi; the heap may take at most 75% of it."),
	def("zookeeperStorageSize", "string", "1Gi", "ZooKeeper claim size per member, at least 512Mi."),
	def("kafkaMode", "string", "zookeeper", `How Kafka keeps its metadata: "zookeeper" runs the book's Confluent brokers on the ZooKeeper ensemble, "kraft" runs Apache Kafka 4 with a controller quorum among its own pods and no ZooKeeper. Fixed for a stack's life: a switch would start an empty cluster (docs/kafka-modes.md).`),
	def("kafkaImage", "string", "confluentinc/cp-kafka:7.9.6", `Kafka broker and client image in kafkaMode "zookeeper" (Confluent Platform 7.9, the last line that runs on ZooKeeper).`),
	def("kafkaKraftImage", "string", "apache/kafka:4.3.1", `Kafka broker and client image in kafkaMode "kraft" (the official Apache Kafka image).`),
	def("kafkaControllerVoters", "integer", "0", `Controller quorum in kafkaMode "kraft": 1 or 3 of the brokers (pods 0 to n-1), at most kafkaReplicas; 0 = chosen when the cluster is created (3 with 3 or more brokers, else 1). Fixed for the cluster's life.`),
	def("kafkaClusterReset", "boolean", "false", "Lift the refusal to change kafkaMode, kafkaControllerVoters or zookeeperReplicas of an existing stack, for the update after its Kafka (and ZooKeeper) was destroyed (docs/kafka-modes.md, \"Switching modes\"); set it back to false afterwards."),
	def("kafkaReplicas", "integer", "2", "Number of Kafka brokers, 1 to 32."),
	def("kafkaHeap", "string", "1G", "Kafka broker JVM heap (KAFKA_HEAP_OPTS), at least 256m."),
	def("kafkaMemoryLimit", "string", "2Gi", "Kafka broker container memory limit, at least 512Mi; the heap may take at most 75% of it."),
	def("kafkaStorageSize", "string", "5Gi", "Kafka claim datadir size per broker, at least 1Gi."),
	def("kafkaOffsetsReplication", "integer", "0", "Replication factor of the internal topics (consumer offsets, transaction state) when Kafka first creates them, at most kafkaReplicas; 0 = min(3, kafkaReplicas)."),
	def("kafkaAuth", "string", "off", `Authentication of Kafka, in stages that a running cluster takes one per update (docs/kafka-auth.md): "off" the book's PLAINTEXT listener; "dual" adds SASL_SSL (SCRAM-SHA-512 over TLS, port 9094) for clients and SSL (mutual TLS, 9091) for brokers beside it; "internal" moves the brokers' (and KRaft controllers') traffic to mutual TLS; "on" turns on the authorizer (the brokers as super users) and drops PLAINTEXT. Past "off" it needs cert-manager.`),
	def("mosquittoImage", "string", "eclipse-mosquitto:2.0.22", "Mosquitto MQTT broker image."),
	def("mqttUser", "string", "apk8s", "User MQTT clients authenticate as."),
	{Name: "mqttPassword", Type: "string", Secret: true, Description: "Password of the MQTT user, 8 to 72 bytes; set it with `pulumi config set --secret`."},
	def("mqttPlainListener", "boolean", "false", `Keep the book's plain MQTT listener (1883) beside the TLS one (8883), for the book's exercises; passwords then cross the network in plain text. With certManager "none" there is no TLS listener (it needs a certificate of the namespace's CA) and the plain one stays on whatever this says.`),
}
