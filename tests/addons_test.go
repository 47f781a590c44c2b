package tests

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"

	"github.com/apk8s/apk8s-platform/apis/cephv1"
	"github.com/apk8s/apk8s-platform/apis/certmanagerv1"
	"github.com/apk8s/apk8s-platform/apis/monitoringv1"
	"github.com/apk8s/apk8s-platform/components/certmanager"
	"github.com/apk8s/apk8s-platform/components/ingressnginx"
	"github.com/apk8s/apk8s-platform/components/monitoring"
	"github.com/apk8s/apk8s-platform/components/rookceph"
	"github.com/apk8s/apk8s-platform/components/traefik"
	"github.com/apk8s/apk8s-platform/stacks"
)

const (
	tokRelease        = "kubernetes:helm.sh/v3:Release"
	tokClusterIssuer  = "kubernetes:cert-manager.io/v1:ClusterIssuer"
	tokCephCluster    = "kubernetes:ceph.rook.io/v1:CephCluster"
	tokCephBlockPool  = "kubernetes:ceph.rook.io/v1:CephBlockPool"
	tokStorageClass   = "kubernetes:storage.k8s.io/v1:StorageClass"
	tokServiceMonitor = "kubernetes:monitoring.coreos.com/v1:ServiceMonitor"
	tokPodMonitor     = "kubernetes:monitoring.coreos.com/v1:PodMonitor"
)

// Component types of the add-ons.
const (
	compTraefik    = "apk8s:addons:Traefik"
	compNginx      = "apk8s:addons:IngressNginx"
	compCerts      = "apk8s:addons:CertManager"
	compDataCA     = "apk8s:data:CertificateAuthority"
	compRook       = "apk8s:addons:RookCeph"
	compMonitoring = "apk8s:addons:Monitoring"
	compScrape     = "apk8s:addons:DataScrape"
)

// dev3Graph is the dev3 stack, the book's cluster with every add-on, with
// set on top of its stack file (shared: read it, never change it).
func dev3Graph(t *testing.T, set map[string]string) *Graph {
	t.Helper()
	return Run{Stack: "dev3", Set: set}.Shared(t).Graph
}

// release is the Helm release whose `helm list` name is name.
func release(t *testing.T, g *Graph, name string) *Res {
	t.Helper()
	for _, r := range g.Find(tokRelease) {
		if r.Plain()["name"] == name {
			return r
		}
	}
	require.Failf(t, "release missing", "no Helm release %q in the graph", name)
	return nil
}

// values decodes a release's values into out, the component's values type.
func values(t *testing.T, r *Res, out any) {
	t.Helper()
	raw, err := json.Marshal(r.Plain()["values"])
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, out))
}

// component is the one registration of a component type.
func component(t *testing.T, g *Graph, typ string) *Res {
	t.Helper()
	found := g.Find(typ)
	require.Len(t, found, 1, "components of type %s", typ)
	return found[0]
}

// subtree is the URNs of root and everything under it.
func subtree(g *Graph, root string) map[string]bool {
	in := map[string]bool{root: true}
	for changed := true; changed; {
		changed = false
		for _, r := range g.All {
			if !in[r.URN] && in[r.Parent] {
				in[r.URN] = true
				changed = true
			}
		}
	}
	return in
}

func urns(g *Graph) map[string]bool {
	out := map[string]bool{}
	for _, r := range g.All {
		out[r.URN] = true
	}
	return out
}

// TestChartKeysNameTheirChart: the key that pins a release's chart version
// says which chart from which repository, in words Renovate reads wherever
// the key appears (stacks, Pulumi.yaml, the docs table; docs/pins.md).
func TestChartKeysNameTheirChart(t *testing.T) {
	t.Parallel()
	g := dev3Graph(t, nil)
	releases := g.Find(tokRelease)
	require.NotEmpty(t, releases)
	for _, r := range releases {
		in := r.Plain()
		chart, _ := in["chart"].(string)
		t.Run(chart, func(t *testing.T) {
			var keys []stacks.Key
			for _, k := range stacks.Keys {
				if strings.HasSuffix(k.Name, "ChartVersion") && k.Default == in["version"] {
					keys = append(keys, k)
				}
			}
			require.Len(t, keys, 1, "one chart-version key has the default %v", in["version"])
			repo, _ := in["repositoryOpts"].(map[string]any)["repo"].(string)
			assert.True(t, strings.HasPrefix(keys[0].Description, fmt.Sprintf("Version of the %s chart (%s)", chart, repo)),
				"%s: %q", keys[0].Name, keys[0].Description)
		})
	}
}

