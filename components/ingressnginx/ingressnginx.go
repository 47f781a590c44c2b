// Package ingressnginx is the cluster's ingress controller as the book runs
// it: the ingress-nginx chart in the namespace "ingress-nginx", the
// controller a DaemonSet that binds host ports 80 and 443 on every node (a
// self-built cluster has no cloud load balancer to put in front of it), and
// the IngressClass "nginx" as the cluster's default.
//
// The Kubernetes project retired ingress-nginx in March 2026; the chart
// version pinned by default (controller v1.15.1) is its final release.
// Traefik (components/traefik) is the default controller; this one stays,
// one ingressController value away, for ingresses written with its
// annotations (the book's basic auth from sysop-basic-auth).
package ingressnginx

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/apk8s/apk8s-platform/providers/kube"
)

// Names users and other add-ons rely on.
const (
	Namespace   = "ingress-nginx"
	ReleaseName = "ingress-nginx"
	Chart       = "ingress-nginx"
	Repo        = "https://kubernetes.github.io/ingress-nginx"
	// ClassName is the IngressClass the controller serves.
	ClassName = "nginx"
	// HTTPPort and HTTPSPort are the host ports the controller binds.
	HTTPPort  = 80
	HTTPSPort = 443
)

// Config is the validated shape of the add-on.
type Config struct {
	ChartVersion string
}

// Args are the inputs of the component.
type Args struct {
	Config Config
}

// IngressNginx is the controller component.
type IngressNginx struct {
	pulumi.ResourceState

	Namespace *kube.Resource
	Release   *kube.Release

	// ClassName is the IngressClass to name in ingresses and ACME solvers.
	ClassName pulumi.StringOutput `pulumi:"className"`
}

// New installs the controller.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*IngressNginx, error) {
	in := &IngressNginx{}
	ns, inNS, err := kube.RegisterOwner(ctx, "apk8s:addons:IngressNginx", name, in, Namespace, opts...)
	if err != nil {
		return nil, err
	}
	in.Namespace = ns
	in.Release = inNS.Release(name, kube.ChartArgs(ReleaseName, Chart, Repo, args.Config.ChartVersion, ChartValues()))
	if err := inNS.Err(); err != nil {
		return nil, err
	}
	in.ClassName = pulumi.String(ClassName).ToStringOutput()
	return in, ctx.RegisterResourceOutputs(in, pulumi.Map{"className": in.ClassName})
}

// Values is the subset of the chart's values this program sets.
type Values struct {
	Controller Controller `json:"controller"`
}

// Controller configures the controller pods.
type Controller struct {
	// Kind is "DaemonSet": one controller per node, each on its host ports.
	Kind                 string                      `json:"kind"`
	HostPort             HostPort                    `json:"hostPort"`
	IngressClass         string                      `json:"ingressClass"`
	IngressClassResource IngressClassResource        `json:"ingressClassResource"`
	Service              Service                     `json:"service"`
	PublishService       kube.Toggle                 `json:"publishService"`
	Resources            corev1.ResourceRequirements `json:"resources"`
}

// HostPort binds the controller's ports on the node.
type HostPort struct {
	Enabled bool            `json:"enabled"`
	Ports   HostPortNumbers `json:"ports"`
}

// HostPortNumbers are the node ports for HTTP and HTTPS.
type HostPortNumbers struct {
	HTTP  int `json:"http"`
	HTTPS int `json:"https"`
}

// IngressClassResource is the IngressClass the chart creates.
type IngressClassResource struct {
	Name            string `json:"name"`
	Enabled         bool   `json:"enabled"`
	Default         bool   `json:"default"`
	ControllerValue string `json:"controllerValue"`
}

// Service is the controller's Service. A ClusterIP Service: a LoadBalancer
// Service would wait forever for an address no cloud hands out.
type Service struct {
	Type string `json:"type"`
}

// ChartValues are the book's controller: a DaemonSet on host ports 80/443,
// class "nginx" as the default class. The ingress status reports the nodes'
// addresses, since no Service address exists.
func ChartValues() Values {
	return Values{Controller: Controller{
		Kind: "DaemonSet",
		HostPort: HostPort{
			Enabled: true,
			Ports:   HostPortNumbers{HTTP: HTTPPort, HTTPS: HTTPSPort},
		},
		IngressClass: ClassName,
		IngressClassResource: IngressClassResource{
			Name:            ClassName,
			Enabled:         true,
			Default:         true,
			ControllerValue: "k8s.io/ingress-nginx",
		},
		Service:        Service{Type: string(corev1.ServiceTypeClusterIP)},
		PublishService: kube.Toggle{Enabled: false},
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse("100m"),
				corev1.ResourceMemory: resource.MustParse("128Mi"),
			},
			Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("512Mi")},
		},
	}}
}
