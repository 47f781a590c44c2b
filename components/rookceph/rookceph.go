// Package rookceph is the cluster's block storage as the book runs it: the
// Rook operator in the namespace "rook-ceph", a CephCluster "rook-ceph" over
// the workers' raw volumes, the replicated CephBlockPool "replicapool"
// (failure domain host) and the StorageClass "rook-ceph-block" (xfs, reclaim
// Delete) that the ZooKeeper and Kafka claims name.
//
// Since Rook v1.20 the operator no longer deploys the CSI drivers: the
// operator chart brings the ceph-csi-operator, and the ceph-csi-drivers
// chart configures the drivers under Rook's names. Both are releases here.
//
// The objects are chained so that `pulumi up` builds and `pulumi destroy`
// tears down in a safe order:
//
//	operator release -> CephCluster -> CephBlockPool -> StorageClass -> claims
//	operator release -> CSI drivers release -> CephBlockPool
//
// On teardown the claims go first (their StatefulSets delete them), Rook
// keeps the pool until its RBD images are gone, the drivers outlive the pool
// so that they can delete those images, and the operator outlives the
// CephCluster so that its finalizer is released. The chart keeps its CRDs
// on uninstall, so no custom resource loses its CRD halfway.
package rookceph

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/apk8s/apk8s-platform/apis/cephv1"
	"github.com/apk8s/apk8s-platform/providers/kube"
)

// Names users and other add-ons rely on.
const (
	Namespace = "rook-ceph"

	OperatorRelease = "rook-ceph"
	OperatorChart   = "rook-ceph"
	Repo            = "https://charts.rook.io/release"

	DriversRelease = "ceph-csi-drivers"
	DriversChart   = "ceph-csi-drivers"
	DriversRepo    = "https://ceph.github.io/ceph-csi-operator"

	ClusterName      = "rook-ceph"
	PoolName         = "replicapool"
	StorageClassName = "rook-ceph-block"
	// Provisioner is the RBD driver's name: Rook's operator namespace as
	// prefix, as Rook's StorageClasses expect.
	Provisioner = Namespace + ".rbd.csi.ceph.com"
	// FSType is the book's file system for block workload.
	FSType = "xfs"

	// MinChartVersion is the first Rook whose CSI drivers come from the
	// ceph-csi-drivers chart, which this component relies on.
	MinChartVersion = "v1.20.0"

	dataDirHostPath = "/var/lib/rook"
)

// Config is the validated shape of the add-on.
type Config struct {
	ChartVersion        string // rook-ceph operator chart
	DriversChartVersion string // ceph-csi-drivers chart
	CephImage           string
	// DeviceFilter selects the raw volume on each storage node by device
	// name ("^sd[a-z]$": the Scaleway Block Storage volume, a SCSI disk beside
	// the virtio root disk; Rook skips any disk with partitions or a filesystem).
	DeviceFilter string
	// Nodes are the storage nodes by their kubernetes.io/hostname; their
	// number sizes the mon quorum.
	Nodes []string
	// PoolReplicas is the replica count of replicapool, at most one per
	// node.
	PoolReplicas int32
	// Monitored turns on the manager's ServiceMonitor and Ceph's alert
	// rules: the stack has the Prometheus Operator.
	Monitored bool
}

// Args are the inputs of the component.
type Args struct {
	Config Config
	// MonitorCRDs is the release that brings the monitoring.coreos.com
	// CRDs, when this program installs it: the rules wait for it.
	MonitorCRDs pulumi.Resource
}

// RookCeph is the storage component.
type RookCeph struct {
	pulumi.ResourceState

	Namespace    *kube.Resource
	Operator     *kube.Release
	Drivers      *kube.Release
	Cluster      *kube.Resource
	Pool         *kube.Resource
	StorageClass *kube.Resource
	Rules        *kube.Resource // Ceph's alerts; nil unless Monitored

	// StorageClassName is the class claims name.
	StorageClassName pulumi.StringOutput `pulumi:"storageClassName"`
}