// TestAddonReleases: every add-on is a Helm release of a pinned chart from
// its official repository, in a namespace this program creates (never
// Helm), named as `helm list` will show it, with the chart's CRDs.
func TestAddonReleases(t *testing.T) {
	t.Parallel()
	g := dev3Graph(t, nil)
	tests := []struct {
		release, chart, version, repo, namespace, component string
	}{
		{"traefik", "traefik", Default(t, "traefikChartVersion"), "https://traefik.github.io/charts", "traefik", compTraefik},
		{"cert-manager", "cert-manager", Default(t, "certManagerChartVersion"), "https://charts.jetstack.io", "cert-manager", compCerts},
		{"rook-ceph", "rook-ceph", Default(t, "rookCephChartVersion"), "https://charts.rook.io/release", "rook-ceph", compRook},
		{"ceph-csi-drivers", "ceph-csi-drivers", Default(t, "cephCsiDriversChartVersion"), "https://ceph.github.io/ceph-csi-operator", "rook-ceph", compRook},
		{"kube-prometheus-stack", "kube-prometheus-stack", Default(t, "kubePrometheusStackChartVersion"), "https://prometheus-community.github.io/helm-charts", "monitoring", compMonitoring},
	}
	require.Len(t, g.Find(tokRelease), len(tests), "one release per chart")
	providers := g.Find("pulumi:providers:kubernetes")
	require.Len(t, providers, 1)
	for _, tt := range tests {
		t.Run(tt.release, func(t *testing.T) {
			r := release(t, g, tt.release)
			in := r.Plain()
			assert.Equal(t, tt.chart, in["chart"])
			assert.Equal(t, tt.version, in["version"])
			assert.Equal(t, map[string]any{"repo": tt.repo}, in["repositoryOpts"])
			assert.Equal(t, tt.namespace, in["namespace"])
			assert.Equal(t, false, in["createNamespace"], "the namespace is ours, not Helm's")
			assert.Equal(t, false, in["skipCrds"], "the chart's crds/ are applied")
			assert.NotContains(t, in, "skipAwait", "the release waits until its objects are ready")

			ns := g.Object(t, tokNamespace, tt.namespace)
			assert.Contains(t, r.DependsOn, ns.URN, "the release waits for its namespace")
			assert.Equal(t, tt.component, g.ByURN(r.Parent).Type)
			assert.Equal(t, providers[0].URN+"::"+providers[0].Name+"-id", r.Provider)
		})
	}
}

// TestIngressNginxValues: the book's controller, a DaemonSet on host ports
// 80 and 443 of every node behind no load balancer, serving the default
// class "nginx".
func TestIngressNginxValues(t *testing.T) {
	t.Parallel()
	g := dev3Graph(t, map[string]string{"ingressController": "ingress-nginx"})
	r := release(t, g, ingressnginx.ReleaseName)
	in := r.Plain()
	assert.Equal(t, "ingress-nginx", in["chart"])
	assert.Equal(t, Default(t, "ingressNginxChartVersion"), in["version"], "the final release")
	assert.Equal(t, map[string]any{"repo": "https://kubernetes.github.io/ingress-nginx"}, in["repositoryOpts"])
	assert.Equal(t, "ingress-nginx", in["namespace"])
	assert.Contains(t, r.DependsOn, g.Object(t, tokNamespace, "ingress-nginx").URN)
	assert.Equal(t, compNginx, g.ByURN(r.Parent).Type)
	var v ingressnginx.Values
	values(t, r, &v)
	c := v.Controller
	assert.Equal(t, "DaemonSet", c.Kind)
	assert.Equal(t, ingressnginx.HostPort{Enabled: true, Ports: ingressnginx.HostPortNumbers{HTTP: 80, HTTPS: 443}}, c.HostPort)
	assert.Equal(t, "nginx", c.IngressClass)
	assert.Equal(t, ingressnginx.IngressClassResource{Name: "nginx", Enabled: true, Default: true, ControllerValue: "k8s.io/ingress-nginx"}, c.IngressClassResource)
	assert.Equal(t, "ClusterIP", c.Service.Type, "no LoadBalancer Service that would wait for a cloud address")
	assert.False(t, c.PublishService.Enabled, "ingress status reports the nodes' addresses")
	assert.False(t, c.Resources.Limits.Memory().IsZero())
}

