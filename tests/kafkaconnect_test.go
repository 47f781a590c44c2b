package tests

import (
	"bufio"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/apk8s/apk8s-platform/apis/monitoringv1"
	"github.com/apk8s/apk8s-platform/components/kafkaconnect"
)

const (
	tokJob      = "kubernetes:batch/v1:Job"
	connectTest = `[{"name":"machines","mqttTopics":["factory/machines/#"],"kafkaTopic":"machines","qos":1}]`
)

// connectRun is the local stack with one MQTT → Kafka route.
func connectRun(set map[string]string) Run {
	s := map[string]string{
		"mqttToKafka":       connectTest,
		"kafkaConnectImage": "ghcr.io/apk8s/kafka-connect-mqtt:4.3.1-9.0.2@sha256:" + digest,
	}
	for k, v := range set {
		s[k] = v
	}
	return Run{Stack: "local", Set: s}
}

// workerKeys are the worker settings Kafka Connect defines, as named in
// apache/kafka connect/runtime/src/main/java/org/apache/kafka/connect/runtime/WorkerConfig.java
// (bootstrap.servers, key/value.converter, listeners, rest.advertised.*,
// plugin.path, config.providers and its per-provider ".class",
// topic.creation.enable) and .../runtime/distributed/DistributedConfig.java
// (group.id, the three *.storage.topic and *.storage.replication.factor).
var workerKeys = map[string]bool{
	"bootstrap.servers": true, "group.id": true,
	"config.storage.topic": true, "offset.storage.topic": true, "status.storage.topic": true,
	"config.storage.replication.factor": true, "offset.storage.replication.factor": true, "status.storage.replication.factor": true,
	"key.converter": true, "value.converter": true, "listeners": true,
	"rest.advertised.host.name": true, "rest.advertised.port": true, "plugin.path": true,
	"config.providers": true, "config.providers.env.class": true, "config.providers.file.class": true,
	"topic.creation.enable": true,
}

// connectorKeys are the keys a connector's config may use here: the MQTT
// source's own, from lensesio/stream-reactor
// kafka-connect-mqtt/src/main/scala/io/lenses/streamreactor/connect/mqtt/config/MqttConfigConstants.scala
// (connect.mqtt.hosts, .username, .password, .client.id,
// .service.quality, .clean, .kcql, .ssl.ca.cert, .ssl.cert, .ssl.key), and Connect's, from apache/kafka
// connect/runtime/src/main/java/org/apache/kafka/connect/runtime/ConnectorConfig.java
// (connector.class, tasks.max, transforms and transforms.<alias>.type) and
// SourceConnectorConfig.java (topic.creation.default.*); the transform's
// own "field" from connect/transforms/.../ExtractField.java.
var connectorKeys = map[string]bool{
	"connector.class": true, "tasks.max": true,
	"connect.mqtt.hosts": true, "connect.mqtt.username": true, "connect.mqtt.password": true,
	"connect.mqtt.client.id": true, "connect.mqtt.service.quality": true, "connect.mqtt.clean": true, "connect.mqtt.kcql": true,
	"connect.mqtt.ssl.ca.cert": true, "connect.mqtt.ssl.cert": true, "connect.mqtt.ssl.key": true,
	"transforms": true, "transforms.mqttTopicKey.type": true, "transforms.mqttTopicKey.field": true,
	"topic.creation.default.replication.factor": true, "topic.creation.default.partitions": true,
}

func readProperties(t *testing.T, body string) map[string]string {
	t.Helper()
	out := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		require.True(t, ok, "not a property line: %q", line)
		out[k] = v
	}
	return out
}

