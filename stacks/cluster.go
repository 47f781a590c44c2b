package stacks

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/apk8s/apk8s-platform/components/cluster"
	"github.com/apk8s/apk8s-platform/internal/kubeminor"
)

// clusterKeys configure the Scaleway cluster (cluster = "scaleway").
var clusterKeys = []Key{
	def("scalewayZone", "string", "fr-par-1", "Scaleway zone of the servers, IPs and volumes; the VPC and private network go to its region. DEV1 types are not offered in every zone."),
	def("scalewayProjectId", "string", "", `Scaleway project ID ("" = the provider's default, SCW_DEFAULT_PROJECT_ID or scaleway:projectId).`),
	def("controlPlaneType", "string", "DEV1-M", "Instance type of the control plane (k3s server); the book's master is a DEV1-M (3 vCPU, 4 GB)."),
	def("controlPlaneCount", "integer", "1", `Number of k3s servers: 1 (the book's single DEV1-M, SQLite unless etcdSnapshots is set) or 3 (embedded etcd; the cluster survives the loss of one). A running single server moves to etcd in place; 3 back to 1 is refused.`),
	def("etcdSnapshots", "string", "", `Where k3s's etcd snapshots go: "" (none) or "s3" (a private Object Storage bucket of the stack, written with the cluster's own IAM application key; the servers run embedded etcd). See docs/cluster.md, "Snapshots and restore".`),
	def("etcdSnapshotSchedule", "string", "0 */6 * * *", "Cron schedule of the etcd snapshots (five fields, the servers' UTC), with etcdSnapshots."),
	def("etcdSnapshotRetention", "integer", "28", "Snapshots k3s keeps per server, 1 to 500 (28 at six-hourly = a week), with etcdSnapshots."),
	def("etcdSnapshotAdmins", "string", "", `Who keeps full access to the snapshot bucket beside the cluster: Scaleway principals "user_id:<uuid>" or "application_id:<uuid>", comma-separated; the deployer's (the owner of the API key Pulumi uses) must be among them, or the bucket policy locks Pulumi out. Required with etcdSnapshots "s3".`),
	def("workerType", "string", "DEV1-L", "Instance type of the workers (k3s agents); the book's workers are DEV1-L (4 vCPU, 8 GB)."),
	def("workerCount", "integer", "3", "Number of workers, 1 to 6 (to 20 with allowLargeCluster); each gets a raw Block Storage volume for Ceph."),
	def("serverImage", "string", "ubuntu_noble", `Image of every server: "ubuntu_noble" (Ubuntu 24.04 LTS) or "ubuntu_jammy" (22.04 LTS).`),
	def("adminCidrs", "string", "", `CIDRs that may reach SSH (22) and the API server (6443), comma-separated or a JSON list, such as "198.51.100.7/32". Required with cluster "scaleway".`),
	def("allowAnyAdminCidr", "boolean", "false", "Allow adminCidrs that together cover more than a /8 of IPv4 or a /32 of IPv6 (such as 0.0.0.0/0, or 0.0.0.0/1 with 128.0.0.0/1): opens SSH and the API server to that much of the internet."),
	def("privateNetworkCidr", "string", "172.16.16.0/22", "IPv4 subnet of the cluster's private network: inside 172.16.0.0/12 or 192.168.0.0/16, /20 to /28."),
	def("cephVolumeSizeGb", "integer", "50", "Size in GB of each worker's raw Block Storage volume for Ceph, 10 to 500 (to 10000 with allowLargeCluster)."),
	def("cephVolumeIops", "integer", "5000", "IOPS class of the Ceph volumes: 5000 or 15000."),
	def("k3sVersion", "string", "v1.37.2+k3s1", "k3s release on every node, of Kubernetes 1.34 to 1.37; a change upgrades the running nodes in place, one at a time, control plane first, and moves a deployed cluster at most one minor (docs/cluster.md, \"Upgrading k3s\")."),
	def("allowLargeCluster", "boolean", "false", "Allow server types beyond the small ones (up to 8 vCPU and 32 GB), more than 6 workers and Ceph volumes over 500 GB."),
}

// Bounds of what a stack builds unless allowLargeCluster is true, and the
// hard limits beyond.
const (
	smallWorkers, maxWorkers = 6, 20
	smallVolumeGB, maxVolume = 500, 10000
)