// TestCertManager: the chart installs its CRDs in the spelling of its
// version; the ClusterIssuers are the book's ACME issuers, created after
// the release and the ingress controller.
func TestCertManager(t *testing.T) {
	t.Parallel()
	g := dev3Graph(t, nil)
	rel := release(t, g, certmanager.ReleaseName)
	var v certmanager.Values
	values(t, rel, &v)
	assert.Equal(t, certmanager.Values{CRDs: &certmanager.CRDs{Enabled: true, Keep: true}}, v)

	var old certmanager.Values
	values(t, release(t, dev3Graph(t, map[string]string{"certManagerChartVersion": "v1.14.7"}), certmanager.ReleaseName), &old)
	require.NotNil(t, old.InstallCRDs, "charts before v1.15 read installCRDs")
	assert.True(t, *old.InstallCRDs)
	assert.Nil(t, old.CRDs)

	ingress := release(t, g, traefik.ReleaseName)
	issuers := g.Find(tokClusterIssuer)
	require.Len(t, issuers, 2)
	for name, server := range map[string]string{
		"letsencrypt-production": "https://acme-v02.api.letsencrypt.org/directory",
		"letsencrypt-staging":    "https://acme-staging-v02.api.letsencrypt.org/directory",
	} {
		r := g.Object(t, tokClusterIssuer, name)
		var ci certmanagerv1.ClusterIssuer
		r.Decode(t, &ci)
		assert.Equal(t, "cert-manager.io/v1", ci.APIVersion)
		assert.Empty(t, ci.Namespace, "cluster-scoped")
		require.NotNil(t, ci.Spec.ACME)
		acme := ci.Spec.ACME
		assert.Equal(t, server, acme.Server)
		assert.Equal(t, "sysop@apk8s.dev", acme.Email, "from Pulumi.dev3.yaml")
		assert.Equal(t, name, acme.PrivateKeySecretRef.Name)
		require.Len(t, acme.Solvers, 1)
		require.NotNil(t, acme.Solvers[0].HTTP01)
		require.NotNil(t, acme.Solvers[0].HTTP01.Ingress)
		assert.Equal(t, "traefik", *acme.Solvers[0].HTTP01.Ingress.IngressClassName, "the default controller's class")

		assert.Contains(t, r.DependsOn, rel.URN, "%s waits for cert-manager's CRDs and webhook", name)
		assert.Contains(t, r.DependsOn, ingress.URN, "%s waits for the controller that serves its challenges", name)
	}
}

// TestRookCephCluster: the CephCluster takes the workers' raw volumes and
// nothing else, with a mon quorum that fits the workers.
func TestRookCephCluster(t *testing.T) {
	t.Parallel()
	g := dev3Graph(t, nil)
	r := g.Object(t, tokCephCluster, "rook-ceph")
	var cc cephv1.CephCluster
	r.Decode(t, &cc)
	assert.Equal(t, "rook-ceph", cc.Namespace)
	s := cc.Spec.Storage
	assert.False(t, s.UseAllNodes, "only the listed workers")
	require.NotNil(t, s.UseAllDevices)
	assert.False(t, *s.UseAllDevices, "never every device: the root disk must stay out")
	assert.Equal(t, []cephv1.Node{
		{Name: "apk8s-dev3-worker-1", Selection: cephv1.Selection{DeviceFilter: "^sd[a-z]$"}},
		{Name: "apk8s-dev3-worker-2", Selection: cephv1.Selection{DeviceFilter: "^sd[a-z]$"}},
		{Name: "apk8s-dev3-worker-3", Selection: cephv1.Selection{DeviceFilter: "^sd[a-z]$"}},
	}, s.Nodes, "the Scaleway workers, each with its Block Storage volume (sd*)")
	assert.Equal(t, 3, cc.Spec.Mon.Count)
	assert.False(t, cc.Spec.Mon.AllowMultiplePerNode)
	assert.Equal(t, Default(t, "cephImage"), cc.Spec.CephVersion.Image)
	assert.Equal(t, "/var/lib/rook", cc.Spec.DataDirHostPath)
	assert.Empty(t, cc.Spec.CleanupPolicy.Confirmation, "a delete never wipes disks on its own")
	assert.Equal(t, "jsonpath={.status.phase}=Ready", cc.Annotations["pulumi.com/waitFor"])
	for _, daemon := range []string{"mon", "mgr", "osd"} {
		limits := cc.Spec.Resources[daemon].Limits
		assert.False(t, limits.Memory().IsZero(), "%s has a memory limit", daemon)
	}

	// An existing cluster names its nodes and its device.
	g = dev3Graph(t, map[string]string{"cluster": "existing", "cephNodes": "n1, n2", "cephDeviceFilter": "^vdb$", "cephPoolReplicas": "2"})
	g.Object(t, tokCephCluster, "rook-ceph").Decode(t, &cc)
	assert.Equal(t, []cephv1.Node{
		{Name: "n1", Selection: cephv1.Selection{DeviceFilter: "^vdb$"}},
		{Name: "n2", Selection: cephv1.Selection{DeviceFilter: "^vdb$"}},
	}, cc.Spec.Storage.Nodes)
	assert.Equal(t, 1, cc.Spec.Mon.Count, "two nodes hold no more than one failure-free quorum of one")
}