// TestKafkaConnectGraph: the Connect cluster of the chapter's pipeline,
// read like the listings: its worker properties and connector config use
// only keys Kafka and the connector define, its internal topics follow
// the internal topics' replication rule, the connector reads the MQTT
// password from the mounted Secret, and one task runs.
func TestKafkaConnectGraph(t *testing.T) {
	t.Parallel()
	g := connectRun(nil).MustDo(t)
	var cm corev1.ConfigMap
	g.Object(t, tokConfigMap, kafkaconnect.Name).Decode(t, &cm)

	worker := readProperties(t, cm.Data[kafkaconnect.WorkerFile])
	for k := range worker {
		assert.True(t, workerKeys[k], "worker key %s is none of Kafka Connect's", k)
	}
	assert.Equal(t, "kafka:9092", worker["bootstrap.servers"])
	for _, topic := range []string{"config", "offset", "status"} {
		assert.NotEmpty(t, worker[topic+".storage.topic"])
		// The local stack runs 2 brokers: min(3, 2) copies, as every
		// other internal topic.
		assert.Equal(t, "2", worker[topic+".storage.replication.factor"], topic)
	}
	assert.Equal(t, kafkaconnect.PluginPath, worker["plugin.path"])

	var connector map[string]string
	require.NoError(t, json.Unmarshal([]byte(cm.Data["mqtt-machines.json"]), &connector))
	for k := range connector {
		assert.True(t, connectorKeys[k], "connector key %s is none of the connector's or Connect's", k)
	}
	assert.Equal(t, kafkaconnect.ConnectorClass, connector["connector.class"])
	assert.Equal(t, "1", connector["tasks.max"], "one task: a second would write every message twice")
	assert.Equal(t, "tcp://mqtt:1883", connector["connect.mqtt.hosts"])
	assert.Equal(t, "INSERT INTO `machines` SELECT * FROM `factory/machines/#`", connector["connect.mqtt.kcql"])
	assert.Equal(t, "topic", connector["transforms.mqttTopicKey.field"], "the key is the MQTT topic")
	assert.Equal(t, "2", connector["topic.creation.default.replication.factor"])
	assert.Equal(t, "${file:/etc/kafka-connect/secrets/mqtt.properties:password}", connector["connect.mqtt.password"])
	assert.NotContains(t, cm.Data["mqtt-machines.json"], TestMQTTPassword)

	// The password comes from a Pulumi secret, mounted where the
	// connector's reference points.
	var creds *Res
	for _, r := range g.Find(tokSecret) {
		if r.Name == "kafka-connect-mqtt" {
			creds = r
		}
	}
	require.NotNil(t, creds)
	require.True(t, creds.Inputs["stringData"].IsSecret())
	var secret corev1.Secret
	creds.Decode(t, &secret)
	assert.Equal(t, "username=apk8s\npassword="+TestMQTTPassword+"\n", secret.StringData[kafkaconnect.MQTTCredentialsFile])

	var d appsv1.Deployment
	g.Object(t, tokDeploy, kafkaconnect.Name).Decode(t, &d)
	pod := d.Spec.Template.Spec
	require.Len(t, pod.Containers, 1)
	worker0 := pod.Containers[0]
	assert.Equal(t, "ghcr.io/apk8s/kafka-connect-mqtt:4.3.1-9.0.2@sha256:"+digest, worker0.Image)
	assert.Equal(t, []string{"/opt/kafka/bin/connect-distributed.sh", "/etc/kafka-connect/" + kafkaconnect.WorkerFile}, worker0.Command,
		"the worker runs on the mounted properties file")
	mounts := map[string]string{}
	for _, m := range worker0.VolumeMounts {
		mounts[m.Name] = m.MountPath
	}
	assert.Equal(t, "/etc/kafka-connect", mounts["config"])
	assert.Equal(t, kafkaconnect.SecretsDir, mounts["mqtt"])
	for _, v := range pod.Volumes {
		if v.Name == "mqtt" {
			assert.Equal(t, "kafka-connect-mqtt-a1b2c3d4", v.Secret.SecretName)
		}
		if v.Name == "config" {
			assert.Equal(t, kafkaconnect.Name, v.ConfigMap.Name)
		}
	}
	assert.True(t, *worker0.SecurityContext.ReadOnlyRootFilesystem)
	assert.True(t, *pod.SecurityContext.RunAsNonRoot)
	assert.NotNil(t, worker0.Resources.Limits.Memory())

	// The Job configures the connector from the same file, after the
	// workers run.
	jobRes := g.Find(tokJob)
	require.Len(t, jobRes, 1)
	var job batchv1.Job
	jobRes[0].Decode(t, &job)
	c := job.Spec.Template.Spec.Containers[0]
	assert.Equal(t, []string{kafkaconnect.ConfigureBin}, c.Command)
	assert.Contains(t, c.Args, "mqtt-machines=/etc/kafka-connect/connectors/mqtt-machines.json")
	assert.Contains(t, c.Args, "http://kafka-connect:8083")
	assert.Equal(t, worker0.Image, c.Image, "connect-configure ships in the Connect image")
	assert.Contains(t, jobRes[0].DependsOn, g.Object(t, tokDeploy, kafkaconnect.Name).URN)
}

