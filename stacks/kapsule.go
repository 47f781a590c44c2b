package stacks

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/apk8s/apk8s-platform/components/kapsule"
	"github.com/apk8s/apk8s-platform/internal/kubeminor"
)

// ClusterKapsule is the cluster source of Scaleway's managed Kubernetes.
const ClusterKapsule = "kapsule"

// kapsuleKeys configure the Kapsule cluster (cluster = "kapsule"); the zone,
// project, worker type and private network come from the keys the k3s
// cluster reads too.
var kapsuleKeys = []Key{
	def("kapsuleVersion", "string", "1.36", `Kubernetes minor of the Kapsule cluster, such as "1.36" (Kapsule applies its patches with kapsuleAutoUpgrade); a minor Scaleway keeps supported for at least six more months (docs/kapsule.md, "Versions"). A later minor upgrades the running cluster, one minor at a time.`),
	def("poolMin", "integer", "3", "Fewest nodes of the Kapsule pool, and its size when created: 1 to 6 (to 20 with allowLargeCluster)."),
	def("poolMax", "integer", "3", "Most nodes of the Kapsule pool, at least poolMin; above poolMin the pool autoscales between the two."),
	def("kapsuleAutoUpgrade", "boolean", "true", "Let Kapsule apply the patches of kapsuleVersion to the control plane and the nodes in the weekly maintenance window."),
	def("kapsuleMaintenanceDay", "string", "sunday", `Day of the weekly maintenance window: "any" or a weekday in lower case, such as "sunday".`),
	def("kapsuleMaintenanceHour", "integer", "3", "Hour (UTC) the maintenance window opens, 0 to 23."),
}

// sharedClusterKeys are the keys of the k3s cluster that the Kapsule
// cluster reads too; the other keys of the k3s cluster and its CI path
// mean something only there, and a Kapsule stack that sets one is
// refused, naming it.
var sharedClusterKeys = []string{"scalewayZone", "scalewayProjectId", "workerType", "privateNetworkCidr", "allowLargeCluster"}

// scalewayOnlyKeys are the keys of the k3s cluster alone.
func scalewayOnlyKeys() []string {
	var out []string
	for _, k := range slices.Concat(clusterKeys, ciPathKeys) {
		if !slices.Contains(sharedClusterKeys, k.Name) {
			out = append(out, k.Name)
		}
	}
	return out
}

// kapsuleIneligibleTypes are the Instance types Kapsule refuses for a pool:
// too little memory for a node (Scaleway's Kubernetes API, CreatePoolRequest.nodeType).
var kapsuleIneligibleTypes = []string{"DEV1-S", "PLAY2-PICO", "STARDUST1-S"}