// TestMonCountFitsWorkers: at most three mons, one per worker, odd.
func TestMonCountFitsWorkers(t *testing.T) {
	t.Parallel()
	for workers, mons := range map[int]int{1: 1, 2: 1, 3: 3, 4: 3, 5: 3, 20: 3} {
		assert.Equal(t, mons, rookceph.MonCount(workers), "%d workers", workers)
		if workers > 5 {
			continue
		}
		g := dev3Graph(t, map[string]string{"workerCount": fmt.Sprint(workers), "cephPoolReplicas": "1"})
		var cc cephv1.CephCluster
		g.Object(t, tokCephCluster, "rook-ceph").Decode(t, &cc)
		assert.Equal(t, mons, cc.Spec.Mon.Count, "%d workers", workers)
		assert.Len(t, cc.Spec.Storage.Nodes, workers)
	}
}

// TestRookPoolAndStorageClass: replicapool keeps its copies on distinct
// hosts; rook-ceph-block formats xfs, deletes with its claims, and names the
// driver the drivers chart installs.
func TestRookPoolAndStorageClass(t *testing.T) {
	t.Parallel()
	g := dev3Graph(t, nil)
	var pool cephv1.CephBlockPool
	g.Object(t, tokCephBlockPool, "replicapool").Decode(t, &pool)
	assert.Equal(t, "rook-ceph", pool.Namespace)
	assert.Equal(t, "host", pool.Spec.FailureDomain)
	assert.Equal(t, cephv1.ReplicatedSpec{Size: 3, RequireSafeReplicaSize: true}, pool.Spec.Replicated)

	g1 := dev3Graph(t, map[string]string{"cephPoolReplicas": "1"})
	g1.Object(t, tokCephBlockPool, "replicapool").Decode(t, &pool)
	assert.Equal(t, cephv1.ReplicatedSpec{Size: 1, RequireSafeReplicaSize: false}, pool.Spec.Replicated, "one copy must be allowed explicitly")

	var sc storagev1.StorageClass
	g.Object(t, tokStorageClass, "rook-ceph-block").Decode(t, &sc)
	assert.Equal(t, "rook-ceph.rbd.csi.ceph.com", sc.Provisioner)
	assert.Equal(t, "rook-ceph", sc.Parameters["clusterID"])
	assert.Equal(t, "replicapool", sc.Parameters["pool"])
	assert.Equal(t, "xfs", sc.Parameters["csi.storage.k8s.io/fstype"])
	assert.Equal(t, "layering", sc.Parameters["imageFeatures"])
	for _, key := range []string{"provisioner", "controller-expand", "node-stage"} {
		assert.NotEmpty(t, sc.Parameters["csi.storage.k8s.io/"+key+"-secret-name"], key)
		assert.Equal(t, "rook-ceph", sc.Parameters["csi.storage.k8s.io/"+key+"-secret-namespace"], key)
	}
	require.NotNil(t, sc.ReclaimPolicy)
	assert.Equal(t, corev1.PersistentVolumeReclaimDelete, *sc.ReclaimPolicy)
	assert.True(t, *sc.AllowVolumeExpansion)
	assert.Empty(t, sc.Annotations["storageclass.kubernetes.io/is-default-class"], "not the default class")

	var op rookceph.OperatorChartValues
	values(t, release(t, g, rookceph.OperatorRelease), &op)
	assert.True(t, op.CRDs.Enabled)
	assert.True(t, op.CSI.InstallCSIOperator, "the drivers chart needs the ceph-csi-operator")
	var drv rookceph.DriversChartValues
	values(t, release(t, g, rookceph.DriversRelease), &drv)
	assert.Equal(t, "rook-ceph", drv.OperatorConfig.Namespace)
	assert.Equal(t, rookceph.CSIDriver{Enabled: true, Name: sc.Provisioner}, drv.Drivers["rbd"], "the class names the driver the chart installs")
}

