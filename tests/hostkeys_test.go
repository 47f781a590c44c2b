package tests

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/apk8s/apk8s-platform/components/cluster"
)

// hostKeySuffix ends the name of a server's SSH host key resource.
const hostKeySuffix = "-ssh-host-key"

// TestClusterHostKeysPinned: every server gets its own SSH host key from
// the program, installed by cloud-init as the only key the server has (the
// image's deleted, no other type generated), and every remote command
// connects only to the server that presents the key of the server whose
// address it dials. A command that accepted any key, or the key of another
// node, would hand the agent token or take a kubeconfig from whoever
// answers at that address.
func TestClusterHostKeysPinned(t *testing.T) {
	t.Parallel()
	// With the CI path, so that every kind of remote command is there.
	rec := Run{Stack: "dev3", Set: map[string]string{"ciWireguardPublicKey": ciPeerKey(t)}}.Shared(t)
	g := rec.Graph
	cp, workers := servers(t, g)

	// address -> the public host key that server's cloud-init installs.
	want := map[string]string{}
	publics := map[string]bool{}
	for _, s := range append([]*Res{cp}, workers...) {
		key := one(t, g, tokPrivateKey, s.Name+hostKeySuffix)
		assert.Equal(t, "ED25519", str(key.Plain(), "algorithm"), s.Name)
		assert.Contains(t, s.DependsOn, key.URN, "%s: the key exists before the server", s.Name)
		cc := cloudConfig(t, s)
		assert.True(t, cc.SSHDeleteKeys, "%s: the image's host keys are deleted", s.Name)
		require.NotNil(t, cc.SSHGenKeyTypes, s.Name)
		assert.Empty(t, *cc.SSHGenKeyTypes, "%s: no host key but the program's", s.Name)
		public := rec.Output(key, "publicKeyOpenssh")
		assert.Equal(t, map[string]string{
			"ed25519_private": rec.Output(key, "privateKeyOpenssh"),
			"ed25519_public":  strings.TrimSpace(public),
		}, cc.SSHKeys, "%s installs its own key pair", s.Name)
		assert.False(t, publics[public], "%s: a host key of its own", s.Name)
		publics[public] = true
		ip := one(t, g, tokIP, s.Name+"-ip")
		want[rec.Output(ip, "address")] = public
	}
	require.Len(t, publics, 1+len(workers))

	cmds := g.Find(tokRemoteCmd)
	require.Len(t, cmds, 1+(1+len(workers))+1+1, "agent token, one reconcile per node, the CI key's republish, the kubeconfig")
	for _, cmd := range cmds {
		conn, _ := cmd.Plain()["connection"].(map[string]any)
		host := str(conn, "host")
		require.Contains(t, want, host, "%s dials a node's address", cmd.Name)
		assert.Equal(t, want[host], conn["hostKey"], "%s insists on the host key of the node at %s", cmd.Name, host)
		assert.True(t, cmd.Inputs["connection"].IsSecret(), cmd.Name)
	}
}

// TestNodeWithoutHostKeyRefused: a node's cloud-config is never made
// without the host key the program pins.
func TestNodeWithoutHostKeyRefused(t *testing.T) {
	t.Parallel()
	good := cluster.HostKey{Private: "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----\n", Public: "ssh-ed25519 AAAAC3x"}
	for _, tt := range []struct {
		name string
		key  cluster.HostKey
		err  string
	}{
		{"both halves", good, ""},
		{"none", cluster.HostKey{}, "no ED25519 SSH host key pair"},
		{"no private half", cluster.HostKey{Public: good.Public}, "no ED25519 SSH host key pair"},
		{"an RSA key", cluster.HostKey{Private: good.Private, Public: "ssh-rsa AAAAB3x"}, "no ED25519 SSH host key pair"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n := cluster.Node{Role: cluster.RoleAgent, K3sVersion: "v1.34.9+k3s1", PrivateCIDR: "172.16.16.0/22", HostKey: tt.key}
			_, err := n.CloudConfig()
			if tt.err == "" {
				assert.NoError(t, err)
			} else {
				assert.ErrorContains(t, err, tt.err)
			}
		})
	}
}
