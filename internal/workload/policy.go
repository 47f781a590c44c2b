package workload

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// NamespaceNameLabel is the label the API server puts on every namespace,
// its name: a policy selects a namespace by it.
const NamespaceNameLabel = "kubernetes.io/metadata.name"

// AnyNamespace as Peer.Namespace stands for every namespace of the cluster.
const AnyNamespace = "*"

// Peer is a set of pods that may open connections to an app.
type Peer struct {
	// Namespace is where the pods run: "" the policy's own namespace,
	// AnyNamespace every namespace, otherwise a namespace's name.
	Namespace string
	// Labels select the pods; nil selects every pod of the namespace(s).
	Labels map[string]string
}

// Pods are the pods with labels in the policy's own namespace.
func Pods(labels map[string]string) Peer { return Peer{Labels: labels} }

// Namespace is every pod of the namespace name.
func Namespace(name string) Peer { return Peer{Namespace: name} }

// Cluster is every pod of every namespace (not addresses outside the
// cluster).
func Cluster() Peer { return Peer{Namespace: AnyNamespace} }

func (p Peer) rule() networkingv1.NetworkPolicyPeer {
	var out networkingv1.NetworkPolicyPeer
	if p.Labels != nil || p.Namespace == "" {
		out.PodSelector = &metav1.LabelSelector{MatchLabels: p.Labels}
	}
	switch p.Namespace {
	case "":
	case AnyNamespace:
		out.NamespaceSelector = &metav1.LabelSelector{}
	default:
		out.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{NamespaceNameLabel: p.Namespace}}
	}
	return out
}

// Ingress lets From reach Ports. No From admits nobody (the NetworkPolicy
// API reads a rule without peers as "from anywhere": a list that comes out
// empty, say no scrapers in a stack without monitoring, must not open the
// port to everyone).
type Ingress struct {
	Ports []Port
	From  []Peer
}

// Policy is the NetworkPolicy name in ns that admits exactly rules to the
// pods with selector. With the namespace's DenyIngress, whatever no policy
// admits is dropped (where the cluster's network plugin enforces policies).
func Policy(ns, name string, selector map[string]string, rules ...Ingress) *networkingv1.NetworkPolicy {
	p := &networkingv1.NetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: selector},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
		},
	}
	for _, r := range rules {
		if len(r.From) == 0 {
			continue
		}
		var in networkingv1.NetworkPolicyIngressRule
		for _, port := range r.Ports {
			tcp, n := corev1.ProtocolTCP, intstr.FromInt32(port.Port)
			in.Ports = append(in.Ports, networkingv1.NetworkPolicyPort{Protocol: &tcp, Port: &n})
		}
		for _, peer := range r.From {
			in.From = append(in.From, peer.rule())
		}
		p.Spec.Ingress = append(p.Spec.Ingress, in)
	}
	return p
}

// Policy is the app's NetworkPolicy, named after it and selecting its pods.
func (a App) Policy(rules ...Ingress) *networkingv1.NetworkPolicy {
	p := Policy(a.Namespace, a.Name, a.Labels, rules...)
	p.Labels = a.Labels
	return p
}

// DenyIngressName names the namespace's default policy.
const DenyIngressName = "default-deny-ingress"

// DenyIngress selects every pod of ns and admits nothing: a pod that no
// other policy admits a connection to is unreachable.
func DenyIngress(ns string) *networkingv1.NetworkPolicy {
	return Policy(ns, DenyIngressName, nil)
}
