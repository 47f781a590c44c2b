// Package zookeeper is the ZooKeeper ensemble of the data namespace: the
// client Service "zookeeper", the headless Service "zookeeper-headless" that
// gives every member a stable DNS name, the StatefulSet "zookeeper" and its
// PodDisruptionBudget.
package zookeeper

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/apk8s/apk8s-platform/internal/workload"
	"github.com/apk8s/apk8s-platform/providers/kube"
)

// Names of the objects, as the book gives them; Kafka and NiFi find the
// ensemble through them.
const (
	Name         = "zookeeper"
	HeadlessName = "zookeeper-headless"
	ClaimName    = "data" // the claim template: member i's claim is data-zookeeper-i
	dataDir      = "/data"
)

// Ports of a member. Client, Server and Election are the book's; Metrics is
// the Prometheus endpoint of ZooKeeper 3.6+. The AdminServer (8080, an
// unauthenticated HTTP API) is off.
var (
	Client   = workload.Port{Name: "client", Port: 2181}
	Server   = workload.Port{Name: "server", Port: 2888}
	Election = workload.Port{Name: "election", Port: 3888}
	Metrics  = workload.Port{Name: "metrics", Port: 7000}
)

// User is the image's zookeeper user.
const User = 1000

// Labels select the ensemble's pods.
var Labels = map[string]string{"app": Name}

// Config is the validated shape of the ensemble.
type Config struct {
	Image        string
	Replicas     int32
	Heap         string            // JVM heap, e.g. "1G"
	MemoryLimit  resource.Quantity // container memory limit
	StorageSize  resource.Quantity // claim per member
	StorageClass string            // "" takes the cluster's default class
}

// Args are the inputs of the component.
type Args struct {
	Namespace kube.Namespace
	// Clients may connect to the client port (the brokers); Scrapers to the
	// metrics port. Members reach each other on the quorum ports; nothing
	// else reaches a member.
	Clients  []workload.Peer
	Scrapers []workload.Peer
	// After are resources the members wait for: the StorageClass of their
	// claims when this program creates it.
	After []pulumi.Resource
	// Growth is how the members' claims follow a new size
	// (workload.App.Durable).
	Growth workload.Growth
	Config Config
}

// ZooKeeper is the ensemble component.
type ZooKeeper struct {
	pulumi.ResourceState

	Service         *kube.Resource
	HeadlessService *kube.Resource
	StatefulSet     *kube.Resource
	// ClaimSize is the size every claim has once this update patched them.
	ClaimSize      pulumi.StringOutput
	Budget         *kube.Resource
	ServiceAccount *kube.Resource
	Policy         *kube.Resource

	// Connect is the connection string clients use ("zookeeper-headless:2181").
	Connect pulumi.StringOutput `pulumi:"connect"`
}

// ConnectString is how clients in the namespace reach the ensemble.
func ConnectString() string { return fmt.Sprintf("%s:%d", HeadlessName, Client.Port) }

// New creates the ensemble.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*ZooKeeper, error) {
	zk, c, err := kube.Register[ZooKeeper](ctx, "apk8s:data:ZooKeeper", name, args.Namespace, opts...)
	if err != nil {
		return nil, err
	}
	ns := args.Namespace.Name
	members := app(ns)
	zk.ServiceAccount = c.Add(name, kube.Args{Object: members.ServiceAccount()})
	zk.Service = c.Add(name, kube.Args{Object: members.Service(Client)})
	zk.HeadlessService = c.Add(name+"-headless", kube.Args{Object: members.HeadlessService(HeadlessName, Client, Election, Server)})
	zk.StatefulSet, zk.ClaimSize = members.Durable(c, name, statefulSet(ns, args.Config), args.Growth,
		pulumi.DependsOn(append([]pulumi.Resource{zk.HeadlessService, zk.ServiceAccount}, args.After...)))
	zk.Budget = c.Add(name, kube.Args{Object: members.Budget(workload.QuorumTolerance(args.Config.Replicas))})
	zk.Policy = c.Add(name, kube.Args{Object: policy(ns, args.Clients, args.Scrapers)})
	if err := c.Err(); err != nil {
		return nil, err
	}
	zk.Connect = pulumi.String(ConnectString()).ToStringOutput()
	return zk, ctx.RegisterResourceOutputs(zk, pulumi.Map{"connect": zk.Connect})
}

// app is the ensemble's StatefulSet and what selects its members.
func app(ns string) workload.App {
	return workload.App{Name: Name, Namespace: ns, Labels: Labels, User: User}
}

// policy admits clients to the client port, the members to each other's
// quorum ports and scrapers to the metrics port.
func policy(ns string, clients, scrapers []workload.Peer) *networkingv1.NetworkPolicy {
	members := app(ns)
	return members.Policy(
		workload.Ingress{Ports: []workload.Port{Client}, From: clients},
		workload.Ingress{Ports: []workload.Port{Server, Election}, From: []workload.Peer{workload.Pods(Labels)}},
		workload.Ingress{Ports: []workload.Port{Metrics}, From: scrapers},
	)
}

