package tests

import (
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/apk8s/apk8s-platform/components/kafka"
)

// kraftRun is a stack in KRaft mode with brokers brokers, and the outputs
// of its last update (nil: a new stack).
func kraftRun(stack string, brokers int, last map[string]any) Run {
	return Run{Stack: stack, Set: map[string]string{"kafkaMode": "kraft", "kafkaReplicas": fmt.Sprint(brokers)}, Last: last}
}

// lastKraft are the outputs a KRaft stack's update leaves behind.
func lastKraft(voters int) map[string]any {
	return map[string]any{"kafkaMode": "kraft", "kafkaControllerVoters": voters, "kafkaBootstrap": "kafka:9092"}
}

// kraftSet is the brokers' StatefulSet of a run.
func kraftSet(t *testing.T, g *Graph) appsv1.StatefulSet {
	t.Helper()
	var s appsv1.StatefulSet
	g.Object(t, tokSTS, "kafka").Decode(t, &s)
	return s
}

// env of the broker container, by name; a variable from a reference maps
// to "<configmap>/<key>".
func brokerEnv(t *testing.T, s appsv1.StatefulSet) map[string]string {
	t.Helper()
	require.Len(t, s.Spec.Template.Spec.Containers, 1)
	m := map[string]string{}
	for _, e := range s.Spec.Template.Spec.Containers[0].Env {
		m[e.Name] = e.Value
		if r := e.ValueFrom; r != nil && r.ConfigMapKeyRef != nil {
			m[e.Name] = r.ConfigMapKeyRef.Name + "/" + r.ConfigMapKeyRef.Key
		}
	}
	return m
}

// TestKraftHasNoZooKeeper: in KRaft mode nothing of ZooKeeper is left —
// no ensemble, no Service, no PodMonitor, no broker variable naming it —
// while clients keep the Service "kafka" on 9092 and the exporter still
// scrapes the brokers there.
func TestKraftHasNoZooKeeper(t *testing.T) {
	t.Parallel()
	for _, stack := range []string{"local", "dev3"} {
		t.Run(stack, func(t *testing.T) {
			g := kraftRun(stack, 2, nil).Shared(t).Graph
			for _, r := range g.All {
				assert.NotContains(t, strings.ToLower(r.Type), "zookeeper", "%s %s", r.Type, r.Name)
				assert.NotContains(t, r.Name, "zookeeper", r.Type)
				assert.NotContains(t, r.K8sName(), "zookeeper", r.Type)
			}
			env := brokerEnv(t, kraftSet(t, g))
			for name := range env {
				assert.NotContains(t, name, "ZOOKEEPER")
			}

			var svc corev1.Service
			g.Object(t, tokService, "kafka").Decode(t, &svc)
			require.Len(t, svc.Spec.Ports, 1, "clients see the broker port only")
			assert.Equal(t, int32(9092), svc.Spec.Ports[0].Port)
			assert.Equal(t, "kafka", svc.Spec.Ports[0].TargetPort.String())
			var headless corev1.Service
			g.Object(t, tokService, "kafka-headless").Decode(t, &headless)
			assert.Equal(t, corev1.ClusterIPNone, headless.Spec.ClusterIP)
			assert.True(t, headless.Spec.PublishNotReadyAddresses, "voters resolve each other before any is ready")
			var ports []int32
			for _, p := range headless.Spec.Ports {
				ports = append(ports, p.Port)
			}
			assert.ElementsMatch(t, []int32{9092, 9093}, ports)
			assert.Equal(t, "kafka-headless", kraftSet(t, g).Spec.ServiceName)
			g.Object(t, tokPDB, "kafka")

			if stack == "dev3" { // monitoring "install"
				assert.Empty(t, g.Find(tokPodMonitor), "no ensemble to scrape")
				var d appsv1.Deployment
				g.Object(t, tokDeploy, "kafka-exporter").Decode(t, &d)
				assert.Contains(t, d.Spec.Template.Spec.Containers[0].Args, "--kafka.server=kafka:9092")
				g.Object(t, tokServiceMonitor, "kafka-exporter")
			}
		})
	}
}

