package tests

// Invariants: properties that every stack and every workload keeps, checked
// over the whole graph rather than one object at a time, so that a new
// workload, port, budget or variable is held to them without a new test.
// Each expectation is independent of the code that builds the objects: a
// literal, a table kept here, or a value computed here from what the graph
// holds (never the component's own function).

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

// invariantRuns are every stack of the repository as its file stands, and
// the variants that bring in what the files alone do not: the exporter
// without a Prometheus of our own, and ensembles of every size class
// (one member, even, odd), and Kafka in KRaft mode with one and three
// controllers.
func invariantRuns(t *testing.T) []Run {
	var runs []Run
	for _, s := range stackNames(t) {
		runs = append(runs, Run{Stack: s})
	}
	return append(runs,
		Run{Stack: "local", Set: map[string]string{"monitoring": "existing"}},
		Run{Stack: "dev3", Set: map[string]string{"zookeeperReplicas": "1", "kafkaReplicas": "1"}},
		Run{Stack: "dev3", Set: map[string]string{"zookeeperReplicas": "3", "kafkaReplicas": "3"}},
		Run{Stack: "dev3", Set: map[string]string{"zookeeperReplicas": "4"}},
		Run{Stack: "dev3", Set: map[string]string{"zookeeperReplicas": "5"}},
		Run{Stack: "dev3", Set: map[string]string{"kafkaMode": "kraft"}},
		Run{Stack: "local", Set: map[string]string{"kafkaMode": "kraft", "kafkaReplicas": "5"}},
		Run{Stack: "dev3", Set: map[string]string{"kafkaAuth": "dual"}},
		Run{Stack: "dev3", Set: map[string]string{"kafkaAuth": "on", "monitoring": "none", "kafkaConsole": "none"}},
		Run{Stack: "dev3", Set: map[string]string{"kafkaMode": "kraft", "kafkaReplicas": "3", "kafkaAuth": "internal"}},
		Run{Stack: "dev3", Set: map[string]string{"kafkaMode": "kraft", "kafkaAuth": "on", "monitoring": "none", "kafkaConsole": "none"}},
	)
}

// runName names a run in the test output: the stack and the overrides.
func runName(run Run) string {
	name := run.Stack
	for _, k := range slices.Sorted(maps.Keys(run.Set)) {
		name += fmt.Sprintf("/%s=%s", k, run.Set[k])
	}
	return name
}

// eachRun runs check on the graph of every invariant run.
func eachRun(t *testing.T, check func(t *testing.T, g *Recorded)) {
	for _, run := range invariantRuns(t) {
		t.Run(runName(run), func(t *testing.T) {
			check(t, run.Shared(t))
		})
	}
}

// pods are the graph's workloads by "<Kind>/<name>": their pod templates,
// and how many pods each runs.
type pods struct {
	templates map[string]corev1.PodTemplateSpec
	replicas  map[string]int
}

func podsOf(t *testing.T, g *Graph) pods {
	t.Helper()
	p := pods{templates: workloads(t, g), replicas: map[string]int{}}
	for _, r := range g.Find(tokSTS) {
		var s appsv1.StatefulSet
		r.Decode(t, &s)
		p.replicas["StatefulSet/"+s.Name] = int(ptrOr(s.Spec.Replicas, 1))
	}
	for _, r := range g.Find(tokDeploy) {
		var d appsv1.Deployment
		r.Decode(t, &d)
		p.replicas["Deployment/"+d.Name] = int(ptrOr(d.Spec.Replicas, 1))
	}
	for _, r := range g.Find(tokPod) {
		p.replicas["Pod/"+r.K8sName()] = 1
	}
	require.NotEmpty(t, p.templates, "the graph has workloads")
	return p
}

// ptrOr is *p, or the API server's default d when p is nil.
func ptrOr[T any](p *T, d T) T {
	if p == nil {
		return d
	}
	return *p
}

