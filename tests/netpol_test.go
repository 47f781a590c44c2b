package tests

import (
	"fmt"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The loopback cluster of the e2e runs no network plugin, so nothing there
// enforces a NetworkPolicy. These tests evaluate the program's policies the
// way the NetworkPolicy API defines them, for the subset the program uses
// (podSelector, namespaceSelector, TCP ports by number or name): a pod that
// no policy selects for ingress admits everything; a selected pod admits a
// connection when one rule of one selecting policy matches both its port
// and its source.

// endpoint is a pod as the policies see it.
type endpoint struct {
	ip        string // an address outside the cluster, for egress
	namespace string
	labels    map[string]string
	ports     []corev1.ContainerPort // where it listens, for named ports
}

// selects says whether sel picks set; an unparseable selector fails the
// test rather than silently matching nothing.
func selects(t *testing.T, sel *metav1.LabelSelector, set map[string]string) bool {
	t.Helper()
	s, err := metav1.LabelSelectorAsSelector(sel)
	require.NoError(t, err)
	return s.Matches(labels.Set(set))
}

// namespaceLabels are the labels the API server gives every namespace.
func namespaceLabels(ns string) map[string]string {
	return map[string]string{"kubernetes.io/metadata.name": ns}
}

// portMatches says whether rule port p covers port on dst.
func portMatches(t *testing.T, p networkingv1.NetworkPolicyPort, dst endpoint, port int32) bool {
	t.Helper()
	if p.Protocol != nil && *p.Protocol != corev1.ProtocolTCP {
		return false
	}
	if p.Port == nil {
		return true
	}
	if p.Port.Type == intstr.String {
		for _, cp := range dst.ports {
			if cp.Name == p.Port.StrVal {
				return cp.ContainerPort == port
			}
		}
		return false
	}
	if p.EndPort != nil {
		return port >= p.Port.IntVal && port <= *p.EndPort
	}
	return p.Port.IntVal == port
}

// peerMatches says whether src is one of the peer's pods, seen from a
// policy in namespace ns.
func peerMatches(t *testing.T, peer networkingv1.NetworkPolicyPeer, ns string, src endpoint) bool {
	t.Helper()
	require.Nil(t, peer.IPBlock, "the evaluator does not model ipBlock peers")
	require.False(t, peer.PodSelector == nil && peer.NamespaceSelector == nil, "a peer selects nothing")
	if peer.NamespaceSelector == nil {
		if src.namespace != ns {
			return false
		}
	} else if !selects(t, peer.NamespaceSelector, namespaceLabels(src.namespace)) {
		return false
	}
	return peer.PodSelector == nil || selects(t, peer.PodSelector, src.labels)
}

// admits says whether policies let src open a TCP connection to port on dst.
func admits(t *testing.T, policies []networkingv1.NetworkPolicy, src, dst endpoint, port int32) bool {
	t.Helper()
	isolated := false
	for _, p := range policies {
		if p.Namespace != dst.namespace || !selects(t, &p.Spec.PodSelector, dst.labels) {
			continue
		}
		ingress := len(p.Spec.PolicyTypes) == 0
		for _, typ := range p.Spec.PolicyTypes {
			ingress = ingress || typ == networkingv1.PolicyTypeIngress
		}
		if !ingress {
			continue
		}
		isolated = true
		for _, rule := range p.Spec.Ingress {
			portOK := len(rule.Ports) == 0
			for _, rp := range rule.Ports {
				portOK = portOK || portMatches(t, rp, dst, port)
			}
			fromOK := len(rule.From) == 0
			for _, peer := range rule.From {
				fromOK = fromOK || peerMatches(t, peer, p.Namespace, src)
			}
			if portOK && fromOK {
				return true
			}
		}
	}
	return !isolated
}

// policies are the NetworkPolicies of a graph.
func policies(t *testing.T, g *Graph) []networkingv1.NetworkPolicy {
	var out []networkingv1.NetworkPolicy
	for _, r := range g.Find(tokNetPol) {
		var p networkingv1.NetworkPolicy
		r.Decode(t, &p)
		out = append(out, p)
	}
	return out
}

// TestPolicyEvaluator checks the evaluator on policies written by hand, so
// that the flow tests below rest on the API's semantics and not on the
// program's own builders.
func TestPolicyEvaluator(t *testing.T) {
	t.Parallel()
	web := endpoint{namespace: "a", labels: map[string]string{"app": "web"},
		ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}}
	client := endpoint{namespace: "a", labels: map[string]string{"app": "client"}}
	foreign := endpoint{namespace: "b", labels: map[string]string{"app": "client"}}
	tcp := corev1.ProtocolTCP
	named, num := intstr.FromString("http"), intstr.FromInt32(8080)
	policy := func(rules ...networkingv1.NetworkPolicyIngressRule) networkingv1.NetworkPolicy {
		return networkingv1.NetworkPolicy{
			ObjectMeta: metav1.ObjectMeta{Namespace: "a"},
			Spec: networkingv1.NetworkPolicySpec{
				PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
				Ingress:     rules,
			},
		}
	}
	clients := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "client"}}
	nsB := &metav1.LabelSelector{MatchLabels: namespaceLabels("b")}
	tests := []struct {
		name     string
		policies []networkingv1.NetworkPolicy
		src      endpoint
		port     int32
		want     bool
	}{
		{"no policy admits all", nil, foreign, 8080, true},
		{"a policy in another namespace does not isolate", []networkingv1.NetworkPolicy{func() networkingv1.NetworkPolicy {
			p := policy()
			p.Namespace = "b"
			return p
		}()}, foreign, 8080, true},
		{"selected without rules denies", []networkingv1.NetworkPolicy{policy()}, client, 8080, false},
		{"podSelector alone is the policy's namespace", []networkingv1.NetworkPolicy{policy(networkingv1.NetworkPolicyIngressRule{
			From: []networkingv1.NetworkPolicyPeer{{PodSelector: clients}}})}, foreign, 8080, false},
		{"podSelector admits its pods", []networkingv1.NetworkPolicy{policy(networkingv1.NetworkPolicyIngressRule{
			From: []networkingv1.NetworkPolicyPeer{{PodSelector: clients}}})}, client, 8080, true},
		{"namespaceSelector and podSelector in one peer: both", []networkingv1.NetworkPolicy{policy(networkingv1.NetworkPolicyIngressRule{
			From: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: nsB, PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "other"}}}}})}, foreign, 8080, false},
		{"empty namespaceSelector is every namespace", []networkingv1.NetworkPolicy{policy(networkingv1.NetworkPolicyIngressRule{
			From: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{}}}})}, foreign, 8080, true},
		{"named port resolves on the destination", []networkingv1.NetworkPolicy{policy(networkingv1.NetworkPolicyIngressRule{
			Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: &named}}})}, client, 8080, true},
		{"other port is denied", []networkingv1.NetworkPolicy{policy(networkingv1.NetworkPolicyIngressRule{
			Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: &num}}})}, client, 9090, false},
		{"policies add up", []networkingv1.NetworkPolicy{policy(), policy(networkingv1.NetworkPolicyIngressRule{
			From: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: nsB}}})}, foreign, 8080, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, admits(t, tt.policies, tt.src, web, tt.port))
		})
	}
}