// TestZooKeeperModeIsTheBooks: without kafkaMode a stack runs the book's
// mode, with the ensemble and its PodMonitor.
func TestZooKeeperModeIsTheBooks(t *testing.T) {
	t.Parallel()
	g := Run{Stack: "dev3"}.Shared(t).Graph
	g.Object(t, tokSTS, "zookeeper")
	g.Object(t, tokPodMonitor, "zookeeper")
	assert.Equal(t, "zookeeper-headless:2181", brokerEnv(t, kraftSet(t, g))["KAFKA_ZOOKEEPER_CONNECT"])
	for _, r := range g.Find(tokConfigMap) {
		assert.NotEqual(t, kafka.ClusterIDName, r.K8sName(), "no cluster ID in ZooKeeper mode")
	}
}

// TestKraftStatefulSet: Apache Kafka 4 with every property the image needs
// (setting one KAFKA_* variable drops its defaults), started in parallel,
// non-root, on the book's claim.
func TestKraftStatefulSet(t *testing.T) {
	t.Parallel()
	g := kraftRun("local", 2, nil).Shared(t).Graph
	s := kraftSet(t, g)
	assert.Equal(t, int32(2), *s.Spec.Replicas)
	assert.Equal(t, appsv1.ParallelPodManagement, s.Spec.PodManagementPolicy, "an ordered start deadlocks a quorum")
	require.Len(t, s.Spec.VolumeClaimTemplates, 1)
	assert.Equal(t, "datadir", s.Spec.VolumeClaimTemplates[0].Name)

	pod := s.Spec.Template.Spec
	c := pod.Containers[0]
	assert.Equal(t, "apache/kafka:4.3.1", c.Image)
	assert.Contains(t, c.VolumeMounts, corev1.VolumeMount{Name: "datadir", MountPath: "/var/lib/kafka/data"})
	assert.False(t, *pod.EnableServiceLinks)
	assert.Equal(t, int64(60), *pod.TerminationGracePeriodSeconds)

	env := brokerEnv(t, s)
	assert.Equal(t, "kafka-cluster-id/CLUSTER_ID", env["CLUSTER_ID"], "the ID comes from the ConfigMap that keeps it")
	assert.Equal(t, "CONTROLLER", env["KAFKA_CONTROLLER_LISTENER_NAMES"])
	assert.Equal(t, "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT", env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"])
	assert.Equal(t, "PLAINTEXT", env["KAFKA_INTER_BROKER_LISTENER_NAME"])
	assert.Equal(t, "/var/lib/kafka/data/logs", env["KAFKA_LOG_DIRS"])
	assert.Equal(t, "-Xmx1G -Xms1G", env["KAFKA_HEAP_OPTS"])
	// The ZooKeeper mode's replication rules: two copies on two brokers,
	// writes going on while one is down.
	for _, topic := range []string{"OFFSETS_TOPIC", "TRANSACTION_STATE_LOG", "SHARE_COORDINATOR_STATE_TOPIC"} {
		assert.Equal(t, "2", env["KAFKA_"+topic+"_REPLICATION_FACTOR"], "%s fits 2 brokers", topic)
	}
	for _, key := range []string{"KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR", "KAFKA_MIN_INSYNC_REPLICAS"} {
		assert.Equal(t, "1", env[key], key)
	}
	assert.Equal(t, "/var/log/kafka", env["LOG_DIR"])
	assert.True(t, *c.SecurityContext.ReadOnlyRootFilesystem, "the restricted context of every pod")

	// Built as the ZooKeeper mode's set (workload.App.Durable): spread over
	// nodes, claims retained and grown in place, one patch per broker.
	require.NotNil(t, pod.Affinity)
	assert.NotNil(t, pod.Affinity.PodAntiAffinity)
	assert.Equal(t, appsv1.RetainPersistentVolumeClaimRetentionPolicyType, s.Spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted)
	assert.Equal(t, appsv1.RetainPersistentVolumeClaimRetentionPolicyType, s.Spec.PersistentVolumeClaimRetentionPolicy.WhenScaled)
	for i := range 2 {
		g.Object(t, tokPVCPatch, fmt.Sprintf("datadir-kafka-%d", i))
	}
	assert.NotContains(t, env, "KAFKA_JMX_PORT")
	assert.NotContains(t, env, "KAFKA_ZOOKEEPER_CONNECT")

	sc := pod.SecurityContext
	require.NotNil(t, sc)
	assert.Equal(t, int64(1000), *sc.RunAsUser, "the image's appuser")
	assert.True(t, *sc.RunAsNonRoot)
	assert.Equal(t, int64(1000), *sc.FSGroup, "the claim is the broker's")
	assert.Equal(t, corev1.SeccompProfileTypeRuntimeDefault, sc.SeccompProfile.Type)
	require.NotNil(t, c.SecurityContext)
	assert.False(t, *c.SecurityContext.AllowPrivilegeEscalation)
	assert.Equal(t, []corev1.Capability{"ALL"}, c.SecurityContext.Capabilities.Drop)

	cm := g.Object(t, tokConfigMap, kafka.ClusterIDName)
	assert.Contains(t, g.Object(t, tokSTS, "kafka").DependsOn, cm.URN, "the brokers start once their ID exists")
	var client corev1.Pod
	g.Object(t, tokPod, "kafka-client-util").Decode(t, &client)
	assert.Equal(t, "apache/kafka:4.3.1", client.Spec.Containers[0].Image, "the console tools of the brokers' version")
	require.NotNil(t, client.Spec.SecurityContext)
	assert.Equal(t, sc, client.Spec.SecurityContext, "the client pod runs as the brokers do")
	assert.Equal(t, c.SecurityContext, client.Spec.Containers[0].SecurityContext)
}

// startPod runs the broker's start command as pod `kafka-<i>` would, with
// `env` in place of the image's run script, and returns what it exports.
func startPod(t *testing.T, c corev1.Container, i int) map[string]string {
	t.Helper()
	require.Equal(t, []string{"sh", "-ec"}, c.Command[:2])
	require.Equal(t, "/etc/kafka/docker/run", c.Command[len(c.Command)-1], "the command hands over to the image")
	args := append(slices.Clone(c.Command[1:len(c.Command)-1]), "env")
	cmd := exec.Command("sh", args...)
	cmd.Env = []string{fmt.Sprintf("HOSTNAME=kafka-%d", i), "PATH=" + os.Getenv("PATH")}
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	env := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			env[k] = v
		}
	}
	return env
}