// TestKafkaConnectPolicies: the workers reach the brokers and the MQTT
// broker, and nothing else; the brokers admit them; their REST port is
// open to the configuring Job alone.
func TestKafkaConnectPolicies(t *testing.T) {
	t.Parallel()
	g := connectRun(nil).MustDo(t)
	pols := policies(t, g)
	workers := endpoint{namespace: "data", labels: kafkaconnect.Labels}
	broker := endpoint{namespace: "data", labels: map[string]string{"app": "kafka"}}
	mqttPod := endpoint{namespace: "data", labels: map[string]string{"app": "mqtt"}}
	zk := endpoint{namespace: "data", labels: map[string]string{"app": "zookeeper"}}
	assert.True(t, allows(t, pols, workers, broker, 9092, corev1.ProtocolTCP), "the brokers admit the workers")

	var egress networkingv1.NetworkPolicy
	g.Object(t, tokNetPol, kafkaconnect.EgressPolicyName).Decode(t, &egress)
	assert.True(t, egressAdmits(t, egress, broker, 9092, corev1.ProtocolTCP))
	assert.True(t, egressAdmits(t, egress, mqttPod, 1883, corev1.ProtocolTCP))
	assert.False(t, egressAdmits(t, egress, zk, 2181, corev1.ProtocolTCP), "not the ensemble")
	assert.False(t, egressAdmits(t, egress, endpointOutside("203.0.113.10"), 443, corev1.ProtocolTCP), "nothing outside: no download at start")

	job := endpoint{namespace: "data", labels: kafkaconnect.ConfigureLabels}
	assert.True(t, allows(t, pols, job, workers, 8083, corev1.ProtocolTCP))
	assert.False(t, allows(t, pols, broker, workers, 8083, corev1.ProtocolTCP), "REST is the Job's alone")
}

// TestKafkaConnectScraped: with monitoring the workers' metrics port is
// scraped through a PodMonitor that selects them.
func TestKafkaConnectScraped(t *testing.T) {
	t.Parallel()
	g := connectRun(map[string]string{"monitoring": "existing"}).MustDo(t)
	var pm monitoringv1.PodMonitor
	g.Object(t, tokPodMonitor, kafkaconnect.Name).Decode(t, &pm)
	var d appsv1.Deployment
	g.Object(t, tokDeploy, kafkaconnect.Name).Decode(t, &d)
	assert.True(t, selects(t, &pm.Spec.Selector, d.Spec.Template.Labels))
	require.Len(t, pm.Spec.PodMetricsEndpoints, 1)
	var ports []string
	for _, p := range d.Spec.Template.Spec.Containers[0].Ports {
		ports = append(ports, p.Name)
	}
	assert.Contains(t, ports, pm.Spec.PodMetricsEndpoints[0].Port)
	prom := endpoint{namespace: "monitoring", labels: map[string]string{"app": "prometheus"}}
	assert.True(t, allows(t, policies(t, g), prom, endpoint{namespace: "data", labels: kafkaconnect.Labels}, kafkaconnect.Metrics.Port, corev1.ProtocolTCP))
}

// TestNoRoutesNoConnect: without mqttToKafka nothing of Connect exists.
func TestNoRoutesNoConnect(t *testing.T) {
	t.Parallel()
	g := Run{Stack: "local"}.MustDo(t)
	assert.Empty(t, g.Find(tokJob))
	for _, r := range g.Find(tokDeploy) {
		assert.NotEqual(t, kafkaconnect.Name, r.K8sName())
	}
}

