package tests

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/apk8s/apk8s-platform/apis/ciliumv2"
	"github.com/apk8s/apk8s-platform/components/kapsule"
	"github.com/apk8s/apk8s-platform/components/metadataguard"
	"github.com/apk8s/apk8s-platform/components/traefik"
	"github.com/apk8s/apk8s-platform/internal/kubeminor"
	"github.com/apk8s/apk8s-platform/providers/scaleway"
)

const (
	tokKapsule = "apk8s:cluster:Kapsule"
	tokCCNP    = "kubernetes:cilium.io/v2:CiliumClusterwideNetworkPolicy"
)

// disposableKapsule is a dev stack made from the kapsule stack's file.
func disposableKapsule(set map[string]string) Run {
	s := map[string]string{"disposable": "true"}
	for k, v := range set {
		s[k] = v
	}
	return Run{Stack: "dev7", File: "kapsule", Set: s}
}

// TestKapsuleCluster: the kapsule stack's cluster is a Kapsule (the free
// control plane) of the configured minor, with Cilium, on a private network
// of its own in the zone's region, patched in its maintenance window; a
// kept stack keeps its load balancers and volumes when the cluster goes
// and protects the cluster and the ingress IP; a disposable one deletes
// them with the cluster and protects nothing.
func TestKapsuleCluster(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name       string
		run        Run
		disposable bool
	}{
		{"kept", Run{Stack: "kapsule"}, false},
		{"disposable", disposableKapsule(nil), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := tt.run.MustRecord(t)
			g := rec.Graph
			cl := one(t, g, tokKapsuleCluster, "kapsule")
			c := cl.Plain()
			assert.Equal(t, "kapsule", c["type"])
			assert.Equal(t, kapsule.CNI, c["cni"])
			assert.Equal(t, "cilium", c["cni"], "the CNI Scaleway recommends, which enforces NetworkPolicies")
			assert.Equal(t, Default(t, "kapsuleVersion"), c["version"])
			assert.Equal(t, "fr-par", c["region"])
			pn := one(t, g, tokPN, "kapsule-pn")
			assert.Equal(t, idOf(pn), c["privateNetworkId"], "its own private network")
			assert.Equal(t, "172.16.16.0/22", pn.Plain()["ipv4Subnet"].(map[string]any)["subnet"])
			assert.Equal(t, idOf(one(t, g, tokVPC, "kapsule-vpc")), pn.Plain()["vpcId"])
			assert.Equal(t, map[string]any{"enable": true, "maintenanceWindowDay": "sunday", "maintenanceWindowStartHour": 3.0}, c["autoUpgrade"])
			assert.Equal(t, tt.disposable, c["deleteAdditionalResources"], "the teardown of a disposable stack leaves no load balancer or volume behind")
			assert.Equal(t, !tt.disposable, rec.Request(cl).GetProtect(), "a kept cluster is protected")
			ip := one(t, g, tokLBIP, "kapsule-ingress-ip")
			assert.Equal(t, "fr-par-1", ip.Plain()["zone"])
			assert.Equal(t, !tt.disposable, rec.Request(ip).GetProtect(), "a kept stack keeps the address DNS points at")
			assert.Equal(t, one(t, g, tokKapsule, "kapsule").URN, cl.Parent)
		})
	}
}

