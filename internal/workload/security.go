package workload

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

// The Pod Security Standard the data namespace enforces. Every pod the
// workloads build meets it: PodSpec hardens every container the same way,
// so a component cannot forget one.
const (
	PodSecurityLevel = "restricted"
	podSecurityLabel = "pod-security.kubernetes.io/"
)

// PodSecurityLabels enforce the restricted level on a namespace, and warn
// and audit at the same level, so kubectl and the audit log say why a pod
// was refused.
func PodSecurityLabels() map[string]string {
	return map[string]string{
		podSecurityLabel + "enforce":         PodSecurityLevel,
		podSecurityLabel + "enforce-version": "latest",
		podSecurityLabel + "warn":            PodSecurityLevel,
		podSecurityLabel + "warn-version":    "latest",
		podSecurityLabel + "audit":           PodSecurityLevel,
		podSecurityLabel + "audit-version":   "latest",
	}
}

// podSecurity runs every container of a pod as uid (group uid), never as
// root, under the runtime's default seccomp profile; volumes are made
// writable for the group (fsGroup), so a claim formatted as root is the
// image user's.
func podSecurity(uid int64) *corev1.PodSecurityContext {
	return &corev1.PodSecurityContext{
		RunAsNonRoot:   ptr.To(true),
		RunAsUser:      ptr.To(uid),
		RunAsGroup:     ptr.To(uid),
		FSGroup:        ptr.To(uid),
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

// containerSecurity takes away what a data service never needs: gaining
// privileges, every Linux capability and writes to the image's file system.
// What an image writes goes to a Scratch directory instead.
func containerSecurity() *corev1.SecurityContext {
	return &corev1.SecurityContext{
		AllowPrivilegeEscalation: ptr.To(false),
		ReadOnlyRootFilesystem:   ptr.To(true),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
	}
}

// Scratch gives container c of spec a writable, empty directory at path,
// for what its image writes under a read-only root (generated config files,
// temporary files, logs). The directory lives as long as the pod.
func Scratch(spec *corev1.PodSpec, c *corev1.Container, name, path string) {
	c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: name, MountPath: path})
	for _, v := range spec.Volumes {
		if v.Name == name {
			return
		}
	}
	spec.Volumes = append(spec.Volumes, corev1.Volume{
		Name:         name,
		VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}},
	})
}

// WritableCopy makes path writable in container c (of spec) while its root
// file system stays read-only, for a directory whose files the image needs
// and its entrypoint adds to (ZooKeeper's /conf, Kafka's /etc/kafka): an
// init container of c's image copies the directory into an emptyDir, which
// c mounts at path.
func WritableCopy(spec *corev1.PodSpec, c *corev1.Container, name, path string) {
	const at = "/mnt/copy"
	Scratch(spec, c, name, path)
	InitContainers(spec, corev1.Container{
		Name:         "copy-" + name,
		Image:        c.Image,
		Command:      []string{"cp", "-R", path + "/.", at},
		VolumeMounts: []corev1.VolumeMount{{Name: name, MountPath: at}},
	})
}
