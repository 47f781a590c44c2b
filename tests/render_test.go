package tests

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRenderNeedsNoCluster: the render stack builds no cloud servers and
// installs no chart (neither can be rendered); its own objects all go to
// the provider that renders them, and the run says what it left out.
func TestRenderNeedsNoCluster(t *testing.T) {
	t.Parallel()
	run := Run{Stack: "render"}
	g := run.Shared(t).Graph
	var cloud, k8s int
	for _, r := range g.All {
		switch {
		case strings.HasPrefix(r.Type, "scaleway:"), strings.HasPrefix(r.Type, "command:"),
			strings.HasPrefix(r.Type, "tls:"), strings.HasPrefix(r.Type, "random:"):
			cloud++
		case strings.HasPrefix(r.Type, "kubernetes:"):
			k8s++
		}
	}
	assert.Zero(t, cloud, "rendering builds no cluster")
	assert.Empty(t, g.Find(tokRelease), "rendering installs no chart")
	assert.Greater(t, k8s, 13)

	providers := g.Find("pulumi:providers:kubernetes")
	require.Len(t, providers, 1)
	assert.Equal(t, "rendered/dev3", providers[0].Plain()["renderYamlToDirectory"])
	assert.NotContains(t, providers[0].Plain(), "kubeconfig")
	assert.NotContains(t, providers[0].Plain(), "context")
	g.Object(t, tokSTS, "kafka")
	g.Object(t, tokCert, "data-cert")
	assert.Equal(t, []string{g.Object(t, tokNamespace, "data").URN}, g.Object(t, tokMiddleware, "sysop-basic-auth").DependsOn,
		"Traefik rendered as the cluster's own: the Middleware waits for its namespace, no chart")

	cfg, err := loadConfig(t, run)
	require.NoError(t, err)
	assert.Contains(t, strings.Join(cfg.Warnings, "\n"),
		"the charts traefik, cert-manager, rook-ceph, kube-prometheus-stack are not rendered")
}

// TestRenderStackMirrorsDev3: the render stack writes dev3's Kubernetes
// layer, so every data-layer key that dev3 sets, it sets alike.
func TestRenderStackMirrorsDev3(t *testing.T) {
	t.Parallel()
	dev3, render := StackConfig(t, "dev3"), StackConfig(t, "render")
	for _, key := range []string{"domain", "storageClass", "zookeeperReplicas", "kafkaReplicas",
		"ingressController", "certManager", "acmeEmail", "rookCeph", "monitoring"} {
		full := "apk8s-platform:" + key
		assert.Equal(t, dev3[full], render[full], key)
	}
}
