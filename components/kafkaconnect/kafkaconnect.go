// Package kafkaconnect is the MQTT → Kafka half of the chapter's pipeline:
// a Kafka Connect cluster in distributed mode in the data namespace, running
// Lenses stream-reactor's MQTT source connector, configured through
// Connect's REST API by an idempotent Job. The worker reads a mounted
// properties file (the broker images' environment-to-properties mapping
// does not apply to Connect); the connector's jars come with the image,
// pinned by digest, so nothing is downloaded when a pod starts.
package kafkaconnect

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/apk8s/apk8s-platform/apis/certmanagerv1"
	"github.com/apk8s/apk8s-platform/components/dataca"
	"github.com/apk8s/apk8s-platform/internal/workload"
	"github.com/apk8s/apk8s-platform/providers/kube"
)

// Names and places.
const (
	Name = "kafka-connect"
	// ConfigureName names the Job that configures the connectors.
	ConfigureName = Name + "-configure"
	// EgressPolicyName names the policy of the workers' connections.
	EgressPolicyName = Name + "-egress"
	// WorkerFile is the worker's properties file in the ConfigMap.
	WorkerFile = "connect-distributed.properties"
	// MetricsFile is the JMX exporter's rules in the ConfigMap.
	MetricsFile = "jmx-exporter.yaml"
	configDir   = "/etc/kafka-connect"
	// SecretsDir holds the MQTT credentials, read through Connect's
	// FileConfigProvider: the password never travels in a connector's
	// config over the REST API, nor sits in the config topic.
	SecretsDir = "/etc/kafka-connect/secrets"
	// MQTTCredentialsFile is the properties file of the MQTT user.
	MQTTCredentialsFile = "mqtt.properties"
	connectorsDir       = "/etc/kafka-connect/connectors"
	// MQTTTLSDir holds the client certificate, its key and the CA of the
	// broker's TLS listener (tls.crt, tls.key, ca.crt).
	MQTTTLSDir = "/etc/kafka-connect/mqtt-tls"
	// ClientCertificateName names the Certificate and its Secret.
	ClientCertificateName = Name + "-mqtt-client"

	// Where the image (images/kafka-connect-mqtt) puts things.
	PluginPath     = "/opt/connect-plugins"
	connectScript  = "/opt/kafka/bin/connect-distributed.sh"
	jmxAgent       = "/opt/jmx/jmx_prometheus_javaagent.jar"
	ConfigureBin   = "/usr/local/bin/connect-configure"
	ConnectorClass = "io.lenses.streamreactor.connect.mqtt.source.MqttSourceConnector"

	// GroupID and the internal topics of the Connect cluster.
	GroupID       = "apk8s-connect"
	ConfigsTopic  = "apk8s-connect-configs"
	OffsetsTopic  = "apk8s-connect-offsets"
	StatusTopic   = "apk8s-connect-status"
	topicsPerSink = 3 // partitions of a target topic Connect creates
)

// Ports of a worker.
var (
	REST    = workload.Port{Name: "rest", Port: 8083}
	Metrics = workload.Port{Name: "metrics", Port: 9404}
)

// User is the image's user (apache/kafka runs as uid 1000).
const User = 1000

// Labels select the workers; ConfigureLabels the configuring Job's pod.
var (
	Labels          = map[string]string{"app": Name}
	ConfigureLabels = map[string]string{"app": ConfigureName}
)

// Route takes the messages of MQTT topic filters into one Kafka topic,
// each record keyed by the MQTT topic it came from.
type Route struct {
	Name       string
	Filters    []string
	KafkaTopic string
	QoS        int
}

// Config is the validated shape of the Connect cluster.
type Config struct {
	// Image is the Connect image with the connector's jars, pinned by digest.
	Image  string
	Routes []Route
}

