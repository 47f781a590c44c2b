package workload

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Claim is a ReadWriteOnce claim template of size on class; an empty class
// leaves storageClassName out, so the cluster's default class serves it.
func Claim(name string, size resource.Quantity, class string) corev1.PersistentVolumeClaim {
	pvc := corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceStorage: size},
			},
		},
	}
	if class != "" {
		pvc.Spec.StorageClassName = &class
	}
	return pvc
}

// RetainClaims keeps a StatefulSet's claims when the set is deleted or
// scaled down: a StatefulSet replaced by a config change, deleted by hand or
// scaled in finds its data again when it comes back. Deleting the namespace
// (`pulumi destroy`) still deletes the claims with it.
func RetainClaims() *appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy {
	return &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
		WhenDeleted: appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
		WhenScaled:  appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
	}
}

// ClaimName is the name of the claim the StatefulSet set makes from its
// template template for the pod of ordinal i ("datadir-kafka-0").
func ClaimName(template, set string, i int32) string {
	return fmt.Sprintf("%s-%s-%d", template, set, i)
}