// TestMonitoring: Prometheus selects monitors from every namespace, keeps
// the configured retention, and scrapes Kafka (through the exporter) and
// ZooKeeper (its own metrics port) in the data namespace.
func TestMonitoring(t *testing.T) {
	t.Parallel()
	g := dev3Graph(t, map[string]string{"prometheusRetention": "3d"})
	kps := release(t, g, monitoring.ReleaseName)
	var v monitoring.Values
	values(t, kps, &v)
	p := v.Prometheus.PrometheusSpec
	assert.Equal(t, "3d", p.Retention)
	assert.False(t, p.ServiceMonitorSelectorNilUsesHelmValues)
	assert.False(t, p.PodMonitorSelectorNilUsesHelmValues)
	assert.False(t, p.RuleSelectorNilUsesHelmValues)
	assert.False(t, p.ProbeSelectorNilUsesHelmValues)
	assert.False(t, p.ScrapeConfigSelectorNilUsesHelmValues)
	assert.True(t, v.CRDs.Enabled)
	assert.False(t, p.Resources.Limits.Memory().IsZero())

	var d appsv1.Deployment
	exporter := g.Object(t, tokDeploy, "kafka-exporter")
	exporter.Decode(t, &d)
	assert.Equal(t, "data", d.Namespace)
	c := d.Spec.Template.Spec.Containers[0]
	assert.Equal(t, Default(t, "kafkaExporterImage"), c.Image)
	assert.Contains(t, c.Args, "--kafka.server=kafka:9092")
	assert.Contains(t, exporter.DependsOn, g.Object(t, tokSTS, "kafka").URN, "the exporter starts once the brokers run")

	var svc corev1.Service
	g.Object(t, tokService, "kafka-exporter").Decode(t, &svc)
	var sm monitoringv1.ServiceMonitor
	smRes := g.Object(t, tokServiceMonitor, "kafka-exporter")
	smRes.Decode(t, &sm)
	assert.Equal(t, "data", sm.Namespace)
	assert.Equal(t, svc.Labels, sm.Spec.Selector.MatchLabels, "the monitor selects the exporter's Service")
	require.Len(t, sm.Spec.Endpoints, 1)
	assert.Equal(t, svc.Spec.Ports[0].Name, sm.Spec.Endpoints[0].Port)

	var pm monitoringv1.PodMonitor
	pmRes := g.Object(t, tokPodMonitor, "zookeeper")
	pmRes.Decode(t, &pm)
	var zk appsv1.StatefulSet
	g.Object(t, tokSTS, "zookeeper").Decode(t, &zk)
	assert.Equal(t, zk.Spec.Template.Labels, pm.Spec.Selector.MatchLabels, "the monitor selects the ensemble's pods")
	require.Len(t, pm.Spec.PodMetricsEndpoints, 1)
	assert.Contains(t, zk.Spec.Template.Spec.Containers[0].Ports,
		corev1.ContainerPort{Name: pm.Spec.PodMetricsEndpoints[0].Port, ContainerPort: 7000, Protocol: corev1.ProtocolTCP})

	for _, r := range []*Res{smRes, pmRes} {
		assert.Contains(t, r.DependsOn, kps.URN, "%s waits for the monitor CRDs", r.K8sName())
	}
}

