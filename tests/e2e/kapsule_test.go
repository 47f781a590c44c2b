//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/apk8s/apk8s-platform/stacks"
)

// TestKapsuleGraphDryRun runs the kapsule stack's program (Pulumi.kapsule.yaml)
// with the Scaleway resources answered by mocks, as a Kapsule cluster would
// answer them, takes every Kubernetes object the program registers, and has
// the API server judge each under a server-side dry run: the objects a
// Kapsule stack sends are ones a real API server of the pinned minor takes.
// (A Kapsule stack cannot render itself: renderYamlToDirectory is refused
// for a stack that builds its cluster.) Helm releases install charts and
// patches change live claims: neither is an object of its own.
func TestKapsuleGraphDryRun(t *testing.T) {
	e := loadEnv(t)
	objects := kapsuleObjects(t)
	dir := t.TempDir()

	served := e.dryRunReady(t)

	write := func(i int, o map[string]any) string {
		raw, err := yaml.Marshal(o)
		require.NoError(t, err)
		f := filepath.Join(dir, fmt.Sprintf("%03d.yaml", i))
		require.NoError(t, os.WriteFile(f, raw, 0o600))
		return f
	}
	// Namespaces and ServiceAccounts are made for real: a dry run of a
	// namespaced object needs its namespace, and a Pod its ServiceAccount.
	for _, first := range []string{"Namespace", "ServiceAccount"} {
		for i, o := range objects {
			if o["kind"] != first {
				continue
			}
			_, err := e.kubectl("apply", "--server-side", "-f", write(i, o))
			require.NoError(t, err, "%s %s", first, name(o))
			if first == "Namespace" {
				ns := name(o)
				e.removeNamespaceAtCleanup(t, ns)
			}
		}
	}

	judged := map[string]bool{}
	for i, o := range objects {
		apiVersion, kind := o["apiVersion"].(string), o["kind"].(string)
		if !served[apiVersion] {
			t.Logf("not judged (the test cluster has no CRD for %s): %s %s", apiVersion, kind, name(o))
			continue
		}
		judged[kind+"/"+name(o)] = true
		if kind == "Namespace" || kind == "ServiceAccount" {
			continue // made above, by the same API server
		}
		_, err := e.kubectl("apply", "--server-side", "--dry-run=server", "-f", write(i, o))
		assert.NoError(t, err, "%s %s", kind, name(o))
	}
	for _, want := range []string{
		"Namespace/data", "Namespace/traefik", "Namespace/cert-manager", "Namespace/monitoring",
		"Secret/sysop-basic-auth", "Service/kafka", "Service/kafka-headless", "StatefulSet/kafka",
		"PodDisruptionBudget/kafka", "Pod/kafka-client-util", "Deployment/mqtt", "Service/mqtt",
		"NetworkPolicy/default-deny-ingress", "NetworkPolicy/kafka", "NetworkPolicy/mqtt",
		"Middleware/sysop-basic-auth", "Deployment/kafka-exporter",
	} {
		assert.True(t, judged[want], "%s was not judged", want)
	}
	t.Logf("the kapsule graph has %d Kubernetes objects, %d judged by the API server", len(objects), len(judged))
}

func name(o map[string]any) string {
	m, _ := o["metadata"].(map[string]any)
	n, _ := m["name"].(string)
	return n
}

// kapsuleObjects runs the kapsule stack's program under mocks and returns
// the Kubernetes objects it registers, as the provider would send them.
func kapsuleObjects(t *testing.T) []map[string]any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "Pulumi.kapsule.yaml"))
	require.NoError(t, err)
	var file struct {
		Config map[string]string `json:"config"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &file))
	config := file.Config
	secrets := []string{stacks.Project + ":basicAuthPassword", stacks.Project + ":mqttPassword"}
	for _, k := range secrets {
		config[k] = randomPassword(t)
	}
	m := &kapsuleMocks{}
	err = pulumi.RunErr(stacks.Run, pulumi.WithMocks(stacks.Project, "kapsule", m), func(info *pulumi.RunInfo) {
		info.Config = config
		info.ConfigSecretKeys = secrets
	})
	require.NoError(t, err)
	require.NotEmpty(t, m.objects)
	return m.objects
}

// kapsuleMocks answer the program as the providers would: a Kapsule cluster
// with its kubeconfig, a load balancer IP, every other resource as sent.
type kapsuleMocks struct {
	mu      sync.Mutex
	objects []map[string]any
}

func (m *kapsuleMocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	state := args.Inputs.Copy()
	switch args.TypeToken {
	case "scaleway:kubernetes/cluster:Cluster":
		state["kubeconfigs"] = resource.MakeSecret(resource.NewProperty([]resource.PropertyValue{
			resource.NewProperty(resource.PropertyMap{"configFile": resource.NewProperty("apiVersion: v1\nkind: Config\n")}),
		}))
	case "scaleway:loadbalancers/ip:Ip":
		state["ipAddress"] = resource.NewProperty("51.159.10.20")
	}
	if k, ok := strings.CutPrefix(args.TypeToken, "kubernetes:"); ok && !strings.HasPrefix(k, "helm.sh/") && !strings.HasSuffix(k, "Patch") {
		plain := args.Inputs.MapRepl(nil, func(v resource.PropertyValue) (any, bool) {
			if v.IsSecret() {
				return resource.NewPropertyValue(v.SecretValue().Element).Mappable(), true
			}
			return nil, false
		})
		// A JSON round trip gives the YAML writer plain maps and lists.
		raw, err := json.Marshal(plain)
		if err != nil {
			return "", nil, err
		}
		var object map[string]any
		if err := json.Unmarshal(raw, &object); err != nil {
			return "", nil, err
		}
		// An object registered without a name gets the provider's
		// auto-name, "<logical name>-<suffix>", which its users read back.
		if meta, ok := object["metadata"].(map[string]any); ok && meta["name"] == nil {
			meta["name"] = args.Name + "-a1b2c3d4"
			named := state["metadata"].ObjectValue().Copy()
			named["name"] = resource.NewProperty(meta["name"].(string))
			state["metadata"] = resource.NewProperty(named)
		}
		m.mu.Lock()
		m.objects = append(m.objects, object)
		m.mu.Unlock()
	}
	return args.Name + "-id", state, nil
}

func (m *kapsuleMocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	if args.Token == "pulumi:pulumi:readStackOutputs" {
		return resource.PropertyMap{"name": args.Args["name"], "outputs": resource.NewProperty(resource.PropertyMap{})}, nil
	}
	return nil, fmt.Errorf("unexpected call %s", args.Token)
}