// TestKraftProcessRolesPerPod runs each pod's start command: the first
// voters pods are controllers and brokers and listen on 9093 too, the rest
// are brokers only; node ids are the ordinals and every pod advertises its
// own headless name.
func TestKraftProcessRolesPerPod(t *testing.T) {
	t.Parallel()
	g := kraftRun("local", 5, nil).Shared(t).Graph
	c := kraftSet(t, g).Spec.Template.Spec.Containers[0]
	want := []string{"broker,controller", "broker,controller", "broker,controller", "broker", "broker"}
	for i, roles := range want {
		env := startPod(t, c, i)
		assert.Equal(t, roles, env["KAFKA_PROCESS_ROLES"], "kafka-%d", i)
		assert.Equal(t, roles, kafka.ProcessRoles(int32(i), 3), "kafka-%d", i)
		assert.Equal(t, fmt.Sprint(i), env["KAFKA_NODE_ID"])
		assert.Equal(t, fmt.Sprintf("PLAINTEXT://kafka-%d.kafka-headless.data.svc.cluster.local:9092", i), env["KAFKA_ADVERTISED_LISTENERS"])
		if roles == "broker" {
			assert.Equal(t, "PLAINTEXT://:9092", env["KAFKA_LISTENERS"])
		} else {
			assert.Equal(t, "PLAINTEXT://:9092,CONTROLLER://:9093", env["KAFKA_LISTENERS"])
		}
	}
}