// TestAddonOrdering: the edges the platform relies on are in the graph,
// not left to luck.
func TestAddonOrdering(t *testing.T) {
	t.Parallel()
	g := dev3Graph(t, nil)
	operator := release(t, g, rookceph.OperatorRelease)
	drivers := release(t, g, rookceph.DriversRelease)
	cluster := g.Object(t, tokCephCluster, "rook-ceph")
	pool := g.Object(t, tokCephBlockPool, "replicapool")
	class := g.Object(t, tokStorageClass, "rook-ceph-block")
	edges := []struct {
		from, to *Res
		why      string
	}{
		{cluster, operator, "the CephCluster needs the operator's CRDs"},
		{drivers, operator, "the drivers chart needs the ceph-csi-operator's CRDs"},
		{pool, cluster, "the pool needs its cluster"},
		{pool, drivers, "on teardown the drivers outlive the pool, to delete its images"},
		{class, pool, "the class provisions from the pool"},
		{g.Object(t, tokSTS, "kafka"), class, "the Kafka claims need their StorageClass"},
		{g.Object(t, tokSTS, "zookeeper"), class, "the ZooKeeper claims need their StorageClass"},
		{g.Object(t, tokCert, "data-cert"), g.Object(t, tokClusterIssuer, "letsencrypt-staging"), "data-cert needs its issuer (staging: dev3 is disposable)"},
		{g.Object(t, tokClusterIssuer, "letsencrypt-production"), release(t, g, certmanager.ReleaseName), "the issuer needs cert-manager's CRDs"},
		{g.Object(t, tokServiceMonitor, "kafka-exporter"), release(t, g, monitoring.ReleaseName), "ServiceMonitor needs its CRD"},
		{g.Object(t, tokPodMonitor, "zookeeper"), release(t, g, monitoring.ReleaseName), "PodMonitor needs its CRD"},
	}
	for _, e := range edges {
		assert.Contains(t, e.from.DependsOn, e.to.URN, e.why)
	}
}

// TestSwitchingAnAddonOff: an add-on switched off takes exactly its own
// resources with it; what depended on it stays, without the dangling edge.
func TestSwitchingAnAddonOff(t *testing.T) {
	t.Parallel()
	full := dev3Graph(t, nil)
	tests := []struct {
		name       string
		set        map[string]string
		components []string // whose subtrees go
		alsoGone   []string // further objects that go with them, as "token name"
	}{
		{"ingress controller of the cluster", map[string]string{"ingressController": "existing", "ingressClass": "traefik"}, []string{compTraefik}, nil},
		{"cert-manager of the cluster", map[string]string{"certManager": "existing"}, []string{compCerts}, nil},
		{"no cert-manager, no certificate", map[string]string{"certManager": "none", "certificate": "false"}, []string{compCerts, compDataCA},
			[]string{tokCert + " data-cert", tokCert + " mqtt-tls"}},
		{"Rook of the cluster", map[string]string{"rookCeph": "existing"}, []string{compRook}, nil},
		{"no Rook, default class", map[string]string{"rookCeph": "none", "storageClass": ""}, []string{compRook}, nil},
		{"Prometheus Operator of the cluster", map[string]string{"monitoring": "existing"}, []string{compMonitoring}, nil},
		{"no monitoring", map[string]string{"monitoring": "none"}, []string{compMonitoring, compScrape},
			[]string{tokPrometheusRule + " " + rookceph.RulesName}}, // Ceph's rules need the Prometheus Operator
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			off := dev3Graph(t, tt.set)
			want := map[string]bool{}
			for _, typ := range tt.components {
				maps.Copy(want, subtree(full, component(t, full, typ).URN))
				assert.Empty(t, off.Find(typ))
			}
			for _, obj := range tt.alsoGone {
				token, name, _ := strings.Cut(obj, " ")
				want[full.Object(t, token, name).URN] = true
			}
			kept := urns(off)
			var gone []string
			for urn := range urns(full) {
				if !kept[urn] {
					gone = append(gone, urn)
				}
			}
			assert.ElementsMatch(t, slices.Collect(maps.Keys(want)), gone, "exactly the add-on's resources go")
			for urn := range kept {
				assert.True(t, full.ByURN(urn) != nil, "%s is new", urn)
			}
			for _, r := range off.All {
				for _, dep := range r.DependsOn {
					assert.True(t, kept[dep], "%s depends on %s, which is gone", r.URN, dep)
				}
			}
		})
	}
}

