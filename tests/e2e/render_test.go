//go:build e2e

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/apk8s/apk8s-platform/ops/engine"
	"github.com/apk8s/apk8s-platform/stacks"
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

	served := e.dryRunReady(t)

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
	_, err := e.kubectl("create", "namespace", "data")
	require.NoError(t, err)
	e.removeNamespaceAtCleanup(t, "data")
	// A Pod is admitted only once its ServiceAccount exists, which a dry run
	// never makes: the ServiceAccounts are applied for real first.
	for _, m := range all {
		if m.kind == "ServiceAccount" {
			_, err := e.kubectl("apply", "--server-side", "-f", m.file)
			require.NoError(t, err, "ServiceAccount %s", m.name)
		}
	}

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
		"ConfigMap/mqtt", "Deployment/mqtt", "Service/mqtt", "Middleware/sysop-basic-auth",
		"NetworkPolicy/default-deny-ingress", "NetworkPolicy/zookeeper", "NetworkPolicy/kafka", "NetworkPolicy/mqtt",
		"NetworkPolicy/acme-http01-solver", "ConfigMap/sysop-basic-auth-salt",
		// The Kafka console and the dashboards (the PrometheusRules need the
		// Prometheus Operator's CRD, which the test cluster lacks).
		"Deployment/kafka-console", "Service/kafka-console", "NetworkPolicy/kafka-console", "Ingress/kafka-console",
		"ConfigMap/grafana-dashboard-apk8s-kafka", "ConfigMap/grafana-dashboard-apk8s-zookeeper",
	} {
		assert.True(t, builtIn[want], "%s was not rendered", want)
	}
	t.Logf("rendered %d manifests, %d validated by the API server", len(all), len(builtIn))
}

// middlewareCRD is the Middleware CRD of the Traefik chart that the stack
// pins by default (tests/testdata/charts/README.md).
// dryRunReady prepares the loopback cluster for a server-side dry run of a
// stack's objects and tells which API versions it serves (an object of a
// version it lacks cannot be judged). It has no Traefik: its Middleware CRD,
// from the pinned chart's sources, lets the API server judge the Middleware
// too.
func (e env) dryRunReady(t *testing.T) map[string]bool {
	t.Helper()
	crd := middlewareCRD(t)
	_, err := e.kubectl("apply", "--server-side", "-f", crd)
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = e.kubectl("delete", "-f", crd, "--wait=false") })
	_, err = e.kubectl("wait", "--for=condition=Established", "crd/middlewares.traefik.io", "--timeout=60s")
	require.NoError(t, err)

	served := map[string]bool{}
	versions, err := e.kubectl("api-versions")
	require.NoError(t, err)
	for _, v := range strings.Fields(versions) {
		served[v] = true
	}
	return served
}

// removeNamespaceAtCleanup deletes ns when the test ends and waits until it
// is gone: the next test may deploy into a namespace of the same name, which
// must not still be terminating then.
func (e env) removeNamespaceAtCleanup(t *testing.T, ns string) {
	t.Helper()
	t.Cleanup(func() {
		_, _ = e.kubectl("delete", "namespace", ns, "--wait=false")
		e.waitGone(t, "namespace", ns)
	})
}

func middlewareCRD(t *testing.T) string {
	t.Helper()
	i := slices.IndexFunc(stacks.Keys, func(k stacks.Key) bool { return k.Name == "traefikChartVersion" })
	require.GreaterOrEqual(t, i, 0)
	path := filepath.Join("..", "testdata", "charts", "traefik", stacks.Keys[i].Default, "traefik.io_middlewares.yaml")
	_, err := os.Stat(path)
	require.NoError(t, err, "no copy of the pinned chart's Middleware CRD")
	return path
}