// TestDataNetworkPolicies: who may reach which port in the data namespace,
// as the program's policies say (docs/data-services.md has the same table).
func TestDataNetworkPolicies(t *testing.T) {
	t.Parallel()
	in := func(ns string, kv ...string) endpoint {
		l := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			l[kv[i]] = kv[i+1]
		}
		return endpoint{namespace: ns, labels: l}
	}
	var (
		broker     = in("data", "app", "kafka")
		member     = in("data", "app", "zookeeper")
		clientPod  = in("data", "app", "kafka-client-util")
		exporter   = in("data", "app", "kafka-exporter")
		mqtt       = in("data", "app", "mqtt")
		solver     = in("data", "acme.cert-manager.io/http01-solver", "true")
		newPod     = in("data", "app", "nifi")
		prometheus = in("monitoring", "app.kubernetes.io/name", "prometheus")
		traefik    = in("traefik", "app.kubernetes.io/name", "traefik")
		ingress    = in("ingress-nginx", "app.kubernetes.io/name", "ingress-nginx")
		stranger   = in("default", "app", "anything")
	)
	type flow struct {
		from endpoint
		to   endpoint
		port int32
		want bool
	}
	tests := []struct {
		run   Run
		flows map[string]flow
	}{
		{Run{Stack: "dev3"}, map[string]flow{
			"brokers use ZooKeeper":               {broker, member, 2181, true},
			"the client pod does not":             {clientPod, member, 2181, false},
			"a stranger does not":                 {stranger, member, 2181, false},
			"members reach their peers (server)":  {member, member, 2888, true},
			"members elect (election)":            {member, member, 3888, true},
			"a broker is no peer":                 {broker, member, 3888, false},
			"no AdminServer to reach":             {member, member, 8080, false},
			"Prometheus scrapes ZooKeeper":        {prometheus, member, 7000, true},
			"a stranger does not scrape":          {stranger, member, 7000, false},
			"brokers replicate":                   {broker, broker, 9092, true},
			"the client pod produces":             {clientPod, broker, 9092, true},
			"the exporter reads":                  {exporter, broker, 9092, true},
			"another data pod does not":           {newPod, broker, 9092, false},
			"Mosquitto does not":                  {mqtt, broker, 9092, false},
			"Prometheus does not use Kafka":       {prometheus, broker, 9092, false},
			"a stranger does not use Kafka":       {stranger, broker, 9092, false},
			"no JMX to reach":                     {clientPod, broker, 5555, false},
			"MQTT clients anywhere in cluster":    {stranger, mqtt, 8883, true},
			"MQTT clients in data":                {newPod, mqtt, 8883, true},
			"no plain MQTT by default":            {stranger, mqtt, 1883, false},
			"only MQTT on the broker":             {stranger, mqtt, 8080, false},
			"Prometheus scrapes the exporter":     {prometheus, exporter, 9308, true},
			"a stranger does not scrape exporter": {stranger, exporter, 9308, false},
			"the ingress controller solves":       {traefik, solver, 8089, true},
			"another ingress namespace does not":  {ingress, solver, 8089, false},
			"a stranger does not reach solver":    {stranger, solver, 8089, false},
			"a pod nobody names is unreachable":   {broker, newPod, 8080, false},
		}},
		{Run{Stack: "dev3", Set: map[string]string{"ingressController": "ingress-nginx"}}, map[string]flow{
			"the book's controller solves": {ingress, solver, 8089, true},
			"Traefik's namespace does not": {traefik, solver, 8089, false},
		}},
		{Run{Stack: "local"}, map[string]flow{
			"brokers use ZooKeeper":                      {broker, member, 2181, true},
			"without monitoring nobody scrapes":          {prometheus, member, 7000, false},
			"any ingress controller solves":              {ingress, solver, 8089, true},
			"without an exporter nobody else uses Kafka": {exporter, broker, 9092, false},
			"plain MQTT without cert-manager":            {stranger, mqtt, 1883, true},
			"no TLS MQTT without cert-manager":           {stranger, mqtt, 8883, false},
		}},
		{Run{Stack: "local", Set: map[string]string{"kafkaMode": "kraft"}}, map[string]flow{
			"brokers reach the controllers":        {broker, broker, 9093, true},
			"the client pod does not (controller)": {clientPod, broker, 9093, false},
			"a stranger does not (controller)":     {stranger, broker, 9093, false},
			"brokers still replicate":              {broker, broker, 9092, true},
			"the client pod still produces":        {clientPod, broker, 9092, true},
			"no JMX in KRaft mode either":          {clientPod, broker, 5555, false},
		}},
		{Run{Stack: "dev3", Set: map[string]string{"kafkaAuth": "dual"}}, map[string]flow{
			"the client pod on SCRAM over TLS":   {clientPod, broker, 9094, true},
			"the client pod still on PLAINTEXT":  {clientPod, broker, 9092, true},
			"the exporter on SCRAM over TLS":     {exporter, broker, 9094, true},
			"brokers on mutual TLS":              {broker, broker, 9091, true},
			"the client pod not on the brokers'": {clientPod, broker, 9091, false},
			"the exporter not on the brokers'":   {exporter, broker, 9091, false},
			"a stranger on neither":              {stranger, broker, 9094, false},
		}},
		{Run{Stack: "dev3", Set: map[string]string{"kafkaAuth": "on", "monitoring": "none", "kafkaConsole": "none", "kafkaMode": "kraft"}}, map[string]flow{
			"clients on SCRAM over TLS":             {clientPod, broker, 9094, true},
			"PLAINTEXT closed":                      {clientPod, broker, 9092, false},
			"brokers replicate on mutual TLS":       {broker, broker, 9091, true},
			"the quorum on mutual TLS":              {broker, broker, 9095, true},
			"the plain controller port closed":      {broker, broker, 9093, false},
			"the client pod not on the controllers": {clientPod, broker, 9095, false},
		}},
	}
	for _, tt := range tests {
		g := dataGraph(t, tt.run)
		ps := policies(t, g)
		require.NotEmpty(t, ps)
		for name, f := range tt.flows {
			t.Run(tt.run.Stack+tt.run.Set["ingressController"]+tt.run.Set["kafkaMode"]+"/"+name, func(t *testing.T) {
				verb := map[bool]string{true: "reach", false: "not reach"}[f.want]
				assert.Equal(t, f.want, admits(t, ps, f.from, f.to, f.port),
					"%v in %s should %s %v:%d", f.from.labels, f.from.namespace, verb, f.to.labels, f.port)
			})
		}
	}
}