// matching are the workloads whose pods sel picks, with the API's meaning
// of a label selector (an empty one picks every pod, a nil one none).
func (p pods) matching(t *testing.T, sel *metav1.LabelSelector) []string {
	t.Helper()
	s, err := metav1.LabelSelectorAsSelector(sel)
	require.NoError(t, err)
	var out []string
	for name, w := range p.templates {
		if s.Matches(labels.Set(w.Labels)) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// containers are a pod's init and app containers.
func containers(spec corev1.PodSpec) []corev1.Container {
	return append(slices.Clone(spec.InitContainers), spec.Containers...)
}

// containerPort is c's port that p names (by name or number), if any.
func containerPort(c corev1.Container, p intstr.IntOrString) (corev1.ContainerPort, bool) {
	for _, cp := range c.Ports {
		if p.Type == intstr.String && cp.Name == p.StrVal || p.Type == intstr.Int && cp.ContainerPort == p.IntVal {
			return cp, true
		}
	}
	return corev1.ContainerPort{}, false
}

// probePorts are the ports c's probes connect to, by probe.
func probePorts(c corev1.Container) map[string]intstr.IntOrString {
	out := map[string]intstr.IntOrString{}
	for kind, p := range map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe, "startup": c.StartupProbe} {
		switch {
		case p == nil:
		case p.HTTPGet != nil:
			out[kind] = p.HTTPGet.Port
		case p.TCPSocket != nil:
			out[kind] = p.TCPSocket.Port
		case p.GRPC != nil:
			out[kind] = intstr.FromInt32(p.GRPC.Port)
		}
	}
	return out
}

// TestInvariantProbesUseTheirContainersPorts: every probe of every
// container connects to a port that container declares, by name or number;
// a probe naming a port the container lacks never succeeds, and the pod
// never turns Ready.
func TestInvariantProbesUseTheirContainersPorts(t *testing.T) {
	t.Parallel()
	eachRun(t, func(t *testing.T, g *Recorded) {
		var probes int
		for name, w := range podsOf(t, g.Graph).templates {
			for _, c := range containers(w.Spec) {
				for kind, port := range probePorts(c) {
					probes++
					_, ok := containerPort(c, port)
					assert.True(t, ok, "%s container %s: the %s probe connects to port %s, which the container does not declare",
						name, c.Name, kind, port.String())
				}
			}
		}
		assert.NotZero(t, probes, "the data workloads have probes")
	})
}

// serviceRef finds "<service>:<port>" and "<service>.<namespace>...:<port>"
// in a value: a client's address of a Service.
var serviceRef = regexp.MustCompile(`(?:^|[\s,=/;])([a-z][a-z0-9-]*)(?:\.[a-z0-9.-]+)?:([0-9]+)\b`)

// TestInvariantServicesReachTheirPods: every Service selects the pods of
// exactly one workload; each of its ports targets a port those pods
// declare and exposes it under the same number (so that "kafka:9092" means
// the port the broker listens on); and every Service address a container
// is given ("zookeeper-headless:2181", "--kafka.server=kafka:9092") names a
// port that Service has.
func TestInvariantServicesReachTheirPods(t *testing.T) {
	t.Parallel()
	eachRun(t, func(t *testing.T, g *Recorded) {
		ps := podsOf(t, g.Graph)
		services := map[string]corev1.Service{}
		for _, r := range g.Find(tokService) {
			var svc corev1.Service
			r.Decode(t, &svc)
			services[svc.Name] = svc
			selected := ps.matching(t, &metav1.LabelSelector{MatchLabels: svc.Spec.Selector})
			if !assert.NotEmpty(t, svc.Spec.Selector, "Service %s selects no pods", svc.Name) ||
				!assert.Len(t, selected, 1, "Service %s selects %v", svc.Name, selected) {
				continue
			}
			spec := ps.templates[selected[0]].Spec
			for _, p := range svc.Spec.Ports {
				target := p.TargetPort
				if target.Type == intstr.Int && target.IntVal == 0 {
					target = intstr.FromInt32(p.Port) // unset: the port itself
				}
				var found bool
				for _, c := range spec.Containers {
					if cp, ok := containerPort(c, target); ok {
						found = true
						assert.Equal(t, cp.ContainerPort, p.Port, "Service %s port %s exposes container port %s:%d under another number",
							svc.Name, p.Name, c.Name, cp.ContainerPort)
						assert.Equal(t, cp.Protocol, p.Protocol, "Service %s port %s", svc.Name, p.Name)
					}
				}
				assert.True(t, found, "Service %s port %s targets %s, which no container of %s declares", svc.Name, p.Name, target.String(), selected[0])
			}
		}

		var refs int
		for name, w := range ps.templates {
			for _, c := range containers(w.Spec) {
				values := append(slices.Clone(c.Command), c.Args...)
				for _, e := range c.Env {
					values = append(values, e.Value)
				}
				for _, v := range values {
					for _, m := range serviceRef.FindAllStringSubmatch(v, -1) {
						svc, ok := services[m[1]]
						if !ok {
							continue // a pod's or an outside name
						}
						refs++
						port, _ := strconv.Atoi(m[2])
						assert.True(t, slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return int(p.Port) == port }),
							"%s container %s reaches Service %s on port %d, which the Service does not have", name, c.Name, svc.Name, port)
					}
				}
			}
		}
		if _, ok := services["zookeeper"]; ok { // KRaft brokers reach their voters by pod names
			assert.NotZero(t, refs, "the brokers reach the ensemble through its Service")
		}
	})
}

// quorums are the workloads whose members form a majority quorum: they
// stay available only while more than half of them run. Kafka's brokers in
// ZooKeeper mode are no quorum (the controller is elected through
// ZooKeeper); a KRaft controller set would be one.
var quorums = map[string]bool{"StatefulSet/zookeeper": true}

// guaranteed is how many of n pods a budget keeps running while evictions
// go on, with the disruption controller's arithmetic (percentages round
// up); a budget with neither bound guarantees nothing.
func guaranteed(spec policyv1.PodDisruptionBudgetSpec, n int) int {
	switch {
	case spec.MinAvailable != nil:
		v, _ := intstr.GetScaledValueFromIntOrPercent(spec.MinAvailable, n, true)
		return min(v, n)
	case spec.MaxUnavailable != nil:
		v, _ := intstr.GetScaledValueFromIntOrPercent(spec.MaxUnavailable, n, true)
		return max(n-v, 0)
	}
	return 0
}

// keepsQuorum: a drain within the budget leaves a majority of n running.
func keepsQuorum(spec policyv1.PodDisruptionBudgetSpec, n int) bool {
	return guaranteed(spec, n) >= n/2+1
}