// New installs the operator, the drivers, the cluster, the pool and the
// class.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*RookCeph, error) {
	r := &RookCeph{}
	cfg := args.Config
	ns, in, err := kube.RegisterOwner(ctx, "apk8s:addons:RookCeph", name, r, Namespace, opts...)
	if err != nil {
		return nil, err
	}
	r.Namespace = ns
	// Rook's charts run no jobs to wait for.
	operator := kube.ChartArgs(OperatorRelease, OperatorChart, Repo, cfg.ChartVersion, OperatorValues())
	operator.WaitForJobs = false
	r.Operator = in.Release(name, operator)
	if err := in.Err(); err != nil {
		return nil, err
	}
	drivers := kube.ChartArgs(DriversRelease, DriversChart, DriversRepo, cfg.DriversChartVersion, DriversValues())
	drivers.WaitForJobs = false
	r.Drivers = in.Release(name+"-csi-drivers", drivers, pulumi.DependsOn([]pulumi.Resource{r.Operator}))
	// The cluster takes minutes to form its quorum and OSDs: the provider
	// waits for it to report Ready, so that nothing downstream times out
	// on storage that is not there yet.
	r.Cluster = in.Add(ClusterName, kube.Args{Object: CephCluster(cfg)},
		pulumi.DependsOn([]pulumi.Resource{r.Operator}),
		pulumi.Timeouts(&pulumi.CustomTimeouts{Create: "30m", Update: "30m", Delete: "15m"}))
	r.Pool = in.Add(PoolName, kube.Args{Object: BlockPool(cfg)},
		pulumi.DependsOn([]pulumi.Resource{r.Cluster, r.Drivers}))
	if cfg.Monitored {
		rules, err := Rules()
		if err != nil {
			return nil, err
		}
		var after []pulumi.ResourceOption
		if args.MonitorCRDs != nil {
			after = append(after, pulumi.DependsOn([]pulumi.Resource{args.MonitorCRDs}))
		}
		r.Rules = in.Add(RulesName, kube.Args{Object: rules}, after...)
	}
	if err := in.Err(); err != nil {
		return nil, err
	}
	class := kube.NewChildren(ctx, r, kube.Namespace{})
	r.StorageClass = class.Add(StorageClassName, kube.Args{Object: StorageClass()},
		pulumi.DependsOn([]pulumi.Resource{r.Pool}))
	if err := class.Err(); err != nil {
		return nil, err
	}
	r.StorageClassName = r.StorageClass.Name()
	return r, ctx.RegisterResourceOutputs(r, pulumi.Map{"storageClassName": r.StorageClassName})
}

// MonCount is the mon quorum for nodes storage nodes: at most three, one
// per node, and odd (a quorum of two survives no more failures than one).
func MonCount(nodes int) int {
	n := min(3, nodes)
	if n%2 == 0 {
		n--
	}
	return max(n, 1)
}

// waitReady makes the provider wait until Rook reports the object Ready.
var waitReady = map[string]string{
	"pulumi.com/waitFor": "jsonpath={.status.phase}=Ready",
}