// TestAddonsOffLocally: the local stack installs no add-on.
func TestAddonsOffLocally(t *testing.T) {
	t.Parallel()
	g := Run{Stack: "local"}.Shared(t).Graph
	for _, typ := range []string{compTraefik, compNginx, compCerts, compRook, compMonitoring, compScrape, tokRelease, tokClusterIssuer, tokCephCluster, tokStorageClass} {
		assert.Empty(t, g.Find(typ), typ)
	}
}

// TestAddonDependentsFailValidation: whatever needs an add-on that is "none"
// fails before any resource, saying what to change.
func TestAddonDependentsFailValidation(t *testing.T) {
	t.Parallel()
	checkBadConfigs(t, []badConfig{
		{"certificate without cert-manager", Run{Stack: "dev3", Set: map[string]string{"certManager": "none"}},
			[]string{`apk8s-platform:certificate = "true" is not allowed`, `while certManager is "none"`, `"existing" if the cluster runs cert-manager`}},
		{"Ceph class without Rook", Run{Stack: "dev3", Set: map[string]string{"rookCeph": "none"}},
			[]string{`apk8s-platform:storageClass = "rook-ceph-block" is not allowed`, `while rookCeph is "none"`, `set storageClass to ""`}},
		{"issuers without an ingress controller", Run{Stack: "dev3", Set: map[string]string{"ingressController": "none", "kafkaConsole": "none"}},
			[]string{`apk8s-platform:certManager = "install" is not allowed`, `while ingressController is "none"`, `HTTP-01`,
				`set ingressController to "traefik", or to "existing" with the cluster's class in ingressClass`}},
		{"certificate in local", Run{Stack: "local", Set: map[string]string{"certificate": "true"}},
			[]string{`apk8s-platform:certificate = "true" is not allowed`}},
		{"Ceph class in local", Run{Stack: "local", Set: map[string]string{"storageClass": "rook-ceph-block"}},
			[]string{`apk8s-platform:storageClass = "rook-ceph-block" is not allowed`}},
		{"no ACME e-mail", Run{Stack: "dev3", Unset: []string{"acmeEmail"}},
			[]string{`apk8s-platform:acmeEmail = "" is not allowed`, "e-mail address"}},
		{"malformed ACME e-mail", Run{Stack: "dev3", Set: map[string]string{"acmeEmail": "Sysop <sysop@apk8s.dev>"}},
			[]string{`apk8s-platform:acmeEmail = "Sysop <sysop@apk8s.dev>"`}},
		{"example ACME e-mail", Run{Stack: "dev3", Set: map[string]string{"acmeEmail": "me@example.com"}},
			[]string{`apk8s-platform:acmeEmail = "me@example.com"`}},
		{"unknown add-on mode", Run{Stack: "dev3", Set: map[string]string{"monitoring": "yes"}},
			[]string{`apk8s-platform:monitoring = "yes"`, `one of "existing", "install", "none"`}},
		{"a class for a controller", Run{Stack: "dev3", Set: map[string]string{"ingressController": "nginx"}},
			[]string{`apk8s-platform:ingressController = "nginx"`, `one of "existing", "ingress-nginx", "none", "traefik"`}},
		{"existing controller of no named class", Run{Stack: "dev3", Set: map[string]string{"ingressController": "existing"}},
			[]string{`apk8s-platform:ingressClass = "" is not allowed`, `one of "nginx", "traefik" while ingressController is "existing"`, "sysop-basic-auth"}},
		{"existing controller of an unknown class", Run{Stack: "dev3", Set: map[string]string{"ingressController": "existing", "ingressClass": "haproxy"}},
			[]string{`apk8s-platform:ingressClass = "haproxy" is not allowed`}},
		{"class other than the installed controller's", Run{Stack: "dev3", Set: map[string]string{"ingressClass": "nginx"}},
			[]string{`apk8s-platform:ingressClass = "nginx" is not allowed`, `"" or "traefik" while ingressController is "traefik"`}},
		{"class other than ingress-nginx's", Run{Stack: "dev3", Set: map[string]string{"ingressController": "ingress-nginx", "ingressClass": "traefik"}},
			[]string{`apk8s-platform:ingressClass = "traefik" is not allowed`, `"" or "nginx" while ingressController is "ingress-nginx"`}},
		{"class without a controller", Run{Stack: "local", Set: map[string]string{"ingressClass": "traefik"}},
			[]string{`apk8s-platform:ingressClass = "traefik" is not allowed`, `"" while ingressController is "none"`}},
		{"malformed chart version", Run{Stack: "dev3", Set: map[string]string{"ingressController": "ingress-nginx", "ingressNginxChartVersion": "latest"}},
			[]string{`apk8s-platform:ingressNginxChartVersion = "latest"`, "a chart version"}},
		{"malformed Traefik chart version", Run{Stack: "dev3", Set: map[string]string{"traefikChartVersion": "v41"}},
			[]string{`apk8s-platform:traefikChartVersion = "v41"`, "a chart version"}},
		{"Traefik chart before the values this program sets", Run{Stack: "dev3", Set: map[string]string{"traefikChartVersion": "39.0.9"}},
			[]string{`apk8s-platform:traefikChartVersion = "39.0.9"`, "40.0.0 or later"}},
		{"cert-manager too old", Run{Stack: "dev3", Set: map[string]string{"certManagerChartVersion": "v1.11.0"}},
			[]string{`apk8s-platform:certManagerChartVersion = "v1.11.0"`, "v1.12.0 or later"}},
		{"Rook before the drivers chart", Run{Stack: "dev3", Set: map[string]string{"rookCephChartVersion": "v1.19.7"}},
			[]string{`apk8s-platform:rookCephChartVersion = "v1.19.7"`, "v1.20.0 or later"}},
		{"more replicas than workers", Run{Stack: "dev3", Set: map[string]string{"workerCount": "2"}},
			[]string{`apk8s-platform:cephPoolReplicas = "3"`, "at most the 2 storage node(s)"}},
		{"existing cluster without Ceph nodes", Run{Stack: "dev3", Set: map[string]string{"cluster": "existing"}},
			// One problem: without nodes there is no replica count to check.
			[]string{`(1 problems)`, `apk8s-platform:cephNodes = ""`, `while cluster is "existing"`}},
		{"bad node list", Run{Stack: "dev3", Set: map[string]string{"cephNodes": "a,,b"}},
			[]string{`apk8s-platform:cephNodes = "a,,b"`}},
		{"device filter not a regexp", Run{Stack: "dev3", Set: map[string]string{"cephDeviceFilter": "^sd[b"}},
			[]string{`apk8s-platform:cephDeviceFilter = "^sd[b"`, "regular expression"}},
		{"retention not a duration", Run{Stack: "dev3", Set: map[string]string{"prometheusRetention": "7 days"}},
			[]string{`apk8s-platform:prometheusRetention = "7 days"`, "Prometheus duration"}},
		{"every add-on problem at once", Run{Stack: "dev3", Set: map[string]string{"acmeEmail": "x", "cephPoolReplicas": "9", "prometheusRetention": "0d", "rookCephChartVersion": "1"}},
			[]string{"(4 problems)", "acmeEmail", "cephPoolReplicas", "prometheusRetention", "rookCephChartVersion"}},
	})
}

// TestIngressNginxRetirementWarns: the retired controller is allowed (the
// book's annotations need it) but every run says so; no other choice warns.
func TestIngressNginxRetirementWarns(t *testing.T) {
	t.Parallel()
	tests := []struct {
		set   map[string]string
		warns bool
	}{
		{map[string]string{"ingressController": "ingress-nginx"}, true},
		{map[string]string{"ingressController": "traefik"}, false},
		{map[string]string{"ingressController": "existing", "ingressClass": "nginx"}, false},
	}
	for _, tt := range tests {
		var cfg *stacks.Config
		_, err := Run{Stack: "dev3", Set: tt.set,
			Program: func(ctx *pulumi.Context) (err error) {
				cfg, err = stacks.Load(ctx)
				return err
			}}.Do(t)
		require.NoError(t, err)
		found := slices.ContainsFunc(cfg.Warnings, func(w string) bool {
			return strings.Contains(w, "retired ingress-nginx") && strings.Contains(w, Default(t, "ingressNginxChartVersion"))
		})
		assert.Equal(t, tt.warns, found, "%v: %v", tt.set, cfg.Warnings)
	}
}