// smallServerTypes are the instance types a stack may use without
// allowLargeCluster: up to 8 vCPU and 32 GB, no GPU.
var smallServerTypes = []string{
	"DEV1-S", "DEV1-M", "DEV1-L", "DEV1-XL",
	"PLAY2-PICO", "PLAY2-NANO", "PLAY2-MICRO",
	"PRO2-XXS", "PRO2-XS", "PRO2-S", "PRO2-M",
	"GP1-XS", "GP1-S",
	"POP2-2C-8G", "POP2-4C-16G", "POP2-8C-32G",
}

// Scaleway zones by region.
var scalewayZones = []string{
	"fr-par-1", "fr-par-2", "fr-par-3",
	"nl-ams-1", "nl-ams-2", "nl-ams-3",
	"pl-waw-1", "pl-waw-2", "pl-waw-3",
}

// ScalewayConfig is the validated shape of the Scaleway cluster.
type ScalewayConfig struct {
	Cluster cluster.Config
	// AllowAnyAdminCIDR is the opt-in for admin CIDRs that together cover
	// more than maxAdminSpan of an address family.
	AllowAnyAdminCIDR bool
	// AllowLargeCluster is the opt-in for servers, worker counts and
	// volumes beyond the small bounds.
	AllowLargeCluster bool
}

var (
	serverTypeRE = regexp.MustCompile(`^[A-Z0-9]+(-[A-Z0-9]+)+$`)
	projectIDRE  = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	k3sVersionRE = regexp.MustCompile(`^v1\.[0-9]+\.[0-9]+\+k3s[0-9]+$`)
)

// loadScaleway reads the cluster keys; c holds the keys read before them.
// Malformed values are reported in every stack; the checks that only
// matter for a cluster this stack builds run with cluster "scaleway".
func loadScaleway(r *reader, c *Config) ScalewayConfig {
	zone := r.oneOf("scalewayZone", scalewayZones...)
	region := ""
	if i := strings.LastIndex(zone, "-"); i > 0 {
		region = zone[:i]
	}
	large := r.boolean("allowLargeCluster")
	before := len(r.problems)
	admins := r.cidrs("adminCidrs")
	adminsMalformed := len(r.problems) > before
	s := ScalewayConfig{AllowLargeCluster: large, Cluster: cluster.Config{
		Zone:             zone,
		Region:           region,
		ProjectID:        r.matching("scalewayProjectId", projectIDRE, true, `a project ID (a lower-case UUID), or "" for the provider's default`),
		ControlPlaneType: r.serverType("controlPlaneType", large),
		WorkerType:       r.serverType("workerType", large),
		Workers:          r.bounded("workerCount", 1, smallWorkers, maxWorkers, large),
		Image:            r.oneOf("serverImage", "ubuntu_jammy", "ubuntu_noble"),
		AdminCIDRs:       admins,
		PrivateCIDR:      r.privateCIDR("privateNetworkCidr"),
		CephVolumeSizeGB: r.bounded("cephVolumeSizeGb", 10, smallVolumeGB, maxVolume, large),
		K3sVersion:       r.k3sVersion("k3sVersion"),
		ControlPlanes:    r.controlPlanes("controlPlaneCount"),
	}}
	s.Cluster.Snapshots = r.snapshots(c)
	if iops := r.oneOf("cephVolumeIops", "5000", "15000"); iops == "5000" || iops == "15000" {
		s.Cluster.CephVolumeIOPS, _ = strconv.Atoi(iops)
	}
	s.AllowAnyAdminCIDR = r.boolean("allowAnyAdminCidr")
	if c.Cluster != ClusterScaleway {
		return s // no cluster is built: its cross-checks do not apply
	}

	if c.RenderYamlToDirectory != "" {
		r.fail("renderYamlToDirectory", c.RenderYamlToDirectory, `"" with cluster "scaleway": a rendering run leaves the cloud servers out of the graph, `+
			`and the next up would delete the cluster; render from a stack with cluster "existing" instead, such as the render stack (pulumi up -s render)`)
	}
	if len(admins) == 0 && !adminsMalformed {
		r.fail("adminCidrs", r.str("adminCidrs"), `at least one CIDR with cluster "scaleway", such as "198.51.100.7/32" (your address): SSH and the API server are open only to these`)
	}
	for _, wide := range wideFamilies(admins) {
		if !s.AllowAnyAdminCIDR {
			r.fail("adminCidrs", strings.Join(wide.cidrs, ","), fmt.Sprintf(
				"CIDRs that together cover at most %s: these open SSH (22) and the API server (6443) to %s; set %s to true to do so on purpose",
				wide.limit, wide.reach, fullKey("allowAnyAdminCidr")))
			continue
		}
		c.Warnings = append(c.Warnings, fmt.Sprintf(
			"%s = %s: SSH and the API server of the cluster are open to %s (%s = true)",
			fullKey("adminCidrs"), strings.Join(wide.cidrs, ","), wide.reach, fullKey("allowAnyAdminCidr")))
	}
	if len(admins) > 0 && allDocumentation(admins) {
		c.Warnings = append(c.Warnings, fmt.Sprintf(
			"%s = %s are documentation addresses (RFC 5737): set your own, or SSH to the control plane and the kubeconfig command will time out (pulumi config set adminCidrs <your-ip>/32 -s %s)",
			fullKey("adminCidrs"), strings.Join(admins, ","), c.Stack))
	}
	return s
}

