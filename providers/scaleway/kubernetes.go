package scaleway

import (
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/apk8s/apk8s-platform/providers/plugin"
)

// Types of the Kapsule resources and the load balancer's flexible IP, as
// the generated SDK registers them.
var (
	KubernetesClusterType = plugin.Type{Package: Package, Token: "scaleway:kubernetes/cluster:Cluster",
		Required:      []string{"cni", "deleteAdditionalResources", "version"},
		Aliases:       []string{"scaleway:index/kubernetesCluster:KubernetesCluster"},
		SecretOutputs: []string{"kubeconfigs"}}
	KubernetesPoolType = plugin.Type{Package: Package, Token: "scaleway:kubernetes/pool:Pool",
		Required: []string{"clusterId", "nodeType", "size"},
		Aliases:  []string{"scaleway:index/kubernetesNodePool:KubernetesNodePool"}}
	LoadBalancerIpType = plugin.Type{Package: Package, Token: "scaleway:loadbalancers/ip:Ip",
		Aliases: []string{"scaleway:index/loadbalancerIp:LoadbalancerIp"}}
)

// KubernetesClusterAutoUpgradeArgs is the cluster's patch auto-upgrade and
// its weekly maintenance window.
type KubernetesClusterAutoUpgradeArgs struct {
	Enable pulumi.BoolInput `pulumi:"enable"`
	// MaintenanceWindowDay is "any" or a weekday in lower case ("monday").
	MaintenanceWindowDay pulumi.StringInput `pulumi:"maintenanceWindowDay"`
	// MaintenanceWindowStartHour is the hour (UTC) the window opens, 0 to 23.
	MaintenanceWindowStartHour pulumi.IntInput `pulumi:"maintenanceWindowStartHour"`
}

// KubernetesClusterArgs are the inputs of a Kapsule cluster (kubernetes/cluster).
type KubernetesClusterArgs struct {
	Name        pulumi.StringInput `pulumi:"name"`
	Description pulumi.StringInput `pulumi:"description"`
	// Type is the control-plane offer: "kapsule" is the free mutualized one.
	Type pulumi.StringInput `pulumi:"type"`
	// Version is a Kubernetes minor ("1.36") with auto-upgrade on, a full
	// version otherwise.
	Version pulumi.StringInput `pulumi:"version"`
	Cni     pulumi.StringInput `pulumi:"cni"`
	// DeleteAdditionalResources makes a deletion of the cluster also delete
	// the load balancers and volumes that its Services and claims made.
	DeleteAdditionalResources pulumi.BoolInput                  `pulumi:"deleteAdditionalResources"`
	PrivateNetworkId          pulumi.StringInput                `pulumi:"privateNetworkId"`
	AutoUpgrade               *KubernetesClusterAutoUpgradeArgs `pulumi:"autoUpgrade"`
	Region                    pulumi.StringInput                `pulumi:"region"`
	ProjectId                 pulumi.StringInput                `pulumi:"projectId"`
	Tags                      pulumi.StringArrayInput           `pulumi:"tags"`
}

// KubernetesCluster is a Kapsule cluster: a managed control plane.
type KubernetesCluster struct {
	pulumi.CustomResourceState

	Name         pulumi.StringOutput `pulumi:"name"`
	ApiserverUrl pulumi.StringOutput `pulumi:"apiserverUrl"`
	Version      pulumi.StringOutput `pulumi:"version"`
	// Kubeconfigs holds one admin kubeconfig (configFile, host, token,
	// clusterCaCertificate); a secret.
	Kubeconfigs pulumi.MapArrayOutput `pulumi:"kubeconfigs"`
}

// NewKubernetesCluster registers a Kapsule cluster.
func NewKubernetesCluster(ctx *pulumi.Context, name string, args *KubernetesClusterArgs, opts ...pulumi.ResourceOption) (*KubernetesCluster, error) {
	return plugin.New[KubernetesCluster](ctx, KubernetesClusterType, name, args, opts...)
}

// KubernetesPoolArgs are the inputs of a node pool (kubernetes/pool).
type KubernetesPoolArgs struct {
	ClusterId pulumi.StringInput `pulumi:"clusterId"`
	Name      pulumi.StringInput `pulumi:"name"`
	NodeType  pulumi.StringInput `pulumi:"nodeType"`
	// Size is the node count at creation; with autoscaling the autoscaler
	// moves it between MinSize and MaxSize.
	Size        pulumi.IntInput  `pulumi:"size"`
	MinSize     pulumi.IntInput  `pulumi:"minSize"`
	MaxSize     pulumi.IntInput  `pulumi:"maxSize"`
	Autoscaling pulumi.BoolInput `pulumi:"autoscaling"`
	// Autohealing replaces a node that stays NotReady.
	Autohealing pulumi.BoolInput `pulumi:"autohealing"`
	// WaitForPoolReady makes the create and update wait until every node
	// of the pool is ready.
	WaitForPoolReady pulumi.BoolInput        `pulumi:"waitForPoolReady"`
	Zone             pulumi.StringInput      `pulumi:"zone"`
	Region           pulumi.StringInput      `pulumi:"region"`
	Tags             pulumi.StringArrayInput `pulumi:"tags"`
}

// KubernetesPool is a pool of Instances that join a Kapsule cluster.
type KubernetesPool struct {
	pulumi.CustomResourceState

	Name     pulumi.StringOutput `pulumi:"name"`
	NodeType pulumi.StringOutput `pulumi:"nodeType"`
	Status   pulumi.StringOutput `pulumi:"status"`
}

// NewKubernetesPool registers a node pool.
func NewKubernetesPool(ctx *pulumi.Context, name string, args *KubernetesPoolArgs, opts ...pulumi.ResourceOption) (*KubernetesPool, error) {
	return plugin.New[KubernetesPool](ctx, KubernetesPoolType, name, args, opts...)
}

// LoadBalancerIpArgs are the inputs of a load balancer's flexible IP
// (loadbalancers/ip).
type LoadBalancerIpArgs struct {
	Zone      pulumi.StringInput      `pulumi:"zone"`
	ProjectId pulumi.StringInput      `pulumi:"projectId"`
	Tags      pulumi.StringArrayInput `pulumi:"tags"`
}

// LoadBalancerIp is a flexible IP that only a load balancer can hold; it
// outlives the load balancer it is attached to.
type LoadBalancerIp struct {
	pulumi.CustomResourceState

	IpAddress pulumi.StringOutput `pulumi:"ipAddress"`
}

// NewLoadBalancerIp registers a load balancer's flexible IP.
func NewLoadBalancerIp(ctx *pulumi.Context, name string, args *LoadBalancerIpArgs, opts ...pulumi.ResourceOption) (*LoadBalancerIp, error) {
	return plugin.New[LoadBalancerIp](ctx, LoadBalancerIpType, name, args, opts...)
}

// ZonedID is the bare UUID of a zoned resource ID ("fr-par-1/<uuid>"), the
// form Scaleway's cloud controller reads in its annotations.
func ZonedID(id string) string {
	if i := strings.LastIndex(id, "/"); i >= 0 {
		return id[i+1:]
	}
	return id
}
