package tests

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/apk8s/apk8s-platform/apis/certmanagerv1"
	"github.com/apk8s/apk8s-platform/apis/traefikv1alpha1"
	"github.com/apk8s/apk8s-platform/components/ingressnginx"
	"github.com/apk8s/apk8s-platform/components/traefik"
)

const tokMiddleware = "kubernetes:traefik.io/v1alpha1:Middleware"

// TestDefaultIngressIsTraefik: a stack that says nothing installs Traefik,
// and dev3 says so explicitly; ingress-nginx is one value away.
func TestDefaultIngressIsTraefik(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		run           Run
		want, without string
	}{
		{"the program's default", Run{Stack: "dev3", Unset: []string{"ingressController"}}, compTraefik, compNginx},
		{"dev3's stack file", Run{Stack: "dev3"}, compTraefik, compNginx},
		{"the book's controller", Run{Stack: "dev3", Set: map[string]string{"ingressController": "ingress-nginx"}}, compNginx, compTraefik},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := tt.run.MustDo(t)
			component(t, g, tt.want)
			assert.Empty(t, g.Find(tt.without))
		})
	}
	assert.Equal(t, "traefik", StackConfig(t, "dev3")["apk8s-platform:ingressController"])
}

// TestTraefikValues: Traefik on host ports 80 and 443 of every node behind
// no load balancer, serving the default class "traefik" from Ingresses and
// its own CRDs.
func TestTraefikValues(t *testing.T) {
	t.Parallel()
	g := dev3Graph(t, nil)
	r := release(t, g, traefik.ReleaseName)
	assert.Equal(t, compTraefik, g.ByURN(r.Parent).Type)
	var v traefik.Values
	values(t, r, &v)
	assert.Equal(t, "DaemonSet", v.Deployment.Kind)
	assert.Equal(t, traefik.Ports{Web: traefik.Port{HostPort: 80}, Websecure: traefik.Port{HostPort: 443}}, v.Ports)
	assert.Equal(t, traefik.IngressClass{Enabled: true, IsDefaultClass: true, Name: "traefik"}, v.IngressClass)
	assert.True(t, v.Providers.KubernetesIngress.Enabled, "Ingresses are served")
	assert.True(t, v.Providers.KubernetesCRD.Enabled, "Middlewares are read")
	assert.False(t, v.Providers.KubernetesIngress.PublishedService.Enabled, "no Service address to publish")
	assert.False(t, v.Providers.KubernetesIngressNGINX.Enabled, "class nginx is not served twice")
	assert.Equal(t, corev1.ServiceTypeClusterIP, v.Service.Spec.Type, "no LoadBalancer Service that would wait for a cloud address")
	require.NotNil(t, v.UpdateStrategy.RollingUpdate)
	assert.Equal(t, appsv1.RollingUpdateDaemonSetStrategyType, v.UpdateStrategy.Type)
	assert.Equal(t, intstr.FromInt32(0), *v.UpdateStrategy.RollingUpdate.MaxSurge, "a second pod on a node could not bind the host ports")
	assert.Equal(t, intstr.FromInt32(1), *v.UpdateStrategy.RollingUpdate.MaxUnavailable)
	assert.False(t, v.Resources.Limits.Memory().IsZero())
}

// TestTraefikValuesMatchTheChart: every value the release sends is one the
// pinned chart declares, of the type its values.schema.json allows (Helm
// checks the types at install; a misspelt key it would take silently).
func TestTraefikValuesMatchTheChart(t *testing.T) {
	t.Parallel()
	dir := chartDir(t, "traefik", "traefikChartVersion")
	r := release(t, dev3Graph(t, nil), traefik.ReleaseName)
	assert.Equal(t, filepath.Base(dir), r.Plain()["version"], "the release installs the version whose sources are checked")
	schema := readSchema(t, filepath.Join(dir, "values.schema.json"))
	schema.check(t, r.Plain()["values"])

	// The check sees a realistic slip.
	tree := jsonTree(t, r.Plain()["values"]).(map[string]any)
	tree["ports"].(map[string]any)["web"].(map[string]any)["hostport"] = 80
	assert.Equal(t, []string{".ports.web.hostport"}, unknownKeys(schema.tree, tree, ""))
	tree["deployment"].(map[string]any)["kind"] = 1
	assert.Error(t, schema.compiled.Validate(tree), "deployment.kind is a string")
}

// ingressCases are the ways a stack gets its ingress controller, with what
// the rest of the platform must do for it.
var ingressCases = []struct {
	name      string
	set       map[string]string
	class     string // the class served, "" without a controller
	component string // the component installed here, "" for none
	authKey   string // the key of sysop-basic-auth
	middle    bool   // the Traefik Middleware sysop-basic-auth exists
}{
	{"Traefik installed", map[string]string{"ingressController": "traefik"}, "traefik", compTraefik, "users", true},
	{"ingress-nginx installed", map[string]string{"ingressController": "ingress-nginx"}, "nginx", compNginx, "auth", false},
	{"the cluster's Traefik", map[string]string{"ingressController": "existing", "ingressClass": "traefik"}, "traefik", "", "users", true},
	{"the cluster's ingress-nginx", map[string]string{"ingressController": "existing", "ingressClass": "nginx"}, "nginx", "", "auth", false},
	{"no controller", map[string]string{"ingressController": "none", "kafkaConsole": "none"}, "", "", "auth", false},
}

