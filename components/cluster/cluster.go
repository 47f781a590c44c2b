// Package cluster is the book's Kubernetes cluster on Scaleway, in one
// component: a VPC private network, one control-plane server and N workers
// attached to it with a flexible public IP each, a security group, one raw
// Block Storage volume per worker for Ceph, k3s installed by cloud-init
// (pods walled off from the metadata API that serves it) and kept at the
// configured version over SSH, the agent token handed to the control plane
// over SSH (no server token leaves it), and the kubeconfig read back over
// SSH once every node is Ready. The
// component's outputs are the kubeconfig (a secret), the nodes' addresses
// and a Kubernetes provider built from the kubeconfig, for everything that
// runs on the cluster.
package cluster

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"github.com/apk8s/apk8s-platform/providers/command"
	"github.com/apk8s/apk8s-platform/providers/random"
	"github.com/apk8s/apk8s-platform/providers/scaleway"
	"github.com/apk8s/apk8s-platform/providers/tls"
)

// TokenLength is the length of the k3s agent token (letters and digits).
const TokenLength = 48

// Config is the validated shape of the cluster.
type Config struct {
	Zone   string // e.g. fr-par-1: servers, IPs, volumes, security group
	Region string // the zone's region, e.g. fr-par: VPC and private network
	// ProjectID is the Scaleway project; "" leaves it to the provider
	// (SCW_DEFAULT_PROJECT_ID or scaleway:projectId).
	ProjectID        string
	ControlPlaneType string // book: DEV1-M
	WorkerType       string // book: DEV1-L
	Workers          int    // book: 3
	Image            string // ubuntu_jammy or ubuntu_noble
	// AdminCIDRs may reach SSH (22) and the API server (6443).
	AdminCIDRs []string
	// PrivateCIDR is the private network's IPv4 subnet.
	PrivateCIDR      string
	CephVolumeSizeGB int
	CephVolumeIOPS   int // 5000 or 15000
	K3sVersion       string
	// ControlPlanes is the number of k3s servers: 1 (the book's) or 3
	// (embedded etcd, one may fail).
	ControlPlanes int
	// Snapshots, when set, is where etcd snapshots go (a single server then
	// runs embedded etcd too).
	Snapshots *Snapshots
	// IdentityIsServerID keeps the provider's clusterIdentifier of a stack
	// created before the CA identity: the first server's ID.
	IdentityIsServerID bool
	// CI is the WireGuard path of the CI to the control plane (cipath.go).
	CI CIPath
	// Kept are the servers, by name, that keep the image and type they
	// run in this update although the config names others: a change that
	// replaces or stops servers reaches them one per update (the stacks
	// package decides which).
	Kept map[string]Shape
	// KubeconfigEpoch, when it changes, makes the program read the
	// kubeconfig from the control plane again (the stack sets the month):
	// the node renews the admin certificate in it (k3s-renew.sh).
	KubeconfigEpoch string
}

// Shape is what replaces a server (its image) or stops it (its type).
type Shape struct {
	Image string `json:"image"`
	Type  string `json:"type"`
}

// ShapeOf is the shape server hostname gets in this update: the config's
// image and typ, unless it is kept.
func (c Config) ShapeOf(hostname, typ string) Shape {
	if kept, ok := c.Kept[hostname]; ok {
		return kept
	}
	return Shape{Image: c.Image, Type: typ}
}

func (c Config) validate() error {
	var errs []error
	if c.Zone == "" || c.Region == "" || !strings.HasPrefix(c.Zone, c.Region+"-") {
		errs = append(errs, fmt.Errorf("zone %q is not in region %q", c.Zone, c.Region))
	}
	if c.ControlPlanes != 1 && c.ControlPlanes != 3 {
		errs = append(errs, fmt.Errorf("%d servers: want 1 or 3 (etcd needs a majority)", c.ControlPlanes))
	}
	if c.Workers < 1 {
		errs = append(errs, fmt.Errorf("%d workers: want at least one", c.Workers))
	}
	if len(c.AdminCIDRs) == 0 {
		errs = append(errs, errors.New("no admin CIDRs: SSH and the API server would be unreachable"))
	}
	if _, err := netip.ParsePrefix(c.PrivateCIDR); err != nil {
		errs = append(errs, fmt.Errorf("private CIDR: %w", err))
	}
	errs = append(errs, c.CI.validate())
	return errors.Join(errs...)
}