var (
	kapsuleVersionRE = regexp.MustCompile(`^1\.[0-9]+$`)
	weekdays         = []string{"any", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
)

// The StorageClasses of Scaleway Block Storage's CSI driver that Kapsule
// installs (docs/kapsule.md, "Storage"): the default class first.
var (
	// RetainingClasses keep the volume when its claim is deleted.
	RetainingClasses = []string{"sbs-default-retain"}
	// DeletingClasses delete it with the claim.
	DeletingClasses = []string{"sbs-default", "sbs-5k", "sbs-15k"}
)

// kapsuleVersion reads a Kubernetes minor of the range the project runs
// (kubeminor.Oldest to kubeminor.Supported), written as Kapsule takes it
// with auto-upgrades: "1.N".
func (r *reader) kapsuleVersion(name string) string {
	v := r.str(name)
	minor, _ := kubeminor.Of(v)
	if !kapsuleVersionRE.MatchString(v) || minor < kubeminor.Oldest || minor > kubeminor.Supported {
		r.fail(name, v, fmt.Sprintf("a Kubernetes minor of %s such as %q", kubeminor.Path(kubeminor.Oldest, kubeminor.Supported), defaultValue(name)))
	}
	return v
}

// outputKapsuleVersion remembers the minor the stack's last update left
// its Kapsule cluster on.
const outputKapsuleVersion = "kapsuleVersion"

// settleKapsule holds a deployed Kapsule cluster to the upgrade rule the
// k3s cluster follows too: one minor per update, never down.
func settleKapsule(r *reader, cfg *Config, last lastUpdate) {
	ran, _ := last[outputKapsuleVersion].(string)
	from, deployed := kubeminor.Of(ran)
	to, ok := kubeminor.Of(cfg.Kapsule.Cluster.Version)
	if cfg.Cluster != ClusterKapsule || !deployed || !ok {
		return
	}
	if err := kubeminor.Step(from, to); err != nil {
		r.fail("kapsuleVersion", cfg.Kapsule.Cluster.Version, fmt.Sprintf("1.%d or 1.%d: %v (docs/kapsule.md, \"Versions\")", from, from+1, err))
	}
}

// KapsuleConfig is the validated shape of the Kapsule cluster.
type KapsuleConfig struct {
	Cluster kapsule.Config
}

// loadKapsule reads the Kapsule keys; s holds the Scaleway keys it shares
// (zone, region, project, worker type, private network). Keys of the other
// cluster kind are refused by name.
func loadKapsule(r *reader, c *Config, s ScalewayConfig) KapsuleConfig {
	large := s.AllowLargeCluster
	k := KapsuleConfig{Cluster: kapsule.Config{
		Region:          s.Cluster.Region,
		Zone:            s.Cluster.Zone,
		ProjectID:       s.Cluster.ProjectID,
		Version:         r.kapsuleVersion("kapsuleVersion"),
		PrivateCIDR:     s.Cluster.PrivateCIDR,
		WorkerType:      s.Cluster.WorkerType,
		PoolMin:         r.bounded("poolMin", 1, smallWorkers, maxWorkers, large),
		PoolMax:         r.bounded("poolMax", 1, smallWorkers, maxWorkers, large),
		AutoUpgrade:     r.boolean("kapsuleAutoUpgrade"),
		MaintenanceDay:  r.oneOf("kapsuleMaintenanceDay", weekdays...),
		MaintenanceHour: int(r.integer("kapsuleMaintenanceHour", 0, 23)),
		Disposable:      c.Disposable,
	}}
	if c.Cluster != ClusterKapsule {
		for _, key := range kapsuleKeys {
			if v, set := r.changed(key.Name); set {
				r.fail(key.Name, v, fmt.Sprintf(`unset while cluster is %q: it configures the Kapsule cluster (cluster "kapsule")`, c.Cluster))
			}
		}
		return k
	}
	for _, name := range scalewayOnlyKeys() {
		if v, set := r.changed(name); set {
			r.fail(name, v, `unset while cluster is "kapsule": it configures the k3s cluster on Instances (cluster "scaleway"); `+
				`Kapsule's pool is sized by poolMin and poolMax and its Kubernetes version is kapsuleVersion`)
		}
	}
	if cc := k.Cluster; cc.PoolMin > 0 && cc.PoolMax > 0 && cc.PoolMax < cc.PoolMin {
		r.fail("poolMax", fmt.Sprint(cc.PoolMax), fmt.Sprintf("at least poolMin (%d)", cc.PoolMin))
	}
	if slices.Contains(kapsuleIneligibleTypes, s.Cluster.WorkerType) {
		r.fail("workerType", s.Cluster.WorkerType, fmt.Sprintf("an Instance type Kapsule accepts for a pool, not %s (too little memory for a node), such as %q",
			strings.Join(kapsuleIneligibleTypes, ", "), defaultValue("workerType")))
	}
	if class := c.Kafka.StorageClass; !c.Disposable && !slices.Contains(RetainingClasses, class) {
		r.fail("storageClass", class, fmt.Sprintf("one of %s while the stack is not disposable: a class that keeps the volume when its claim "+
			"or the cluster goes, so that the data services' data outlive a mistake (Scaleway Block Storage's CSI class %q; "+
			`"" is Kapsule's default class %q, which deletes them)`, quoteAll(RetainingClasses), RetainingClasses[0], DeletingClasses[0]))
	}
	if c.RenderYamlToDirectory != "" {
		r.fail("renderYamlToDirectory", c.RenderYamlToDirectory, `"" with cluster "kapsule": a rendering run leaves the cluster out of the graph, `+
			`and the next up would delete it; render from a stack with cluster "existing" instead, such as the render stack (pulumi up -s render)`)
	}
	return k
}

// kapsuleProvider builds the Kapsule cluster and a Kubernetes provider from
// its kubeconfig; args carries the stack-wide provider settings.
func kapsuleProvider(ctx *pulumi.Context, cfg *Config, args *kubernetes.ProviderArgs) (*kubernetes.Provider, *kapsule.Kapsule, error) {
	k, err := kapsule.New(ctx, "kapsule", kapsule.Args{
		Prefix:     ResourcePrefix(ctx.Stack()),
		Config:     cfg.Kapsule.Cluster,
		Kubernetes: args,
	})
	if err != nil {
		return nil, nil, err
	}
	ctx.Export("kubeconfig", k.Kubeconfig)
	ctx.Export("apiServer", k.APIServer)
	ctx.Export("ingressAddress", k.IngressAddress)
	ctx.Export(outputKapsuleVersion, pulumi.String(cfg.Kapsule.Cluster.Version))
	return k.Provider, k, nil
}

// outputCluster is the stack output that remembers where the stack's
// Kubernetes runs.
const outputCluster = "cluster"

// lastCluster is the cluster kind of the stack's last update, "" for a new
// stack. Of updates from before the output existed, the k3s cluster's are
// told by its control plane's address; an existing cluster's left no mark,
// and "" lets it be.
func lastCluster(last lastUpdate) string {
	if kind, ok := last[outputCluster].(string); ok {
		return kind
	}
	if last["controlPlaneAddress"] != nil {
		return ClusterScaleway
	}
	return ""
}

// settleCluster refuses a change of cluster kind on a deployed stack: the
// other kind is a new, empty cluster, and the update would delete the one
// that holds the data.
func settleCluster(r *reader, cfg *Config, last lastUpdate) {
	if was := lastCluster(last); was != "" && was != cfg.Cluster {
		r.fail("cluster", cfg.Cluster, fmt.Sprintf(
			`%q, the cluster this stack runs on: a switch builds a new, empty cluster and deletes the one that holds the data; `+
				`make a new stack for the other kind and move the data (docs/kapsule.md, "Moving a stack")`, was))
	}
}