// TestQuorumRule: the rule the budgets are held to, on budgets that keep
// and that break quorum.
func TestQuorumRule(t *testing.T) {
	t.Parallel()
	n := func(i int) *intstr.IntOrString { v := intstr.FromInt(i); return &v }
	pct := func(s string) *intstr.IntOrString { v := intstr.FromString(s); return &v }
	for _, tt := range []struct {
		members int
		spec    policyv1.PodDisruptionBudgetSpec
		keeps   bool
	}{
		{1, policyv1.PodDisruptionBudgetSpec{MaxUnavailable: n(1)}, false},
		{1, policyv1.PodDisruptionBudgetSpec{MaxUnavailable: n(0)}, true},
		{2, policyv1.PodDisruptionBudgetSpec{MaxUnavailable: n(1)}, false},
		{2, policyv1.PodDisruptionBudgetSpec{MinAvailable: n(2)}, true},
		{3, policyv1.PodDisruptionBudgetSpec{MaxUnavailable: n(1)}, true},
		{3, policyv1.PodDisruptionBudgetSpec{MaxUnavailable: n(2)}, false},
		{4, policyv1.PodDisruptionBudgetSpec{MaxUnavailable: pct("50%")}, false},
		{5, policyv1.PodDisruptionBudgetSpec{MinAvailable: pct("50%")}, true},
		{5, policyv1.PodDisruptionBudgetSpec{MinAvailable: n(2)}, false},
		{3, policyv1.PodDisruptionBudgetSpec{}, false},
	} {
		assert.Equal(t, tt.keeps, keepsQuorum(tt.spec, tt.members), "%d members, %+v", tt.members, tt.spec)
	}
}

// TestInvariantBudgets: every PodDisruptionBudget selects the pods of
// exactly one workload (one that selects nothing protects nothing; one that
// selects two workloads counts their pods together); every StatefulSet has
// one; and a quorum's budget lets no drain take it below its majority.
func TestInvariantBudgets(t *testing.T) {
	t.Parallel()
	var quorumsChecked int
	eachRun(t, func(t *testing.T, g *Recorded) {
		ps := podsOf(t, g.Graph)
		budgets := map[string]int{}
		for _, r := range g.Find(tokPDB) {
			var pdb policyv1.PodDisruptionBudget
			r.Decode(t, &pdb)
			selected := ps.matching(t, pdb.Spec.Selector)
			if !assert.Len(t, selected, 1, "PodDisruptionBudget %s selects %v", pdb.Name, selected) {
				continue
			}
			w := selected[0]
			budgets[w]++
			members := ps.replicas[w]
			if quorums[w] {
				quorumsChecked++
				assert.True(t, keepsQuorum(pdb.Spec, members), "PodDisruptionBudget %s lets a drain take %s below a majority of its %d members (it keeps %d running)",
					pdb.Name, w, members, guaranteed(pdb.Spec, members))
			}
		}
		for w := range ps.templates {
			if strings.HasPrefix(w, "StatefulSet/") {
				assert.Equal(t, 1, budgets[w], "budgets of %s", w)
			}
		}
	})
	assert.NotZero(t, quorumsChecked, "some run has an ensemble the quorum rule is asserted on")
}

// allInterfaces are the bind addresses that mean every interface.
func allInterfaces(host string) bool {
	return host == "" || host == "0.0.0.0" || host == "::" || host == "[::]"
}

// hasContainerPort: c declares port number n.
func hasContainerPort(c corev1.Container, n int) bool {
	_, ok := containerPort(c, intstr.FromInt(n))
	return ok
}

// listenRule checks how one workload's software binds its listeners: on
// every interface (a pod is reached on its own address, never loopback),
// on the ports its container declares.
type listenRule func(t *testing.T, g *Graph, name string, spec corev1.PodSpec)

// listenRules hold every workload of the program to its software's way of
// saying where it listens; a workload without a rule fails the test.
var listenRules = map[string]listenRule{
	"StatefulSet/zookeeper":     zookeeperListens,
	"StatefulSet/kafka":         kafkaListens,
	"Deployment/mqtt":           mosquittoListens,
	"Deployment/kafka-exporter": exporterListens,
	"Pod/kafka-client-util":     listensOnNothing,
	"Deployment/kafka-console":  consoleListens,
}

// zookeeperListens: the quorum ports on every interface
// (quorumListenOnAllIPs, or a member binds its election port to the address
// its own name resolves to); client, admin and metrics servers without a
// bind address other than every interface; the ports of ZOO_SERVERS are the
// container's.
func zookeeperListens(t *testing.T, _ *Graph, name string, spec corev1.PodSpec) {
	require.Len(t, spec.Containers, 1, name)
	c := spec.Containers[0]
	env := envMap(c.Env)
	cfg := map[string]string{}
	for _, kv := range strings.Fields(env["ZOO_CFG_EXTRA"]) {
		k, v, _ := strings.Cut(kv, "=")
		cfg[k] = v
	}
	assert.Equal(t, "true", cfg["quorumListenOnAllIPs"], "%s: zoo.cfg quorumListenOnAllIPs", name)
	for _, key := range []string{"clientPortAddress", "admin.serverAddress", "metricsProvider.httpHost"} {
		if v, ok := cfg[key]; ok {
			assert.True(t, allInterfaces(v), "%s: zoo.cfg %s=%s binds one interface only", name, key, v)
		}
	}
	servers := strings.Fields(env["ZOO_SERVERS"])
	require.NotEmpty(t, servers, "%s: ZOO_SERVERS", name)
	for _, s := range servers {
		// server.<id>=<host>:<quorum port>:<election port>[:<role>];[<client address>:]<client port>
		_, addr, _ := strings.Cut(s, "=")
		quorum, client, ok := strings.Cut(addr, ";")
		require.True(t, ok, "%s: %q names no client port", name, s)
		parts := strings.Split(quorum, ":")
		require.GreaterOrEqual(t, len(parts), 3, "%s: %q", name, s)
		for _, p := range parts[1:3] {
			n, err := strconv.Atoi(p)
			require.NoError(t, err, "%s: %q", name, s)
			assert.True(t, hasContainerPort(c, n), "%s: %q uses port %d, which the container does not declare", name, s, n)
		}
		host, port := "", client
		if i := strings.LastIndex(client, ":"); i >= 0 {
			host, port = client[:i], client[i+1:]
		}
		assert.True(t, allInterfaces(host), "%s: %q binds the client port to %s only", name, s, host)
		n, err := strconv.Atoi(port)
		require.NoError(t, err, "%s: %q", name, s)
		assert.True(t, hasContainerPort(c, n), "%s: client port %d is not the container's", name, n)
	}
}