// MemberHost is the stable DNS name of member i (0-based pod ordinal).
func MemberHost(ns string, i int) string {
	return fmt.Sprintf("%s-%d.%s.%s.svc.cluster.local", Name, i, HeadlessName, ns)
}

// Servers is the ensemble list in the form of ZOO_SERVERS: one
// "server.<id>=<host>:<server>:<election>;<client>" per member, ids from 1.
func Servers(ns string, replicas int32) string {
	list := make([]string, replicas)
	for i := range list {
		list[i] = fmt.Sprintf("server.%d=%s:%d:%d;%d", i+1, MemberHost(ns, i), Server.Port, Election.Port, Client.Port)
	}
	return strings.Join(list, " ")
}

// startCommand takes the member id from the pod ordinal (zookeeper-0 is id 1)
// and hands over to the image's entrypoint, which writes zoo.cfg from ZOO_*.
const startCommand = `export ZOO_MY_ID=$((${HOSTNAME##*-} + 1))
exec /docker-entrypoint.sh zkServer.sh start-foreground`

// readyCommand asks the member "ruok" on its client port with bash's own
// /dev/tcp (no nc needed in the image). A running member answers "imok"
// whether or not it has a quorum yet, so every member turns ready on its
// own and none waits for another; the AdminServer the probe used before is
// off.
var readyCommand = fmt.Sprintf(`exec 3<>/dev/tcp/127.0.0.1/%d && printf ruok >&3 && read -r -t 3 answer <&3; [ "$answer" = imok ]`, Client.Port)

func statefulSet(ns string, c Config) workload.Set {
	extra := []string{
		"quorumListenOnAllIPs=true",
		"minSessionTimeout=4000",
		"maxSessionTimeout=40000",
		"metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider",
		fmt.Sprintf("metricsProvider.httpPort=%d", Metrics.Port),
	}
	env := []corev1.EnvVar{
		{Name: "ZOO_SERVERS", Value: Servers(ns, c.Replicas)},
		{Name: "ZOO_STANDALONE_ENABLED", Value: fmt.Sprint(c.Replicas == 1)},
		{Name: "ZOO_DATA_DIR", Value: dataDir},
		{Name: "ZOO_DATA_LOG_DIR", Value: dataDir + "/log"},
		{Name: "ZOO_TICK_TIME", Value: "2000"},
		{Name: "ZOO_INIT_LIMIT", Value: "5"},
		{Name: "ZOO_SYNC_LIMIT", Value: "10"},
		{Name: "ZOO_MAX_CLIENT_CNXNS", Value: "60"},
		// Old snapshots and transaction logs are purged every day, the
		// newest three kept: without it the volume fills up.
		{Name: "ZOO_AUTOPURGE_SNAPRETAINCOUNT", Value: "3"},
		{Name: "ZOO_AUTOPURGE_PURGEINTERVAL", Value: "24"},
		{Name: "ZOO_ADMINSERVER_ENABLED", Value: "false"},
		{Name: "ZOO_4LW_COMMANDS_WHITELIST", Value: "srvr,mntr,ruok"},
		{Name: "ZOO_CFG_EXTRA", Value: strings.Join(extra, " ")},
		{Name: "JVMFLAGS", Value: workload.HeapOpts(c.Heap)},
	}
	members := app(ns)
	spec := members.PodSpec(corev1.Container{
		Name:    Name,
		Image:   c.Image,
		Command: []string{"/bin/bash", "-ec", startCommand},
		Env:     env,
		Ports:   workload.ContainerPorts(Client, Server, Election, Metrics),
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: c.MemoryLimit},
			Limits:   corev1.ResourceList{corev1.ResourceMemory: c.MemoryLimit},
		},
		ReadinessProbe: &corev1.Probe{
			ProbeHandler:        corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"/bin/bash", "-c", readyCommand}}},
			InitialDelaySeconds: 10, PeriodSeconds: 10, TimeoutSeconds: 5, FailureThreshold: 3,
		},
		LivenessProbe: &corev1.Probe{
			ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{
				Port: intstr.FromString(Client.Name),
			}},
			InitialDelaySeconds: 20, PeriodSeconds: 10, TimeoutSeconds: 5, FailureThreshold: 6,
		},
		VolumeMounts: []corev1.VolumeMount{{Name: ClaimName, MountPath: dataDir}},
	})
	// The root file system is read-only. The entrypoint writes zoo.cfg
	// next to the image's logging config in /conf, the JVM its perf data
	// to /tmp and zkServer.sh may create /logs. (What the image writes is
	// read from its entrypoint and scripts, not tried on a cluster here.)
	member := &spec.Containers[0]
	workload.WritableCopy(&spec, member, "conf", "/conf")
	workload.Scratch(&spec, member, "logs", "/logs")
	workload.Scratch(&spec, member, "tmp", "/tmp")
	return workload.Set{
		Replicas:    c.Replicas,
		ServiceName: HeadlessName,
		Parallel:    true,
		Pod:         spec,
		Claim:       workload.Claim(ClaimName, c.StorageSize, c.StorageClass),
	}
}
