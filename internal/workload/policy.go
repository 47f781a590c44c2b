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

// Egress lets the pods open connections to Ports on To (pods of the
// cluster) or CIDRs (addresses outside it). NetworkPolicy knows addresses,
// not names: a remote given by host name is reached only at the addresses
// listed here.
type Egress struct {
	Ports []int32
	// Protocols of the ports; nil is TCP alone.
	Protocols []corev1.Protocol
	To        []Peer
	CIDRs     []string
}

// DNSLabels select the cluster's DNS pods (CoreDNS keeps kube-dns's label).
var DNSLabels = map[string]string{"k8s-app": "kube-dns"}

// DNS lets the pods resolve names through the cluster's DNS in
// kube-system, on port 53 over UDP and TCP.
func DNS() Egress {
	return Egress{
		Ports:     []int32{53},
		Protocols: []corev1.Protocol{corev1.ProtocolUDP, corev1.ProtocolTCP},
		To:        []Peer{{Namespace: "kube-system", Labels: DNSLabels}},
	}
}

// EgressPolicy is the NetworkPolicy name in ns that lets the pods with
// selector open exactly the connections of rules and no other (where the
// network plugin enforces policies). Answers to connections the pods
// accept are not egress: an ingress policy governs those. A rule without
// destinations is dropped, not read as "anywhere".
func EgressPolicy(ns, name string, selector map[string]string, rules ...Egress) *networkingv1.NetworkPolicy {
	p := &networkingv1.NetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: selector},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: selector},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
			// An empty list, not a missing one: nothing is allowed until a
			// rule says so.
			Egress: []networkingv1.NetworkPolicyEgressRule{},
		},
	}
	for _, r := range rules {
		if len(r.To) == 0 && len(r.CIDRs) == 0 {
			continue
		}
		protocols := r.Protocols
		if protocols == nil {
			protocols = []corev1.Protocol{corev1.ProtocolTCP}
		}
		var out networkingv1.NetworkPolicyEgressRule
		for _, protocol := range protocols {
			for _, port := range r.Ports {
				proto, n := protocol, intstr.FromInt32(port)
				out.Ports = append(out.Ports, networkingv1.NetworkPolicyPort{Protocol: &proto, Port: &n})
			}
		}
		for _, peer := range r.To {
			out.To = append(out.To, peer.rule())
		}
		for _, cidr := range r.CIDRs {
			out.To = append(out.To, networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: cidr}})
		}
		p.Spec.Egress = append(p.Spec.Egress, out)
	}
	return p
}
