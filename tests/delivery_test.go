package tests

import (
	"crypto/rand"
	"encoding/base64"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/apk8s/apk8s-platform/apis/certmanagerv1"
	"github.com/apk8s/apk8s-platform/components/cluster"
)

// TestCertificateIssuer: a disposable stack, rebuilt every day, asks Let's
// Encrypt staging by default (production allows 5 duplicate certificates
// a week); a kept stack asks production; certificateIssuer overrides
// either. The certificate waits for the issuer it names.
func TestCertificateIssuer(t *testing.T) {
	// A kept stack with the book's add-ons: dev3's file without the mark.
	kept := func(set map[string]string) Run {
		all := map[string]string{"disposable": "false"}
		for k, v := range set {
			all[k] = v
		}
		return Run{Stack: "dev3", Set: all}
	}
	tests := []struct {
		name string
		run  Run
		want string
	}{
		{"disposable stack", Run{Stack: "dev3"}, "letsencrypt-staging"},
		{"kept stack", kept(nil), "letsencrypt-production"},
		{"disposable, production chosen", Run{Stack: "dev3", Set: map[string]string{"certificateIssuer": "letsencrypt-production"}}, "letsencrypt-production"},
		{"kept, staging chosen", kept(map[string]string{"certificateIssuer": "letsencrypt-staging"}), "letsencrypt-staging"},
		{"kept, existing cert-manager", Run{Stack: "local", Set: map[string]string{"certificate": "true", "certManager": "existing"}}, "letsencrypt-production"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := dataGraph(t, tt.run)
			cert := g.Object(t, tokCert, "data-cert")
			var c certmanagerv1.Certificate
			cert.Decode(t, &c)
			assert.Equal(t, certmanagerv1.ObjectReference{Name: tt.want, Kind: "ClusterIssuer", Group: "cert-manager.io"}, c.Spec.IssuerRef)
			assert.Equal(t, "data-production-tls", c.Spec.SecretName, "the ingresses' Secret keeps its name")
			issuers := g.Find(tokClusterIssuer)
			if len(issuers) == 0 {
				return // cert-manager is the cluster's own
			}
			assert.Contains(t, cert.DependsOn, g.Object(t, tokClusterIssuer, tt.want).URN, "data-cert waits for its own issuer")
		})
	}
}

// TestDeliveryConfigRefused: the keys of this delivery fail like every other
// bad value, before anything is registered.
func TestDeliveryConfigRefused(t *testing.T) {
	checkBadConfigs(t, []badConfig{
		{"disposable stack of another name", Run{Stack: "local", Set: map[string]string{"disposable": "true"}},
			[]string{`apk8s-platform:disposable = "true" is not allowed`, `false for stack "local"`, "^dev[0-9]+"}},
		{"CI peer key not a WireGuard key", Run{Stack: "dev3", Set: map[string]string{"ciWireguardPublicKey": "ssh-ed25519 AAAA"}},
			[]string{`apk8s-platform:ciWireguardPublicKey = "ssh-ed25519 AAAA"`, "a WireGuard public key"}},
		{"CI port privileged", Run{Stack: "dev3", Set: map[string]string{"ciWireguardPort": "53"}},
			[]string{`apk8s-platform:ciWireguardPort = "53"`, "from 1024 to 65535"}},
		{"unknown issuer", Run{Stack: "dev3", Set: map[string]string{"certificateIssuer": "letsencrypt"}},
			[]string{`apk8s-platform:certificateIssuer = "letsencrypt"`, `"letsencrypt-production", "letsencrypt-staging"`}},
	})
}

// ciPeerKey is a WireGuard public key as `wg pubkey` prints it, made afresh.
func ciPeerKey(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(b)
}

// sgRule is a security group rule as the provider gets it.
type sgRule struct {
	Protocol, From string
	Port           float64
}

func inboundRules(t *testing.T, g *Graph) []sgRule {
	t.Helper()
	sgs := g.Find(tokSG)
	require.Len(t, sgs, 1)
	var out []sgRule
	for _, r := range sgs[0].Plain()["inboundRules"].([]any) {
		m := r.(map[string]any)
		port, _ := m["port"].(float64)
		out = append(out, sgRule{str(m, "protocol"), str(m, "ipRange"), port})
	}
	return out
}

// TestClusterCIPath: with a CI peer key, the program itself opens the
// WireGuard port (so no `up` drops it) and makes the control plane the
// endpoint, before k3s, with nothing secret in its user data; SSH and the
// API server stay open to the admin CIDRs only. Without a key, neither.
func TestClusterCIPath(t *testing.T) {
	peer := ciPeerKey(t)
	g := Run{Stack: "dev3", Set: map[string]string{"ciWireguardPublicKey": peer, "ciWireguardPort": "51999"}}.MustDo(t)

	rules := inboundRules(t, g)
	assert.Contains(t, rules, sgRule{"UDP", "0.0.0.0/0", 51999}, "the WireGuard port, from anywhere")
	for _, r := range rules {
		if r.Port == 22 || r.Port == 6443 {
			assert.Equal(t, "203.0.113.10/32", r.From, "SSH and the API server only from the admin CIDRs")
		}
	}

	cp, workers := servers(t, g)
	cc := cloudConfig(t, cp)
	require.NotEmpty(t, cc.RunCmd)
	assert.Equal(t, []string{cluster.CIScriptPath}, cc.RunCmd[0], "the tunnel comes up first, while k3s installs")
	assert.Equal(t, []string{cluster.BootstrapPath}, cc.RunCmd[len(cc.RunCmd)-1])
	assert.Contains(t, cc.Packages, "wireguard-tools", "installed by cloud-init before the script runs")
	env := file(t, cc, cluster.CIEnvPath).Content
	for _, want := range []string{"CI_PEER_PUBLIC_KEY='" + peer + "'", "CI_PORT='51999'", "CI_USER_DATA_KEY='" + cluster.CIPublicKeyUserData + "'"} {
		assert.Contains(t, env, want)
	}
	script := file(t, cc, cluster.CIScriptPath)
	assert.Equal(t, "0755", script.Permissions)
	for _, want := range []string{"wg genkey", "--local-port 1-1023", "http://169.254.42.42/user_data/$CI_USER_DATA_KEY", "--dports 22,6443 -j ACCEPT", "-i %i -j DROP"} {
		assert.Contains(t, script.Content, want, "the node makes its own key, publishes the public half, lets the peer reach SSH and the API only")
	}
	for _, f := range cc.WriteFiles {
		assert.NotContains(t, f.Content, "PrivateKey =", "%s: no private key travels in the user data", f.Path)
	}
	for _, w := range workers {
		wc := cloudConfig(t, w)
		assert.False(t, slices.ContainsFunc(wc.WriteFiles, func(f cluster.WriteFile) bool { return strings.HasPrefix(f.Path, cluster.CIEnvPath) }),
			"%s: the workers are no endpoint", w.Name)
		assert.NotContains(t, wc.Packages, "wireguard-tools", w.Name)
	}

	g = Run{Stack: "dev3"}.MustDo(t)
	for _, r := range inboundRules(t, g) {
		assert.NotEqual(t, "UDP", r.Protocol, "no CI key, no open UDP port")
	}
	cp, _ = servers(t, g)
	assert.Equal(t, [][]string{{cluster.BootstrapPath}}, cloudConfig(t, cp).RunCmd)
}