// voterList is the voter list of n voters in namespace data, spelled out.
func voterList(n int) string {
	var v []string
	for i := range n {
		v = append(v, fmt.Sprintf("%d@kafka-%d.kafka-headless.data.svc.cluster.local:9093", i, i))
	}
	return strings.Join(v, ",")
}

// TestKraftVoters: a new cluster's quorum is odd and fits its brokers (1, 1,
// 3, 3 for 1, 2, 3, 5 brokers); once created, scaling out leaves it as it
// was, because it comes from the stack's last outputs, not the brokers.
func TestKraftVoters(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		run     Run
		voters  int
		roleEnd int // pods from this ordinal on are brokers only
	}{
		{"1 broker", kraftRun("local", 1, nil), 1, 1},
		{"2 brokers", kraftRun("local", 2, nil), 1, 1},
		{"3 brokers", kraftRun("local", 3, nil), 3, 3},
		{"5 brokers", kraftRun("local", 5, nil), 3, 3},
		{"3 brokers, 1 voter chosen", Run{Stack: "local", Set: map[string]string{"kafkaMode": "kraft", "kafkaReplicas": "3", "kafkaControllerVoters": "1"}}, 1, 1},
		{"2 to 3 brokers", kraftRun("local", 3, lastKraft(1)), 1, 1},
		{"3 to 5 brokers", kraftRun("local", 5, lastKraft(3)), 3, 3},
		{"1 to 5 brokers", kraftRun("local", 5, lastKraft(1)), 1, 1},
		{"2 to 3 brokers, the key says the same", Run{Stack: "local", Set: map[string]string{"kafkaMode": "kraft", "kafkaReplicas": "3", "kafkaControllerVoters": "1"}, Last: lastKraft(1)}, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := kraftSet(t, tt.run.MustDo(t))
			assert.Equal(t, voterList(tt.voters), brokerEnv(t, s)["KAFKA_CONTROLLER_QUORUM_VOTERS"])
			c := s.Spec.Template.Spec.Containers[0]
			for i := range int(*s.Spec.Replicas) {
				roles := startPod(t, c, i)["KAFKA_PROCESS_ROLES"]
				if i < tt.roleEnd {
					assert.Equal(t, "broker,controller", roles, "kafka-%d", i)
				} else {
					assert.Equal(t, "broker", roles, "kafka-%d", i)
				}
			}
		})
	}
	t.Run("scaling out changes the replicas and the replication only", func(t *testing.T) {
		// The internal topics' factors and min.insync follow the broker
		// count (kafka.Replication), as in ZooKeeper mode; the quorum and
		// everything else stay.
		replication := map[string]bool{
			"KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": true, "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": true,
			"KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": true, "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR": true,
			"KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR": true, "KAFKA_MIN_INSYNC_REPLICAS": true,
			"KAFKA_DEFAULT_REPLICATION_FACTOR": true,
		}
		for _, step := range [][2]int{{2, 3}, {3, 5}} {
			before := kraftSet(t, kraftRun("local", step[0], nil).Shared(t).Graph)
			voters := 1
			if step[0] >= 3 {
				voters = 3
			}
			after := kraftSet(t, kraftRun("local", step[1], lastKraft(voters)).MustDo(t))
			envBefore, envAfter := brokerEnv(t, before), brokerEnv(t, after)
			for k, v := range envAfter {
				if !replication[k] {
					assert.Equal(t, envBefore[k], v, "%s, %d to %d brokers", k, step[0], step[1])
				}
			}
			assert.Equal(t, fmt.Sprint(kafka.Replication(int32(step[1]))), envAfter["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"])
			after.Spec.Replicas = before.Spec.Replicas
			after.Spec.Template.Spec.Containers[0].Env = before.Spec.Template.Spec.Containers[0].Env
			assert.Equal(t, before, after, "%d to %d brokers", step[0], step[1])
		}
	})
}

