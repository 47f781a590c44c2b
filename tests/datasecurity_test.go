package tests

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"

	"github.com/apk8s/apk8s-platform/components/kafka"
)

// TestDataNamespaceEnforcesRestricted: the namespace refuses pods below the
// restricted Pod Security Standard, and says so in warnings and the audit
// log. (The API server's verdict on the pods themselves is the e2e's.)
func TestDataNamespaceEnforcesRestricted(t *testing.T) {
	t.Parallel()
	for _, run := range dataStacks {
		t.Run(run.Stack, func(t *testing.T) {
			var ns corev1.Namespace
			dataGraph(t, run).Object(t, tokNamespace, "data").Decode(t, &ns)
			for _, mode := range []string{"enforce", "warn", "audit"} {
				assert.Equal(t, "restricted", ns.Labels["pod-security.kubernetes.io/"+mode], mode)
			}
		})
	}
}

// restrictedProblems lists where a pod falls short of the restricted Pod
// Security Standard (the checks that concern what the program sets:
// non-root, seccomp, privilege escalation, capabilities, host namespaces,
// volume types), plus the read-only root the program adds.
func restrictedProblems(spec corev1.PodSpec) []string {
	var out []string
	psc := spec.SecurityContext
	podNonRoot := psc != nil && psc.RunAsNonRoot != nil && *psc.RunAsNonRoot
	if psc == nil || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		out = append(out, "pod: no non-zero runAsUser")
	}
	if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		out = append(out, "pod: seccomp not RuntimeDefault")
	}
	if spec.HostNetwork || spec.HostPID || spec.HostIPC {
		out = append(out, "pod: host namespace")
	}
	for _, v := range spec.Volumes {
		if v.ConfigMap == nil && v.Secret == nil && v.EmptyDir == nil && v.PersistentVolumeClaim == nil && v.Projected == nil {
			out = append(out, "volume "+v.Name+": type not allowed")
		}
	}
	for _, c := range append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...) {
		sc := c.SecurityContext
		switch {
		case sc == nil:
			out = append(out, c.Name+": no securityContext")
			continue
		case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
			out = append(out, c.Name+": may escalate privileges")
		case sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" || len(sc.Capabilities.Add) > 0:
			out = append(out, c.Name+": capabilities not dropped")
		case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
			out = append(out, c.Name+": writable root file system")
		case sc.Privileged != nil && *sc.Privileged:
			out = append(out, c.Name+": privileged")
		}
		if !podNonRoot && (sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot) {
			out = append(out, c.Name+": may run as root")
		}
	}
	return out
}

// TestDataPodsAreRestricted: every pod of the data namespace, init
// containers included, meets the restricted level, as the image's own user.
func TestDataPodsAreRestricted(t *testing.T) {
	t.Parallel()
	users := map[string]int64{
		"StatefulSet/zookeeper":     1000,
		"StatefulSet/kafka":         1000,
		"Pod/kafka-client-util":     1000,
		"Deployment/mqtt":           1883,
		"Deployment/kafka-exporter": 65534,
		"Deployment/kafka-console":  65534,
	}
	g := dataGraph(t, Run{Stack: "dev3"})
	ws := workloads(t, g)
	require.Len(t, ws, len(users))
	for name, w := range ws {
		t.Run(name, func(t *testing.T) {
			assert.Empty(t, restrictedProblems(w.Spec))
			require.NotNil(t, w.Spec.SecurityContext)
			assert.Equal(t, users[name], *w.Spec.SecurityContext.RunAsUser)
			assert.False(t, *w.Spec.AutomountServiceAccountToken)
		})
	}
}

// TestRestrictedCheckCatchesRoot: the check above fails the book's pods.
func TestRestrictedCheckCatchesRoot(t *testing.T) {
	t.Parallel()
	assert.NotEmpty(t, restrictedProblems(corev1.PodSpec{Containers: []corev1.Container{{Name: "mqtt"}}}))
}