// TestBadRoutesRefused: bad routes and an image not pinned by digest are
// refused before anything is registered.
func TestBadRoutesRefused(t *testing.T) {
	t.Parallel()
	checkBadConfigs(t, []badConfig{
		{"image without digest", Run{Stack: "local", Set: map[string]string{"mqttToKafka": connectTest}},
			[]string{`apk8s-platform:kafkaConnectImage = "ghcr.io/apk8s/kafka-connect-mqtt:4.3.1-9.0.2" is not allowed: must be pinned by digest`}},
		{"no MQTT topic", connectRun(map[string]string{"mqttToKafka": `[{"name":"m","mqttTopics":[],"kafkaTopic":"m"}]`}),
			[]string{`apk8s-platform:mqttToKafka[0].mqttTopics = "[]" (route "m") is not allowed`}},
		{"a Kafka topic name Kafka refuses", connectRun(map[string]string{"mqttToKafka": `[{"name":"m","mqttTopics":["a/#"],"kafkaTopic":"a/b"}]`}),
			[]string{`mqttToKafka[0].kafkaTopic = "a/b" (route "m") is not allowed: must be a Kafka topic name`}},
		{"Connect's own topic", connectRun(map[string]string{"mqttToKafka": `[{"name":"m","mqttTopics":["a/#"],"kafkaTopic":"apk8s-connect-offsets"}]`}),
			[]string{`mqttToKafka[0].kafkaTopic = "apk8s-connect-offsets"`, "not one of Kafka's or Connect's internal topics"}},
		{"QoS 3", connectRun(map[string]string{"mqttToKafka": `[{"name":"m","mqttTopics":["a/#"],"kafkaTopic":"m","qos":3}]`}),
			[]string{`mqttToKafka[0].qos = "3"`}},
	})
}

// TestKafkaConnectMQTTOverTLS: where the broker has its TLS listener, the
// connector connects there with a client certificate of the namespace's
// CA, whose key is in the traditional PKCS#1 form the connector reads.
func TestKafkaConnectMQTTOverTLS(t *testing.T) {
	t.Parallel()
	g := connectRun(map[string]string{"certManager": "existing"}).MustDo(t)
	var cm corev1.ConfigMap
	g.Object(t, tokConfigMap, kafkaconnect.Name).Decode(t, &cm)
	var connector map[string]string
	require.NoError(t, json.Unmarshal([]byte(cm.Data["mqtt-machines.json"]), &connector))
	for k := range connector {
		assert.True(t, connectorKeys[k], "connector key %s is none of the connector's or Connect's", k)
	}
	assert.Equal(t, "ssl://mqtt:8883", connector["connect.mqtt.hosts"])
	assert.Equal(t, kafkaconnect.MQTTTLSDir+"/ca.crt", connector["connect.mqtt.ssl.ca.cert"])
	assert.Equal(t, kafkaconnect.MQTTTLSDir+"/tls.crt", connector["connect.mqtt.ssl.cert"])
	assert.Equal(t, kafkaconnect.MQTTTLSDir+"/tls.key", connector["connect.mqtt.ssl.key"])

	var cert struct {
		Spec struct {
			SecretName string
			PrivateKey struct{ Encoding string }
			IssuerRef  struct{ Name string }
		}
	}
	g.Object(t, tokCert, kafkaconnect.ClientCertificateName).Decode(t, &cert)
	assert.Equal(t, "PKCS1", cert.Spec.PrivateKey.Encoding)
	assert.Equal(t, "data-ca", cert.Spec.IssuerRef.Name)

	var d appsv1.Deployment
	g.Object(t, tokDeploy, kafkaconnect.Name).Decode(t, &d)
	found := false
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.Secret != nil && v.Secret.SecretName == cert.Spec.SecretName {
			found = true
		}
	}
	assert.True(t, found, "the workers mount the certificate's Secret")
	assert.Contains(t, d.Spec.Template.Spec.Containers[0].VolumeMounts, corev1.VolumeMount{Name: "mqtt-tls", MountPath: kafkaconnect.MQTTTLSDir, ReadOnly: true})

	var egress networkingv1.NetworkPolicy
	g.Object(t, tokNetPol, kafkaconnect.EgressPolicyName).Decode(t, &egress)
	mqttPod := endpoint{namespace: "data", labels: map[string]string{"app": "mqtt"}}
	assert.True(t, egressAdmits(t, egress, mqttPod, 8883, corev1.ProtocolTCP))
	assert.False(t, egressAdmits(t, egress, mqttPod, 1883, corev1.ProtocolTCP), "not the plain listener")
	assert.True(t, allows(t, policies(t, g), endpoint{namespace: "data", labels: kafkaconnect.Labels}, mqttPod, 8883, corev1.ProtocolTCP), "the broker admits the workers")
}