// exportedListeners are the values a start command exports as
// KAFKA_LISTENERS.
var exportedListeners = regexp.MustCompile(`export KAFKA_LISTENERS="([^"]+)"`)

// kafkaListens: every listener of KAFKA_LISTENERS on every interface, on a
// port the broker container declares.
func kafkaListens(t *testing.T, _ *Graph, name string, spec corev1.PodSpec) {
	require.Len(t, spec.Containers, 1, name)
	c := spec.Containers[0]
	listeners := envMap(c.Env)["KAFKA_LISTENERS"]
	if listeners == "" { // KRaft: the start command exports them per role
		var all []string
		for _, m := range exportedListeners.FindAllStringSubmatch(strings.Join(c.Command, "\n"), -1) {
			all = append(all, m[1])
		}
		listeners = strings.Join(all, ",")
	}
	require.NotEmpty(t, listeners, "%s: KAFKA_LISTENERS", name)
	for _, l := range strings.Split(listeners, ",") {
		_, hostPort, ok := strings.Cut(l, "://")
		require.True(t, ok, "%s: listener %q", name, l)
		host, port, err := net.SplitHostPort(hostPort)
		require.NoError(t, err, "%s: listener %q", name, l)
		assert.True(t, allInterfaces(host), "%s: listener %q binds %s only", name, l, host)
		n, err := strconv.Atoi(port)
		require.NoError(t, err)
		assert.True(t, hasContainerPort(c, n), "%s: listener %q is on a port the container does not declare", name, l)
	}
}

// mosquittoListens: the mosquitto.conf the broker mounts has a listener
// (without one, Mosquitto 2 listens on loopback only), none with a bind
// address, each on a port the container declares.
func mosquittoListens(t *testing.T, g *Graph, name string, spec corev1.PodSpec) {
	require.Len(t, spec.Containers, 1, name)
	c := spec.Containers[0]
	var confs []string
	for _, cm := range mountedConfigMaps(t, g, spec) {
		if conf, ok := cm.Data["mosquitto.conf"]; ok {
			confs = append(confs, conf)
		}
	}
	require.Len(t, confs, 1, "%s mounts one mosquitto.conf", name)
	var listeners int
	for _, line := range strings.Split(confs[0], "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "listener":
			listeners++
			require.GreaterOrEqual(t, len(f), 2, "%s: %q", name, line)
			n, err := strconv.Atoi(f[1])
			require.NoError(t, err, "%s: %q", name, line)
			assert.True(t, hasContainerPort(c, n), "%s: %q is on a port the container does not declare", name, line)
			if len(f) > 2 {
				assert.True(t, allInterfaces(f[2]), "%s: %q binds %s only", name, line, f[2])
			}
		case "bind_address", "bind_interface":
			assert.Failf(t, "bound listener", "%s: %q binds the broker to one address", name, line)
		}
	}
	assert.NotZero(t, listeners, "%s: mosquitto.conf has no listener: Mosquitto 2 then listens on loopback only", name)
}

// exporterListens: the exporter's --web.listen-address has no host, on a
// port its container declares.
func exporterListens(t *testing.T, _ *Graph, name string, spec corev1.PodSpec) {
	require.Len(t, spec.Containers, 1, name)
	c := spec.Containers[0]
	var addrs []string
	for _, a := range c.Args {
		if v, ok := strings.CutPrefix(a, "--web.listen-address="); ok {
			addrs = append(addrs, v)
		}
	}
	require.Len(t, addrs, 1, "%s: --web.listen-address", name)
	host, port, err := net.SplitHostPort(addrs[0])
	require.NoError(t, err)
	assert.True(t, allInterfaces(host), "%s: --web.listen-address=%s binds one interface only", name, addrs[0])
	n, err := strconv.Atoi(port)
	require.NoError(t, err)
	assert.True(t, hasContainerPort(c, n), "%s: listens on %d, which the container does not declare", name, n)
}

// consoleListens: Kafbat UI is a Spring Boot server, which binds every
// interface unless SERVER_ADDRESS names one, on SERVER_PORT.
func consoleListens(t *testing.T, _ *Graph, name string, spec corev1.PodSpec) {
	require.Len(t, spec.Containers, 1, name)
	c := spec.Containers[0]
	env := envMap(c.Env)
	assert.True(t, allInterfaces(env["SERVER_ADDRESS"]), "%s: SERVER_ADDRESS=%s binds one interface only", name, env["SERVER_ADDRESS"])
	n, err := strconv.Atoi(env["SERVER_PORT"])
	require.NoError(t, err, "%s: SERVER_PORT", name)
	assert.True(t, hasContainerPort(c, n), "%s: listens on %d, which the container does not declare", name, n)
}