// Datastore is the servers' datastore: embedded etcd with several
// servers or with snapshots, else k3s's single-server SQLite.
func (c Config) Datastore() string {
	if c.ControlPlanes > 1 || c.Snapshots != nil {
		return DatastoreEtcd
	}
	return DatastoreSQLite
}

// Names of the cluster's things on Scaleway and in Kubernetes; the prefix
// (apk8s-<stack>) keeps stacks apart in one project. A server's name is
// its hostname and so its Kubernetes node name.
func ControlPlaneName(prefix string) string { return prefix + "-cp" }

// WorkerName is the name of worker i, counting from 1.
func WorkerName(prefix string, i int) string { return prefix + "-worker-" + strconv.Itoa(i) }

// PrivateNetworkName is the private network's name (and DNS zone).
func PrivateNetworkName(prefix string) string { return prefix }

// ControlPlaneHost is the first server's name on the private network's
// DNS: <server>.<private network>.internal.
func ControlPlaneHost(prefix string) string { return ServerHost(prefix, 1) }

// ServerName is the name of server i, counting from 1: the first keeps the
// single server's name, so a cluster that grows to three keeps it.
func ServerName(prefix string, i int) string {
	if i == 1 {
		return ControlPlaneName(prefix)
	}
	return ControlPlaneName(prefix) + "-" + strconv.Itoa(i)
}

// ServerResource is the Pulumi name of server i of component name.
func ServerResource(name string, i int) string {
	if i == 1 {
		return name + "-cp"
	}
	return name + "-cp-" + strconv.Itoa(i)
}

// ServerHost is server i's name on the private network's DNS.
func ServerHost(prefix string, i int) string {
	return ServerName(prefix, i) + "." + PrivateNetworkName(prefix) + ".internal"
}

// CAIdentity is the cluster's identity: "ca-sha256:" and the SHA-256 of the
// cluster CA certificate in kubeconfig. The CA lives in the datastore, so a
// server restored from a snapshot has the same identity, and a new, empty
// cluster another.
func CAIdentity(kubeconfig string) (string, error) {
	if kubeconfig == "" {
		return "", nil // not read yet (a mocked or dry run)
	}
	var kc struct {
		Clusters []struct {
			Cluster struct {
				CA string `json:"certificate-authority-data"`
			} `json:"cluster"`
		} `json:"clusters"`
	}
	if err := yaml.Unmarshal([]byte(kubeconfig), &kc); err != nil {
		return "", fmt.Errorf("the kubeconfig: %w", err)
	}
	if len(kc.Clusters) == 0 || kc.Clusters[0].Cluster.CA == "" {
		return "", errors.New("the kubeconfig names no cluster CA")
	}
	sum := sha256.Sum256([]byte(kc.Clusters[0].Cluster.CA))
	return "ca-sha256:" + hex.EncodeToString(sum[:]), nil
}

// Args are the inputs of the component.
type Args struct {
	// Prefix names the Scaleway resources: a DNS label such as apk8s-dev3.
	Prefix string
	Config Config
	// Kubernetes holds the stack-wide provider settings; the component adds
	// the kubeconfig and the cluster's identity.
	Kubernetes *kubernetes.ProviderArgs
}

// Cluster is the component.
type Cluster struct {
	pulumi.ResourceState

	// ControlPlane is the first server (cluster-init with etcd); ControlPlanes
	// are all of them, the first first.
	ControlPlane  *scaleway.Server
	ControlPlanes []*scaleway.Server
	Workers       []*scaleway.Server
	CephVolumes   []*scaleway.BlockVolume
	// NodeNames are the Kubernetes node names, control plane first.
	NodeNames []string

	// Kubeconfig is the admin kubeconfig with the API server at the
	// control plane's public address; a secret.
	Kubeconfig pulumi.StringOutput `pulumi:"kubeconfig"`
	// ControlPlaneAddress is the control plane's public IPv4 address.
	ControlPlaneAddress pulumi.StringOutput `pulumi:"controlPlaneAddress"`
	// PublicAddresses and PrivateAddresses list the nodes, control plane first.
	PublicAddresses  pulumi.StringArrayOutput `pulumi:"publicAddresses"`
	PrivateAddresses pulumi.StringArrayOutput `pulumi:"privateAddresses"`
	// Identity is the provider's clusterIdentifier (CAIdentity).
	Identity pulumi.StringOutput `pulumi:"identity"`
	// Provider deploys to the cluster.
	Provider *kubernetes.Provider
}

