// Package traefik is the cluster's maintained ingress controller: the
// Traefik chart in the namespace "traefik", Traefik a DaemonSet that binds
// host ports 80 and 443 on every node (a self-built cluster has no cloud load
// balancer to put in front of it) or, on Kapsule, a Deployment behind a
// Scaleway load balancer that holds an IP the stack reserved, serving Ingresses of the IngressClass
// "traefik", the cluster's default class, and the Middlewares of its
// traefik.io CRDs (the chart's crds/ directory installs them).
//
// It replaces ingress-nginx, which the Kubernetes project retired in March
// 2026; k3s ships Traefik as its own controller, so the class name and the
// Middleware annotations are the ones k3s users already know.
package traefik

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/apk8s/apk8s-platform/providers/kube"
)

// Names users and other add-ons rely on.
const (
	Namespace   = "traefik"
	ReleaseName = "traefik"
	Chart       = "traefik"
	Repo        = "https://traefik.github.io/charts"
	// ClassName is the IngressClass the controller serves (k3s's name for
	// its bundled Traefik).
	ClassName = "traefik"
	// HTTPPort and HTTPSPort are the host ports the controller binds. The
	// container listens on the chart's unprivileged 8000 and 8443.
	HTTPPort  = 80
	HTTPSPort = 443
	// MinChartVersion is the oldest chart whose values.yaml has every key
	// ChartValues sets (checked against the chart's sources in tests).
	MinChartVersion = "40.0.0"
)

// Config is the validated shape of the add-on.
type Config struct {
	ChartVersion string
}

// Args are the inputs of the component.
type Args struct {
	Config Config
	// LoadBalancer, when set, puts the controller behind a cloud load
	// balancer instead of the nodes' host ports.
	LoadBalancer *LoadBalancer
}

// LoadBalancer is the Scaleway load balancer in front of the controller:
// Scaleway's cloud controller makes it for the LoadBalancer Service and
// gives it the flexible IP the stack reserved, so that the address DNS
// points at outlives the load balancer.
type LoadBalancer struct {
	// IPID is the flexible IP's bare UUID.
	IPID pulumi.StringInput
	Zone string
}

// Annotations the Scaleway cloud controller reads on a LoadBalancer Service.
const (
	AnnotationLoadBalancerIPIDs = "service.beta.kubernetes.io/scw-loadbalancer-ip-ids"
	AnnotationLoadBalancerZone  = "service.beta.kubernetes.io/scw-loadbalancer-zone"
)

// Replicas of the controller behind a load balancer: one may restart
// while the other serves.
const Replicas = 2

// Traefik is the controller component.
type Traefik struct {
	pulumi.ResourceState

	Namespace *kube.Resource
	// Release installs the controller and the traefik.io CRDs: a
	// Middleware waits for it.
	Release *kube.Release

	// ClassName is the IngressClass to name in ingresses and ACME solvers.
	ClassName pulumi.StringOutput `pulumi:"className"`
}

// New installs the controller.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*Traefik, error) {
	t := &Traefik{}
	ns, inNS, err := kube.RegisterOwner(ctx, "apk8s:addons:Traefik", name, t, Namespace, opts...)
	if err != nil {
		return nil, err
	}
	t.Namespace = ns
	var values any = ChartValues()
	if lb := args.LoadBalancer; lb != nil {
		zone := lb.Zone
		values = lb.IPID.ToStringOutput().ApplyT(func(id string) (map[string]any, error) {
			return kube.Values(LoadBalancerValues(id, zone))
		}).(pulumi.MapOutput)
	}
	t.Release = inNS.Release(name, kube.ChartArgs(ReleaseName, Chart, Repo, args.Config.ChartVersion, values))
	if err := inNS.Err(); err != nil {
		return nil, err
	}
	t.ClassName = pulumi.String(ClassName).ToStringOutput()
	return t, ctx.RegisterResourceOutputs(t, pulumi.Map{"className": t.ClassName})
}

// Values is the subset of the chart's values this program sets.
type Values struct {
	Deployment Deployment `json:"deployment"`
	// UpdateStrategy is the DaemonSet's: a node's new pod cannot start
	// while the old one holds the host ports.
	UpdateStrategy appsv1.DaemonSetUpdateStrategy `json:"updateStrategy"`
	IngressClass   IngressClass                   `json:"ingressClass"`
	Providers      Providers                      `json:"providers"`
	Ports          Ports                          `json:"ports"`
	Service        Service                        `json:"service"`
	Resources      corev1.ResourceRequirements    `json:"resources"`
}

// Deployment picks the workload kind.
type Deployment struct {
	// Kind is "DaemonSet": one controller per node, each on its host
	// ports; or "Deployment" of Replicas behind a load balancer.
	Kind     string `json:"kind"`
	Replicas int32  `json:"replicas,omitempty"`
}

