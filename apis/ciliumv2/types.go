// Package ciliumv2 holds the Go types of the cilium.io/v2 custom resources
// this program creates: the part of a CiliumClusterwideNetworkPolicy it sets.
package ciliumv2

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/apk8s/apk8s-platform/apis/crd"
)

// APIVersion of the types.
const APIVersion = "cilium.io/v2"

// ClusterwideNetworkPolicy is a Cilium policy over the pods of every
// namespace (kind CiliumClusterwideNetworkPolicy).
type ClusterwideNetworkPolicy = crd.Object[Rule]

// Rule selects endpoints and says what they may or may not reach.
type Rule struct {
	Description string `json:"description,omitempty"`
	// EndpointSelector picks the pods; namespace is the label
	// "k8s:io.kubernetes.pod.namespace".
	EndpointSelector metav1.LabelSelector `json:"endpointSelector"`
	// EnableDefaultDeny false leaves all other traffic as it was: a rule
	// that only denies does not put its pods in default-deny (Cilium 1.15+).
	EnableDefaultDeny *DefaultDeny `json:"enableDefaultDeny,omitempty"`
	EgressDeny        []EgressDeny `json:"egressDeny,omitempty"`
}

// DefaultDeny says whether a rule turns default-deny on in each direction.
type DefaultDeny struct {
	Ingress *bool `json:"ingress,omitempty"`
	Egress  *bool `json:"egress,omitempty"`
}

// EgressDeny drops the selected pods' traffic to these destinations; it
// wins over every allow.
type EgressDeny struct {
	ToCIDR []string `json:"toCIDR,omitempty"`
}

// NamespaceLabel is the label Cilium gives every endpoint with its pod's
// namespace.
const NamespaceLabel = "k8s:io.kubernetes.pod.namespace"