// New creates the cluster.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*Cluster, error) {
	cfg := args.Config
	if errs := validation.IsDNS1123Label(args.Prefix); len(errs) > 0 {
		return nil, fmt.Errorf("cluster %q: prefix %q: %s", name, args.Prefix, strings.Join(errs, "; "))
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("cluster %q: %w", name, err)
	}
	c := &Cluster{}
	if err := ctx.RegisterComponentResource("apk8s:cluster:Cluster", name, c, opts...); err != nil {
		return nil, err
	}
	b := &builder{ctx: ctx, name: name, prefix: args.Prefix, cfg: cfg, parent: pulumi.Parent(c)}
	if err := b.shared(); err != nil {
		return nil, err
	}

	// The servers boot in parallel: the agents find the control plane by its
	// private DNS name, so no worker waits for the control plane's outputs.
	// Every node runs the same k3s on the same network; the agents try the
	// servers by name in turn to join; only the first server opens the CI
	// path.
	var serverHosts []string
	for i := 1; i <= cfg.ControlPlanes; i++ {
		serverHosts = append(serverHosts, ServerHost(args.Prefix, i))
	}
	nodeOf := func(role string) Node {
		return Node{Role: role, K3sVersion: cfg.K3sVersion, PrivateCIDR: cfg.PrivateCIDR, ServerHost: strings.Join(serverHosts, " ")}
	}
	var snapshots pulumi.StringOutput
	if cfg.Snapshots != nil {
		var err error
		if snapshots, err = b.snapshotStore(cfg.Snapshots); err != nil {
			return nil, err
		}
	}
	public, private := pulumi.StringArray{}, pulumi.StringArray{}
	var cpIP *scaleway.Ip
	var last pulumi.Resource
	var reconciled []pulumi.Resource
	for i := 1; i <= cfg.ControlPlanes; i++ {
		res := ServerResource(name, i)
		ip, err := b.ip(res + "-ip")
		if err != nil {
			return nil, err
		}
		node := nodeOf(RoleServer)
		node.ServerHost, node.Datastore, node.Servers = ServerHost(args.Prefix, i), cfg.Datastore(), cfg.ControlPlanes
		if i == 1 {
			cpIP, node.CI = ip, cfg.CI
		} else {
			node.JoinHost = ServerHost(args.Prefix, 1)
		}
		srv, err := b.server(res, ip, nil, node, ServerName(args.Prefix, i), cfg.ControlPlaneType)
		if err != nil {
			return nil, err
		}
		// The tokens reach each server over SSH, on stdin; its bootstrap
		// waits for them before k3s starts. A joining server waits for the
		// first to be up.
		deps := []pulumi.Resource{srv}
		if last != nil {
			deps = append(deps, last)
		}
		var delivered pulumi.Resource
		if delivered, err = b.deliverTokens(res+"-agent-token", ip, srv, deps); err != nil {
			return nil, err
		}
		// The snapshot settings, like the tokens, over SSH.
		if cfg.Snapshots != nil {
			if delivered, err = b.deliverSnapshots(res+"-etcd-snapshots", ip, srv, snapshots, delivered); err != nil {
				return nil, err
			}
		}
		// Each node is brought to the config's k3s version in turn, the
		// servers first: a changed k3sVersion upgrades the running nodes in
		// place.
		if last, err = b.reconcile(res+"-k3s", ip, srv, node, delivered); err != nil {
			return nil, err
		}
		reconciled = append(reconciled, last)
		// The CI's tunnel key, published again after every rewrite of the
		// first server's user data.
		if i == 1 && cfg.CI.Enabled() {
			ci, err := b.republish(name+"-cp-ci", ip, srv, last)
			if err != nil {
				return nil, err
			}
			reconciled = append(reconciled, ci)
		}
		c.ControlPlanes = append(c.ControlPlanes, srv)
		c.NodeNames = append(c.NodeNames, ServerName(args.Prefix, i))
		public = append(public, ip.Address)
		private = append(private, privateIPv4(srv))
	}
	c.ControlPlane = c.ControlPlanes[0]

	for i := 1; i <= cfg.Workers; i++ {
		worker := fmt.Sprintf("%s-worker-%d", name, i)
		ip, err := b.ip(worker + "-ip")
		if err != nil {
			return nil, err
		}
		// Raw and unformatted: Rook makes a Ceph OSD of it.
		vol, err := scaleway.NewBlockVolume(ctx, worker+"-ceph", &scaleway.BlockVolumeArgs{
			Name:      pulumi.String(WorkerName(args.Prefix, i) + "-ceph"),
			Zone:      pulumi.String(cfg.Zone),
			ProjectId: b.project(),
			SizeInGb:  pulumi.Int(cfg.CephVolumeSizeGB),
			Iops:      pulumi.Int(cfg.CephVolumeIOPS),
			Tags:      b.tags(),
		}, b.parent)
		if err != nil {
			return nil, err
		}
		node := nodeOf(RoleAgent)
		// A replaced worker goes before its successor comes: its volume and
		// node name are free again, and never two nodes claim one OSD.
		srv, err := b.server(worker, ip, vol, node, WorkerName(args.Prefix, i), cfg.WorkerType, pulumi.DeleteBeforeReplace(true))
		if err != nil {
			return nil, err
		}
		if last, err = b.reconcile(worker+"-k3s", ip, srv, node, last); err != nil {
			return nil, err
		}
		reconciled = append(reconciled, last)
		c.Workers = append(c.Workers, srv)
		c.CephVolumes = append(c.CephVolumes, vol)
		c.NodeNames = append(c.NodeNames, WorkerName(args.Prefix, i))
		public = append(public, ip.Address)
		private = append(private, privateIPv4(srv))
	}

	// The kubeconfig, once every node is Ready. A new control plane is a
	// new cluster: the command runs again when the server is replaced.
	nodes := cfg.ControlPlanes + cfg.Workers
	read, err := command.NewRemoteCommand(ctx, name+"-kubeconfig", &command.RemoteCommandArgs{
		Connection: b.ssh(cpIP, c.ControlPlane),
		Create: cpIP.Address.ApplyT(func(addr string) string {
			return kubeconfigEpochLine(cfg.KubeconfigEpoch) + KubeconfigScript(addr, nodes)
		}).(pulumi.StringOutput),
		Triggers: pulumi.Array{c.ControlPlane.ID()},
		// stdout is the kubeconfig: keep it out of the update's log.
		Logging: pulumi.String(command.LogStderr),
	}, b.parent, pulumi.DependsOn(reconciled), pulumi.AdditionalSecretOutputs([]string{"stdout"}))
	if err != nil {
		return nil, err
	}

	c.Kubeconfig = pulumi.ToSecret(read.Stdout).(pulumi.StringOutput)
	c.ControlPlaneAddress = cpIP.Address
	c.PublicAddresses = public.ToStringArrayOutput()
	c.PrivateAddresses = private.ToStringArrayOutput()

	k8s := kubernetes.ProviderArgs{}
	if args.Kubernetes != nil {
		k8s = *args.Kubernetes
	}
	k8s.Kubeconfig = c.Kubeconfig
	// Replace the provider (and so every object) only with a new cluster,
	// not when the kubeconfig's text changes, nor when a server is replaced
	// and its datastore restored: the cluster is its CA (the datastore
	// keeps it), so a restored server keeps every object and an empty new
	// cluster gets them all anew. Stacks from before keep the server's ID.
	c.Identity = pulumi.ToSecret(c.Kubeconfig).(pulumi.StringOutput).ApplyT(CAIdentity).(pulumi.StringOutput)
	if cfg.IdentityIsServerID {
		c.Identity = c.ControlPlane.ID().ToStringOutput()
	}
	k8s.ClusterIdentifier = c.Identity
	// No deleteUnreachable: a refresh from a machine that cannot reach the
	// API server would drop every object from the state. The teardown sets
	// PULUMI_K8S_DELETE_UNREACHABLE for the one run that needs it.
	c.Provider, err = kubernetes.NewProvider(ctx, "kubernetes", &k8s, b.parent)
	if err != nil {
		return nil, err
	}

	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{
		"kubeconfig":          c.Kubeconfig,
		"controlPlaneAddress": c.ControlPlaneAddress,
		"publicAddresses":     c.PublicAddresses,
		"privateAddresses":    c.PrivateAddresses,
		"identity":            c.Identity,
	})
}