// CephCluster is the cluster over the storage nodes' raw workload. Only the
// listed nodes carry OSDs (useAllNodes false), and on each only the devices
// DeviceFilter names (useAllDevices false), so that a root disk or a stray
// device is never formatted.
func CephCluster(c Config) *cephv1.CephCluster {
	noDevices := false
	storage := cephv1.StorageScopeSpec{
		UseAllNodes: false,
		Selection:   cephv1.Selection{UseAllDevices: &noDevices},
	}
	for _, n := range c.Nodes {
		storage.Nodes = append(storage.Nodes, cephv1.Node{Name: n, Selection: cephv1.Selection{DeviceFilter: c.DeviceFilter}})
	}
	return &cephv1.CephCluster{
		TypeMeta:   metav1.TypeMeta{APIVersion: cephv1.APIVersion, Kind: "CephCluster"},
		ObjectMeta: metav1.ObjectMeta{Name: ClusterName, Namespace: Namespace, Annotations: waitReady},
		Spec: cephv1.ClusterSpec{
			CephVersion:     cephv1.CephVersionSpec{Image: c.CephImage},
			DataDirHostPath: dataDirHostPath,
			Mon:             cephv1.MonSpec{Count: MonCount(len(c.Nodes))},
			// One manager: a standby costs half a gigabyte the small cluster
			// needs for Kafka.
			Mgr: cephv1.MgrSpec{Count: 1, Modules: []cephv1.Module{{Name: "rook", Enabled: false}}},
			// The dashboard stays off: nothing exposes it, and the Grafana
			// of the monitoring add-on covers the cluster.
			Dashboard:      cephv1.DashboardSpec{Enabled: false},
			CrashCollector: cephv1.CrashCollectorSpec{Disable: true},
			// Kernels before Linux 7.0 cannot mount with aes256k keys.
			Security: &cephv1.SecuritySpec{CephX: cephv1.CephXSpec{CSI: cephv1.CephXKey{KeyType: "aes"}}},
			Storage:  storage,
			Resources: map[string]corev1.ResourceRequirements{
				"mon": resources("100m", "512Mi", "1Gi"),
				"mgr": resources("100m", "512Mi", "1Gi"),
				"osd": resources("250m", "1Gi", "2Gi"),
			},
			// Deleting the CephCluster leaves the hosts' data alone: wiping
			// needs a confirmation after which Rook stops managing the
			// cluster, so it cannot be set ahead of time (docs/addons.md, "Rook-Ceph details").
			CleanupPolicy:        cephv1.CleanupPolicySpec{Confirmation: "", AllowUninstallWithVolumes: false},
			DisruptionManagement: cephv1.DisruptionManagementSpec{ManagePodBudgets: true},
			// The manager's metrics, which Ceph's alert rules read.
			Monitoring: cephv1.MonitoringSpec{Enabled: c.Monitored},
		},
	}
}

func resources(cpu, memory, limit string) corev1.ResourceRequirements {
	return corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(memory)},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(limit)},
	}
}

// BlockPool is replicapool: PoolReplicas copies, each on another host. A
// single copy has to be allowed explicitly.
func BlockPool(c Config) *cephv1.CephBlockPool {
	return &cephv1.CephBlockPool{
		TypeMeta:   metav1.TypeMeta{APIVersion: cephv1.APIVersion, Kind: "CephBlockPool"},
		ObjectMeta: metav1.ObjectMeta{Name: PoolName, Namespace: Namespace, Annotations: waitReady},
		Spec: cephv1.PoolSpec{
			FailureDomain: "host",
			Replicated: cephv1.ReplicatedSpec{
				Size:                   uint(c.PoolReplicas),
				RequireSafeReplicaSize: c.PoolReplicas > 1,
			},
		},
	}
}

// StorageClass is rook-ceph-block: RBD images in replicapool, formatted xfs,
// deleted with their claims.
func StorageClass() *storagev1.StorageClass {
	secret := func(key, name string) map[string]string {
		return map[string]string{
			fmt.Sprintf("csi.storage.k8s.io/%s-secret-name", key):      name,
			fmt.Sprintf("csi.storage.k8s.io/%s-secret-namespace", key): Namespace,
		}
	}
	params := map[string]string{
		"clusterID":                 Namespace,
		"pool":                      PoolName,
		"imageFormat":               "2",
		"imageFeatures":             "layering",
		"csi.storage.k8s.io/fstype": FSType,
	}
	for _, m := range []map[string]string{
		secret("provisioner", "rook-csi-rbd-provisioner"),
		secret("controller-expand", "rook-csi-rbd-provisioner"),
		secret("controller-publish", "rook-csi-rbd-provisioner"),
		secret("node-stage", "rook-csi-rbd-node"),
	} {
		for k, v := range m {
			params[k] = v
		}
	}
	reclaim := corev1.PersistentVolumeReclaimDelete
	binding := storagev1.VolumeBindingImmediate
	return &storagev1.StorageClass{
		TypeMeta:             metav1.TypeMeta{APIVersion: "storage.k8s.io/v1", Kind: "StorageClass"},
		ObjectMeta:           metav1.ObjectMeta{Name: StorageClassName},
		Provisioner:          Provisioner,
		Parameters:           params,
		ReclaimPolicy:        &reclaim,
		VolumeBindingMode:    &binding,
		AllowVolumeExpansion: ptr.To(true),
	}
}