// k3sVersion reads a k3s release of a minor the project runs
// (kubeminor.Oldest to kubeminor.Supported).
func (r *reader) k3sVersion(name string) string {
	v := r.str(name)
	minor, _ := kubeminor.Of(v)
	if !k3sVersionRE.MatchString(v) || minor < kubeminor.Oldest || minor > kubeminor.Supported {
		r.fail(name, v, fmt.Sprintf("a k3s release of Kubernetes %s such as %q", kubeminor.Path(kubeminor.Oldest, kubeminor.Supported), defaultValue(name)))
	}
	return v
}

// outputK3sVersion remembers the k3s release the stack's last update
// brought its nodes to; outputControlPlane marks a stack whose cluster
// exists.
const (
	outputK3sVersion   = "k3sVersion"
	outputControlPlane = "controlPlaneAddress"
)

// settleK3s holds a deployed cluster to k3s's upgrade rule: one minor per
// update, never down. Updates before the k3sVersion output ran 1.34.
func settleK3s(r *reader, cfg *Config, last lastUpdate) {
	if cfg.Cluster != ClusterScaleway || last[outputControlPlane] == nil {
		return // no cluster of this stack runs yet
	}
	ran, _ := last[outputK3sVersion].(string)
	from, ok := kubeminor.Of(ran)
	if !ok {
		from = kubeminor.Oldest
	}
	to, ok := kubeminor.Of(cfg.Scaleway.Cluster.K3sVersion)
	if !ok {
		return // refused by Load already
	}
	if err := kubeminor.Step(from, to); err != nil {
		r.fail("k3sVersion", cfg.Scaleway.Cluster.K3sVersion, fmt.Sprintf("a 1.%d or 1.%d release: %v (docs/cluster.md, \"Upgrading k3s\")", from, from+1, err))
	}
}

