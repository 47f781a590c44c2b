//go:build e2e

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/apk8s/apk8s-platform/internal/engine"
)

// TestRenderStack renders the render stack (dev3's Kubernetes layer, with
// no cluster and no cloud account) to YAML, and has the API server validate
// every rendered object of a kind it serves under a server-side dry run.
func TestRenderStack(t *testing.T) {
	e := loadEnv(t)
	ctx := context.Background()
	out := filepath.Join(t.TempDir(), "manifests")
	s := e.stack(t, "render")
	setConfig(t, s, map[string]string{"renderYamlToDirectory": out})
	require.NoError(t, engine.SetSecret(ctx, s, "apk8s-platform:basicAuthPassword", randomPassword(t)))
	require.NoError(t, engine.SetSecret(ctx, s, "apk8s-platform:mqttPassword", randomPassword(t)))
	t.Cleanup(func() {
		_, _ = s.Destroy(ctx)
		_ = s.Workspace().RemoveStack(ctx, s.Name())
	})
	timed(t, "render stack", func() {
		_, err := s.Up(ctx, optup.ProgressStreams(logTo(t)))
		require.NoError(t, err)
	})

	served := map[string]bool{}
	versions, err := e.kubectl("api-versions")
	require.NoError(t, err)
	for _, v := range strings.Fields(versions) {
		served[v] = true
	}

	type manifest struct{ file, apiVersion, kind, name string }
	var all []manifest
	require.NoError(t, filepath.WalkDir(out, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yaml") {
			return err
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal(raw, &head); err != nil {
			return err
		}
		all = append(all, manifest{path, head.APIVersion, head.Kind, head.Metadata.Name})
		return nil
	}))

	// Namespaced objects need their namespace, even for a dry run.
	_, err = e.kubectl("create", "namespace", "data")
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = e.kubectl("delete", "namespace", "data", "--wait=false") })

	builtIn := map[string]bool{}
	for _, m := range all {
		if !served[m.apiVersion] {
			t.Logf("not validated (the test cluster has no CRD for %s): %s %s", m.apiVersion, m.kind, m.name)
			continue
		}
		builtIn[m.kind+"/"+m.name] = true
		if m.kind == "Namespace" {
			continue // created above
		}
		_, err := e.kubectl("apply", "--server-side", "--dry-run=server", "-f", m.file)
		assert.NoError(t, err, "%s %s", m.kind, m.name)
	}
	for _, want := range []string{
		"Namespace/data", "Secret/sysop-basic-auth", "Service/zookeeper", "Service/zookeeper-headless",
		"StatefulSet/zookeeper", "PodDisruptionBudget/zookeeper", "Service/kafka", "Service/kafka-headless",
		"StatefulSet/kafka", "PodDisruptionBudget/kafka", "Pod/kafka-client-util",
		"ConfigMap/mqtt", "Deployment/mqtt", "Service/mqtt",
		"NetworkPolicy/default-deny-ingress", "NetworkPolicy/zookeeper", "NetworkPolicy/kafka", "NetworkPolicy/mqtt",
		"NetworkPolicy/acme-http01-solver", "ConfigMap/sysop-basic-auth-salt",
	} {
		assert.True(t, builtIn[want], "%s was not rendered", want)
	}
	t.Logf("rendered %d manifests, %d validated by the API server", len(all), len(builtIn))
}