// listensOnNothing: the client pod only idles; it declares no port.
func listensOnNothing(t *testing.T, _ *Graph, name string, spec corev1.PodSpec) {
	for _, c := range containers(spec) {
		assert.Empty(t, c.Ports, "%s container %s", name, c.Name)
	}
}

// TestInvariantListenersBindAllInterfaces: every workload's software
// listens on every interface of its pod, on the ports it declares.
func TestInvariantListenersBindAllInterfaces(t *testing.T) {
	t.Parallel()
	eachRun(t, func(t *testing.T, g *Recorded) {
		for name, w := range podsOf(t, g.Graph).templates {
			rule, ok := listenRules[name]
			if !assert.True(t, ok, "%s has no listener rule in listenRules: say how its software binds", name) {
				continue
			}
			rule(t, g.Graph, name, w.Spec)
		}
	})
}

// mountedConfigMaps are the ConfigMaps of the graph that spec mounts as
// volumes or reads into its environment.
func mountedConfigMaps(t *testing.T, g *Graph, spec corev1.PodSpec) map[string]corev1.ConfigMap {
	t.Helper()
	names := map[string]bool{}
	for _, v := range spec.Volumes {
		if v.ConfigMap != nil {
			names[v.ConfigMap.Name] = true
		}
		if v.Projected != nil {
			for _, s := range v.Projected.Sources {
				if s.ConfigMap != nil {
					names[s.ConfigMap.Name] = true
				}
			}
		}
	}
	for _, c := range containers(spec) {
		for _, e := range c.EnvFrom {
			if e.ConfigMapRef != nil {
				names[e.ConfigMapRef.Name] = true
			}
		}
	}
	out := map[string]corev1.ConfigMap{}
	for name := range names {
		var cm corev1.ConfigMap
		g.Object(t, tokConfigMap, name).Decode(t, &cm)
		out[name] = cm
	}
	return out
}

// configHashSuffix ends the pod-template annotation that stands for the
// configuration a workload mounts.
const configHashSuffix = "/config-sha256"

// TestInvariantConfigHashesStandForTheirConfig: a workload that mounts a
// ConfigMap carries a hash annotation on its pod template, and the hash is
// the SHA-256 of the ConfigMap's data as the graph holds it (computed here,
// not by the component). Kubernetes does not restart pods when a mounted
// ConfigMap changes: the annotation is what rolls them.
func TestInvariantConfigHashesStandForTheirConfig(t *testing.T) {
	t.Parallel()
	var hashes int
	eachRun(t, func(t *testing.T, g *Recorded) {
		for name, w := range podsOf(t, g.Graph).templates {
			cms := mountedConfigMaps(t, g.Graph, w.Spec)
			var annotated []string
			for k := range w.Annotations {
				if strings.HasSuffix(k, configHashSuffix) {
					annotated = append(annotated, k)
				}
			}
			if len(cms) == 0 {
				assert.Empty(t, annotated, "%s mounts no ConfigMap: what does its hash stand for?", name)
				continue
			}
			require.Len(t, annotated, 1, "%s mounts %v and carries no %s annotation: a config change would not roll it", name, slices.Collect(maps.Keys(cms)), configHashSuffix)
			require.Len(t, cms, 1, "%s: define how one hash covers several ConfigMaps", name)
			for _, cm := range cms {
				require.Len(t, cm.Data, 1, "%s: define how one hash covers several files of ConfigMap %s", name, cm.Name)
				for _, content := range cm.Data {
					sum := sha256.Sum256([]byte(content))
					hashes++
					assert.Equal(t, hex.EncodeToString(sum[:]), w.Annotations[annotated[0]],
						"%s: %s is not the hash of ConfigMap %s", name, annotated[0], cm.Name)
				}
			}
		}
	})
	assert.NotZero(t, hashes, "the MQTT broker's config hash is checked")
}

// TestInvariantEveryContainerHasAMemoryLimit: every container (init
// containers too) of every pod the program defines has a memory limit, at
// least its request; and every resource requirement the program hands a
// chart or an operator (Helm values, the CephCluster) that sizes memory or
// CPU limits memory too. A container without one can take a node's memory from
// its neighbours.
func TestInvariantEveryContainerHasAMemoryLimit(t *testing.T) {
	t.Parallel()
	eachRun(t, func(t *testing.T, g *Recorded) {
		for r, spec := range podRuns(t, g.Graph) {
			for _, c := range containers(spec) {
				what := fmt.Sprintf("%s %s container %s", r.Type, r.K8sName(), c.Name)
				limit := c.Resources.Limits.Memory()
				if assert.False(t, limit.IsZero(), "%s has no memory limit", what) {
					request := c.Resources.Requests.Memory()
					assert.LessOrEqual(t, request.Cmp(*limit), 0, "%s requests more memory (%s) than its limit (%s)", what, request, limit)
				}
			}
		}
		for _, r := range g.All {
			if strings.HasPrefix(r.Type, "kubernetes:") {
				for _, path := range unlimitedResources(r.Type+" "+r.Name, r.Plain()) {
					assert.Failf(t, "no memory limit", "%s sizes a container without a memory limit", path)
				}
			}
		}
	})
}

// unlimitedResources are the resource requirements under v (a map with
// requests or limits, whatever its key: Rook sizes its daemons in a map of
// them) that request or limit CPU or memory but set no memory limit.
// Storage requests (claims) are not container resources.
func unlimitedResources(path string, v any) []string {
	var out []string
	switch v := v.(type) {
	case map[string]any:
		if sizesContainer(v) {
			if limits, _ := v["limits"].(map[string]any); limits["memory"] == nil {
				out = append(out, path)
			}
		}
		for k, x := range v {
			out = append(out, unlimitedResources(path+"."+k, x)...)
		}
	case []any:
		for i, x := range v {
			out = append(out, unlimitedResources(fmt.Sprintf("%s[%d]", path, i), x)...)
		}
	}
	return out
}