// Args are the inputs of the component.
type Args struct {
	Namespace kube.Namespace
	// Bootstrap is the Kafka brokers' address ("kafka:9092"), and
	// BrokerLabels select their pods, for the egress policy.
	Bootstrap    string
	BrokerLabels map[string]string
	BrokerPort   int32
	// Replication is the factor of Connect's internal topics and of the
	// topics it creates: the rule of the other internal topics.
	Replication int32
	// MQTT is the broker's address ("mqtt:1883"), MQTTLabels its pods;
	// MQTTUser and MQTTPassword (a secret) the credentials.
	MQTT         string
	MQTTLabels   map[string]string
	MQTTPort     int32
	MQTTUser     string
	MQTTPassword pulumi.StringOutput
	// MQTTTLS connects to the broker's TLS listener with a client
	// certificate of the namespace's CA, which CA issues.
	MQTTTLS bool
	CA      pulumi.Resource
	// Scrapers may reach the metrics port (Prometheus).
	Scrapers []workload.Peer
	// After are what the workers wait for (the brokers' StatefulSet).
	After  []pulumi.Resource
	Config Config
}

// Connect is the component.
type Connect struct {
	pulumi.ResourceState

	ServiceAccount *kube.Resource
	ConfigMap      *kube.Resource
	Credentials    *kube.Resource
	Deployment     *kube.Resource
	Service        *kube.Resource
	Policy         *kube.Resource
	Egress         *kube.Resource
	Configure      *kube.Resource
	ClientCert     *kube.Resource
	ConfigureAcct  *kube.Resource
	ConfigurePol   *kube.Resource
	// REST is the workers' REST address in the namespace.
	REST pulumi.StringOutput `pulumi:"rest"`
}

// New creates the Connect cluster and the Job that configures its
// connectors.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*Connect, error) {
	k, c, err := kube.Register[Connect](ctx, "apk8s:data:KafkaConnect", name, args.Namespace, opts...)
	if err != nil {
		return nil, err
	}
	ns := args.Namespace.Name
	workers, job := app(ns), configureApp(ns)
	files := ConfigFiles(args)
	if args.MQTTTLS {
		k.ClientCert = c.Add(ClientCertificateName, kube.Args{Object: ClientCertificate(ns)}, pulumi.DependsOn([]pulumi.Resource{args.CA}))
	}
	k.ServiceAccount = c.Add(name, kube.Args{Object: workers.ServiceAccount()})
	k.ConfigMap = c.Add(name, kube.Args{Object: configMap(ns, files)})
	k.Credentials = c.Add(name+"-mqtt", kube.Args{
		Object: &corev1.Secret{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Labels: Labels},
			Type:       corev1.SecretTypeOpaque,
		},
		Fields: pulumi.Map{"stringData": pulumi.ToSecret(pulumi.StringMap{
			MQTTCredentialsFile: args.MQTTPassword.ApplyT(func(p string) string {
				return MQTTCredentials(args.MQTTUser, p)
			}).(pulumi.StringOutput),
		})},
	})
	if c.Err() == nil {
		// A new password is a new Secret under a new name, which rolls the
		// workers (they read the file when a task starts).
		spec := k.Credentials.Name().ApplyT(func(secret string) (map[string]any, error) {
			body, err := kube.Body(Deployment(ns, args, files, secret))
			if err != nil {
				return nil, err
			}
			return body["spec"].(map[string]any), nil
		}).(pulumi.MapOutput)
		after := append([]pulumi.Resource{k.ConfigMap, k.ServiceAccount}, args.After...)
		if k.ClientCert != nil {
			after = append(after, k.ClientCert)
		}
		k.Deployment = c.Add(name, kube.Args{Object: Deployment(ns, args, files, ""), Fields: pulumi.Map{"spec": spec}},
			pulumi.DependsOn(after))
	}
	k.Service = c.Add(name, kube.Args{Object: workers.Service(REST)})
	k.Policy = c.Add(name, kube.Args{Object: workers.Policy(
		workload.Ingress{Ports: []workload.Port{REST}, From: []workload.Peer{workload.Pods(ConfigureLabels)}},
		workload.Ingress{Ports: []workload.Port{Metrics}, From: args.Scrapers},
	)})
	k.Egress = c.Add(EgressPolicyName, kube.Args{Object: EgressPolicy(ns, args)})
	k.ConfigureAcct = c.Add(ConfigureName, kube.Args{Object: job.ServiceAccount()})
	k.ConfigurePol = c.Add(ConfigureName, kube.Args{Object: workload.EgressPolicy(ns, ConfigureName, ConfigureLabels,
		workload.Egress{Ports: []int32{REST.Port}, To: []workload.Peer{workload.Pods(Labels)}}, workload.DNS())})
	if k.Deployment != nil {
		k.Configure = c.Add(ConfigureName, kube.Args{Object: ConfigureJob(ns, args.Config, files)},
			pulumi.DependsOn([]pulumi.Resource{k.Deployment, k.Service, k.ConfigureAcct, k.ConfigurePol}),
			// The Job's template cannot change: new connectors are a new Job.
			pulumi.ReplaceOnChanges([]string{"spec"}), pulumi.DeleteBeforeReplace(true))
	}
	if err := c.Err(); err != nil {
		return nil, err
	}
	k.REST = pulumi.Sprintf("http://%s:%d", Name, REST.Port)
	return k, ctx.RegisterResourceOutputs(k, pulumi.Map{"rest": k.REST})
}