// servedClass is the IngressClass the installed controller's chart creates.
func servedClass(t *testing.T, g *Graph, component string) (class string, rel *Res) {
	t.Helper()
	switch component {
	case compTraefik:
		rel = release(t, g, traefik.ReleaseName)
		var v traefik.Values
		values(t, rel, &v)
		require.True(t, v.IngressClass.Enabled)
		return v.IngressClass.Name, rel
	case compNginx:
		rel = release(t, g, ingressnginx.ReleaseName)
		var v ingressnginx.Values
		values(t, rel, &v)
		require.True(t, v.Controller.IngressClassResource.Enabled)
		return v.Controller.IngressClassResource.Name, rel
	}
	return "", nil
}

// TestIngressFollowsTheController: in every combination of controller and
// cert-manager, the ACME solvers answer through the class the controller
// serves, and sysop-basic-auth is in the form that controller reads.
func TestIngressFollowsTheController(t *testing.T) {
	t.Parallel()
	for _, tt := range ingressCases {
		for _, certs := range []string{"install", "existing", "none"} {
			t.Run(fmt.Sprintf("%s, certManager %s", tt.name, certs), func(t *testing.T) {
				set := maps.Clone(tt.set)
				set["certManager"] = certs
				if certs == "none" {
					set["certificate"] = "false"
				}
				g, err := Run{Stack: "dev3", Set: set}.Do(t)
				if tt.class == "" && certs == "install" {
					require.Error(t, err, "issuers need a controller")
					return
				}
				require.NoError(t, err)

				for _, comp := range []string{compTraefik, compNginx} {
					assert.Equal(t, comp == tt.component, len(g.Find(comp)) == 1, "%s installed", comp)
				}
				class, rel := servedClass(t, g, tt.component)
				if tt.component != "" {
					assert.Equal(t, tt.class, class, "the chart creates the class the platform names")
				}

				issuers := g.Find(tokClusterIssuer)
				if certs != "install" {
					assert.Empty(t, issuers)
				} else {
					require.Len(t, issuers, 2)
				}
				for _, r := range issuers {
					var ci certmanagerv1.ClusterIssuer
					r.Decode(t, &ci)
					require.Len(t, ci.Spec.ACME.Solvers, 1)
					solver := ci.Spec.ACME.Solvers[0].HTTP01
					require.NotNil(t, solver)
					require.NotNil(t, solver.Ingress.IngressClassName)
					assert.Equal(t, tt.class, *solver.Ingress.IngressClassName, "%s's solver class", ci.Name)
					if rel != nil {
						assert.Contains(t, r.DependsOn, rel.URN, "%s waits for the controller", ci.Name)
					}
				}

				var s corev1.Secret
				g.Object(t, tokSecret, "sysop-basic-auth").Decode(t, &s)
				assert.Equal(t, []string{tt.authKey}, slices.Collect(maps.Keys(s.StringData)), "the key the controller reads")

				middlewares := g.Find(tokMiddleware)
				if !tt.middle {
					assert.Empty(t, middlewares)
					return
				}
				require.Len(t, middlewares, 1)
				if rel != nil {
					assert.Contains(t, middlewares[0].DependsOn, rel.URN, "the Middleware waits for the chart's CRDs")
				}
			})
		}
	}
}

// TestBasicAuthMiddleware: with Traefik, the Middleware sysop-basic-auth in
// data lets through the users of the Secret of the same name (key "users")
// and keeps their credentials from the backends; the CRD of the pinned
// chart accepts it, and an Ingress names it as the docs show.
func TestBasicAuthMiddleware(t *testing.T) {
	t.Parallel()
	g := dev3Graph(t, nil)
	r := g.Object(t, tokMiddleware, "sysop-basic-auth")
	var m traefikv1alpha1.Middleware
	r.Decode(t, &m)
	assert.Equal(t, "traefik.io/v1alpha1", m.APIVersion)
	assert.Equal(t, "data", m.Namespace)
	require.NotNil(t, m.Spec.BasicAuth)
	assert.Equal(t, "sysop-basic-auth", m.Spec.BasicAuth.Secret)
	assert.True(t, m.Spec.BasicAuth.RemoveHeader, "the backends never see the credentials")

	secret := g.Object(t, tokSecret, m.Spec.BasicAuth.Secret)
	assert.Equal(t, m.Namespace, secret.K8sNamespace(), "a Middleware reads Secrets of its own namespace")
	var s corev1.Secret
	secret.Decode(t, &s)
	assert.Contains(t, s.StringData, "users", "the key Traefik's basicAuth reads")

	assert.Equal(t, "apk8s:data:Namespace", g.ByURN(r.Parent).Type)
	assert.Contains(t, r.DependsOn, g.Object(t, tokNamespace, "data").URN)
	assert.Contains(t, r.DependsOn, release(t, g, traefik.ReleaseName).URN)

	crd := crdSchema(t, filepath.Join(chartDir(t, "traefik", "traefikChartVersion"), "traefik.io_middlewares.yaml"), "v1alpha1")
	crd.check(t, r.Plain())

	assert.Equal(t, "traefik.ingress.kubernetes.io/router.middlewares", traefikv1alpha1.RouterMiddlewares)
	assert.Equal(t, "data-sysop-basic-auth@kubernetescrd", traefikv1alpha1.Ref(m.Namespace, m.Name), "docs/addons.md's annotation")
}