// TestKapsulePool: one pool of the book's workers (3 × DEV1-L), in the
// zone, that heals itself and makes `up` wait until its nodes are ready;
// autoscaling only when poolMax is above poolMin. Its name carries the
// type: a new type is a new pool.
func TestKapsulePool(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name      string
		set       map[string]string
		min, max  float64
		autoscale bool
	}{
		{"the book's three workers", nil, 3, 3, false},
		{"autoscaling", map[string]string{"poolMax": "5"}, 3, 5, true},
		{"one to six", map[string]string{"poolMin": "1", "poolMax": "6"}, 1, 6, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := Run{Stack: "kapsule", Set: tt.set}.MustDo(t)
			pools := g.Find(tokKapsulePool)
			require.Len(t, pools, 1, "one pool")
			p := pools[0].Plain()
			assert.Equal(t, idOf(one(t, g, tokKapsuleCluster, "kapsule")), p["clusterId"])
			assert.Equal(t, "DEV1-L", p["nodeType"])
			assert.Equal(t, "apk8s-kapsule-dev1-l", p["name"])
			assert.Equal(t, "kapsule-pool-dev1-l", pools[0].Name)
			assert.Equal(t, tt.min, p["size"], "created at its smallest")
			assert.Equal(t, tt.min, p["minSize"])
			assert.Equal(t, tt.max, p["maxSize"])
			assert.Equal(t, tt.autoscale, p["autoscaling"])
			assert.Equal(t, true, p["autohealing"])
			assert.Equal(t, true, p["waitForPoolReady"])
			assert.Equal(t, "fr-par-1", p["zone"])
		})
	}
	g := Run{Stack: "kapsule", Set: map[string]string{"workerType": "DEV1-XL"}}.MustDo(t)
	p := one(t, g, tokKapsulePool, "kapsule-pool-dev1-xl")
	assert.Equal(t, "apk8s-kapsule-dev1-xl", p.Plain()["name"], "a new type is a new pool, made before the old one goes")
}

// TestKapsuleProviderWaitsForThePool: the Kubernetes provider is built from
// the cluster's kubeconfig, a secret, only once the pool is ready; it is
// bound to the cluster's identity, and every Kubernetes object uses it.
func TestKapsuleProviderWaitsForThePool(t *testing.T) {
	t.Parallel()
	g := Run{Stack: "kapsule"}.MustDo(t)
	provs := g.Find(tokK8sProv)
	require.Len(t, provs, 1)
	prov := provs[0]
	pool := g.Find(tokKapsulePool)[0]
	assert.Contains(t, prov.DependsOn, pool.URN, "nothing is deployed before the nodes are ready")
	require.True(t, prov.Inputs["kubeconfig"].IsSecret(), "the provider's kubeconfig is a secret")
	assert.Contains(t, str(prov.Plain(), "kubeconfig"), "token: "+kapsuleToken, "the kubeconfig the cluster reports")
	cl := one(t, g, tokKapsuleCluster, "kapsule")
	assert.Equal(t, idOf(cl), prov.Plain()["clusterIdentifier"], "objects are replaced only with a new cluster")
	assert.Equal(t, one(t, g, tokKapsule, "kapsule").URN, prov.Parent)
	assert.Nil(t, prov.Plain()["context"])
	assert.NotContains(t, prov.Plain(), "deleteUnreachable")
	provRef := prov.URN + "::" + idOf(prov)
	var objects int
	for _, r := range g.All {
		if strings.HasPrefix(r.Type, "kubernetes:") {
			objects++
			assert.Equal(t, provRef, r.Provider, "%s %s uses the cluster's provider", r.Type, r.Name)
		}
	}
	assert.NotZero(t, objects)
}

// TestKapsuleHasNothingOfK3s: no Instance, Instance IP, security group,
// raw volume, SSH key, agent token, remote command or Rook-Ceph in a
// Kapsule stack: Scaleway runs the nodes.
func TestKapsuleHasNothingOfK3s(t *testing.T) {
	t.Parallel()
	g := Run{Stack: "kapsule"}.MustDo(t)
	for _, tok := range []string{tokServer, tokIP, tokSG, tokVolume, tokPrivateKey, tokRemoteCmd, tokCluster, compRook} {
		assert.Empty(t, g.Find(tok), "%s in a Kapsule stack", tok)
	}
	for _, r := range g.Find(tokPassword) {
		assert.NotContains(t, r.Name, "k3s", "no k3s token")
	}
	dev3 := Run{Stack: "dev3"}.MustDo(t)
	for _, tok := range []string{tokKapsuleCluster, tokKapsulePool, tokLBIP, tokCCNP} {
		assert.Empty(t, dev3.Find(tok), "%s in the k3s stack", tok)
	}
}