// TestKraftClusterID: the ID is drawn once, for a new cluster, and then
// settled from the stack's output kafkaClusterId; the ConfigMap that
// mirrors it for the brokers is immutable, and its data is ignored after
// creation (an interrupted first update leaves no output, and the next
// run's draw must not reach the live ConfigMap). A recorded ID that is not
// one is refused before anything is registered.
func TestKraftClusterID(t *testing.T) {
	t.Parallel()
	idOf := func(t *testing.T, rec *Recorded) string {
		t.Helper()
		cm := rec.Object(t, tokConfigMap, kafka.ClusterIDName)
		var m corev1.ConfigMap
		cm.Decode(t, &m)
		assert.Equal(t, "data", m.Namespace)
		require.NotNil(t, m.Immutable, "the ConfigMap is immutable")
		assert.True(t, *m.Immutable, "the ConfigMap is immutable")
		assert.Equal(t, []string{"data"}, rec.Request(cm).GetIgnoreChanges(), "an interrupted update's successor keeps the live ID")
		return m.Data["CLUSTER_ID"]
	}
	t.Run("a new cluster draws one", func(t *testing.T) {
		id := idOf(t, kraftRun("local", 3, nil).MustRecord(t))
		raw, err := base64.RawURLEncoding.DecodeString(id)
		require.NoError(t, err, "a KRaft cluster ID is unpadded base64url")
		assert.Len(t, raw, 16)
		assert.Len(t, id, 22)
		assert.True(t, kafka.IsClusterID(id))
	})
	t.Run("a running cluster keeps the recorded one", func(t *testing.T) {
		const recorded = "q1Sh-9_ISia_zwGINzRvyQ"
		last := lastKraft(3)
		last["kafkaClusterId"] = recorded
		var sets []appsv1.StatefulSet
		for range 2 {
			rec := kraftRun("local", 3, last).MustRecord(t)
			assert.Equal(t, recorded, idOf(t, rec), "no run draws another")
			sets = append(sets, kraftSet(t, rec.Graph))
		}
		assert.Equal(t, sets[0], sets[1], "the brokers' spec does not carry the ID")
	})
	t.Run("kafkaClusterReset draws a new one", func(t *testing.T) {
		last := lastKraft(3)
		last["kafkaClusterId"] = "q1Sh-9_ISia_zwGINzRvyQ"
		run := kraftRun("local", 3, last)
		run.Set["kafkaClusterReset"] = "true"
		assert.NotEqual(t, "q1Sh-9_ISia_zwGINzRvyQ", idOf(t, run.MustRecord(t)))
	})
	t.Run("a recorded value that is no ID is refused", func(t *testing.T) {
		last := lastKraft(3)
		last["kafkaClusterId"] = "not-an-id"
		badConfig{"bad id", kraftRun("local", 3, last), []string{
			`the stack output kafkaClusterId = "not-an-id" of the last update is not a KRaft cluster ID`, "restore it from the ConfigMap kafka-cluster-id",
		}}.refused(t)
	})
	for _, id := range []string{"", "q1Sh-9_ISia_zwGINzRvy", "q1Sh-9_ISia_zwGINzRvyQA", "q1Sh+9/ISia/zwGINzRvyQ"} {
		assert.False(t, kafka.IsClusterID(id), id)
	}
	for range 2000 {
		id := kafka.NewClusterID()
		require.Len(t, id, 22)
		require.NotEqual(t, byte('-'), id[0], "an ID never looks like an option")
	}
}

