// Package kapsule is the platform's cluster on Scaleway's managed
// Kubernetes, in one component: a VPC private network (Kapsule requires one
// for a new cluster), a Kapsule cluster on it with the Cilium CNI and patch
// auto-upgrades in a maintenance window, one pool of Instances that heals
// itself and may scale, the flexible IP the ingress controller's load
// balancer takes, and a Kubernetes provider built from the cluster's
// kubeconfig once the pool is ready.
package kapsule

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/apk8s/apk8s-platform/providers/scaleway"
)

// Settings of every cluster this component makes.
const (
	// Offer is the control plane: the mutualized one, free of charge.
	Offer = "kapsule"
	// CNI is the network plugin Scaleway recommends for Kapsule; it also
	// enforces the NetworkPolicies and the metadata deny of this program.
	CNI = "cilium"
)

// Config is the validated shape of the cluster.
type Config struct {
	Region string // e.g. fr-par: cluster, VPC and private network
	Zone   string // the pool's zone and the load balancer's, e.g. fr-par-1
	// ProjectID is the Scaleway project; "" leaves it to the provider.
	ProjectID string
	// Version is the Kubernetes minor, such as "1.36": Kapsule applies its
	// patches itself (AutoUpgrade).
	Version string
	// PrivateCIDR is the private network's IPv4 subnet.
	PrivateCIDR string
	// WorkerType is the pool's Instance type; PoolMin and PoolMax bound
	// its size (equal: a fixed size, no autoscaling).
	WorkerType       string
	PoolMin, PoolMax int
	// AutoUpgrade applies the minor's patches in the weekly window that
	// opens on MaintenanceDay ("any" or a weekday) at MaintenanceHour UTC.
	AutoUpgrade     bool
	MaintenanceDay  string
	MaintenanceHour int
	// Disposable stacks are torn down whole: the cluster's deletion takes
	// its load balancers and volumes with it, and nothing is protected.
	Disposable bool
}

func (c Config) validate() error {
	var errs []error
	if c.Region == "" || !strings.HasPrefix(c.Zone, c.Region+"-") {
		errs = append(errs, fmt.Errorf("zone %q is not in region %q", c.Zone, c.Region))
	}
	if c.PoolMin < 1 || c.PoolMax < c.PoolMin {
		errs = append(errs, fmt.Errorf("pool size %d to %d: want 1 <= min <= max", c.PoolMin, c.PoolMax))
	}
	if c.Version == "" || c.WorkerType == "" {
		errs = append(errs, errors.New("version and worker type are required"))
	}
	return errors.Join(errs...)
}

// PoolName is the Kapsule name of the pool of worker type typ: the type is
// part of it, so that a new type is a new pool beside the old one
// (Scaleway advises against changing the type of a node).
func PoolName(prefix, typ string) string { return prefix + "-" + strings.ToLower(typ) }

// Args are the inputs of the component.
type Args struct {
	// Prefix names the Scaleway resources: a DNS label such as apk8s-kapsule.
	Prefix string
	Config Config
	// Kubernetes holds the stack-wide provider settings; the component adds
	// the kubeconfig and the cluster's identity.
	Kubernetes *kubernetes.ProviderArgs
}

// Kapsule is the component.
type Kapsule struct {
	pulumi.ResourceState

	Cluster *scaleway.KubernetesCluster
	Pool    *scaleway.KubernetesPool
	// IngressIP is the load balancer's flexible IP; IngressIPID its bare
	// UUID, the form the load balancer annotation takes.
	IngressIP   *scaleway.LoadBalancerIp
	IngressIPID pulumi.StringOutput

	// Kubeconfig is the cluster's admin kubeconfig; a secret.
	Kubeconfig pulumi.StringOutput `pulumi:"kubeconfig"`
	// APIServer is the URL of the managed API server.
	APIServer pulumi.StringOutput `pulumi:"apiServer"`
	// IngressAddress is the IPv4 address DNS points at.
	IngressAddress pulumi.StringOutput `pulumi:"ingressAddress"`
	// Provider deploys to the cluster once the pool is ready.
	Provider *kubernetes.Provider
}