// TestKapsuleClaimsRetain: the data services' claims use Scaleway Block
// Storage's retaining class in a kept Kapsule stack, in both Kafka modes.
func TestKapsuleClaimsRetain(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"kraft", "zookeeper"} {
		g := Run{Stack: "kapsule", Set: map[string]string{"kafkaMode": mode}}.MustDo(t)
		sets := g.Find(tokSTS)
		require.NotEmpty(t, sets)
		for _, r := range sets {
			var sts appsv1.StatefulSet
			r.Decode(t, &sts)
			require.NotEmpty(t, sts.Spec.VolumeClaimTemplates, r.Name)
			for _, tpl := range sts.Spec.VolumeClaimTemplates {
				require.NotNil(t, tpl.Spec.StorageClassName, r.Name)
				assert.Equal(t, "sbs-default-retain", *tpl.Spec.StorageClassName, "%s (%s): a class that keeps the volume", r.Name, mode)
			}
		}
	}
}

// TestKapsuleIngressBehindLoadBalancer: Traefik runs as a Deployment of two
// behind a LoadBalancer Service that Scaleway's cloud controller gives the
// stack's reserved IP (its bare UUID) in the cluster's zone; no host ports.
// The values are ones the pinned chart declares.
func TestKapsuleIngressBehindLoadBalancer(t *testing.T) {
	t.Parallel()
	g := Run{Stack: "kapsule"}.MustDo(t)
	r := release(t, g, traefik.ReleaseName)
	var v traefik.Values
	values(t, r, &v)
	assert.Equal(t, traefik.Deployment{Kind: "Deployment", Replicas: 2}, v.Deployment)
	assert.Equal(t, traefik.Ports{}, v.Ports, "no host ports")
	assert.Equal(t, corev1.ServiceTypeLoadBalancer, v.Service.Spec.Type)
	ip := one(t, g, tokLBIP, "kapsule-ingress-ip")
	assert.Equal(t, map[string]string{
		traefik.AnnotationLoadBalancerIPIDs: scaleway.ZonedID(idOf(ip)),
		traefik.AnnotationLoadBalancerZone:  "fr-par-1",
	}, v.Service.Annotations)
	assert.Equal(t, "service.beta.kubernetes.io/scw-loadbalancer-ip-ids", traefik.AnnotationLoadBalancerIPIDs)
	assert.True(t, v.Providers.KubernetesIngress.PublishedService.Enabled, "Ingresses show the load balancer's address")
	require.NotNil(t, v.UpdateStrategy.RollingUpdate)
	assert.Equal(t, intstr.FromInt32(0), *v.UpdateStrategy.RollingUpdate.MaxUnavailable, "a new pod before an old one goes")
	assert.Equal(t, intstr.FromInt32(1), *v.UpdateStrategy.RollingUpdate.MaxSurge)

	dir := chartDir(t, "traefik", "traefikChartVersion")
	readSchema(t, filepath.Join(dir, "values.schema.json")).check(t, r.Plain()["values"])
}

// TestZonedID: the annotation takes the UUID of a zoned ID.
func TestZonedID(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "11111111-2222-3333-4444-555555555555", scaleway.ZonedID("fr-par-1/11111111-2222-3333-4444-555555555555"))
	assert.Equal(t, "abc", scaleway.ZonedID("abc"))
}