// TestWritableDirectories: with a read-only root, each image gets the
// directories its entrypoint writes; ZooKeeper's and Kafka's config
// directories start as copies of the image's own.
func TestWritableDirectories(t *testing.T) {
	t.Parallel()
	g := dataGraph(t, Run{Stack: "dev3"})
	ws := workloads(t, g)
	tests := []struct {
		workload string
		dirs     []string
		copied   string
	}{
		{"StatefulSet/zookeeper", []string{"/conf", "/logs", "/tmp", "/data"}, "/conf"},
		{"StatefulSet/kafka", []string{"/etc/kafka", "/var/log/kafka", "/tmp", "/opt/kafka/data"}, "/etc/kafka"},
		{"Pod/kafka-client-util", []string{"/var/log/kafka", "/tmp"}, ""},
		{"Deployment/mqtt", []string{"/mosquitto/auth"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.workload, func(t *testing.T) {
			spec := ws[tt.workload].Spec
			mounts := map[string]string{}
			for _, m := range spec.Containers[0].VolumeMounts {
				mounts[m.MountPath] = m.Name
			}
			for _, d := range tt.dirs {
				assert.Contains(t, mounts, d)
			}
			if tt.copied == "" {
				return
			}
			require.Len(t, spec.InitContainers, 1)
			init := spec.InitContainers[0]
			assert.Equal(t, spec.Containers[0].Image, init.Image)
			assert.Equal(t, []string{"cp", "-R", tt.copied + "/.", "/mnt/copy"}, init.Command)
			assert.Equal(t, mounts[tt.copied], init.VolumeMounts[0].Name, "the copy lands in the directory the container mounts")
		})
	}
}

// TestMembersPreferDistinctNodes: brokers and ensemble members ask to be on
// different nodes, as a preference that a one-node cluster can ignore.
func TestMembersPreferDistinctNodes(t *testing.T) {
	t.Parallel()
	g := dataGraph(t, Run{Stack: "dev3"})
	for _, name := range []string{"zookeeper", "kafka"} {
		t.Run(name, func(t *testing.T) {
			var s appsv1.StatefulSet
			g.Object(t, tokSTS, name).Decode(t, &s)
			aff := s.Spec.Template.Spec.Affinity
			require.NotNil(t, aff)
			require.NotNil(t, aff.PodAntiAffinity)
			assert.Empty(t, aff.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution, "a rule would leave members pending on a small cluster")
			terms := aff.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution
			require.Len(t, terms, 1)
			assert.Equal(t, "kubernetes.io/hostname", terms[0].PodAffinityTerm.TopologyKey)
			assert.Equal(t, s.Spec.Template.Labels, terms[0].PodAffinityTerm.LabelSelector.MatchLabels, "apart from its own kind")
			assert.Equal(t, appsv1.RetainPersistentVolumeClaimRetentionPolicyType, s.Spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted)
			assert.Equal(t, appsv1.RetainPersistentVolumeClaimRetentionPolicyType, s.Spec.PersistentVolumeClaimRetentionPolicy.WhenScaled)
		})
	}
}

// TestZooKeeperBudgetKeepsQuorum: a drain may evict only members the
// ensemble can lose and keep its majority.
func TestZooKeeperBudgetKeepsQuorum(t *testing.T) {
	t.Parallel()
	for n, want := range map[int]int{1: 0, 2: 0, 3: 1, 4: 1, 5: 2, 6: 2, 7: 3} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			g := dataGraph(t, Run{Stack: "dev3", Set: map[string]string{"zookeeperReplicas": fmt.Sprint(n)}})
			var pdb policyv1.PodDisruptionBudget
			g.Object(t, tokPDB, "zookeeper").Decode(t, &pdb)
			assert.Equal(t, want, pdb.Spec.MaxUnavailable.IntValue())
			assert.Greater(t, n-want, n/2, "the members left are a majority")
		})
	}
}

