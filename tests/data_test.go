package tests

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/apk8s/apk8s-platform/apis/certmanagerv1"
	"github.com/apk8s/apk8s-platform/components/mosquitto"
)

// dataStacks are the stacks whose data layer the tests read.
var dataStacks = []Run{
	{Stack: "dev3"},
	{Stack: "local"},
}

// dataGraph runs a stack with mocks that answer like the providers (dev3's
// cluster needs its kubeconfig before any Kubernetes object exists); the
// graph is shared: read it, never change it.
func dataGraph(t *testing.T, run Run) *Graph {
	t.Helper()
	return run.Shared(t).Graph
}

const (
	tokNamespace = "kubernetes:core/v1:Namespace"
	tokService   = "kubernetes:core/v1:Service"
	tokSecret    = "kubernetes:core/v1:Secret"
	tokConfigMap = "kubernetes:core/v1:ConfigMap"
	tokPod       = "kubernetes:core/v1:Pod"
	tokSTS       = "kubernetes:apps/v1:StatefulSet"
	tokDeploy    = "kubernetes:apps/v1:Deployment"
	tokPDB       = "kubernetes:policy/v1:PodDisruptionBudget"
	tokCert      = "kubernetes:cert-manager.io/v1:Certificate"
	tokNetPol    = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
)

// TestDataObjectsOfTheBook: every object of the chapter, with the book's
// name, in the data namespace, of the kind and apiVersion the book uses or
// its current replacement.
func TestDataObjectsOfTheBook(t *testing.T) {
	t.Parallel()
	want := []struct{ token, name, namespace string }{
		{tokNamespace, "data", ""},
		{tokSecret, "sysop-basic-auth", "data"},
		{tokService, "zookeeper", "data"},
		{tokService, "zookeeper-headless", "data"},
		{tokSTS, "zookeeper", "data"},
		{tokService, "kafka", "data"},
		{tokService, "kafka-headless", "data"},
		{tokSTS, "kafka", "data"},
		{tokPDB, "kafka", "data"},
		{tokPod, "kafka-client-util", "data"},
		{tokConfigMap, "mqtt", "data"},
		{tokDeploy, "mqtt", "data"},
		{tokService, "mqtt", "data"},
	}
	for _, run := range dataStacks {
		t.Run(run.Stack, func(t *testing.T) {
			g := dataGraph(t, run)
			for _, w := range want {
				r := g.Object(t, w.token, w.name)
				assert.Equal(t, w.namespace, r.K8sNamespace(), "%s %s", w.token, w.name)
				apiVersion, kind := tokenParts(w.token)
				assert.Equal(t, apiVersion, r.Plain()["apiVersion"], "%s %s", w.token, w.name)
				assert.Equal(t, kind, r.Plain()["kind"], "%s %s", w.token, w.name)
			}
		})
	}
}

// tokenParts is the apiVersion and kind a provider token stands for.
func tokenParts(token string) (apiVersion, kind string) {
	parts := strings.Split(token, ":")
	apiVersion = strings.TrimPrefix(parts[1], "core/")
	return apiVersion, parts[2]
}

// workloads are the pod templates of a graph's StatefulSets, Deployments
// and bare Pods, by "<Kind>/<name>".
func workloads(t *testing.T, g *Graph) map[string]corev1.PodTemplateSpec {
	out := map[string]corev1.PodTemplateSpec{}
	for r, tmpl := range podTemplates(t, g) {
		_, kind := tokenParts(r.Type)
		out[kind+"/"+r.K8sName()] = tmpl
	}
	return out
}