// TestKapsuleMetadataDeny: on Kapsule, whose nodes are Instances with the
// metadata API at 169.254.42.42, one Cilium cluster-wide policy denies
// every pod outside kube-system egress to it (IPv4 and IPv6), without
// putting any pod in default-deny.
func TestKapsuleMetadataDeny(t *testing.T) {
	t.Parallel()
	g := Run{Stack: "kapsule"}.MustDo(t)
	r := g.Object(t, tokCCNP, metadataguard.PolicyName)
	var p ciliumv2.ClusterwideNetworkPolicy
	r.Decode(t, &p)
	require.Len(t, p.Spec.EgressDeny, 1)
	assert.Contains(t, p.Spec.EgressDeny[0].ToCIDR, "169.254.42.42/32")
	assert.Contains(t, p.Spec.EgressDeny[0].ToCIDR, "fd00:42::42/128")
	require.Len(t, p.Spec.EndpointSelector.MatchExpressions, 1)
	sel := p.Spec.EndpointSelector.MatchExpressions[0]
	assert.Equal(t, "k8s:io.kubernetes.pod.namespace", sel.Key)
	assert.Equal(t, "NotIn", string(sel.Operator))
	assert.Equal(t, []string{"kube-system"}, sel.Values, "every namespace of this program's pods is covered")
	assert.Empty(t, p.Spec.EndpointSelector.MatchLabels)
	require.NotNil(t, p.Spec.EnableDefaultDeny)
	require.NotNil(t, p.Spec.EnableDefaultDeny.Egress)
	assert.False(t, *p.Spec.EnableDefaultDeny.Egress, "the deny adds no default-deny: the other egress stays as it was")
	require.NotNil(t, p.Spec.EnableDefaultDeny.Ingress)
	assert.False(t, *p.Spec.EnableDefaultDeny.Ingress)
}

// TestBadKapsuleConfigFailsBeforeAnyResource: keys of one cluster kind are
// refused for the other by name; Kapsule's own keys are checked at their
// edges; every problem is reported at once, before anything is registered.
func TestBadKapsuleConfigFailsBeforeAnyResource(t *testing.T) {
	t.Parallel()
	k := func(set map[string]string) Run { return Run{Stack: "kapsule", Set: set} }
	checkBadConfigs(t, []badConfig{
		{"workerCount for kapsule", k(map[string]string{"workerCount": "4"}),
			[]string{`apk8s-platform:workerCount = "4" is not allowed`, `unset while cluster is "kapsule"`, "poolMin and poolMax"}},
		{"k3sVersion for kapsule", k(map[string]string{"k3sVersion": "v1.34.9+k3s1"}),
			[]string{`apk8s-platform:k3sVersion = "v1.34.9+k3s1" is not allowed`, `unset while cluster is "kapsule"`}},
		{"controlPlaneCount for kapsule", k(map[string]string{"controlPlaneCount": "3"}),
			[]string{`apk8s-platform:controlPlaneCount = "3" is not allowed`, `unset while cluster is "kapsule"`}},
		{"adminCidrs for kapsule", k(map[string]string{"adminCidrs": "198.51.100.7/32"}),
			[]string{`apk8s-platform:adminCidrs = "198.51.100.7/32" is not allowed`}},
		{"poolMax for scaleway", Run{Stack: "dev3", Set: map[string]string{"poolMax": "5"}},
			[]string{`apk8s-platform:poolMax = "5" is not allowed`, `unset while cluster is "scaleway"`}},
		{"kapsuleVersion for an existing cluster", Run{Stack: "local", Set: map[string]string{"kapsuleVersion": "1.35"}},
			[]string{`apk8s-platform:kapsuleVersion = "1.35" is not allowed`, `unset while cluster is "existing"`}},
		{"poolMax below poolMin", k(map[string]string{"poolMin": "3", "poolMax": "2"}),
			[]string{`apk8s-platform:poolMax = "2" is not allowed`, "at least poolMin (3)"}},
		{"no node", k(map[string]string{"poolMin": "0"}),
			[]string{`apk8s-platform:poolMin = "0" is not allowed`, "from 1 to 20"}},
		{"one node past the small bound", k(map[string]string{"poolMin": "7", "poolMax": "7"}),
			[]string{`apk8s-platform:poolMin = "7"`, `apk8s-platform:poolMax = "7"`, "up to 20 with apk8s-platform:allowLargeCluster = true"}},
		{"a full version", k(map[string]string{"kapsuleVersion": "1.36.2"}),
			[]string{`apk8s-platform:kapsuleVersion = "1.36.2" is not allowed`, `a Kubernetes minor of 1.34, 1.35, 1.36, 1.37 such as "1.36"`}},
		{"a minor past the supported one", k(map[string]string{"kapsuleVersion": "1.38"}),
			[]string{`apk8s-platform:kapsuleVersion = "1.38" is not allowed`}},
		{"a minor before the oldest", k(map[string]string{"kapsuleVersion": "1.33"}),
			[]string{`apk8s-platform:kapsuleVersion = "1.33" is not allowed`}},
		{"a v prefix", k(map[string]string{"kapsuleVersion": "v1.36"}),
			[]string{`apk8s-platform:kapsuleVersion = "v1.36"`}},
		{"a weekday in capitals", k(map[string]string{"kapsuleMaintenanceDay": "Sunday"}),
			[]string{`apk8s-platform:kapsuleMaintenanceDay = "Sunday"`, `"sunday"`}},
		{"hour 24", k(map[string]string{"kapsuleMaintenanceHour": "24"}),
			[]string{`apk8s-platform:kapsuleMaintenanceHour = "24"`, "from 0 to 23"}},
		{"a type Kapsule refuses", k(map[string]string{"workerType": "DEV1-S"}),
			[]string{`apk8s-platform:workerType = "DEV1-S" is not allowed`, "an Instance type Kapsule accepts", "too little memory"}},
		{"a deleting class in a kept stack", k(map[string]string{"storageClass": "sbs-default"}),
			[]string{`apk8s-platform:storageClass = "sbs-default" is not allowed`, `one of "sbs-default-retain" while the stack is not disposable`}},
		{"the default class in a kept stack", k(map[string]string{"storageClass": ""}),
			[]string{`apk8s-platform:storageClass = "" is not allowed`, "which deletes them"}},
		{"rendering a Kapsule stack", k(map[string]string{"renderYamlToDirectory": "out"}),
			[]string{`apk8s-platform:renderYamlToDirectory = "out" is not allowed`, `"" with cluster "kapsule"`}},
		{"the retired controller on Kapsule", k(map[string]string{"ingressController": "ingress-nginx"}),
			[]string{`apk8s-platform:ingressController = "ingress-nginx" is not allowed`, `while cluster is "kapsule"`}},
		{"Rook-Ceph on Kapsule without storage nodes", k(map[string]string{"rookCeph": "install", "storageClass": "rook-ceph-block"}),
			[]string{`apk8s-platform:cephNodes = "" is not allowed`, `while cluster is "kapsule"`, `apk8s-platform:storageClass = "rook-ceph-block"`}},
		{"every problem at once", k(map[string]string{"workerCount": "4", "poolMin": "0", "kapsuleVersion": "latest", "storageClass": "sbs-15k"}),
			[]string{"(4 problems)", "workerCount", "poolMin", "kapsuleVersion", "storageClass"}},
	})
}