// TestKafkaReplicationFollowsBrokers: in both modes the internal topics
// and every topic created without a factor (default.replication.factor)
// get three copies or one per broker, writes with acks=all survive one
// broker down, and no topic of the default factor has fewer replicas than
// min.insync.replicas asks of an acks=all write; kafkaOffsetsReplication
// overrides the internal topics' factor only.
func TestKafkaReplicationFollowsBrokers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		brokers, offsets  string
		rf, isr, defaults string
	}{
		{"1", "0", "1", "1", "1"},
		{"2", "0", "2", "1", "2"},
		{"3", "0", "3", "2", "3"},
		{"5", "0", "3", "2", "3"},
		{"3", "1", "1", "1", "3"},
		{"5", "2", "2", "1", "3"},
	}
	for _, mode := range []string{kafka.ModeZooKeeper, kafka.ModeKRaft} {
		for _, tt := range tests {
			t.Run(mode+"/"+tt.brokers+"/"+tt.offsets, func(t *testing.T) {
				g := dataGraph(t, Run{Stack: "dev3", Set: map[string]string{"kafkaMode": mode, "kafkaReplicas": tt.brokers, "kafkaOffsetsReplication": tt.offsets}})
				env := brokerEnv(t, kraftSet(t, g))
				assert.Equal(t, tt.rf, env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"])
				assert.Equal(t, tt.rf, env["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"])
				assert.Equal(t, tt.isr, env["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"])
				assert.Equal(t, tt.isr, env["KAFKA_MIN_INSYNC_REPLICAS"])
				assert.Equal(t, tt.defaults, env["KAFKA_DEFAULT_REPLICATION_FACTOR"])
				defaults, _ := strconv.Atoi(env["KAFKA_DEFAULT_REPLICATION_FACTOR"])
				isr, _ := strconv.Atoi(env["KAFKA_MIN_INSYNC_REPLICAS"])
				brokers, _ := strconv.Atoi(tt.brokers)
				assert.LessOrEqual(t, defaults, brokers, "a default topic fits on the brokers")
				assert.Less(t, isr, max(defaults, 2), "an acks=all write to a default topic goes on with one broker down (or is the only copy)")
			})
		}
	}
}

// TestKafkaDataDirsOnTheClaim: the Confluent image's start script checks
// KAFKA_DATA_DIRS for writing; it names the directory the claim is mounted
// at, under which the logs live.
func TestKafkaDataDirsOnTheClaim(t *testing.T) {
	t.Parallel()
	s := kraftSet(t, dataGraph(t, Run{Stack: "dev3"}))
	env := brokerEnv(t, s)
	var mount string
	for _, m := range s.Spec.Template.Spec.Containers[0].VolumeMounts {
		if m.Name == kafka.ClaimName {
			mount = m.MountPath
		}
	}
	require.NotEmpty(t, mount, "the claim is mounted")
	assert.Equal(t, mount, env["KAFKA_DATA_DIRS"])
	assert.True(t, strings.HasPrefix(env["KAFKA_LOG_DIRS"], mount+"/"), "the logs are on the claim: %s", env["KAFKA_LOG_DIRS"])
}

// TestEvenEnsembleWarningNamesTheBudget: the warning about an even
// ensemble says how many members a drain may evict, and that two members
// allow none.
func TestEvenEnsembleWarningNamesTheBudget(t *testing.T) {
	t.Parallel()
	for replicas, want := range map[int]string{
		2: "survives no more failures than one of 1 members (0), and its PodDisruptionBudget lets a drain evict only 0 of them at a time (none: a drain waits until you evict a member by hand)",
		4: "survives no more failures than one of 3 members (1), and its PodDisruptionBudget lets a drain evict only 1 of them at a time;",
	} {
		cfg, err := loadConfig(t, Run{Stack: "local", Set: map[string]string{"zookeeperReplicas": fmt.Sprint(replicas)}})
		require.NoError(t, err)
		require.Len(t, cfg.Warnings, 1)
		assert.Contains(t, cfg.Warnings[0], want)
	}
}