// TestKafkaModeIsKeptToTheStack: a stack's Kafka keeps the mode and the
// quorum it was created with. Switching would start an empty cluster, a
// new quorum cannot join the old one's data; both are refused with nothing
// but the read of the stack's last outputs registered.
func TestKafkaModeIsKeptToTheStack(t *testing.T) {
	t.Parallel()
	zkLast := map[string]any{"kafkaMode": "zookeeper", "kafkaBootstrap": "kafka:9092", "zookeeper": "zookeeper-headless:2181"}
	beforeModes := map[string]any{"kafkaBootstrap": "kafka:9092", "zookeeper": "zookeeper-headless:2181", "namespace": "data"}
	tests := []badConfig{
		{"zookeeper to kraft", kraftRun("local", 2, zkLast),
			[]string{`apk8s-platform:kafkaMode = "kraft" is not allowed`, `must be "zookeeper", the mode this stack's Kafka runs in`, "every topic is lost"}},
		{"a stack from before kafkaMode to kraft", kraftRun("dev3", 2, beforeModes),
			[]string{`apk8s-platform:kafkaMode = "kraft" is not allowed`, `must be "zookeeper"`}},
		{"kraft to zookeeper", Run{Stack: "local", Last: lastKraft(1)},
			[]string{`apk8s-platform:kafkaMode = "zookeeper" is not allowed`, `must be "kraft"`}},
		{"another quorum", Run{Stack: "local", Set: map[string]string{"kafkaMode": "kraft", "kafkaReplicas": "3", "kafkaControllerVoters": "3"}, Last: lastKraft(1)},
			[]string{`apk8s-platform:kafkaControllerVoters = "3" is not allowed`, "1 or 0, the quorum this stack's cluster was created with"}},
		{"fewer brokers than voters", kraftRun("local", 2, lastKraft(3)),
			[]string{`apk8s-platform:kafkaReplicas = "2" is not allowed`, "at least 3: pods 0 to 2 are the controllers"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := tt.refused(t)
			assert.Empty(t, g.All, "nothing is registered")
			assert.Equal(t, []string{"organization/apk8s-platform/" + tt.run.Stack}, g.Reads, "the stack reads its own outputs, once")
		})
	}
	t.Run("the same mode goes on", func(t *testing.T) {
		Run{Stack: "local", Last: zkLast}.MustDo(t)
		Run{Stack: "dev3", Last: beforeModes}.MustDo(t)
		kraftRun("local", 3, lastKraft(1)).MustDo(t)
	})
	t.Run("kafkaClusterReset starts a new cluster", func(t *testing.T) {
		reset := kraftRun("local", 3, zkLast)
		reset.Set["kafkaClusterReset"] = "true"
		rec := reset.MustRecord(t)
		assert.Equal(t, voterList(3), brokerEnv(t, kraftSet(t, rec.Graph))["KAFKA_CONTROLLER_QUORUM_VOTERS"], "a new quorum for 3 brokers")
		assert.Empty(t, rec.Find(tokZooKeeperSet))

		again := kraftRun("local", 3, lastKraft(1))
		again.Set["kafkaClusterReset"] = "true"
		again.Set["kafkaControllerVoters"] = "3"
		assert.Equal(t, voterList(3), brokerEnv(t, kraftSet(t, again.MustDo(t)))["KAFKA_CONTROLLER_QUORUM_VOTERS"])
	})
}

// tokZooKeeperSet is the ensemble component's type.
const tokZooKeeperSet = "apk8s:data:ZooKeeper"

// TestBadKraftConfig: quorum settings that cannot work fail before anything
// is registered.
func TestBadKraftConfig(t *testing.T) {
	t.Parallel()
	kraft := func(kv ...string) Run {
		set := map[string]string{"kafkaMode": "kraft"}
		for i := 0; i < len(kv); i += 2 {
			set[kv[i]] = kv[i+1]
		}
		return Run{Stack: "local", Set: set}
	}
	checkBadConfigs(t, []badConfig{
		{"unknown mode", Run{Stack: "local", Set: map[string]string{"kafkaMode": "kraf"}},
			[]string{`apk8s-platform:kafkaMode = "kraf" is not allowed`, `one of "kraft", "zookeeper"`}},
		{"two voters", kraft("kafkaReplicas", "3", "kafkaControllerVoters", "2"),
			[]string{`apk8s-platform:kafkaControllerVoters = "2" is not allowed`, "1 or 3, an odd quorum"}},
		{"four voters", kraft("kafkaReplicas", "5", "kafkaControllerVoters", "4"),
			[]string{`apk8s-platform:kafkaControllerVoters = "4" is not allowed`, "1 or 3"}},
		{"more voters than brokers", kraft("kafkaReplicas", "2", "kafkaControllerVoters", "3"),
			[]string{`apk8s-platform:kafkaControllerVoters = "3" is not allowed`, "at most kafkaReplicas (2)"}},
		{"voters in zookeeper mode", Run{Stack: "local", Set: map[string]string{"kafkaControllerVoters": "1"}},
			[]string{`apk8s-platform:kafkaControllerVoters = "1" is not allowed`, `0 while kafkaMode is "zookeeper"`}},
		{"kraft image without a tag", kraft("kafkaKraftImage", "apache/kafka"),
			[]string{`apk8s-platform:kafkaKraftImage = "apache/kafka"`, "must be an image with a release tag"}},
	})
}