// New creates the cluster.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*Kapsule, error) {
	cfg := args.Config
	if errs := validation.IsDNS1123Label(args.Prefix); len(errs) > 0 {
		return nil, fmt.Errorf("kapsule %q: prefix %q: %s", name, args.Prefix, strings.Join(errs, "; "))
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("kapsule %q: %w", name, err)
	}
	k := &Kapsule{}
	if err := ctx.RegisterComponentResource("apk8s:cluster:Kapsule", name, k, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(k)
	var project pulumi.StringInput
	if cfg.ProjectID != "" {
		project = pulumi.String(cfg.ProjectID)
	}
	tags := pulumi.StringArray{pulumi.String(args.Prefix)}
	// What a kept stack must not lose to a stray destroy or replace: the
	// cluster with its data volumes, and the address DNS points at.
	keep := pulumi.Protect(!cfg.Disposable)

	vpc, err := scaleway.NewVpc(ctx, name+"-vpc", &scaleway.VpcArgs{
		Name: pulumi.String(args.Prefix), Region: pulumi.String(cfg.Region), ProjectId: project, Tags: tags,
	}, parent)
	if err != nil {
		return nil, err
	}
	pn, err := scaleway.NewPrivateNetwork(ctx, name+"-pn", &scaleway.PrivateNetworkArgs{
		Name:       pulumi.String(args.Prefix),
		VpcId:      vpc.ID().ToStringOutput(),
		Region:     pulumi.String(cfg.Region),
		ProjectId:  project,
		Ipv4Subnet: &scaleway.PrivateNetworkIpv4SubnetArgs{Subnet: pulumi.String(cfg.PrivateCIDR)},
		Tags:       tags,
	}, parent)
	if err != nil {
		return nil, err
	}
	k.Cluster, err = scaleway.NewKubernetesCluster(ctx, name, &scaleway.KubernetesClusterArgs{
		Name:        pulumi.String(args.Prefix),
		Description: pulumi.String("apk8s platform " + args.Prefix),
		Type:        pulumi.String(Offer),
		Version:     pulumi.String(cfg.Version),
		Cni:         pulumi.String(CNI),
		// A disposable stack's teardown must leave no load balancer or
		// volume behind; a kept stack's claims hold its data, which a
		// deletion of the cluster must not take with it.
		DeleteAdditionalResources: pulumi.Bool(cfg.Disposable),
		PrivateNetworkId:          pn.ID().ToStringOutput(),
		AutoUpgrade: &scaleway.KubernetesClusterAutoUpgradeArgs{
			Enable:                     pulumi.Bool(cfg.AutoUpgrade),
			MaintenanceWindowDay:       pulumi.String(cfg.MaintenanceDay),
			MaintenanceWindowStartHour: pulumi.Int(cfg.MaintenanceHour),
		},
		Region:    pulumi.String(cfg.Region),
		ProjectId: project,
		Tags:      tags,
	}, parent, keep)
	if err != nil {
		return nil, err
	}
	// The pool's logical name carries the type too: a new type is a new
	// pool, made before the old one is deleted.
	k.Pool, err = scaleway.NewKubernetesPool(ctx, name+"-pool-"+strings.ToLower(cfg.WorkerType), &scaleway.KubernetesPoolArgs{
		ClusterId:        k.Cluster.ID().ToStringOutput(),
		Name:             pulumi.String(PoolName(args.Prefix, cfg.WorkerType)),
		NodeType:         pulumi.String(cfg.WorkerType),
		Size:             pulumi.Int(cfg.PoolMin),
		MinSize:          pulumi.Int(cfg.PoolMin),
		MaxSize:          pulumi.Int(cfg.PoolMax),
		Autoscaling:      pulumi.Bool(cfg.PoolMax > cfg.PoolMin),
		Autohealing:      pulumi.Bool(true),
		WaitForPoolReady: pulumi.Bool(true),
		Zone:             pulumi.String(cfg.Zone),
		Region:           pulumi.String(cfg.Region),
		Tags:             tags,
	}, parent)
	if err != nil {
		return nil, err
	}
	k.IngressIP, err = scaleway.NewLoadBalancerIp(ctx, name+"-ingress-ip", &scaleway.LoadBalancerIpArgs{
		Zone: pulumi.String(cfg.Zone), ProjectId: project, Tags: tags,
	}, parent, keep)
	if err != nil {
		return nil, err
	}
	k.IngressIPID = k.IngressIP.ID().ToStringOutput().ApplyT(scaleway.ZonedID).(pulumi.StringOutput)
	k.IngressAddress = k.IngressIP.IpAddress
	k.APIServer = k.Cluster.ApiserverUrl
	k.Kubeconfig = pulumi.ToSecret(k.Cluster.Kubeconfigs.ApplyT(firstConfigFile)).(pulumi.StringOutput)

	provider := kubernetes.ProviderArgs{}
	if args.Kubernetes != nil {
		provider = *args.Kubernetes
	}
	provider.Kubeconfig = k.Kubeconfig
	// Replace the provider (and so every object) only with a new cluster,
	// not when the kubeconfig's text changes.
	provider.ClusterIdentifier = k.Cluster.ID().ToStringOutput()
	// Nothing is deployed before the pool's nodes are ready: the API
	// server answers long before a pod can run.
	k.Provider, err = kubernetes.NewProvider(ctx, "kubernetes", &provider, parent, pulumi.DependsOn([]pulumi.Resource{k.Pool}))
	if err != nil {
		return nil, err
	}
	return k, ctx.RegisterResourceOutputs(k, pulumi.Map{
		"kubeconfig":     k.Kubeconfig,
		"apiServer":      k.APIServer,
		"ingressAddress": k.IngressAddress,
	})
}

// firstConfigFile is the kubeconfig file of the cluster's kubeconfigs output.
func firstConfigFile(kubeconfigs []map[string]any) (string, error) {
	if len(kubeconfigs) == 0 {
		return "", errors.New("the cluster reports no kubeconfig")
	}
	file, _ := kubeconfigs[0]["configFile"].(string)
	return file, nil
}
