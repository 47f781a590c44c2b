package cluster

import (
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/apk8s/apk8s-platform/providers/command"
	"github.com/apk8s/apk8s-platform/providers/scaleway"
)

// CIPath is how CI reaches a cluster whose SSH and API server stay closed
// to the internet: the control plane is a WireGuard endpoint with exactly
// one peer, the CI's, and answers SSH and the API server through it. The
// security group opens only the WireGuard port, which answers nothing but a
// handshake signed with the peer's key. Being part of the program, the rule
// survives every `up`, and goes with the cluster on destroy.
//
// The endpoint's private key is made on the node and never leaves it; the
// node publishes the public half as its user data key CIPublicKeyUserData,
// where CI reads it through the Scaleway API (authenticated, so CI knows
// whom it dials), and publishes it again whenever the program has rewritten
// the user data (republish).
type CIPath struct {
	// PeerPublicKey is the CI's WireGuard public key (base64, 32 bytes);
	// "" is no CI path.
	PeerPublicKey string
	// Port is the WireGuard UDP port on the control plane.
	Port int
}

// Addresses inside the tunnel: from 100.64.0.0/10 (shared address space),
// which neither the private network (172.16/12, 192.168/16), k3s's pod and
// service networks (10.42/16, 10.43/16) nor Scaleway's 10/8 use.
const (
	CIServerAddress = "100.96.0.1"
	CIPeerAddress   = "100.96.0.2"
)

// Names on the control plane and in its user data.
const (
	CIInterface         = "wg-ci"
	CIScriptPath        = "/usr/local/sbin/apk8s-ci-wireguard"
	CIEnvPath           = "/etc/apk8s/ci-wireguard.env"
	CIPublicKeyUserData = "wireguard-public-key"
)

// DefaultCIPort is WireGuard's customary port.
const DefaultCIPort = 51820

//go:embed ci-wireguard.sh
var ciScript string

// Enabled tells whether the stack has a CI path.
func (p CIPath) Enabled() bool { return p.PeerPublicKey != "" }

// ValidWireGuardKey tells whether key is a WireGuard key as `wg pubkey`
// prints it: 32 bytes in standard base64.
func ValidWireGuardKey(key string) bool {
	raw, err := base64.StdEncoding.DecodeString(key)
	return err == nil && len(raw) == 32
}

func (p CIPath) validate() error {
	if !p.Enabled() {
		return nil
	}
	if !ValidWireGuardKey(p.PeerPublicKey) {
		return fmt.Errorf("CI WireGuard peer key %q: want a key as wg pubkey prints it", p.PeerPublicKey)
	}
	if p.Port < 1024 || p.Port > 65535 {
		return fmt.Errorf("CI WireGuard port %d: want 1024 to 65535", p.Port)
	}
	return nil
}

// rules open the WireGuard port to the internet: GitHub's runners have no
// fixed addresses, and WireGuard stays silent to anyone without the key.
func (p CIPath) rules() []Rule {
	if !p.Enabled() {
		return nil
	}
	return []Rule{{Protocol: scaleway.ProtocolUDP, Port: p.Port, From: Anywhere}}
}

// addTo puts the endpoint into the control plane's cloud-config, ahead of
// k3s, so that the tunnel is up while k3s installs. Nothing in it is
// secret: the peer's public key, the port and the addresses.
func (p CIPath) addTo(cc CloudConfig) (CloudConfig, error) {
	if !p.Enabled() {
		return cc, nil
	}
	files, err := p.files()
	if err != nil {
		return cc, err
	}
	cc.Packages = append(cc.Packages, "wireguard-tools")
	cc.WriteFiles = append(cc.WriteFiles, files...)
	cc.RunCmd = append([][]string{{CIScriptPath}}, cc.RunCmd...)
	return cc, nil
}

// ReconcileScript is the remote command that brings a running control
// plane's endpoint to what its cloud-init would make of p today (a new CI
// key or port applied) and publishes the node's public key again.
// userDataDigest is a digest of the server's user data: any change of the
// user data makes the Scaleway provider write it anew as a whole, which
// drops the key the node published there, and changes this script, so
// that the command runs again after it and publishes the key back.
func (p CIPath) ReconcileScript(userDataDigest string) (string, error) {
	files, err := p.files()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# after the user data %s\nset -eu\numask 022\n", userDataDigest)
	for _, f := range files {
		if err := writeFile(&b, f); err != nil {
			return "", err
		}
	}
	b.WriteString("exec " + CIScriptPath + "\n")
	return b.String(), nil
}

// republish runs ReconcileScript on the control plane srv at ip after
// after, whenever the server's user data changes.
func (b *builder) republish(name string, ip *scaleway.Ip, srv *scaleway.Server, after pulumi.Resource) (*command.RemoteCommand, error) {
	script := pulumi.Unsecret(b.userData[srv].ApplyT(func(ud string) (string, error) {
		sum := sha256.Sum256([]byte(ud))
		return b.cfg.CI.ReconcileScript("sha256:" + hex.EncodeToString(sum[:]))
	})).(pulumi.StringOutput)
	return command.NewRemoteCommand(b.ctx, name, &command.RemoteCommandArgs{
		Connection: b.ssh(ip, srv),
		Create:     script,
		Update:     script,
		Triggers:   pulumi.Array{srv.ID()},
		Logging:    pulumi.String(command.LogStdoutAndStderr),
	}, b.parent, pulumi.DependsOn([]pulumi.Resource{srv, after}))
}

// files are the endpoint's script and its parameters.
func (p CIPath) files() ([]WriteFile, error) {
	env, err := envFile(map[string]string{
		"CI_PEER_PUBLIC_KEY": p.PeerPublicKey,
		"CI_PORT":            strconv.Itoa(p.Port),
		"CI_SERVER_ADDRESS":  CIServerAddress,
		"CI_PEER_ADDRESS":    CIPeerAddress,
		"CI_INTERFACE":       CIInterface,
		"CI_USER_DATA_KEY":   CIPublicKeyUserData,
	})
	if err != nil {
		return nil, err
	}
	return []WriteFile{
		{Path: CIEnvPath, Content: env, Owner: "root:root", Permissions: "0644"},
		{Path: CIScriptPath, Content: ciScript, Owner: "root:root", Permissions: "0755"},
	}, nil
}