// TestLastOutputsReadAgain: a read of the last outputs that meets the
// checkpoint while the engine writes it is made again, and the hold on
// the stack's mode still applies; a checkpoint that stays unreadable
// fails the run, naming the read, before anything is registered.
func TestLastOutputsReadAgain(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		unreadable int
		wants      []string
	}{
		{"read on the third look", 2, []string{`apk8s-platform:kafkaMode = "zookeeper" is not allowed: must be "kraft"`}},
		{"never readable", 5, []string{"reading the outputs of the stack's last update (5 attempts)", "failed to load checkpoint: EOF"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // the looks wait for one another
			g, err := Run{Stack: "local", Last: lastKraft(1), UnreadableOutputs: tt.unreadable}.Do(t)
			require.Error(t, err)
			for _, w := range tt.wants {
				assert.Contains(t, err.Error(), w)
			}
			assert.Empty(t, g.All, "nothing is registered")
			assert.Len(t, g.Reads, min(tt.unreadable+1, 5), "one read a look")
		})
	}
}

// TestZooKeeperResizeRefused: a deployed ensemble keeps its size (stack
// output zookeeperReplicas); another is refused before anything is
// registered, naming the safe path. The same size, a stack whose last
// update predates the output, KRaft mode (no ensemble) and the update after
// a destroy (kafkaClusterReset) pass.
func TestZooKeeperResizeRefused(t *testing.T) {
	t.Parallel()
	deployed := func(n int) map[string]any {
		return map[string]any{"kafkaMode": "zookeeper", "kafkaBootstrap": "kafka:9092", "zookeeper": "zookeeper-headless:2181", "zookeeperReplicas": n}
	}
	for _, step := range [][2]int{{1, 3}, {3, 5}, {3, 2}, {2, 3}} {
		from, to := step[0], step[1]
		badConfig{fmt.Sprintf("%d to %d", from, to), Run{Stack: "dev3", Set: map[string]string{"zookeeperReplicas": fmt.Sprint(to)}, Last: deployed(from)}, []string{
			"(1 problems)",
			fmt.Sprintf(`apk8s-platform:zookeeperReplicas = "%d" is not allowed: must be %d, the size of this stack's running ensemble`, to, from),
			"dynamic reconfiguration one server at a time", "build a new stack", "kafkaClusterReset = true",
		}}.refused(t)
	}
	for name, run := range map[string]Run{
		"the same size":               {Stack: "dev3", Set: map[string]string{"zookeeperReplicas": "3"}, Last: deployed(3)},
		"a last update without size":  {Stack: "dev3", Set: map[string]string{"zookeeperReplicas": "3"}, Last: map[string]any{"kafkaMode": "zookeeper", "kafkaBootstrap": "kafka:9092"}},
		"after a destroy, with reset": {Stack: "dev3", Set: map[string]string{"zookeeperReplicas": "3", "kafkaClusterReset": "true"}, Last: deployed(1)},
	} {
		t.Run(name, func(t *testing.T) {
			g := run.MustDo(t)
			var s appsv1.StatefulSet
			g.Object(t, tokSTS, "zookeeper").Decode(t, &s)
			assert.EqualValues(t, 3, *s.Spec.Replicas)
		})
	}
}