func app(ns string) workload.App {
	return workload.App{Name: Name, Namespace: ns, Labels: Labels, User: User}
}

func configureApp(ns string) workload.App {
	return workload.App{Name: ConfigureName, Namespace: ns, Labels: ConfigureLabels, User: User}
}

// MQTTCredentials is the properties file the connector's password comes
// from (FileConfigProvider reads key=value lines).
func MQTTCredentials(user, password string) string {
	return "username=" + user + "\npassword=" + password + "\n"
}

// WorkerProperties is the worker's configuration (keys of Kafka's
// WorkerConfig and DistributedConfig).
func WorkerProperties(args Args) map[string]string {
	rf := fmt.Sprint(args.Replication)
	return map[string]string{
		"bootstrap.servers": args.Bootstrap,
		"group.id":          GroupID,
		// The three internal topics, with the replication rule of the
		// other internal topics.
		"config.storage.topic":              ConfigsTopic,
		"offset.storage.topic":              OffsetsTopic,
		"status.storage.topic":              StatusTopic,
		"config.storage.replication.factor": rf,
		"offset.storage.replication.factor": rf,
		"status.storage.replication.factor": rf,
		// MQTT payloads are bytes; the key is the MQTT topic, a string.
		"key.converter":   "org.apache.kafka.connect.storage.StringConverter",
		"value.converter": "org.apache.kafka.connect.converters.ByteArrayConverter",
		"listeners":       fmt.Sprintf("http://0.0.0.0:%d", REST.Port),
		// Workers forward REST requests to the leader at this address.
		"rest.advertised.host.name":   "${env:POD_IP}",
		"rest.advertised.port":        fmt.Sprint(REST.Port),
		"plugin.path":                 PluginPath,
		"config.providers":            "env,file",
		"config.providers.env.class":  "org.apache.kafka.common.config.provider.EnvVarConfigProvider",
		"config.providers.file.class": "org.apache.kafka.common.config.provider.FileConfigProvider",
		// Connectors may create their target topics (KIP-158).
		"topic.creation.enable": "true",
	}
}