// TestKapsuleConfigEdges: the bounds taken at their edge pass; a
// disposable stack may use a deleting class.
func TestKapsuleConfigEdges(t *testing.T) {
	t.Parallel()
	for name, run := range map[string]Run{
		"six nodes":                             {Stack: "kapsule", Set: map[string]string{"poolMin": "6", "poolMax": "6"}},
		"one node":                              {Stack: "kapsule", Set: map[string]string{"poolMin": "1", "poolMax": "1"}},
		"twenty with allowLargeCluster":         {Stack: "kapsule", Set: map[string]string{"poolMin": "20", "poolMax": "20", "allowLargeCluster": "true"}},
		"hour 23":                               {Stack: "kapsule", Set: map[string]string{"kapsuleMaintenanceHour": "23"}},
		"the oldest minor":                      {Stack: "kapsule", Set: map[string]string{"kapsuleVersion": fmt.Sprintf("1.%d", kubeminor.Oldest)}},
		"the supported minor":                   {Stack: "kapsule", Set: map[string]string{"kapsuleVersion": fmt.Sprintf("1.%d", kubeminor.Supported)}},
		"hour 0, any day":                       {Stack: "kapsule", Set: map[string]string{"kapsuleMaintenanceHour": "0", "kapsuleMaintenanceDay": "any"}},
		"a deleting class in a disposable one":  disposableKapsule(map[string]string{"storageClass": "sbs-default"}),
		"the default class in a disposable one": disposableKapsule(map[string]string{"storageClass": ""}),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := run.Do(t)
			assert.NoError(t, err)
		})
	}
}