func sizesContainer(res map[string]any) bool {
	for _, part := range []string{"requests", "limits"} {
		m, _ := res[part].(map[string]any)
		if m["cpu"] != nil || m["memory"] != nil {
			return true
		}
	}
	return false
}

// Where the settings below are documented.
const (
	zookeeperImageDocs = "https://hub.docker.com/_/zookeeper (docker-library/docs zookeeper/content.md, \"Configuration\")"
	zookeeperImageSrc  = "https://github.com/31z4/zookeeper-docker (Dockerfile ENV and docker-entrypoint.sh, which writes dataDir/dataLogDir from them)"
	zookeeperAdminDocs = "https://zookeeper.apache.org/doc/r3.8.4/zookeeperAdmin.html (JVMFLAGS, read by bin/zkEnv.sh)"
	confluentDocs      = "https://docs.confluent.io/platform/7.9/installation/docker/config-reference.html (KAFKA_<property>, dots as underscores)"
	confluentImageSrc  = "https://github.com/confluentinc/kafka-images (kafka/include/etc/confluent/docker/ensure checks that KAFKA_DATA_DIRS is writable)"
	confluentJMXDocs   = "https://docs.confluent.io/platform/7.9/installation/docker/operations/monitoring.html (KAFKA_JMX_PORT)"
	kafkaScriptsDocs   = "https://kafka.apache.org/documentation/ (bin/kafka-server-start.sh reads KAFKA_HEAP_OPTS)"
	kafbatDocs         = "https://ui.docs.kafbat.io/configuration/misc-configuration-properties (environment variables of Kafbat UI, Spring Boot's relaxed binding)"
	kafbatImageSrc     = "https://github.com/kafbat/kafka-ui (api/Dockerfile: CMD java $JAVA_OPTS -jar api.jar)"
	apacheKafkaDocs    = "https://hub.docker.com/r/apache/kafka and https://kafka.apache.org/documentation/#brokerconfigs (KAFKA_<property>)"
	// Both images' configure scripts read the key and trust stores' file
	// names and password files when KAFKA_ADVERTISED_LISTENERS holds
	// "SSL://" (and the trust store when KAFKA_SSL_CLIENT_AUTH is
	// required), and insist on KAFKA_OPTS when it holds "SASL_".
	confluentConfigure = "https://github.com/confluentinc/kafka-images kafka/include/etc/confluent/docker/configure"
	apacheConfigure    = "https://github.com/apache/kafka docker/resources/common-scripts/configure"
	kafkaSecurityDocs  = "https://kafka.apache.org/documentation/#security (ssl.*, sasl.enabled.mechanisms, authorizer.class.name, super.users, allow.everyone.if.no.acl.found, ssl.principal.mapping.rules)"
)

// securitySettings are the variables of kafkaAuth past "off", the same in
// both images, with where configure (or Kafka) reads each.
func securitySettings(configure string) map[string]string {
	return map[string]string{
		"KAFKA_SSL_KEYSTORE_FILENAME":          configure,
		"KAFKA_SSL_KEYSTORE_CREDENTIALS":       configure,
		"KAFKA_SSL_KEY_CREDENTIALS":            configure,
		"KAFKA_SSL_TRUSTSTORE_FILENAME":        configure,
		"KAFKA_SSL_TRUSTSTORE_CREDENTIALS":     configure,
		"KAFKA_OPTS":                           configure + "; kafka-run-class.sh passes it to the JVM",
		"KAFKA_SSL_CLIENT_AUTH":                configure + "; " + kafkaSecurityDocs,
		"KAFKA_SSL_KEYSTORE_TYPE":              kafkaSecurityDocs,
		"KAFKA_SSL_TRUSTSTORE_TYPE":            kafkaSecurityDocs,
		"KAFKA_SSL_PRINCIPAL_MAPPING_RULES":    kafkaSecurityDocs,
		"KAFKA_SASL_ENABLED_MECHANISMS":        kafkaSecurityDocs,
		"KAFKA_AUTHORIZER_CLASS_NAME":          kafkaSecurityDocs,
		"KAFKA_SUPER_USERS":                    kafkaSecurityDocs,
		"KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND": kafkaSecurityDocs,
	}
}