// ConnectorConfig is a route's connector configuration (keys of the
// connector's MqttConfigConstants, Kafka's ConnectorConfig and
// SourceConnectorConfig).
func ConnectorConfig(args Args, r Route) map[string]string {
	var kcql []string
	for _, f := range r.Filters {
		kcql = append(kcql, fmt.Sprintf("INSERT INTO `%s` SELECT * FROM `%s`", r.KafkaTopic, f))
	}
	secret := func(key string) string {
		return fmt.Sprintf("${file:%s/%s:%s}", SecretsDir, MQTTCredentialsFile, key)
	}
	c := map[string]string{
		"connector.class": ConnectorClass,
		// One task: MQTT 3.1.1 subscriptions are not shared, and a second
		// task would receive and write every message again.
		"tasks.max":                    "1",
		"connect.mqtt.hosts":           "tcp://" + args.MQTT,
		"connect.mqtt.username":        secret("username"),
		"connect.mqtt.password":        secret("password"),
		"connect.mqtt.client.id":       "apk8s-connect-" + r.Name,
		"connect.mqtt.service.quality": fmt.Sprint(r.QoS),
		// A kept session: the broker queues QoS 1/2 messages while the
		// task restarts.
		"connect.mqtt.clean": "false",
		"connect.mqtt.kcql":  strings.Join(kcql, ";"),
		// The connector keys each record with a struct of the MQTT topic
		// and message id; the key becomes the topic alone.
		"transforms":                                "mqttTopicKey",
		"transforms.mqttTopicKey.type":              "org.apache.kafka.connect.transforms.ExtractField$Key",
		"transforms.mqttTopicKey.field":             "topic",
		"topic.creation.default.replication.factor": fmt.Sprint(args.Replication),
		"topic.creation.default.partitions":         fmt.Sprint(topicsPerSink),
	}
	if args.MQTTTLS {
		// Paho's TLS scheme; the connector takes the CA, the client
		// certificate and its key together or none of them
		// (MqttSourceSettings).
		c["connect.mqtt.hosts"] = "ssl://" + args.MQTT
		c["connect.mqtt.ssl.ca.cert"] = MQTTTLSDir + "/" + dataca.CAKey
		c["connect.mqtt.ssl.cert"] = MQTTTLSDir + "/" + dataca.CertKey
		c["connect.mqtt.ssl.key"] = MQTTTLSDir + "/" + dataca.PrivateKeyKey
	}
	return c
}

// ClientCertificate is Connect's certificate on the broker's TLS listener.
// Its key is PKCS#1, not the namespace's usual PKCS#8: the connector reads
// the key with BouncyCastle's PEMParser as a key pair, which only the
// traditional form gives (MqttSSLSocketFactory.scala).
func ClientCertificate(ns string) *certmanagerv1.Certificate {
	cert := dataca.Certificate(ns, ClientCertificateName, ClientCertificateName, Name, nil)
	cert.Spec.Usages = []string{"client auth", "digital signature", "key encipherment"}
	cert.Spec.PrivateKey.Encoding = "PKCS1"
	return cert
}

// ConnectorName is the connector of a route.
func ConnectorName(r Route) string { return "mqtt-" + r.Name }

// ConfigFiles are the ConfigMap's files: the worker's properties, the
// metrics rules and one JSON file per connector, named after it.
func ConfigFiles(args Args) map[string]string {
	files := map[string]string{
		WorkerFile:  properties(WorkerProperties(args)),
		MetricsFile: "lowercaseOutputName: true\nrules:\n  - pattern: \"kafka.connect<type=(.+)-metrics, (.+)=(.+)><>(.+):\"\n  - pattern: \".*\"\n",
	}
	for _, r := range args.Config.Routes {
		body, _ := json.MarshalIndent(ConnectorConfig(args, r), "", "  ")
		files[ConnectorName(r)+".json"] = string(body) + "\n"
	}
	return files
}

// properties writes key=value lines in key order.
func properties(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("# Generated by apk8s-platform.\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s\n", k, m[k])
	}
	return b.String()
}

func configMap(ns string, files map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: app(ns).Meta(Name),
		Data:       files,
	}
}

