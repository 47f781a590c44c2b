// Package cephv1 holds the ceph.rook.io/v1 objects this program creates, as Go
// structs with the fields it sets (the CRDs have many more). Field names and
// JSON spellings follow Rook's own API types.
package cephv1

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/apk8s/apk8s-platform/apis/crd"
)

// APIVersion of every object here.
const APIVersion = "ceph.rook.io/v1"

// CephCluster is a Ceph cluster the Rook operator runs.
type CephCluster = crd.Object[ClusterSpec]

// ClusterSpec is the part of the CephCluster spec this program sets.
type ClusterSpec struct {
	CephVersion          CephVersionSpec                        `json:"cephVersion"`
	DataDirHostPath      string                                 `json:"dataDirHostPath"`
	Mon                  MonSpec                                `json:"mon"`
	Mgr                  MgrSpec                                `json:"mgr"`
	Dashboard            DashboardSpec                          `json:"dashboard"`
	CrashCollector       CrashCollectorSpec                     `json:"crashCollector"`
	Security             *SecuritySpec                          `json:"security,omitempty"`
	Storage              StorageScopeSpec                       `json:"storage"`
	Resources            map[string]corev1.ResourceRequirements `json:"resources,omitempty"`
	CleanupPolicy        CleanupPolicySpec                      `json:"cleanupPolicy"`
	DisruptionManagement DisruptionManagementSpec               `json:"disruptionManagement"`
	Monitoring           MonitoringSpec                         `json:"monitoring"`
}

// CephVersionSpec is the Ceph image the daemons run.
type CephVersionSpec struct {
	Image            string `json:"image"`
	AllowUnsupported bool   `json:"allowUnsupported"`
}

// MonSpec sizes the monitor quorum.
type MonSpec struct {
	Count                int  `json:"count"`
	AllowMultiplePerNode bool `json:"allowMultiplePerNode"`
}

// MgrSpec sizes the managers.
type MgrSpec struct {
	Count                int      `json:"count"`
	AllowMultiplePerNode bool     `json:"allowMultiplePerNode"`
	Modules              []Module `json:"modules,omitempty"`
}

// Module switches a Ceph manager module.
type Module struct {
	Name    string `json:"name"`
	Enabled bool   `json:"enabled"`
}

// DashboardSpec switches the Ceph dashboard.
type DashboardSpec struct {
	Enabled bool `json:"enabled"`
	SSL     bool `json:"ssl"`
}

// CrashCollectorSpec switches the crash collector daemons.
type CrashCollectorSpec struct {
	Disable bool `json:"disable"`
}

// SecuritySpec holds the CephX settings.
type SecuritySpec struct {
	CephX CephXSpec `json:"cephx"`
}

// CephXSpec configures CephX keys.
type CephXSpec struct {
	// CSI is the key of the CSI drivers.
	CSI CephXKey `json:"csi"`
}

// CephXKey picks a key's cipher: "aes" (every kernel) or "aes256k" (Linux
// 7.0 and later).
type CephXKey struct {
	KeyType string `json:"keyType,omitempty"`
}

// StorageScopeSpec selects the nodes and devices the OSDs take.
type StorageScopeSpec struct {
	UseAllNodes bool   `json:"useAllNodes"`
	Nodes       []Node `json:"nodes,omitempty"`
	Selection   `json:",inline"`
}

// Selection picks devices on a node by name.
type Selection struct {
	// UseAllDevices takes every empty device; false leaves the choice to
	// DeviceFilter.
	UseAllDevices *bool `json:"useAllDevices,omitempty"`
	// DeviceFilter is a regular expression over device names without
	// "/dev/" ("^sd[a-z]$").
	DeviceFilter string `json:"deviceFilter,omitempty"`
}

// Node is one storage node, named by its kubernetes.io/hostname label.
type Node struct {
	Name      string `json:"name"`
	Selection `json:",inline"`
}

// CleanupPolicySpec says what deleting the CephCluster does to the hosts.
type CleanupPolicySpec struct {
	// Confirmation "yes-really-destroy-data" wipes the hosts' Ceph data on
	// deletion; "" keeps it. Rook stops managing a cluster once it is set.
	Confirmation string `json:"confirmation"`
	// AllowUninstallWithVolumes lets the deletion go on while volumes of the
	// cluster still exist.
	AllowUninstallWithVolumes bool `json:"allowUninstallWithVolumes"`
}

// DisruptionManagementSpec lets the operator manage PodDisruptionBudgets.
type DisruptionManagementSpec struct {
	ManagePodBudgets bool `json:"managePodBudgets"`
}

// MonitoringSpec makes the operator create a ServiceMonitor for the
// manager's Prometheus module (it needs the monitoring.coreos.com CRDs).
type MonitoringSpec struct {
	Enabled bool `json:"enabled"`
}

// CephBlockPool is a RADOS pool for RBD images.
type CephBlockPool = crd.Object[PoolSpec]

// PoolSpec is the part of the pool spec this program sets.
type PoolSpec struct {
	// FailureDomain is where replicas must differ: "host" puts each copy on
	// another node.
	FailureDomain string         `json:"failureDomain"`
	Replicated    ReplicatedSpec `json:"replicated"`
}

// ReplicatedSpec sizes a replicated pool.
type ReplicatedSpec struct {
	Size uint `json:"size"`
	// RequireSafeReplicaSize refuses a size of 1; it must be false to allow one.
	RequireSafeReplicaSize bool `json:"requireSafeReplicaSize"`
}