// imageSettings are the environment variables each image, or the software
// in it, reads: the only names a container of that image may be given, so
// that a misspelt or renamed variable (silently ignored by the image) fails
// here. Kept by hand, each with where it is documented. UNVERIFIED against
// the images themselves: nothing here can pull or run an image, so the
// table says what the documentation says, no more.
var imageSettings = map[string]map[string]string{
	"ghcr.io/kafbat/kafka-ui": {
		"KAFKA_CLUSTERS_0_NAME":             kafbatDocs,
		"KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS": kafbatDocs,
		"KAFKA_CLUSTERS_0_READONLY":         kafbatDocs,
		"DYNAMIC_CONFIG_ENABLED":            kafbatDocs,
		"AUTH_TYPE":                         kafbatDocs,
		"SERVER_PORT":                       kafbatDocs,
		"SERVER_ADDRESS":                    kafbatDocs,
		"JAVA_OPTS":                         kafbatImageSrc,
	},
	"zookeeper": {
		"ZOO_MY_ID":                     zookeeperImageDocs,
		"ZOO_SERVERS":                   zookeeperImageDocs,
		"ZOO_STANDALONE_ENABLED":        zookeeperImageDocs,
		"ZOO_TICK_TIME":                 zookeeperImageDocs,
		"ZOO_INIT_LIMIT":                zookeeperImageDocs,
		"ZOO_SYNC_LIMIT":                zookeeperImageDocs,
		"ZOO_MAX_CLIENT_CNXNS":          zookeeperImageDocs,
		"ZOO_ADMINSERVER_ENABLED":       zookeeperImageDocs,
		"ZOO_AUTOPURGE_PURGEINTERVAL":   zookeeperImageDocs,
		"ZOO_AUTOPURGE_SNAPRETAINCOUNT": zookeeperImageDocs,
		"ZOO_4LW_COMMANDS_WHITELIST":    zookeeperImageDocs,
		"ZOO_CFG_EXTRA":                 zookeeperImageDocs,
		"ZOO_DATA_DIR":                  zookeeperImageSrc,
		"ZOO_DATA_LOG_DIR":              zookeeperImageSrc,
		"JVMFLAGS":                      zookeeperAdminDocs,
	},
	"confluentinc/cp-kafka": {
		"KAFKA_BROKER_ID":                                confluentDocs,
		"KAFKA_ZOOKEEPER_CONNECT":                        confluentDocs,
		"KAFKA_LISTENERS":                                confluentDocs,
		"KAFKA_ADVERTISED_LISTENERS":                     confluentDocs,
		"KAFKA_LISTENER_SECURITY_PROTOCOL_MAP":           confluentDocs,
		"KAFKA_INTER_BROKER_LISTENER_NAME":               confluentDocs,
		"KAFKA_LOG_DIRS":                                 confluentDocs,
		"KAFKA_DATA_DIRS":                                confluentImageSrc,
		"KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR":         confluentDocs,
		"KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": confluentDocs,
		"KAFKA_TRANSACTION_STATE_LOG_MIN_ISR":            confluentDocs,
		"KAFKA_DEFAULT_REPLICATION_FACTOR":               confluentDocs,
		"KAFKA_MIN_INSYNC_REPLICAS":                      confluentDocs,
		"KAFKA_HEAP_OPTS":                                confluentDocs,
		"KAFKA_JMX_PORT":                                 confluentJMXDocs,
		"KAFKA_JMX_HOSTNAME":                             confluentJMXDocs,
		// kafka-run-class.sh writes the GC log and the tools' logs there.
		"LOG_DIR": kafkaScriptsDocs,
	},
	"apache/kafka": {
		"CLUSTER_ID":                                             apacheKafkaDocs,
		"KAFKA_NODE_ID":                                          apacheKafkaDocs,
		"KAFKA_PROCESS_ROLES":                                    apacheKafkaDocs,
		"KAFKA_CONTROLLER_QUORUM_VOTERS":                         apacheKafkaDocs,
		"KAFKA_CONTROLLER_LISTENER_NAMES":                        apacheKafkaDocs,
		"KAFKA_LISTENERS":                                        apacheKafkaDocs,
		"KAFKA_ADVERTISED_LISTENERS":                             apacheKafkaDocs,
		"KAFKA_LISTENER_SECURITY_PROTOCOL_MAP":                   apacheKafkaDocs,
		"KAFKA_INTER_BROKER_LISTENER_NAME":                       apacheKafkaDocs,
		"KAFKA_LOG_DIRS":                                         apacheKafkaDocs,
		"KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR":                 apacheKafkaDocs,
		"KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR":         apacheKafkaDocs,
		"KAFKA_TRANSACTION_STATE_LOG_MIN_ISR":                    apacheKafkaDocs,
		"KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR": apacheKafkaDocs,
		"KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR":            apacheKafkaDocs,
		"KAFKA_DEFAULT_REPLICATION_FACTOR":                       apacheKafkaDocs,
		"KAFKA_MIN_INSYNC_REPLICAS":                              apacheKafkaDocs,
		"KAFKA_HEAP_OPTS":                                        kafkaScriptsDocs,
		// The same kafka-run-class.sh as in the Confluent image.
		"LOG_DIR": kafkaScriptsDocs,
	},
}

func init() {
	maps.Copy(imageSettings["confluentinc/cp-kafka"], securitySettings(confluentConfigure))
	maps.Copy(imageSettings["apache/kafka"], securitySettings(apacheConfigure))
}

// imageRepository is an image reference without its tag or digest.
func imageRepository(image string) string {
	image, _, _ = strings.Cut(image, "@")
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		image = image[:i]
	}
	return strings.TrimPrefix(image, "docker.io/")
}

// exported finds the variables a start script exports before it hands over
// to the image's entrypoint.
var exported = regexp.MustCompile(`(?:^|[\s;&|])export\s+([A-Za-z_][A-Za-z0-9_]*)=`)

// settingsOf are the variables c is given: its env, and what its command
// exports.
func settingsOf(c corev1.Container) []string {
	var names []string
	for _, e := range c.Env {
		names = append(names, e.Name)
	}
	for _, arg := range append(slices.Clone(c.Command), c.Args...) {
		for _, m := range exported.FindAllStringSubmatch(arg, -1) {
			names = append(names, m[1])
		}
	}
	return names
}