//go:embed kubeconfig.sh
var kubeconfigBody string

// KubeconfigScript is the remote command that reads the kubeconfig from the
// control plane at publicIP once nodes nodes are Ready.
func KubeconfigScript(publicIP string, nodes int) string {
	return fmt.Sprintf("PUBLIC_IP=%s\nNODES=%d\n", shellWord(publicIP), nodes) + kubeconfigBody
}

// kubeconfigEpochLine is the comment that ties the kubeconfig command to
// the epoch: a new epoch is a new script, which the command runs again.
func kubeconfigEpochLine(epoch string) string {
	if epoch == "" {
		return ""
	}
	return "# read again in " + strings.ReplaceAll(epoch, "\n", " ") + ": k3s renews the admin certificate\n"
}

// shellWord quotes s for the shell.
func shellWord(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// builder holds what every server of the cluster shares.
type builder struct {
	ctx    *pulumi.Context
	name   string
	prefix string
	cfg    Config
	parent pulumi.ResourceOption

	agentToken  *random.RandomPassword
	serverToken *random.RandomPassword
	key         *tls.PrivateKey
	pn          *scaleway.PrivateNetwork
	sg          *scaleway.SecurityGroup
	// hostKeys are the servers' SSH host keys, which every connection to
	// a server insists on; userData their rendered cloud-configs.
	hostKeys map[*scaleway.Server]*tls.PrivateKey
	userData map[*scaleway.Server]pulumi.StringOutput
}

func (b *builder) project() pulumi.StringInput {
	if b.cfg.ProjectID == "" {
		return nil
	}
	return pulumi.String(b.cfg.ProjectID)
}

func (b *builder) tags() pulumi.StringArray {
	return pulumi.StringArray{pulumi.String(b.prefix)}
}

// shared creates the tokens, the SSH key, the network and the firewall.
// The agent token lets a node join and nothing more; the server token (full
// admin) reaches the servers only, and a restore needs it: the state keeps
// it.
func (b *builder) shared() error {
	var err error
	b.serverToken, err = random.NewRandomPassword(b.ctx, b.name+"-k3s-server-token", &random.RandomPasswordArgs{
		Length:  pulumi.Int(TokenLength),
		Special: pulumi.Bool(false),
	}, b.parent)
	if err != nil {
		return err
	}
	b.agentToken, err = random.NewRandomPassword(b.ctx, b.name+"-k3s-agent-token", &random.RandomPasswordArgs{
		Length:  pulumi.Int(TokenLength),
		Special: pulumi.Bool(false),
	}, b.parent)
	if err != nil {
		return err
	}
	b.key, err = tls.NewPrivateKey(b.ctx, b.name+"-ssh-key", &tls.PrivateKeyArgs{
		Algorithm: pulumi.String(tls.AlgorithmED25519),
	}, b.parent)
	if err != nil {
		return err
	}
	vpc, err := scaleway.NewVpc(b.ctx, b.name+"-vpc", &scaleway.VpcArgs{
		Name:      pulumi.String(b.prefix),
		Region:    pulumi.String(b.cfg.Region),
		ProjectId: b.project(),
		Tags:      b.tags(),
	}, b.parent)
	if err != nil {
		return err
	}
	b.pn, err = scaleway.NewPrivateNetwork(b.ctx, b.name+"-pn", &scaleway.PrivateNetworkArgs{
		Name:       pulumi.String(PrivateNetworkName(b.prefix)),
		VpcId:      vpc.ID().ToStringOutput(),
		Region:     pulumi.String(b.cfg.Region),
		ProjectId:  b.project(),
		Ipv4Subnet: &scaleway.PrivateNetworkIpv4SubnetArgs{Subnet: pulumi.String(b.cfg.PrivateCIDR)},
		Tags:       b.tags(),
	}, b.parent)
	if err != nil {
		return err
	}
	b.sg, err = scaleway.NewSecurityGroup(b.ctx, b.name+"-sg", &scaleway.SecurityGroupArgs{
		Name:                  pulumi.String(b.prefix),
		Description:           pulumi.String("apk8s cluster " + b.prefix + ": web from anywhere, SSH and API server from the admin CIDRs"),
		Zone:                  pulumi.String(b.cfg.Zone),
		ProjectId:             b.project(),
		Stateful:              pulumi.Bool(true),
		InboundDefaultPolicy:  pulumi.String(scaleway.ActionDrop),
		OutboundDefaultPolicy: pulumi.String(scaleway.ActionAccept),
		InboundRules:          securityGroupRules(append(InboundRules(b.cfg.AdminCIDRs, b.cfg.PrivateCIDR), b.cfg.CI.rules()...)),
		Tags:                  b.tags(),
	}, b.parent)
	return err
}

// ip reserves a flexible IP; it is released when the stack is destroyed.
func (b *builder) ip(name string) (*scaleway.Ip, error) {
	return scaleway.NewIp(b.ctx, name, &scaleway.IpArgs{
		Zone:      pulumi.String(b.cfg.Zone),
		ProjectId: b.project(),
		Tags:      b.tags(),
	}, b.parent)
}

// server creates one node: in the security group, on the private network,
// with its IP, its extra volume (if any) and its cloud-init.
func (b *builder) server(name string, ip *scaleway.Ip, volume *scaleway.BlockVolume, node Node, hostname, typ string, opts ...pulumi.ResourceOption) (*scaleway.Server, error) {
	// Only an agent's user data holds a token, the agent token.
	san, token := pulumi.StringInput(ip.Address), pulumi.StringInput(pulumi.String(""))
	if node.Role == RoleAgent {
		san, token = pulumi.String(""), b.agentToken.Result
	}
	// The host key is made here, before the server: the program knows it
	// before the first connection, and a new server gets a new one.
	hostKey, err := tls.NewPrivateKey(b.ctx, name+"-ssh-host-key", &tls.PrivateKeyArgs{
		Algorithm: pulumi.String(tls.AlgorithmED25519),
	}, b.parent)
	if err != nil {
		return nil, err
	}
	userData := pulumi.All(token, b.key.PublicKeyOpenssh, san, hostKey.PrivateKeyOpenssh, hostKey.PublicKeyOpenssh).ApplyT(func(v []any) (string, error) {
		n := node
		n.AgentToken, n.AuthorizedKey, n.PublicIP = v[0].(string), v[1].(string), v[2].(string)
		n.HostKey = HostKey{Private: v[3].(string), Public: v[4].(string)}
		return n.UserData()
	}).(pulumi.StringOutput)
	var volumes pulumi.StringArrayInput
	if volume != nil {
		volumes = pulumi.StringArray{volume.ID().ToStringOutput()}
	}
	shape := b.cfg.ShapeOf(hostname, typ)
	srv, err := scaleway.NewServer(b.ctx, name, &scaleway.ServerArgs{
		Name:                pulumi.String(hostname),
		Type:                pulumi.String(shape.Type),
		Image:               pulumi.String(shape.Image),
		Zone:                pulumi.String(b.cfg.Zone),
		ProjectId:           b.project(),
		IpIds:               pulumi.StringArray{ip.ID().ToStringOutput()},
		SecurityGroupId:     b.sg.ID().ToStringOutput(),
		PrivateNetworks:     []scaleway.ServerPrivateNetworkArgs{{PnId: b.pn.ID().ToStringOutput()}},
		AdditionalVolumeIds: volumes,
		RootVolume:          &scaleway.ServerRootVolumeArgs{DeleteOnTermination: pulumi.Bool(true)},
		// The cloud-config holds the host key and, an agent's, the agent token.
		UserData: pulumi.StringMap{scaleway.UserDataCloudInit: pulumi.ToSecret(userData).(pulumi.StringOutput)},
		Tags:     b.tags(),
	}, append([]pulumi.ResourceOption{b.parent, pulumi.AdditionalSecretOutputs([]string{"userData"})}, opts...)...)
	if err != nil {
		return nil, err
	}
	if b.hostKeys == nil {
		b.hostKeys, b.userData = map[*scaleway.Server]*tls.PrivateKey{}, map[*scaleway.Server]pulumi.StringOutput{}
	}
	b.hostKeys[srv], b.userData[srv] = hostKey, userData
	return srv, nil
}

// ssh connects to server srv at ip as root with the program's key, and
// only if srv presents the host key the program gave it: anyone else at
// that address (a man in the middle, a server that got the IP after ours)
// fails the handshake before the command, its stdin or its output move.
func (b *builder) ssh(ip *scaleway.Ip, srv *scaleway.Server) *command.ConnectionArgs {
	return &command.ConnectionArgs{
		Host:       ip.Address,
		User:       pulumi.String("root"),
		PrivateKey: b.key.PrivateKeyOpenssh,
		HostKey:    b.hostKeys[srv].PublicKeyOpenssh,
		// The server is still booting when the first dial goes out.
		DialErrorLimit: pulumi.Int(40),
	}
}

// deliverTokens writes the server token and the agent token on server srv,
// from stdin, after deps; a new server gets them again.
func (b *builder) deliverTokens(name string, ip *scaleway.Ip, srv *scaleway.Server, deps []pulumi.Resource) (*command.RemoteCommand, error) {
	stdin := pulumi.All(b.serverToken.Result, b.agentToken.Result).ApplyT(func(v []any) (string, error) {
		return TokensConfig(v[0].(string), v[1].(string))
	}).(pulumi.StringOutput)
	script := pulumi.String(TokensScript())
	return command.NewRemoteCommand(b.ctx, name, &command.RemoteCommandArgs{
		Connection: b.ssh(ip, srv),
		Create:     script,
		Update:     script,
		Stdin:      pulumi.ToSecret(stdin).(pulumi.StringOutput),
		Triggers:   pulumi.Array{srv.ID()},
		Logging:    pulumi.String(command.LogStderr),
	}, b.parent, pulumi.DependsOn(deps), pulumi.AdditionalSecretOutputs([]string{"stdin"}))
}

// reconcile runs the node's bootstrap again over SSH after after: on the
// first up it waits for cloud-init, and on a later one that changes the k3s
// version (the script's text) it upgrades the node in place. A new server
// runs it again.
func (b *builder) reconcile(name string, ip *scaleway.Ip, srv *scaleway.Server, node Node, after pulumi.Resource) (*command.RemoteCommand, error) {
	script, err := ReconcileScript(node)
	if err != nil {
		return nil, err
	}
	return command.NewRemoteCommand(b.ctx, name, &command.RemoteCommandArgs{
		Connection: b.ssh(ip, srv),
		Create:     pulumi.String(script),
		// A change of the script is an update, which runs this again.
		Update:   pulumi.String(script),
		Triggers: pulumi.Array{srv.ID()},
		Logging:  pulumi.String(command.LogStdoutAndStderr),
	}, b.parent, pulumi.DependsOn([]pulumi.Resource{srv, after}))
}

// privateIPv4 is the server's IPv4 address on the private network.
func privateIPv4(s *scaleway.Server) pulumi.StringOutput {
	return s.PrivateIps.ApplyT(func(ips []map[string]any) string {
		for _, ip := range ips {
			raw, _ := ip["address"].(string)
			raw, _, _ = strings.Cut(raw, "/")
			if addr, err := netip.ParseAddr(raw); err == nil && addr.Is4() {
				return addr.String()
			}
		}
		return ""
	}).(pulumi.StringOutput)
}