// podTemplates are the pod templates of every registration that makes
// pods: StatefulSets, Deployments, DaemonSets and bare Pods.
func podTemplates(t *testing.T, g *Graph) map[*Res]corev1.PodTemplateSpec {
	t.Helper()
	out := map[*Res]corev1.PodTemplateSpec{}
	for _, r := range g.All {
		switch r.Type {
		case tokSTS, tokDeploy, "kubernetes:apps/v1:DaemonSet":
			// The three workload kinds keep their pods at spec.template.
			var w struct {
				Spec struct {
					Template corev1.PodTemplateSpec `json:"template"`
				} `json:"spec"`
			}
			r.Decode(t, &w)
			out[r] = w.Spec.Template
		case tokPod:
			var p corev1.Pod
			r.Decode(t, &p)
			out[r] = corev1.PodTemplateSpec{ObjectMeta: p.ObjectMeta, Spec: p.Spec}
		}
	}
	return out
}

// selected are the workloads whose pods a selector picks.
func selected(sel map[string]string, ws map[string]corev1.PodTemplateSpec) []string {
	var out []string
	for name, w := range ws {
		if len(sel) > 0 && labels.SelectorFromSet(sel).Matches(labels.Set(w.Labels)) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// TestServicesSelectTheirWorkloads: each Service selects exactly the pods of
// the workload it fronts (the client pod is not a broker), and every port
// targets a container port of those pods, by name or number.
func TestServicesSelectTheirWorkloads(t *testing.T) {
	t.Parallel()
	fronts := map[string]string{
		"zookeeper":          "StatefulSet/zookeeper",
		"zookeeper-headless": "StatefulSet/zookeeper",
		"kafka":              "StatefulSet/kafka",
		"kafka-headless":     "StatefulSet/kafka",
		"mqtt":               "Deployment/mqtt",
	}
	for _, run := range dataStacks {
		t.Run(run.Stack, func(t *testing.T) {
			g := dataGraph(t, run)
			ws := workloads(t, g)
			for svcName, workload := range fronts {
				var svc corev1.Service
				g.Object(t, tokService, svcName).Decode(t, &svc)
				assert.Equal(t, []string{workload}, selected(svc.Spec.Selector, ws), "Service %s selects", svcName)
				pod := ws[workload].Spec
				for _, p := range svc.Spec.Ports {
					assert.True(t, targetsContainerPort(p, pod), "Service %s port %s (%d → %s) targets no container port of %s",
						svcName, p.Name, p.Port, p.TargetPort.String(), workload)
				}
			}
		})
	}
}

func targetsContainerPort(p corev1.ServicePort, pod corev1.PodSpec) bool {
	for _, c := range pod.Containers {
		for _, cp := range c.Ports {
			if p.TargetPort.String() == cp.Name || p.TargetPort.IntValue() == int(cp.ContainerPort) {
				return p.Protocol == cp.Protocol
			}
		}
	}
	return false
}

// TestStatefulSetsHaveHeadlessServices: serviceName is a headless Service
// of the same namespace that selects the set's pods and publishes them
// before they are ready (members must find each other to become ready).
func TestStatefulSetsHaveHeadlessServices(t *testing.T) {
	t.Parallel()
	for _, run := range dataStacks {
		t.Run(run.Stack, func(t *testing.T) {
			g := dataGraph(t, run)
			sets := g.Find(tokSTS)
			require.Len(t, sets, 2)
			for _, r := range sets {
				var s appsv1.StatefulSet
				r.Decode(t, &s)
				var svc corev1.Service
				g.Object(t, tokService, s.Spec.ServiceName).Decode(t, &svc)
				assert.Equal(t, s.Namespace, svc.Namespace)
				assert.Equal(t, corev1.ClusterIPNone, svc.Spec.ClusterIP, "%s's serviceName %s", s.Name, svc.Name)
				assert.True(t, svc.Spec.PublishNotReadyAddresses)
				assert.True(t, labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(s.Spec.Template.Labels)))
				sel, err := metaSelector(s.Spec.Selector.MatchLabels)
				require.NoError(t, err)
				assert.True(t, sel.Matches(labels.Set(s.Spec.Template.Labels)), "%s selector matches its template", s.Name)
				// The StatefulSet waits for its headless Service.
				assert.Contains(t, r.DependsOn, g.Object(t, tokService, s.Spec.ServiceName).URN)
			}
		})
	}
}

func metaSelector(m map[string]string) (labels.Selector, error) {
	return labels.ValidatedSelectorFromSet(m)
}

// TestKafkaStatefulSet reads like the book's listing 5-9, modernised.
func TestKafkaStatefulSet(t *testing.T) {
	t.Parallel()
	tests := []struct {
		run   Run
		class *string
		size  string
		limit string
	}{
		{Run{Stack: "dev3"}, ptr("rook-ceph-block"), "5Gi", "2Gi"},
		{Run{Stack: "local"}, nil, "5Gi", "1536Mi"},
		{Run{Stack: "local", Set: map[string]string{"storageClass": "standard", "kafkaStorageSize": "20Gi"}}, ptr("standard"), "20Gi", "1536Mi"},
	}
	for _, tt := range tests {
		t.Run(tt.run.Stack+fmt.Sprint(tt.run.Set), func(t *testing.T) {
			g := dataGraph(t, tt.run)
			var s appsv1.StatefulSet
			g.Object(t, tokSTS, "kafka").Decode(t, &s)
			assert.Equal(t, int32(2), *s.Spec.Replicas)
			assert.Equal(t, "kafka-headless", s.Spec.ServiceName)
			assert.Equal(t, int64(60), *s.Spec.Template.Spec.TerminationGracePeriodSeconds)
			require.Len(t, s.Spec.VolumeClaimTemplates, 1)
			claim := s.Spec.VolumeClaimTemplates[0]
			assert.Equal(t, "datadir", claim.Name)
			assert.Equal(t, []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}, claim.Spec.AccessModes)
			want := resource.MustParse(tt.size)
			assert.Equal(t, want.Value(), claim.Spec.Resources.Requests.Storage().Value())
			assert.Equal(t, tt.class, claim.Spec.StorageClassName)
			assert.Equal(t, appsv1.RetainPersistentVolumeClaimRetentionPolicyType, s.Spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted,
				"a deleted or replaced StatefulSet leaves the brokers' data")

			pod := s.Spec.Template.Spec
			require.Len(t, pod.Containers, 1)
			c := pod.Containers[0]
			assert.Equal(t, "kafka-broker", c.Name)
			assert.Equal(t, Default(t, "kafkaImage"), c.Image)
			assert.Contains(t, c.VolumeMounts, corev1.VolumeMount{Name: "datadir", MountPath: "/opt/kafka/data"})
			// No KAFKA_PORT from a service link: the Confluent image stops on it.
			require.NotNil(t, pod.EnableServiceLinks)
			assert.False(t, *pod.EnableServiceLinks)
			env := envMap(c.Env)
			assert.Equal(t, "zookeeper-headless:2181", env["KAFKA_ZOOKEEPER_CONNECT"])
			g.Object(t, tokService, strings.Split(env["KAFKA_ZOOKEEPER_CONNECT"], ":")[0]) // names a real Service
			assert.Equal(t, "-Xmx1G -Xms1G", env["KAFKA_HEAP_OPTS"])
			assert.Equal(t, "/opt/kafka/data/logs", env["KAFKA_LOG_DIRS"])
			assert.Equal(t, "2", env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"], "one copy per broker")
			assert.NotContains(t, env, "KAFKA_JMX_PORT", "no remote JMX")
			assert.Len(t, c.Ports, 1, "the listener is the only port")
			script := c.Command[len(c.Command)-1]
			assert.Contains(t, script, "KAFKA_BROKER_ID=${HOSTNAME##*-}", "broker id from the pod ordinal")
			assert.Contains(t, script, "KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://${HOSTNAME}.kafka-headless.data.svc.cluster.local:9092")
			limit := resource.MustParse(tt.limit)
			assert.Equal(t, limit.Value(), c.Resources.Limits.Memory().Value())
		})
	}
}

func ptr[T any](v T) *T { return &v }

func envMap(env []corev1.EnvVar) map[string]string {
	m := map[string]string{}
	for _, e := range env {
		m[e.Name] = e.Value
	}
	return m
}

// TestKafkaDisruptionBudget: policy/v1 (v1beta1 is gone since 1.25), at most
// one broker down, selecting exactly the brokers.
func TestKafkaDisruptionBudget(t *testing.T) {
	t.Parallel()
	g := dataGraph(t, Run{Stack: "dev3"})
	var pdb policyv1.PodDisruptionBudget
	g.Object(t, tokPDB, "kafka").Decode(t, &pdb)
	assert.Equal(t, 1, pdb.Spec.MaxUnavailable.IntValue())
	sel, err := metaSelector(pdb.Spec.Selector.MatchLabels)
	require.NoError(t, err)
	assert.Equal(t, []string{"StatefulSet/kafka"}, selected(pdb.Spec.Selector.MatchLabels, workloads(t, g)))
	assert.False(t, sel.Empty())
}

// TestZooKeeperEnsemble: every member is in the server list under its
// headless-Service name with the book's ports; ids follow the ordinals.
func TestZooKeeperEnsemble(t *testing.T) {
	t.Parallel()
	for _, replicas := range []int{1, 2, 3, 5} {
		t.Run(fmt.Sprint(replicas), func(t *testing.T) {
			g := dataGraph(t, Run{Stack: "dev3", Set: map[string]string{"zookeeperReplicas": fmt.Sprint(replicas)}})
			var s appsv1.StatefulSet
			g.Object(t, tokSTS, "zookeeper").Decode(t, &s)
			assert.Equal(t, int32(replicas), *s.Spec.Replicas)
			c := s.Spec.Template.Spec.Containers[0]
			env := envMap(c.Env)
			servers := strings.Fields(env["ZOO_SERVERS"])
			require.Len(t, servers, replicas)
			for i, entry := range servers {
				assert.Equal(t, fmt.Sprintf("server.%d=zookeeper-%d.%s.data.svc.cluster.local:2888:3888;2181", i+1, i, s.Spec.ServiceName), entry)
			}
			assert.Equal(t, fmt.Sprint(replicas == 1), env["ZOO_STANDALONE_ENABLED"])
			assert.Contains(t, c.Command[len(c.Command)-1], "ZOO_MY_ID=$((${HOSTNAME##*-} + 1))")
			// Persistent data, owned by the image's user.
			assert.Contains(t, c.VolumeMounts, corev1.VolumeMount{Name: "data", MountPath: env["ZOO_DATA_DIR"]})
			assert.Equal(t, "data", s.Spec.VolumeClaimTemplates[0].Name)
			sc := s.Spec.Template.Spec.SecurityContext
			assert.Equal(t, int64(1000), *sc.FSGroup)
			assert.Equal(t, int64(1000), *sc.RunAsUser)
			// Readiness must not need a quorum, or members would wait on
			// each other: "ruok" on the client port answers without one.
			require.NotNil(t, c.ReadinessProbe.Exec)
			probe := strings.Join(c.ReadinessProbe.Exec.Command, " ")
			assert.Contains(t, probe, "/dev/tcp/127.0.0.1/2181")
			assert.Contains(t, probe, "ruok")
			assert.Contains(t, probe, `= imok ]`)
			assert.Contains(t, strings.Split(env["ZOO_4LW_COMMANDS_WHITELIST"], ","), "ruok")
			assert.Equal(t, appsv1.ParallelPodManagement, s.Spec.PodManagementPolicy)
			// No AdminServer (an unauthenticated HTTP API on 8080); old
			// snapshots purged daily.
			assert.Equal(t, "false", env["ZOO_ADMINSERVER_ENABLED"])
			for _, p := range c.Ports {
				assert.NotEqual(t, int32(8080), p.ContainerPort)
			}
			assert.Equal(t, "24", env["ZOO_AUTOPURGE_PURGEINTERVAL"])
			assert.Equal(t, "3", env["ZOO_AUTOPURGE_SNAPRETAINCOUNT"])
		})
	}
}

// TestBasicAuthSecret: the htpasswd line is a Pulumi secret under the key
// the stack's ingress controller reads (Traefik's "users" in dev3, the
// book's "auth" without a controller in local), verifies with bcrypt, and
// the password appears nowhere in plain text.
func TestBasicAuthSecret(t *testing.T) {
	t.Parallel()
	for _, run := range dataStacks {
		t.Run(run.Stack, func(t *testing.T) {
			g := dataGraph(t, run)
			r := g.Object(t, tokSecret, "sysop-basic-auth")
			require.True(t, r.Inputs["stringData"].IsSecret(), "stringData must be a Pulumi secret")
			assert.ElementsMatch(t, []string{"data", "stringData"}, r.AdditionalSecretOutputs)
			var s corev1.Secret
			r.Decode(t, &s)
			key := map[string]string{"dev3": "users", "local": "auth"}[run.Stack]
			require.Len(t, s.StringData, 1)
			user, hash, ok := strings.Cut(s.StringData[key], ":")
			require.True(t, ok)
			assert.Equal(t, "sysop", user)
			assert.NoError(t, bcrypt.CompareHashAndPassword([]byte(hash), []byte(TestPassword)))
			for _, other := range g.All {
				assert.NotContains(t, fmt.Sprint(other.Inputs.Mappable()), TestPassword, "%s %s holds the password", other.Type, other.Name)
			}
		})
	}
}

// TestBasicAuthSalt: the salt is random (each run draws another), and the
// line is salted with the one the keeper ConfigMap holds in the state: the
// engine keeps the first (the keeper's annotation changes are ignored, as
// the harness models), so the next `up` hashes with the same salt and leaves
// the Secret alone. The real second `up` is the e2e's empty preview.
func TestBasicAuthSalt(t *testing.T) {
	t.Parallel()
	run := func() (line, drawn string) {
		rec := Run{Stack: "local"}.MustRecord(t)
		var s corev1.Secret
		rec.Object(t, tokSecret, "sysop-basic-auth").Decode(t, &s)
		keeper := rec.Object(t, tokConfigMap, saltKeeper)
		var cm corev1.ConfigMap
		keeper.Decode(t, &cm)
		assert.ElementsMatch(t, []string{"metadata.annotations"}, rec.Request(keeper).GetIgnoreChanges(),
			"the engine keeps the first salt")
		_, hash, _ := strings.Cut(s.StringData["auth"], ":")
		require.Len(t, hash, 60)
		assert.NoError(t, bcrypt.CompareHashAndPassword([]byte(hash), []byte(TestPassword)))
		return hash, cm.Annotations[saltAnnotation]
	}
	first, drawn1 := run()
	second, drawn2 := run()
	assert.NotEqual(t, drawn1, drawn2, "every run draws a random salt")
	assert.Equal(t, first, second, "the same password hashes the same with the kept salt")
	kept, _ := keptSalts.Load("local")
	assert.Equal(t, kept.(string)[:21], second[7:28], "the line is salted with the kept salt, not the one drawn this run")
}

// TestCertificate: data-cert asks for the book's three names under the
// stack's domain (and the Kafka console's) (its issuer: TestCertificateIssuer); local switches it off.
func TestCertificate(t *testing.T) {
	t.Parallel()
	g := dataGraph(t, Run{Stack: "dev3"})
	var c certmanagerv1.Certificate
	g.Object(t, tokCert, "data-cert").Decode(t, &c)
	assert.Equal(t, "data", c.Namespace)
	assert.Equal(t, "data-production-tls", c.Spec.SecretName)
	assert.Equal(t, certmanagerv1.ObjectReference{Name: "letsencrypt-staging", Kind: "ClusterIssuer", Group: "cert-manager.io"}, c.Spec.IssuerRef)
	assert.Equal(t, []string{"data.dev3.apk8s.dev", "nifi.data.dev3.apk8s.dev", "kib.data.dev3.apk8s.dev", "kafka.data.dev3.apk8s.dev"}, c.Spec.DNSNames,
		"the book's three names, and the Kafka console's (TestKafkaConsole)")

	assert.Empty(t, dataGraph(t, Run{Stack: "local"}).Find(tokCert), "local switches the certificate off")
	g = dataGraph(t, Run{Stack: "local", Set: map[string]string{"certificate": "true", "certManager": "existing", "domain": "example.org"}})
	g.Object(t, tokCert, "data-cert").Decode(t, &c)
	assert.Equal(t, []string{"data.example.org", "nifi.data.example.org", "kib.data.example.org"}, c.Spec.DNSNames)
}

// TestMosquittoAuthenticates: the ConfigMap holds the generated
// mosquitto.conf (a listener, which Mosquitto 2 needs, and no anonymous
// clients), mounted where the image reads it; an init container of the
// same image hashes the credentials Secret into the password file the
// broker reads; a config change rolls the broker.
func TestMosquittoAuthenticates(t *testing.T) {
	t.Parallel()
	g := dataGraph(t, Run{Stack: "dev3"})
	var cm corev1.ConfigMap
	g.Object(t, tokConfigMap, "mqtt").Decode(t, &cm)
	conf := cm.Data["mosquitto.conf"]
	want := strings.Join([]string{
		"# Generated by apk8s-platform.",
		"listener 8883",
		"certfile /mosquitto/certs/tls.crt",
		"keyfile /mosquitto/certs/tls.key",
		"allow_anonymous false",
		"password_file /mosquitto/auth/passwd",
		"persistence false",
		"log_dest stdout",
	}, "\n") + "\n"
	assert.Equal(t, want, conf)
	// TestMosquittoRoundTrip runs a real broker on mosquitto.Conf: the
	// ConfigMap must hold what that test proved.
	assert.Equal(t, mosquitto.Conf("", "/mosquitto/auth/passwd", mosquitto.Listener{Port: 8883, CertDir: "/mosquitto/certs"}), conf,
		"the config the real-broker test runs")

	// The credentials: a secret, auto-named so that a new password is a new
	// Secret, which the Deployment names.
	var creds *Res
	for _, r := range g.Find(tokSecret) {
		if r.Name == "mqtt-credentials" {
			creds = r
		}
	}
	require.NotNil(t, creds, "no Secret mqtt-credentials")
	require.True(t, creds.Inputs["stringData"].IsSecret())
	assert.Empty(t, creds.K8sName(), "the provider names the Secret")
	var secret corev1.Secret
	creds.Decode(t, &secret)
	assert.Equal(t, "apk8s:"+TestMQTTPassword+"\n", secret.StringData["passwd"])

	var d appsv1.Deployment
	g.Object(t, tokDeploy, "mqtt").Decode(t, &d)
	assert.Equal(t, int32(1), *d.Spec.Replicas)
	pod := d.Spec.Template.Spec
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = v
	}
	assert.Equal(t, "mqtt", volumes["mqtt-config-volume"].ConfigMap.Name)
	assert.Equal(t, "mqtt-credentials-a1b2c3d4", volumes["credentials"].Secret.SecretName, "the Secret's generated name")
	require.NotNil(t, volumes["auth"].EmptyDir)
	broker := pod.Containers[0]
	assert.Contains(t, broker.VolumeMounts, corev1.VolumeMount{Name: "mqtt-config-volume", MountPath: "/mosquitto/config"})
	assert.Contains(t, broker.VolumeMounts, corev1.VolumeMount{Name: "auth", MountPath: "/mosquitto/auth", ReadOnly: true})
	assert.Equal(t, Default(t, "mosquittoImage"), broker.Image)
	require.Len(t, pod.InitContainers, 1)
	init := pod.InitContainers[0]
	assert.Equal(t, broker.Image, init.Image, "mosquitto_passwd of the broker's own image")
	script := strings.Join(init.Command, " ")
	assert.Contains(t, script, "mosquitto_passwd -U /mosquitto/auth/passwd")
	assert.NotContains(t, script, TestMQTTPassword)
	sum := sha256.Sum256([]byte(want))
	assert.Equal(t, hex.EncodeToString(sum[:]), d.Spec.Template.Annotations["apk8s.dev/config-sha256"], "the pod template changes with mosquitto.conf")

	var svc corev1.Service
	g.Object(t, tokService, "mqtt").Decode(t, &svc)
	require.Len(t, svc.Spec.Ports, 1, "the TLS listener alone")
	assert.Equal(t, int32(8883), svc.Spec.Ports[0].Port)
}

