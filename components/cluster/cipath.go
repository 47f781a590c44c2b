package cluster

import (
	_ "embed"
	"encoding/base64"
	"fmt"
	"strconv"

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
// whom it dials).
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
	env, err := envFile(map[string]string{
		"CI_PEER_PUBLIC_KEY": p.PeerPublicKey,
		"CI_PORT":            strconv.Itoa(p.Port),
		"CI_SERVER_ADDRESS":  CIServerAddress,
		"CI_PEER_ADDRESS":    CIPeerAddress,
		"CI_INTERFACE":       CIInterface,
		"CI_USER_DATA_KEY":   CIPublicKeyUserData,
	})
	if err != nil {
		return cc, err
	}
	cc.Packages = append(cc.Packages, "wireguard-tools")
	cc.WriteFiles = append(cc.WriteFiles,
		WriteFile{Path: CIEnvPath, Content: env, Owner: "root:root", Permissions: "0644"},
		WriteFile{Path: CIScriptPath, Content: ciScript, Owner: "root:root", Permissions: "0755"},
	)
	cc.RunCmd = append([][]string{{CIScriptPath}}, cc.RunCmd...)
	return cc, nil
}