// IngressClass is the IngressClass the chart creates (controller
// traefik.io/ingress-controller).
type IngressClass struct {
	Enabled        bool   `json:"enabled"`
	IsDefaultClass bool   `json:"isDefaultClass"`
	Name           string `json:"name"`
}

// Providers are where Traefik reads its routes from.
type Providers struct {
	// KubernetesCRD reads the traefik.io objects, the Middlewares among them.
	KubernetesCRD kube.Toggle `json:"kubernetesCRD"`
	// KubernetesIngress reads the Ingresses of class ClassName.
	KubernetesIngress KubernetesIngress `json:"kubernetesIngress"`
	// KubernetesIngressNGINX would also serve Ingresses of class "nginx"
	// and translate their nginx annotations; off, so that one controller
	// serves one class (docs/addons.md says how to turn it on).
	KubernetesIngressNGINX kube.Toggle `json:"kubernetesIngressNGINX"`
}

// KubernetesIngress is the standard Ingress provider.
type KubernetesIngress struct {
	Enabled bool `json:"enabled"`
	// PublishedService copies the Service's load-balancer address into
	// every Ingress's status: on only behind a load balancer (with host
	// ports the Service has none, the nodes serve).
	PublishedService kube.Toggle `json:"publishedService"`
}

// Ports are the chart's entry points this program changes.
type Ports struct {
	Web       Port `json:"web"`
	Websecure Port `json:"websecure"`
}

// Port binds an entry point on the node (0: it does not).
type Port struct {
	HostPort int32 `json:"hostPort,omitempty"`
}

// Service is the controller's Service. With host ports a ClusterIP Service:
// a LoadBalancer Service would wait forever for an address no cloud hands
// out. Behind a load balancer, a LoadBalancer Service whose annotations
// tell Scaleway's cloud controller which IP and zone to use.
type Service struct {
	Annotations map[string]string `json:"annotations,omitempty"`
	Spec        ServiceSpec       `json:"spec"`
}

// ServiceSpec is merged into the Service's spec.
type ServiceSpec struct {
	Type corev1.ServiceType `json:"type"`
}

// ChartValues are the controller on every node's ports 80/443, class
// "traefik" as the default class, Ingresses and Middlewares read.
func ChartValues() Values {
	oneNode, noSurge := intstr.FromInt32(1), intstr.FromInt32(0)
	return Values{
		Deployment: Deployment{Kind: "DaemonSet"},
		UpdateStrategy: appsv1.DaemonSetUpdateStrategy{
			Type:          appsv1.RollingUpdateDaemonSetStrategyType,
			RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxUnavailable: &oneNode, MaxSurge: &noSurge},
		},
		IngressClass: IngressClass{Enabled: true, IsDefaultClass: true, Name: ClassName},
		Providers: Providers{
			KubernetesCRD:          kube.Toggle{Enabled: true},
			KubernetesIngress:      KubernetesIngress{Enabled: true, PublishedService: kube.Toggle{Enabled: false}},
			KubernetesIngressNGINX: kube.Toggle{Enabled: false},
		},
		Ports:   Ports{Web: Port{HostPort: HTTPPort}, Websecure: Port{HostPort: HTTPSPort}},
		Service: Service{Spec: ServiceSpec{Type: corev1.ServiceTypeClusterIP}},
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse("100m"),
				corev1.ResourceMemory: resource.MustParse("128Mi"),
			},
			Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("512Mi")},
		},
	}
}

// LoadBalancerValues are the controller behind a Scaleway load balancer
// holding the flexible IP ipID (its bare UUID) in zone: Replicas pods of a
// Deployment, rolled one new pod before one old, no host ports, the
// Ingresses' status set to the load balancer's address.
func LoadBalancerValues(ipID, zone string) Values {
	v := ChartValues()
	noneDown, oneUp := intstr.FromInt32(0), intstr.FromInt32(1)
	v.Deployment = Deployment{Kind: "Deployment", Replicas: Replicas}
	v.UpdateStrategy = appsv1.DaemonSetUpdateStrategy{
		Type:          appsv1.RollingUpdateDaemonSetStrategyType,
		RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxUnavailable: &noneDown, MaxSurge: &oneUp},
	}
	v.Ports = Ports{}
	v.Providers.KubernetesIngress.PublishedService = kube.Toggle{Enabled: true}
	v.Service = Service{
		Annotations: map[string]string{AnnotationLoadBalancerIPIDs: ipID, AnnotationLoadBalancerZone: zone},
		Spec:        ServiceSpec{Type: corev1.ServiceTypeLoadBalancer},
	}
	return v
}