// componentOf maps each Kubernetes object to the component that owns it.
var componentOf = map[string]string{
	tokNamespace + " data":                  "apk8s:data:Namespace",
	tokSecret + " sysop-basic-auth":         "apk8s:data:Namespace",
	tokMiddleware + " sysop-basic-auth":     "apk8s:data:Namespace",
	tokCert + " data-cert":                  "apk8s:data:Namespace",
	tokService + " zookeeper":               "apk8s:data:ZooKeeper",
	tokService + " zookeeper-headless":      "apk8s:data:ZooKeeper",
	tokSTS + " zookeeper":                   "apk8s:data:ZooKeeper",
	tokPDB + " zookeeper":                   "apk8s:data:ZooKeeper",
	tokService + " kafka":                   "apk8s:data:Kafka",
	tokService + " kafka-headless":          "apk8s:data:Kafka",
	tokSTS + " kafka":                       "apk8s:data:Kafka",
	tokPDB + " kafka":                       "apk8s:data:Kafka",
	tokPod + " kafka-client-util":           "apk8s:data:Kafka",
	tokConfigMap + " mqtt":                  "apk8s:data:Mosquitto",
	tokDeploy + " mqtt":                     "apk8s:data:Mosquitto",
	tokService + " mqtt":                    "apk8s:data:Mosquitto",
	tokNetPol + " mqtt":                     "apk8s:data:Mosquitto",
	tokNetPol + " kafka":                    "apk8s:data:Kafka",
	tokNetPol + " zookeeper":                "apk8s:data:ZooKeeper",
	tokNetPol + " default-deny-ingress":     "apk8s:data:Namespace",
	tokNetPol + " acme-http01-solver":       "apk8s:data:Namespace",
	tokConfigMap + " sysop-basic-auth-salt": "apk8s:data:Namespace",
}

