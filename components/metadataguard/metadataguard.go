// Package metadataguard keeps pods off the instance metadata API on a
// cluster whose nodes are Scaleway Instances but not this program's own
// (Kapsule): the metadata API at 169.254.42.42 serves a node's user data to
// whoever asks from it, and a pod's traffic leaves through its node. The
// k3s cluster drops that traffic on the node itself (components/cluster);
// on Kapsule the nodes are Scaleway's, so the CNI, Cilium, drops it with
// one cluster-wide egress deny.
package metadataguard

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/apk8s/apk8s-platform/apis/ciliumv2"
	"github.com/apk8s/apk8s-platform/providers/kube"
)

// PolicyName is the name of the cluster-wide policy.
const PolicyName = "deny-instance-metadata"

// MetadataCIDRs are the instance metadata API's addresses, IPv4 and IPv6.
var MetadataCIDRs = []string{"169.254.42.42/32", "fd00:42::42/128"}

// ExemptNamespaces are left alone: Scaleway runs its node agents there (the
// CSI node plugin asks the metadata API which Instance it is on).
var ExemptNamespaces = []string{"kube-system"}

// Guard is the component.
type Guard struct {
	pulumi.ResourceState

	Policy *kube.Resource
}

// New registers the policy.
func New(ctx *pulumi.Context, name string, opts ...pulumi.ResourceOption) (*Guard, error) {
	g, children, err := kube.Register[Guard](ctx, "apk8s:addons:MetadataGuard", name, kube.Namespace{}, opts...)
	if err != nil {
		return nil, err
	}
	g.Policy = children.Add(name, kube.Args{Object: Policy()})
	if err := children.Err(); err != nil {
		return nil, err
	}
	return g, ctx.RegisterResourceOutputs(g, pulumi.Map{})
}

// Policy denies every pod outside ExemptNamespaces egress to the metadata
// API, and changes nothing else: default-deny stays off, so the pods'
// NetworkPolicies keep deciding the rest.
func Policy() *ciliumv2.ClusterwideNetworkPolicy {
	off := false
	return &ciliumv2.ClusterwideNetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: ciliumv2.APIVersion, Kind: "CiliumClusterwideNetworkPolicy"},
		ObjectMeta: metav1.ObjectMeta{Name: PolicyName},
		Spec: ciliumv2.Rule{
			Description: "Pods may not reach the Scaleway instance metadata API, which serves the node's user data.",
			EndpointSelector: metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
				Key: ciliumv2.NamespaceLabel, Operator: metav1.LabelSelectorOpNotIn, Values: ExemptNamespaces,
			}}},
			EnableDefaultDeny: &ciliumv2.DefaultDeny{Ingress: &off, Egress: &off},
			EgressDeny:        []ciliumv2.EgressDeny{{ToCIDR: MetadataCIDRs}},
		},
	}
}