// OperatorChartValues is the subset of the operator chart's values this
// program sets: the CRDs and the ceph-csi-operator come with the chart.
type OperatorChartValues struct {
	CRDs       kube.Toggle `json:"crds"`
	CSI        OperatorCSI `json:"csi"`
	Monitoring kube.Toggle `json:"monitoring"`
}

// OperatorCSI installs the ceph-csi-operator subchart.
type OperatorCSI struct {
	InstallCSIOperator bool `json:"installCsiOperator"`
}

// OperatorValues are the operator chart's values. Its Prometheus rules stay
// off: they would tie this add-on to the monitoring add-on's CRDs.
func OperatorValues() OperatorChartValues {
	return OperatorChartValues{
		CRDs:       kube.Toggle{Enabled: true},
		CSI:        OperatorCSI{InstallCSIOperator: true},
		Monitoring: kube.Toggle{Enabled: false},
	}
}

// DriversChartValues is the subset of the ceph-csi-drivers chart's values this
// program sets: Rook's recommended values (deploy/charts/ceph-csi-drivers in
// Rook's repository), with only the RBD driver on.
type DriversChartValues struct {
	OperatorConfig OperatorConfig       `json:"operatorConfig"`
	Drivers        map[string]CSIDriver `json:"drivers"`
}

// OperatorConfig points the drivers at Rook's operator namespace and image
// set.
type OperatorConfig struct {
	Namespace          string             `json:"namespace"`
	DriverSpecDefaults DriverSpecDefaults `json:"driverSpecDefaults"`
}

// DriverSpecDefaults are the settings every driver shares.
type DriverSpecDefaults struct {
	ImageSet         Named  `json:"imageSet"`
	NodePlugin       Plugin `json:"nodePlugin"`
	ControllerPlugin Plugin `json:"controllerPlugin"`
}

// Named refers to an object by name.
type Named struct {
	Name string `json:"name"`
}

// Plugin is a driver's node or controller plugin.
type Plugin struct {
	PriorityClassName string `json:"priorityClassName"`
}

// CSIDriver switches one driver and names it.
type CSIDriver struct {
	Enabled bool   `json:"enabled"`
	Name    string `json:"name"`
}

// DriversValues are the drivers chart's values: the RBD driver under the
// name the StorageClass's provisioner gives, the others off.
func DriversValues() DriversChartValues {
	driver := func(kind string, on bool) CSIDriver {
		return CSIDriver{Enabled: on, Name: Namespace + "." + kind + ".csi.ceph.com"}
	}
	return DriversChartValues{
		OperatorConfig: OperatorConfig{
			Namespace: Namespace,
			DriverSpecDefaults: DriverSpecDefaults{
				ImageSet:         Named{Name: "rook-csi-operator-image-set-configmap"},
				NodePlugin:       Plugin{PriorityClassName: "system-node-critical"},
				ControllerPlugin: Plugin{PriorityClassName: "system-cluster-critical"},
			},
		},
		Drivers: map[string]CSIDriver{
			"rbd":    driver("rbd", true),
			"cephfs": driver("cephfs", false),
			"nfs":    driver("nfs", false),
			"nvmeof": driver("nvmeof", false),
		},
	}
}
