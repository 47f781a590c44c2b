package workload

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// App is one workload of the data namespace: the name its StatefulSet or
// Deployment, Service, ServiceAccount and PodDisruptionBudget share, the
// namespace they live in and the labels that select its pods. Every object
// a component builds from the same App selects the same pods.
type App struct {
	Name      string
	Namespace string
	Labels    map[string]string
	// User is the uid (and gid) the app's containers run as: the user the
	// image is built for, never root.
	User int64
}

// Meta is the metadata of one of the app's objects called name.
func (a App) Meta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: a.Namespace, Labels: a.Labels}
}

// Service is the app's ClusterIP Service: one stable address in front of
// its pods, on ports ps.
func (a App) Service(ps ...Port) *corev1.Service {
	return &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: a.Meta(a.Name),
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeClusterIP,
			Selector: a.Labels,
			Ports:    ServicePorts(ps...),
		},
	}
}

// HeadlessService is the governing Service called name of the app's
// StatefulSet: one DNS name per pod. It publishes pods that are not ready
// yet, because members of a quorum must resolve each other before any of
// them can turn ready.
func (a App) HeadlessService(name string, ps ...Port) *corev1.Service {
	return &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: a.Meta(name),
		Spec: corev1.ServiceSpec{
			ClusterIP:                corev1.ClusterIPNone,
			Selector:                 a.Labels,
			PublishNotReadyAddresses: true,
			Ports:                    ServicePorts(ps...),
		},
	}
}

// Budget is the app's PodDisruptionBudget: at most maxUnavailable of its
// pods may be evicted at a time (QuorumTolerance for an ensemble).
func (a App) Budget(maxUnavailable int32) *policyv1.PodDisruptionBudget {
	n := intstr.FromInt32(maxUnavailable)
	return &policyv1.PodDisruptionBudget{
		TypeMeta:   metav1.TypeMeta{APIVersion: "policy/v1", Kind: "PodDisruptionBudget"},
		ObjectMeta: a.Meta(a.Name),
		Spec: policyv1.PodDisruptionBudgetSpec{
			MaxUnavailable: &n,
			Selector:       &metav1.LabelSelector{MatchLabels: a.Labels},
		},
	}
}

// ServiceAccount is the identity the app's pods run under. The program
// creates it itself, before the pods, so that no pod waits for the
// namespace's "default" account (which a controller makes some time after
// the namespace exists), and mounts no API token: no data workload talks
// to the Kubernetes API.
func (a App) ServiceAccount() *corev1.ServiceAccount {
	return &corev1.ServiceAccount{
		TypeMeta:                     metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
		ObjectMeta:                   a.Meta(a.Name),
		AutomountServiceAccountToken: ptr.To(false),
	}
}

// PodSpec runs containers under the app's ServiceAccount, without an API
// token, as the app's user and hardened to the restricted Pod Security
// Standard (security.go). Service links are off: they only add variables,
// and Kubernetes would inject KAFKA_PORT for the Service "kafka", which the
// Confluent image refuses to start with (the book unset it by hand).
func (a App) PodSpec(containers ...corev1.Container) corev1.PodSpec {
	for i := range containers {
		containers[i].SecurityContext = containerSecurity()
	}
	return corev1.PodSpec{
		ServiceAccountName:           a.Name,
		AutomountServiceAccountToken: ptr.To(false),
		EnableServiceLinks:           ptr.To(false),
		SecurityContext:              podSecurity(a.User),
		Containers:                   containers,
	}
}

// Deployment runs the app as one pod of spec; annotations go on the pod
// template (a hash of mounted config, so that a config change rolls the
// pod). One pod: the Deployments here are brokers whose clients hold
// sessions on the one they reach, and exporters that would report twice.
func (a App) Deployment(spec corev1.PodSpec, annotations map[string]string) *appsv1.Deployment {
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: a.Meta(a.Name),
		Spec: appsv1.DeploymentSpec{
			Replicas:             ptr.To(int32(1)),
			RevisionHistoryLimit: ptr.To(int32(1)),
			Selector:             &metav1.LabelSelector{MatchLabels: a.Labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: a.Labels, Annotations: annotations},
				Spec:       spec,
			},
		},
	}
}

// InitContainers adds containers that run to completion before spec's
// own, hardened as PodSpec hardens those. They copy a directory or hash a
// file: a container without its own resources gets a small memory limit,
// as every container has one.
func InitContainers(spec *corev1.PodSpec, containers ...corev1.Container) {
	for i := range containers {
		containers[i].SecurityContext = containerSecurity()
		if containers[i].Resources.Limits == nil {
			containers[i].Resources = corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("32Mi")},
				Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")},
			}
		}
	}
	spec.InitContainers = append(spec.InitContainers, containers...)
}