// TestInvariantEveryVariableIsASetting: every environment variable the
// program gives a container, or exports in its start command, is one the
// container's image reads (imageSettings).
func TestInvariantEveryVariableIsASetting(t *testing.T) {
	t.Parallel()
	var checked int
	eachRun(t, func(t *testing.T, g *Recorded) {
		for name, w := range podsOf(t, g.Graph).templates {
			for _, c := range containers(w.Spec) {
				repo := imageRepository(c.Image)
				known := imageSettings[repo]
				for _, v := range settingsOf(c) {
					checked++
					_, ok := known[v]
					assert.True(t, ok, "%s container %s sets %s, which image %s does not read (imageSettings)", name, c.Name, v, repo)
				}
			}
		}
	})
	assert.Greater(t, checked, 20, "the brokers' and the ensemble's variables are checked")
}

// TestSettingsOfFindsExports: the start scripts' exports count as settings.
func TestSettingsOfFindsExports(t *testing.T) {
	t.Parallel()
	c := corev1.Container{
		Command: []string{"sh", "-c", "export A_B=1\n  export C=${HOSTNAME##*-}; export D=2\nexec run"},
		Env:     []corev1.EnvVar{{Name: "E"}},
	}
	assert.ElementsMatch(t, []string{"E", "A_B", "C", "D"}, settingsOf(c))
}

// TestInvariantStackSettingsReachTheProvider: what a stack says about its
// cluster reaches the one Kubernetes provider every object uses: the
// kubeconfig context, the render directory, and on Scaleway the kubeconfig
// read from the control plane (and nothing from the ambient kubeconfig).
func TestInvariantStackSettingsReachTheProvider(t *testing.T) {
	t.Parallel()
	tests := []struct {
		run     Run
		want    map[string]any // provider inputs, nil = absent
		fromCmd bool           // kubeconfig is the remote command's stdout
	}{
		{Run{Stack: "local"}, map[string]any{"context": nil, "kubeconfig": nil, "renderYamlToDirectory": nil}, false},
		{Run{Stack: "local", Set: map[string]string{"kubeContext": "kind-kind"}},
			map[string]any{"context": "kind-kind", "kubeconfig": nil, "renderYamlToDirectory": nil}, false},
		{Run{Stack: "local", Set: map[string]string{"kubeContext": "prod-eu", "renderYamlToDirectory": "out/local"}},
			map[string]any{"context": nil, "kubeconfig": nil, "renderYamlToDirectory": "out/local"}, false},
		{Run{Stack: "local", Set: map[string]string{"renderYamlToDirectory": "manifests"}},
			map[string]any{"context": nil, "renderYamlToDirectory": "manifests"}, false},
		{Run{Stack: "dev3"}, map[string]any{"context": nil, "renderYamlToDirectory": nil}, true},
	}
	for _, tt := range tests {
		t.Run(runName(tt.run), func(t *testing.T) {
			rec := tt.run.Shared(t)
			provs := rec.Find(tokK8sProv)
			require.Len(t, provs, 1, "one Kubernetes provider")
			in := provs[0].Plain()
			for key, want := range tt.want {
				assert.Equal(t, want, in[key], "provider input %s", key)
			}
			if tt.fromCmd {
				read := one(t, rec.Graph, tokRemoteCmd, "cluster-kubeconfig")
				require.True(t, provs[0].Inputs["kubeconfig"].IsSecret())
				assert.Equal(t, rec.Output(read, "stdout"), in["kubeconfig"], "the provider uses the kubeconfig read from the control plane")
				assert.Contains(t, in["kubeconfig"], rec.ClientKey)
			}
			ref := provs[0].URN + "::" + idOf(provs[0])
			for _, r := range rec.All {
				if strings.HasPrefix(r.Type, "kubernetes:") {
					assert.Equal(t, ref, r.Provider, "%s %s uses the stack's provider", r.Type, r.Name)
				}
			}
		})
	}
}

// k3sConfigs are the k3s config files (config.yaml and the drop-ins of
// config.yaml.d, where k3s documents them) that a server's cloud-init
// writes, parsed.
func k3sConfigs(t *testing.T, s *Res) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, f := range cloudConfig(t, s).WriteFiles {
		if f.Path == "/etc/rancher/k3s/config.yaml" || strings.HasPrefix(f.Path, "/etc/rancher/k3s/config.yaml.d/") {
			var m map[string]any
			require.NoError(t, yaml.Unmarshal([]byte(f.Content), &m), f.Path)
			out = append(out, m)
		}
	}
	return out
}

// TestInvariantControlPlaneIsTainted: the k3s server's config taints the
// control plane NoSchedule (its DEV1-M has half a worker's memory, and the
// book keeps workloads off the master); no worker is tainted.
func TestInvariantControlPlaneIsTainted(t *testing.T) {
	t.Parallel()
	const taint = "node-role.kubernetes.io/control-plane:NoSchedule"
	for _, run := range []Run{{Stack: "dev3"}, {Stack: "dev3", Set: map[string]string{"workerCount": "1", "cephPoolReplicas": "1"}}} {
		t.Run(runName(run), func(t *testing.T) {
			g := run.Shared(t).Graph
			cp, workers := servers(t, g)
			var taints []string
			for _, cfg := range k3sConfigs(t, cp) {
				taints = append(taints, strs(cfg["node-taint"])...)
			}
			assert.Contains(t, taints, taint, "the control plane's k3s config")
			require.NotEmpty(t, workers)
			for _, w := range workers {
				for _, cfg := range k3sConfigs(t, w) {
					assert.NotContains(t, strs(cfg["node-taint"]), taint, "%s is a worker", w.Name)
				}
			}
		})
	}
}
