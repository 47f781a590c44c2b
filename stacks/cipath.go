package stacks

import (
	"fmt"

	"github.com/apk8s/apk8s-platform/components/cluster"
)

// ciPathKeys configure how CI reaches the Scaleway cluster (docs/delivery.md).
var ciPathKeys = []Key{
	def("ciWireguardPublicKey", "string", "", `Public key (wg pubkey) of the CI's WireGuard peer: the control plane becomes a WireGuard endpoint through which that one peer reaches SSH and the API server, which stay closed to the internet ("" = no CI path). The private key is a secret of the GitHub environments, never in the stack.`),
	def("ciWireguardPort", "integer", fmt.Sprint(cluster.DefaultCIPort), "UDP port of the control plane's WireGuard endpoint for CI, 1024 to 65535; open to the internet when ciWireguardPublicKey is set."),
}

// loadCIPath reads the CI path of the Scaleway cluster.
func loadCIPath(r *reader) cluster.CIPath {
	p := cluster.CIPath{
		PeerPublicKey: r.str("ciWireguardPublicKey"),
		Port:          int(r.integer("ciWireguardPort", 1024, 65535)),
	}
	if p.PeerPublicKey != "" && !cluster.ValidWireGuardKey(p.PeerPublicKey) {
		r.fail("ciWireguardPublicKey", p.PeerPublicKey, `a WireGuard public key as "wg pubkey" prints it (44 characters of base64), or "" for no CI path`)
	}
	return p
}