// hash changes with the files, so that a new configuration rolls the pods.
func hash(files map[string]string) string {
	keys := make([]string, 0, len(files))
	for k := range files {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%s\x00%s\x00", k, files[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// ConfigHashAnnotation on the pod templates changes with the ConfigMap.
const ConfigHashAnnotation = "apk8s.dev/config-sha256"

// Deployment runs one worker; secret names the MQTT credentials' Secret.
func Deployment(ns string, args Args, files map[string]string, secret string) *appsv1.Deployment {
	workers := app(ns)
	spec := workers.PodSpec(corev1.Container{
		Name:    Name,
		Image:   args.Config.Image,
		Command: []string{connectScript, configDir + "/" + WorkerFile},
		Env: []corev1.EnvVar{
			{Name: "POD_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
			{Name: "KAFKA_HEAP_OPTS", Value: "-Xms512m -Xmx512m"},
			{Name: "KAFKA_OPTS", Value: fmt.Sprintf("-javaagent:%s=%d:%s/%s", jmxAgent, Metrics.Port, configDir, MetricsFile)},
			// connect-distributed.sh writes its logs under LOG_DIR; the
			// root file system is read-only.
			{Name: "LOG_DIR", Value: "/tmp/logs"},
		},
		Ports: workload.ContainerPorts(REST, Metrics),
		VolumeMounts: []corev1.VolumeMount{
			{Name: "config", MountPath: configDir, ReadOnly: true},
			{Name: "mqtt", MountPath: SecretsDir, ReadOnly: true},
		},
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("768Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")},
		},
		ReadinessProbe: &corev1.Probe{
			ProbeHandler:     corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromString(REST.Name)}},
			PeriodSeconds:    10,
			FailureThreshold: 3,
		},
		LivenessProbe: &corev1.Probe{
			ProbeHandler:        corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString(REST.Name)}},
			InitialDelaySeconds: 60, PeriodSeconds: 20,
		},
	})
	workload.Scratch(&spec, &spec.Containers[0], "tmp", "/tmp")
	spec.Volumes = append(spec.Volumes,
		corev1.Volume{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: Name},
		}}},
		// Readable by the workers' group (fsGroup) only.
		corev1.Volume{Name: "mqtt", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName: secret, DefaultMode: ptr.To(int32(0o440)),
		}}},
	)
	if args.MQTTTLS {
		spec.Volumes = append(spec.Volumes, corev1.Volume{Name: "mqtt-tls", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName: ClientCertificateName, DefaultMode: ptr.To(int32(0o440)),
		}}})
		spec.Containers[0].VolumeMounts = append(spec.Containers[0].VolumeMounts,
			corev1.VolumeMount{Name: "mqtt-tls", MountPath: MQTTTLSDir, ReadOnly: true})
	}
	return workers.Deployment(spec, map[string]string{ConfigHashAnnotation: hash(files)})
}

// EgressPolicy lets the workers reach the brokers and the MQTT broker,
// the cluster's DNS to find them, and nothing else.
func EgressPolicy(ns string, args Args) *networkingv1.NetworkPolicy {
	return workload.EgressPolicy(ns, EgressPolicyName, Labels,
		workload.Egress{Ports: []int32{args.BrokerPort}, To: []workload.Peer{workload.Pods(args.BrokerLabels)}},
		workload.Egress{Ports: []int32{args.MQTTPort}, To: []workload.Peer{workload.Pods(args.MQTTLabels)}},
		workload.DNS(),
	)
}

// ConfigureJob puts each route's connector config through the REST API
// (connect-configure: create when missing, update when different, nothing
// when equal), retrying while the workers start.
func ConfigureJob(ns string, c Config, files map[string]string) *batchv1.Job {
	job := configureApp(ns)
	args := []string{"-url", fmt.Sprintf("http://%s:%d", Name, REST.Port), "-wait", "10m"}
	for _, r := range c.Routes {
		args = append(args, "-connector", ConnectorName(r)+"="+connectorsDir+"/"+ConnectorName(r)+".json")
	}
	spec := job.PodSpec(corev1.Container{
		Name:         ConfigureName,
		Image:        c.Image,
		Command:      []string{ConfigureBin},
		Args:         args,
		VolumeMounts: []corev1.VolumeMount{{Name: "config", MountPath: connectorsDir, ReadOnly: true}},
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("16Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")},
		},
	})
	spec.RestartPolicy = corev1.RestartPolicyOnFailure
	spec.Volumes = []corev1.Volume{{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: Name},
	}}}}
	return &batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Labels: ConfigureLabels},
		Spec: batchv1.JobSpec{
			BackoffLimit: ptr.To(int32(4)),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: ConfigureLabels, Annotations: map[string]string{ConfigHashAnnotation: hash(files)}},
				Spec:       spec,
			},
		},
	}
}