// TestDataParentsProviderAndOrder: each object is a child of its component,
// uses the stack's explicit Kubernetes provider, and every namespaced object
// waits for the namespace.
func TestDataParentsProviderAndOrder(t *testing.T) {
	t.Parallel()
	for _, run := range dataStacks {
		t.Run(run.Stack, func(t *testing.T) {
			g := dataGraph(t, run)
			providers := g.Find("pulumi:providers:kubernetes")
			require.Len(t, providers, 1)
			nsURN := g.Object(t, tokNamespace, "data").URN
			for key, component := range componentOf {
				token, name, _ := strings.Cut(key, " ")
				if (token == tokCert || token == tokMiddleware) && run.Stack == "local" {
					continue
				}
				r := g.Object(t, token, name)
				parent := g.ByURN(r.Parent)
				require.NotNil(t, parent, "%s has no registered parent", key)
				assert.Equal(t, component, parent.Type, "%s's parent", key)
				assert.Equal(t, providers[0].URN+"::"+providers[0].Name+"-id", r.Provider, "%s's provider", key)
				if r.K8sNamespace() != "" {
					assert.Contains(t, r.DependsOn, nsURN, "%s waits for the namespace", key)
				}
			}
			// Kafka starts after the ensemble.
			assert.Contains(t, g.Object(t, tokSTS, "kafka").DependsOn, g.Object(t, tokSTS, "zookeeper").URN)
		})
	}
}