var (
	cronRE      = regexp.MustCompile(`^\S+( \S+){4}$`)
	principalRE = regexp.MustCompile(`^(user_id|application_id):[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
)

// snapshots reads the etcd snapshot keys; nil without etcdSnapshots.
func (r *reader) snapshots(c *Config) *cluster.Snapshots {
	mode := r.oneOf("etcdSnapshots", "", "s3")
	schedule := r.matching("etcdSnapshotSchedule", cronRE, false, `a cron schedule of five fields, such as "0 */6 * * *"`)
	retention := int(r.integer("etcdSnapshotRetention", 1, 500))
	var admins []string
	for _, a := range strings.FieldsFunc(r.str("etcdSnapshotAdmins"), func(c rune) bool { return c == ',' || c == ' ' }) {
		if !principalRE.MatchString(a) {
			r.fail("etcdSnapshotAdmins", a, `a Scaleway principal "user_id:<uuid>" or "application_id:<uuid>" (lower-case)`)
			continue
		}
		admins = append(admins, a)
	}
	if mode != "s3" {
		return nil
	}
	if len(admins) == 0 && c.Cluster == ClusterScaleway {
		r.fail("etcdSnapshotAdmins", r.str("etcdSnapshotAdmins"), `at least one principal with etcdSnapshots "s3", your own among them ("user_id:<uuid>" of the user, or "application_id:<uuid>" of the application, whose API key Pulumi uses): the bucket policy denies whoever it does not name`)
	}
	return &cluster.Snapshots{Schedule: schedule, Retention: retention, Admins: admins, Disposable: c.Disposable}
}

// controlPlanes reads the number of servers: 1 or 3.
func (r *reader) controlPlanes(name string) int {
	v := r.str(name)
	if v != "1" && v != "3" {
		r.fail(name, v, `1 (one server) or 3 (embedded etcd, survives the loss of one): etcd needs a majority, so 2 survives no loss and more than 3 is not offered`)
		return 0
	}
	n, _ := strconv.Atoi(v)
	return n
}

// Outputs that remember the cluster's shape: how many servers it has and
// what the Kubernetes provider knows it as.
const (
	outputServers  = "controlPlaneCount"
	outputIdentity = "clusterIdentity"
)

// settleServers holds a deployed cluster to what its servers can do: etcd
// members are not taken away by an update (3 back to 1 would drop two of
// three members, and the datastore with them), and a cluster from before
// the CA identity keeps its first server's ID as the provider's identity
// (a new identifier would replace every Kubernetes object).
func settleServers(r *reader, cfg *Config, last lastUpdate) {
	if cfg.Cluster != ClusterScaleway || last[outputControlPlane] == nil {
		return
	}
	c := &cfg.Scaleway.Cluster
	if _, ok := last[outputIdentity].(string); !ok {
		c.IdentityIsServerID = true
	} else if id, _ := last[outputIdentity].(string); !strings.HasPrefix(id, "ca-sha256:") {
		c.IdentityIsServerID = true
	}
	if ran, ok := last[outputServers].(float64); ok && int(ran) > c.ControlPlanes && c.ControlPlanes > 0 {
		r.fail("controlPlaneCount", strconv.Itoa(c.ControlPlanes), fmt.Sprintf(
			"%d, the servers this cluster runs: fewer would remove etcd members with their data (docs/cluster.md, \"Three servers\")", int(ran)))
	}
}

// serverType reads an instance type: a small one, or any well-formed one
// with allowLargeCluster.
func (r *reader) serverType(name string, large bool) string {
	v := r.str(name)
	switch {
	case !serverTypeRE.MatchString(v):
		r.fail(name, v, `a Scaleway instance type such as "DEV1-M" (upper case, dash-separated)`)
	case !large && !slices.Contains(smallServerTypes, v):
		r.fail(name, v, fmt.Sprintf("one of %s (up to 8 vCPU and 32 GB), or any Scaleway instance type with %s = true",
			quoteAll(smallServerTypes), fullKey("allowLargeCluster")))
	}
	return v
}

// bounded reads a whole number from lo to small, or to max with
// allowLargeCluster.
func (r *reader) bounded(name string, lo, small, max int, large bool) int {
	v := r.str(name)
	n, err := strconv.Atoi(v)
	switch {
	case err != nil || n < lo || n > max:
		r.fail(name, v, fmt.Sprintf("a whole number from %d to %d (above %d only with %s = true)", lo, max, small, fullKey("allowLargeCluster")))
		return 0
	case n > small && !large:
		r.fail(name, v, fmt.Sprintf("a whole number from %d to %d, or up to %d with %s = true", lo, small, max, fullKey("allowLargeCluster")))
		return 0
	}
	return n
}

// scalewayProvider builds the cluster and a Kubernetes provider from its
// kubeconfig; args carries the stack-wide provider settings.
func scalewayProvider(ctx *pulumi.Context, cfg *Config, args *kubernetes.ProviderArgs) (*kubernetes.Provider, error) {
	c := cfg.Scaleway.Cluster
	// The kubeconfig in the state is read from the control plane again at
	// the first update of each month, after k3s has renewed the admin
	// certificate in it (docs/cluster.md, "Certificates").
	c.KubeconfigEpoch = time.Now().UTC().Format("2006-01")
	cl, err := cluster.New(ctx, "cluster", cluster.Args{
		Prefix:     ResourcePrefix(ctx.Stack()),
		Config:     c,
		Kubernetes: args,
	})
	if err != nil {
		return nil, err
	}
	ctx.Export("kubeconfig", cl.Kubeconfig)
	ctx.Export(outputControlPlane, cl.ControlPlaneAddress)
	ctx.Export(outputK3sVersion, pulumi.String(cfg.Scaleway.Cluster.K3sVersion))
	ctx.Export(outputServers, pulumi.Int(cfg.Scaleway.Cluster.ControlPlanes))
	ctx.Export(outputShapes, shapesOutput(ctx.Stack(), cfg.Scaleway.Cluster))
	ctx.Export(outputIdentity, cl.Identity)
	ctx.Export("publicAddresses", cl.PublicAddresses)
	ctx.Export("privateAddresses", cl.PrivateAddresses)
	return cl.Provider, nil
}

// ResourcePrefix names a stack's Scaleway resources: "apk8s-" and the
// stack's name as a DNS label, so that stacks in one project stay apart and
// the private network's DNS names are valid.
func ResourcePrefix(stack string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(stack) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	name := strings.Trim(b.String(), "-")
	if len(name) > 30 {
		name = strings.TrimRight(name[:30], "-")
	}
	if name == "" {
		name = "stack"
	}
	return "apk8s-" + name
}

// matching reads a key whose value must match re ("" allowed if empty).
func (r *reader) matching(name string, re *regexp.Regexp, empty bool, allowed string) string {
	v := r.str(name)
	if (v != "" || !empty) && !re.MatchString(v) {
		r.fail(name, v, allowed)
	}
	return v
}

// cidrs reads a list of CIDRs, written comma-separated or as a JSON list
// (what `pulumi config set --path 'adminCidrs[0]'` stores); each must be
// in canonical form, the host bits zero.
func (r *reader) cidrs(name string) []string {
	v := r.str(name)
	var items []string
	if strings.HasPrefix(v, "[") {
		if err := json.Unmarshal([]byte(v), &items); err != nil {
			r.fail(name, v, `a JSON list of CIDR strings such as ["198.51.100.7/32"], or CIDRs separated by commas`)
			return nil
		}
	} else {
		items = strings.FieldsFunc(v, func(c rune) bool { return c == ',' || c == ' ' || c == '\t' || c == '\n' })
	}
	var out []string
	seen := map[string]bool{}
	for _, item := range items {
		item = strings.TrimSpace(item)
		p, err := netip.ParsePrefix(item)
		switch {
		case err != nil:
			hint := ""
			if a, aerr := netip.ParseAddr(item); aerr == nil {
				hint = fmt.Sprintf(" (for one address: %s/%d)", a, a.BitLen())
			}
			r.fail(name, item, `an IPv4 or IPv6 CIDR such as "198.51.100.7/32"`+hint)
		case p != p.Masked():
			r.fail(name, item, fmt.Sprintf("a CIDR with its host bits zero: %s", p.Masked()))
		case p.Addr().Is4In6():
			r.fail(name, item, "an IPv4 CIDR in IPv4 form, such as \"198.51.100.7/32\", or a native IPv6 CIDR")
		case !seen[item]:
			seen[item] = true
			out = append(out, item)
		}
	}
	return out
}

// Private ranges a Scaleway private network may use: RFC 1918 without
// 10.0.0.0/8, which Scaleway's own infrastructure uses.
var privateRanges = []netip.Prefix{netip.MustParsePrefix("172.16.0.0/12"), netip.MustParsePrefix("192.168.0.0/16")}

func (r *reader) privateCIDR(name string) string {
	v := r.str(name)
	const allowed = "an IPv4 CIDR from /20 to /28 inside 172.16.0.0/12 or 192.168.0.0/16, with its host bits zero, such as \"172.16.16.0/22\""
	p, err := netip.ParsePrefix(v)
	if err != nil || !p.Addr().Is4() || p != p.Masked() || p.Bits() < 20 || p.Bits() > 28 {
		r.fail(name, v, allowed)
		return v
	}
	for _, rng := range privateRanges {
		if rng.Contains(p.Addr()) {
			return v
		}
	}
	r.fail(name, v, allowed)
	return v
}

// documentationRanges are RFC 5737's example networks.
var documentationRanges = []netip.Prefix{
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
}

func allDocumentation(cidrs []string) bool {
	for _, cidr := range cidrs {
		p := netip.MustParsePrefix(cidr)
		doc := false
		for _, d := range documentationRanges {
			if p.Bits() >= d.Bits() && d.Contains(p.Addr()) {
				doc = true
			}
		}
		if !doc {
			return false
		}
	}
	return true
}
