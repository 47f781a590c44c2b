package workload

import (
	"encoding/json"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// Set is what differs between the app's StatefulSets (ZooKeeper's
// ensemble, Kafka's brokers): the rest StatefulSet builds the same way.
type Set struct {
	Replicas int32
	// ServiceName is the governing headless Service.
	ServiceName string
	// Parallel starts every member at once (a quorum needs its peers before
	// any member is ready); otherwise members start one after another.
	Parallel bool
	Pod      corev1.PodSpec
	Claim    corev1.PersistentVolumeClaim
	// Annotations go on the pod template (a hash of a mounted config, so
	// that a new config rolls the members).
	Annotations map[string]string
}

// StatefulSet is the app's StatefulSet: members spread over nodes where
// the cluster has them, claims retained when the set goes away.
func (a App) StatefulSet(s Set) *appsv1.StatefulSet {
	policy := appsv1.OrderedReadyPodManagement
	if s.Parallel {
		policy = appsv1.ParallelPodManagement
	}
	s.Pod.Affinity = a.spread()
	return &appsv1.StatefulSet{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "StatefulSet"},
		ObjectMeta: a.Meta(a.Name),
		Spec: appsv1.StatefulSetSpec{
			Replicas:             ptr.To(s.Replicas),
			ServiceName:          s.ServiceName,
			PodManagementPolicy:  policy,
			RevisionHistoryLimit: ptr.To(int32(1)),
			Selector:             &metav1.LabelSelector{MatchLabels: a.Labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: a.Labels, Annotations: s.Annotations},
				Spec:       s.Pod,
			},
			VolumeClaimTemplates:                 []corev1.PersistentVolumeClaim{s.Claim},
			PersistentVolumeClaimRetentionPolicy: RetainClaims(),
		},
	}
}

// HostnameKey is the node label that tells nodes apart.
const HostnameKey = "kubernetes.io/hostname"

// spread asks the scheduler to put the app's pods on distinct nodes, so
// that one node's loss takes one member. It is a preference, not a rule: a
// cluster with fewer nodes than members (the book's, a laptop's) still runs
// them all.
func (a App) spread() *corev1.Affinity {
	return &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
		PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
			Weight: 100,
			PodAffinityTerm: corev1.PodAffinityTerm{
				LabelSelector: &metav1.LabelSelector{MatchLabels: a.Labels},
				TopologyKey:   HostnameKey,
			},
		}},
	}}
}

// QuorumTolerance is how many of n members a majority quorum can lose and
// still have a majority: n - (n/2 + 1). Two members tolerate none.
func QuorumTolerance(n int32) int32 {
	return n - (n/2 + 1)
}

// liveTemplate is the first claim template of a StatefulSet spec as the
// provider reports it; ok is false while there is none (not created yet).
func liveTemplate(spec map[string]any) (corev1.PersistentVolumeClaim, bool, error) {
	raw, err := json.Marshal(spec)
	if err != nil {
		return corev1.PersistentVolumeClaim{}, false, err
	}
	var s appsv1.StatefulSetSpec
	if err := json.Unmarshal(raw, &s); err != nil {
		return corev1.PersistentVolumeClaim{}, false, err
	}
	if len(s.VolumeClaimTemplates) == 0 {
		return corev1.PersistentVolumeClaim{}, false, nil
	}
	return s.VolumeClaimTemplates[0], true, nil
}