// TestEveryDataPodIsSelected: the default deny selects every pod of the
// namespace, and every workload that listens has a policy of its own: a
// new workload is closed until its policy says who may reach it.
func TestEveryDataPodIsSelected(t *testing.T) {
	t.Parallel()
	g := dataGraph(t, Run{Stack: "dev3"})
	ps := policies(t, g)
	for name, w := range workloads(t, g) {
		t.Run(name, func(t *testing.T) {
			var own []string
			for _, p := range ps {
				if selects(t, &p.Spec.PodSelector, w.Labels) {
					own = append(own, p.Name)
				}
			}
			assert.Contains(t, own, "default-deny-ingress")
			if len(w.Spec.Containers[0].Ports) > 0 {
				assert.Greater(t, len(own), 1, fmt.Sprintf("%s listens and has no policy of its own: %v", name, own))
			}
		})
	}
}

// endpointOutside is an address outside the cluster.
func endpointOutside(ip string) endpoint { return endpoint{ip: ip} }

// egressAdmits says whether policy lets its pods open a connection to port
// (over protocol) on dst: a pod or, with dst.ip, an address outside the
// cluster. An ipBlock admits addresses only; a pod selector pods only.
func egressAdmits(t *testing.T, policy networkingv1.NetworkPolicy, dst endpoint, port int32, protocol corev1.Protocol) bool {
	t.Helper()
	for _, rule := range policy.Spec.Egress {
		portOK := len(rule.Ports) == 0
		for _, rp := range rule.Ports {
			proto := corev1.ProtocolTCP
			if rp.Protocol != nil {
				proto = *rp.Protocol
			}
			portOK = portOK || (proto == protocol && (rp.Port == nil || rp.Port.IntVal == port))
		}
		toOK := len(rule.To) == 0
		for _, peer := range rule.To {
			if peer.IPBlock != nil {
				require.Empty(t, peer.IPBlock.Except, "the evaluator does not model except")
				_, block, err := net.ParseCIDR(peer.IPBlock.CIDR)
				require.NoError(t, err)
				toOK = toOK || (dst.ip != "" && block.Contains(net.ParseIP(dst.ip)))
				continue
			}
			toOK = toOK || (dst.ip == "" && peerMatches(t, peer, policy.Namespace, dst))
		}
		if portOK && toOK {
			return true
		}
	}
	return false
}

// refused runs a config that must fail before anything is registered and
// returns its error message.
func refused(t *testing.T, run Run) string {
	t.Helper()
	g, err := run.Do(t)
	require.Error(t, err)
	assert.Empty(t, g.All, "no resource may be registered")
	return err.Error()
}
