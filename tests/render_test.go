package tests

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/apk8s/apk8s-platform/stacks"
)

// TestRenderNeedsNoCluster: with renderYamlToDirectory, dev3 builds no cloud
// servers and installs no chart (neither can be rendered); its own objects
// all go to the provider that renders them, and the run says what it left out.
func TestRenderNeedsNoCluster(t *testing.T) {
	run := Run{Stack: "dev3", Set: map[string]string{"renderYamlToDirectory": "out/dev3"}}
	g := run.MustRecord(t).Graph
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
	assert.Equal(t, "out/dev3", providers[0].Plain()["renderYamlToDirectory"])
	assert.NotContains(t, providers[0].Plain(), "kubeconfig")
	assert.NotContains(t, providers[0].Plain(), "context")
	g.Object(t, tokSTS, "kafka")
	g.Object(t, tokCert, "data-cert")

	var cfg *stacks.Config
	run.Program = func(ctx *pulumi.Context) (err error) {
		cfg, err = stacks.Load(ctx)
		return err
	}
	_, err := run.Do(t)
	require.NoError(t, err)
	assert.Contains(t, strings.Join(cfg.Warnings, "\n"),
		"the charts ingress-nginx, cert-manager, rook-ceph, kube-prometheus-stack are not rendered")
}