// TestDefaultsAsTheCLIPassesThem: the Pulumi CLI hands the program every
// default of Pulumi.yaml as a set value, so a key of the other cluster kind
// at its default is not a key the stack configures, and no stack file is
// refused for it (the real engine's e2e runs met this first).
func TestDefaultsAsTheCLIPassesThem(t *testing.T) {
	t.Parallel()
	for _, stack := range []string{"dev3", "local", "render", "kapsule"} {
		t.Run(stack, func(t *testing.T) {
			_, err := Run{Stack: stack, CLIDefaults: true}.Do(t)
			assert.NoError(t, err)
		})
	}
}

// TestClusterSwitchRefused: a deployed stack keeps its cluster kind,
// settled from its last update's outputs; updates from before the output
// are told by the k3s cluster's control-plane address.
func TestClusterSwitchRefused(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		run   Run
		wants string // "" = accepted
	}{
		{"k3s to kapsule", Run{Stack: "kapsule", Last: map[string]any{"cluster": "scaleway"}}, `must be "scaleway", the cluster this stack runs on`},
		{"an older k3s update to kapsule", Run{Stack: "kapsule", Last: map[string]any{"controlPlaneAddress": "51.15.100.10"}}, `must be "scaleway"`},
		{"kapsule to k3s", Run{Stack: "dev3", Last: map[string]any{"cluster": "kapsule"}}, `must be "kapsule"`},
		{"existing to kapsule", Run{Stack: "kapsule", Last: map[string]any{"cluster": "existing"}}, `must be "existing"`},
		{"kapsule again", Run{Stack: "kapsule", Last: map[string]any{"cluster": "kapsule"}}, ""},
		{"a new stack", Run{Stack: "kapsule"}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.wants == "" {
				tt.run.MustDo(t)
				return
			}
			g := badConfig{tt.name, tt.run, []string{`apk8s-platform:cluster = "`, "is not allowed", tt.wants, "a switch builds a new, empty cluster"}}.refused(t)
			assert.Empty(t, g.All, "nothing registered")
		})
	}
}

// TestKapsuleVersionCurrency: the Kapsule pin keeps to the project's minor
// rule (internal/kubeminor): at most the supported minor and at most one
// behind it (Kapsule offers a minor some weeks after upstream); a deployed
// cluster moves one minor per update, never down, settled from the last
// update's outputs.
func TestKapsuleVersionCurrency(t *testing.T) {
	t.Parallel()
	pin, ok := kubeminor.Of(Default(t, "kapsuleVersion"))
	require.True(t, ok)
	assert.LessOrEqual(t, pin, kubeminor.Supported)
	assert.GreaterOrEqual(t, pin, kubeminor.Supported-1, "the Kapsule pin lags the supported minor by one at most")
	for _, tt := range []struct {
		from, to string
		wants    string // "" = accepted
	}{
		{"1.36", "1.36", ""},
		{"1.36", "1.37", ""},
		{"1.35", "1.37", "moves one minor per update: set 1.36, 1.37 in turn"},
		{"1.37", "1.36", "cannot move down a minor"},
	} {
		t.Run(tt.from+" to "+tt.to, func(t *testing.T) {
			run := Run{Stack: "kapsule", Set: map[string]string{"kapsuleVersion": tt.to}, Last: map[string]any{"cluster": "kapsule", "kapsuleVersion": tt.from}}
			if tt.wants == "" {
				run.MustDo(t)
				return
			}
			badConfig{tt.from, run, []string{`apk8s-platform:kapsuleVersion = "` + tt.to + `" is not allowed`, tt.wants}}.refused(t)
		})
	}
}
