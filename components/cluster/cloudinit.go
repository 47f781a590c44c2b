package cluster

import (
	_ "embed"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// Files that cloud-init writes on every node.
const (
	// BootstrapPath is the script that installs k3s (k3s-bootstrap.sh).
	BootstrapPath = "/usr/local/sbin/apk8s-k3s-bootstrap"
	// RestorePath lists and restores etcd snapshots on a server
	// (etcd-restore.sh).
	RestorePath = "/usr/local/sbin/apk8s-etcd-restore"
	// EnvPath holds the bootstrap script's parameters; nothing secret.
	EnvPath = "/etc/apk8s/k3s.env"
	// K3sConfigPath is k3s's own config file: on an agent the agent token,
	// on the control plane the server flags and no token. Readable by root only.
	K3sConfigPath = "/etc/rancher/k3s/config.yaml"
	// AgentTokenPath is where the program puts the server token and the
	// agent token on every server over SSH (TokensScript); the bootstrap
	// waits for it.
	AgentTokenPath = "/etc/rancher/k3s/config.yaml.d/10-agent-token.yaml"
	// AuthorizedKeysPath gets the program's SSH public key (appended, so
	// the project's keys stay).
	AuthorizedKeysPath = "/root/.ssh/authorized_keys"
	// PrivateNetworkConfigPath is written at boot by the bootstrap script
	// with what only the node knows: its private address and interface
	// (node-ip, flannel-iface) and, on an agent, the server's DNS name.
	PrivateNetworkConfigPath = "/etc/rancher/k3s/config.yaml.d/50-private-network.yaml"
	// MetadataBlockPath holds the nftables rules that keep pods from the
	// instance metadata API; MetadataBlockUnitPath loads them at every boot,
	// before k3s.
	MetadataBlockPath     = "/etc/apk8s/metadata-block.nft"
	MetadataBlockUnitPath = "/etc/systemd/system/apk8s-metadata-block.service"
	// RenewPath restarts k3s when a certificate nears its expiry (k3s
	// renews it at start); RenewUnitPath and RenewTimerPath run it weekly.
	RenewPath      = "/usr/local/sbin/apk8s-k3s-renew"
	RenewUnitPath  = "/etc/systemd/system/apk8s-k3s-renew.service"
	RenewTimerPath = "/etc/systemd/system/apk8s-k3s-renew.timer"
)

// Roles of a node, as k3s's install script spells them.
const (
	RoleServer = "server"
	RoleAgent  = "agent"
)

// Components of k3s that the control plane switches off: ingress-nginx
// replaces Traefik, and the nodes' public IPs replace ServiceLB.
var DisabledComponents = []string{"traefik", "servicelb"}

// ControlPlaneTaint keeps workloads off the control plane, as kubeadm's
// does in the book: its DEV1-M has half the memory of a worker.
const ControlPlaneTaint = "node-role.kubernetes.io/control-plane:NoSchedule"

var (
	//go:embed k3s-bootstrap.sh
	bootstrapScript string
	//go:embed etcd-restore.sh
	restoreScript string
	//go:embed metadata-block.nft
	metadataBlock string
	//go:embed apk8s-metadata-block.service
	metadataBlockUnit string
	//go:embed k3s-renew.sh
	renewScript string
	//go:embed apk8s-k3s-renew.service
	renewUnit string
	//go:embed apk8s-k3s-renew.timer
	renewTimer string
)

// CloudConfig is the part of cloud-init's #cloud-config this program uses.
type CloudConfig struct {
	Packages []string `json:"packages,omitempty"`
	// SSH host keys: the image's are deleted, SSHKeys installed, and no
	// other type generated, so the node presents only the key the program
	// pins (Node.HostKey).
	SSHDeleteKeys  bool              `json:"ssh_deletekeys,omitempty"`
	SSHGenKeyTypes *[]string         `json:"ssh_genkeytypes,omitempty"`
	SSHKeys        map[string]string `json:"ssh_keys,omitempty"`
	WriteFiles     []WriteFile       `json:"write_files,omitempty"`
	RunCmd         [][]string        `json:"runcmd,omitempty"`
}

// WriteFile is one entry of write_files.
type WriteFile struct {
	Path        string `json:"path"`
	Content     string `json:"content"`
	Owner       string `json:"owner,omitempty"`
	Permissions string `json:"permissions,omitempty"`
	Append      bool   `json:"append,omitempty"`
}

// K3sConfig is the subset of k3s's config.yaml the nodes use; the keys are
// the command-line flags without their dashes.
type K3sConfig struct {
	// Token is what an agent joins with: the cluster's agent token.
	Token string `json:"token,omitempty"`
	// AgentToken is the server's side of it, in AgentTokenPath only.
	AgentToken          string   `json:"agent-token,omitempty"`
	SecretsEncryption   bool     `json:"secrets-encryption,omitempty"`
	Disable             []string `json:"disable,omitempty"`
	TLSSAN              []string `json:"tls-san,omitempty"`
	NodeTaint           []string `json:"node-taint,omitempty"`
	WriteKubeconfigMode string   `json:"write-kubeconfig-mode,omitempty"`
}

// Node is what one server's cloud-init needs.
type Node struct {
	Role       string
	K3sVersion string
	// AgentToken is what an agent joins with: a secret, so the rendered
	// cloud-config is one too. The control plane's user data has no token
	// at all (CloudConfig refuses one).
	AgentToken string
	// PrivateCIDR is the private network's subnet; the node finds its
	// private interface by the address it has in it.
	PrivateCIDR string
	// ServerHost is, on an agent, the servers' names on the private
	// network's DNS, space-separated, which it tries in turn to join; on a
	// server, its own name (for its certificate).
	ServerHost string
	// Datastore is a server's: DatastoreSQLite (k3s's single-server
	// default) or DatastoreEtcd (embedded etcd: several servers, snapshots).
	Datastore string
	// Servers is the number of servers of the cluster (on a server: the
	// restore's guard rails).
	Servers int
	// JoinHost is, on a server that joins a cluster, the first server's name
	// on the private network's DNS; "" on the first server (which starts
	// etcd with cluster-init) and on agents.
	JoinHost string
	// PublicIP is the control plane's public address, for its certificate.
	PublicIP string
	// AuthorizedKey is the OpenSSH public key the kubeconfig is read with.
	AuthorizedKey string
	// HostKey is the node's SSH host key, made by the program so that
	// every SSH connection to the node can insist on it from the first.
	HostKey HostKey
	// CI is the control plane's WireGuard endpoint for CI, if any.
	CI CIPath
}

// HostKey is an ED25519 SSH host key pair in OpenSSH format. The private
// half is a secret: it travels only in the node's user data (a secret in
// the state; docs/cluster.md, "Trust model", says who can read it there).
type HostKey struct {
	Private, Public string
}

// K3sConfig is the node's /etc/rancher/k3s/config.yaml.
func (n Node) K3sConfig() K3sConfig {
	if n.Role != RoleServer {
		return K3sConfig{Token: n.AgentToken}
	}
	// No token: the server token and the agent token come over SSH
	// (TokensScript), never in user data.
	c := K3sConfig{
		SecretsEncryption:   true,
		Disable:             DisabledComponents,
		NodeTaint:           []string{ControlPlaneTaint},
		WriteKubeconfigMode: "0600",
	}
	for _, san := range []string{n.PublicIP, n.ServerHost} {
		if san != "" {
			c.TLSSAN = append(c.TLSSAN, san)
		}
	}
	return c
}

// Datastores of a k3s server.
const (
	DatastoreSQLite = "sqlite"
	DatastoreEtcd   = "etcd"
)

// Env is the bootstrap script's parameters.
func (n Node) Env() map[string]string {
	env := map[string]string{
		"K3S_ROLE":     n.Role,
		"K3S_VERSION":  n.K3sVersion,
		"PRIVATE_CIDR": n.PrivateCIDR,
		"SERVER_HOST":  n.ServerHost,
	}
	if n.Role == RoleServer {
		env["K3S_DATASTORE"] = n.Datastore
		env["K3S_JOIN"] = n.JoinHost
		env["K3S_SERVERS"] = strconv.Itoa(n.Servers)
	}
	return env
}

// CloudConfig is the node's cloud-config: the files, then the bootstrap.
func (n Node) CloudConfig() (CloudConfig, error) {
	if n.Role != RoleServer && n.Role != RoleAgent {
		return CloudConfig{}, fmt.Errorf("node role %q: want %q or %q", n.Role, RoleServer, RoleAgent)
	}
	if n.Role == RoleServer && n.AgentToken != "" {
		return CloudConfig{}, fmt.Errorf("the control plane's user data carries no token: it gets the agent token over SSH")
	}
	k3s, err := yaml.Marshal(n.K3sConfig())
	if err != nil {
		return CloudConfig{}, err
	}
	if !strings.HasPrefix(n.HostKey.Public, "ssh-ed25519 ") || !strings.Contains(n.HostKey.Private, "OPENSSH PRIVATE KEY") {
		return CloudConfig{}, fmt.Errorf("node %s: no ED25519 SSH host key pair: the program pins every node's host key", n.Role)
	}
	env, err := envFile(n.Env())
	if err != nil {
		return CloudConfig{}, err
	}
	return n.CI.addTo(CloudConfig{
		Packages:       []string{"nftables"},
		SSHDeleteKeys:  true,
		SSHGenKeyTypes: &[]string{},
		SSHKeys: map[string]string{
			"ed25519_private": n.HostKey.Private,
			"ed25519_public":  strings.TrimSpace(n.HostKey.Public),
		},
		WriteFiles: append([]WriteFile{
			{Path: AuthorizedKeysPath, Content: strings.TrimSpace(n.AuthorizedKey) + "\n", Owner: "root:root", Permissions: "0600", Append: true},
			{Path: K3sConfigPath, Content: string(k3s), Owner: "root:root", Permissions: "0600"},
		}, n.bootstrapFiles(env)...),
		RunCmd: [][]string{{BootstrapPath}},
	})
}

// bootstrapFiles are the files the bootstrap script needs besides k3s's
// config: nothing secret, so the program can write them again over SSH
// (ReconcileScript).
func (n Node) bootstrapFiles(env string) []WriteFile {
	files := []WriteFile{
		{Path: EnvPath, Content: env, Owner: "root:root", Permissions: "0644"},
		{Path: MetadataBlockPath, Content: metadataBlock, Owner: "root:root", Permissions: "0644"},
		{Path: MetadataBlockUnitPath, Content: metadataBlockUnit, Owner: "root:root", Permissions: "0644"},
		{Path: BootstrapPath, Content: bootstrapScript, Owner: "root:root", Permissions: "0755"},
		{Path: RenewPath, Content: renewScript, Owner: "root:root", Permissions: "0755"},
		{Path: RenewUnitPath, Content: renewUnit, Owner: "root:root", Permissions: "0644"},
		{Path: RenewTimerPath, Content: renewTimer, Owner: "root:root", Permissions: "0644"},
	}
	if n.Role == RoleServer {
		files = append(files, WriteFile{Path: RestorePath, Content: restoreScript, Owner: "root:root", Permissions: "0755"})
	}
	return files
}

// UserData is the cloud-config as the instance's "cloud-init" user data.
func (n Node) UserData() (string, error) {
	cc, err := n.CloudConfig()
	if err != nil {
		return "", err
	}
	body, err := yaml.Marshal(cc)
	if err != nil {
		return "", err
	}
	return "#cloud-config\n" + string(body), nil
}

// envFile renders KEY='value' lines that the script sources; values are
// validated config, and a quote in one is refused rather than escaped.
func envFile(env map[string]string) (string, error) {
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		v := env[k]
		if strings.ContainsAny(v, "'\n\\") {
			return "", fmt.Errorf("%s = %q: quotes, backslashes and newlines are not allowed", k, v)
		}
		fmt.Fprintf(&b, "%s='%s'\n", k, v)
	}
	return b.String(), nil
}
