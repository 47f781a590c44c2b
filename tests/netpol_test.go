package tests

import (
	"fmt"
	"net"
	"slices"
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
// (podSelector, namespaceSelector, ipBlock without except, ports by number
// or name): a connection is allowed only when both ends allow it. The
// source's side: a pod that no policy isolates for egress may open any
// connection; an isolated one only what one egress rule of one selecting
// policy matches. The destination's side: a pod that no policy isolates for
// ingress admits everything; an isolated one what one ingress rule of one
// selecting policy matches, port and source.

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

// portMatches says whether rule port p covers port over protocol on dst
// (a rule port without a protocol is TCP).
func portMatches(t *testing.T, p networkingv1.NetworkPolicyPort, dst endpoint, port int32, protocol corev1.Protocol) bool {
	t.Helper()
	proto := corev1.ProtocolTCP
	if p.Protocol != nil {
		proto = *p.Protocol
	}
	if proto != protocol {
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

// portsMatch says whether a rule's ports cover port (no ports: every port).
func portsMatch(t *testing.T, ports []networkingv1.NetworkPolicyPort, dst endpoint, port int32, protocol corev1.Protocol) bool {
	t.Helper()
	ok := len(ports) == 0
	for _, rp := range ports {
		ok = ok || portMatches(t, rp, dst, port, protocol)
	}
	return ok
}

// peerMatches says whether e is one of the peer's pods or addresses, seen
// from a policy in namespace ns: an ipBlock holds addresses outside the
// cluster only, a selector pods only.
func peerMatches(t *testing.T, peer networkingv1.NetworkPolicyPeer, ns string, e endpoint) bool {
	t.Helper()
	if peer.IPBlock != nil {
		require.Empty(t, peer.IPBlock.Except, "the evaluator does not model except")
		_, block, err := net.ParseCIDR(peer.IPBlock.CIDR)
		require.NoError(t, err)
		return e.ip != "" && block.Contains(net.ParseIP(e.ip))
	}
	require.False(t, peer.PodSelector == nil && peer.NamespaceSelector == nil, "a peer selects nothing")
	if e.ip != "" {
		return false
	}
	if peer.NamespaceSelector == nil {
		if e.namespace != ns {
			return false
		}
	} else if !selects(t, peer.NamespaceSelector, namespaceLabels(e.namespace)) {
		return false
	}
	return peer.PodSelector == nil || selects(t, peer.PodSelector, e.labels)
}

// isolates says whether p restricts typ for the pods it selects. Without
// policyTypes the API reads Ingress, and Egress too when there are egress
// rules.
func isolates(p networkingv1.NetworkPolicy, typ networkingv1.PolicyType) bool {
	if len(p.Spec.PolicyTypes) == 0 {
		return typ == networkingv1.PolicyTypeIngress || len(p.Spec.Egress) > 0
	}
	return slices.Contains(p.Spec.PolicyTypes, typ)
}

// isolating are the policies that select e (a pod) for typ.
func isolating(t *testing.T, policies []networkingv1.NetworkPolicy, e endpoint, typ networkingv1.PolicyType) []networkingv1.NetworkPolicy {
	t.Helper()
	var out []networkingv1.NetworkPolicy
	for _, p := range policies {
		if e.ip == "" && p.Namespace == e.namespace && selects(t, &p.Spec.PodSelector, e.labels) && isolates(p, typ) {
			out = append(out, p)
		}
	}
	return out
}

// admits says whether the destination's side lets src open a connection to
// port (over protocol) on dst.
func admits(t *testing.T, policies []networkingv1.NetworkPolicy, src, dst endpoint, port int32, protocol corev1.Protocol) bool {
	t.Helper()
	selecting := isolating(t, policies, dst, networkingv1.PolicyTypeIngress)
	for _, p := range selecting {
		for _, rule := range p.Spec.Ingress {
			fromOK := len(rule.From) == 0
			for _, peer := range rule.From {
				fromOK = fromOK || peerMatches(t, peer, p.Namespace, src)
			}
			if fromOK && portsMatch(t, rule.Ports, dst, port, protocol) {
				return true
			}
		}
	}
	return len(selecting) == 0
}

// egressAdmits says whether policy lets its pods open a connection to port
// (over protocol) on dst: a pod or, with dst.ip, an address outside the
// cluster.
func egressAdmits(t *testing.T, policy networkingv1.NetworkPolicy, dst endpoint, port int32, protocol corev1.Protocol) bool {
	t.Helper()
	for _, rule := range policy.Spec.Egress {
		toOK := len(rule.To) == 0
		for _, peer := range rule.To {
			toOK = toOK || peerMatches(t, peer, policy.Namespace, dst)
		}
		if toOK && portsMatch(t, rule.Ports, dst, port, protocol) {
			return true
		}
	}
	return false
}

// sends says whether the source's side lets src open the connection.
func sends(t *testing.T, policies []networkingv1.NetworkPolicy, src, dst endpoint, port int32, protocol corev1.Protocol) bool {
	t.Helper()
	selecting := isolating(t, policies, src, networkingv1.PolicyTypeEgress)
	for _, p := range selecting {
		if egressAdmits(t, p, dst, port, protocol) {
			return true
		}
	}
	return len(selecting) == 0
}

// allows says whether a connection from src to port on dst gets through:
// the source's egress and the destination's ingress both allow it.
func allows(t *testing.T, policies []networkingv1.NetworkPolicy, src, dst endpoint, port int32, protocol corev1.Protocol) bool {
	t.Helper()
	return sends(t, policies, src, dst, port, protocol) && admits(t, policies, src, dst, port, protocol)
}

// clusterDNS is the cluster's DNS server (CoreDNS keeps kube-dns's label).
var clusterDNS = endpoint{namespace: "kube-system", labels: map[string]string{"k8s-app": "kube-dns"}}

// resolves says whether src can ask the cluster's DNS, over UDP and TCP
// (answers too large for a datagram come over TCP).
func resolves(t *testing.T, policies []networkingv1.NetworkPolicy, src endpoint) bool {
	t.Helper()
	return allows(t, policies, src, clusterDNS, 53, corev1.ProtocolUDP) && allows(t, policies, src, clusterDNS, 53, corev1.ProtocolTCP)
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
			assert.Equal(t, tt.want, allows(t, tt.policies, tt.src, web, tt.port, corev1.ProtocolTCP))
		})
	}

	// The source's side: the client's own policies, and both ends at once.
	udp := corev1.ProtocolUDP
	dnsPort := intstr.FromInt32(53)
	egress := func(types []networkingv1.PolicyType, rules ...networkingv1.NetworkPolicyEgressRule) networkingv1.NetworkPolicy {
		return networkingv1.NetworkPolicy{
			ObjectMeta: metav1.ObjectMeta{Namespace: "a"},
			Spec:       networkingv1.NetworkPolicySpec{PodSelector: *clients, PolicyTypes: types, Egress: rules},
		}
	}
	ingressOnly := []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
	both := []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}
	toDNS := networkingv1.NetworkPolicyEgressRule{
		Ports: []networkingv1.NetworkPolicyPort{{Protocol: &udp, Port: &dnsPort}},
		To: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{MatchLabels: namespaceLabels("kube-system")},
			PodSelector: &metav1.LabelSelector{MatchLabels: clusterDNS.labels}}},
	}
	toWeb := networkingv1.NetworkPolicyEgressRule{To: []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: web.labels}}}}
	flows := []struct {
		name     string
		policies []networkingv1.NetworkPolicy
		dst      endpoint
		port     int32
		protocol corev1.Protocol
		want     bool
	}{
		{"no egress policy sends anywhere", nil, clusterDNS, 53, udp, true},
		{"an ingress-only policy leaves egress open", []networkingv1.NetworkPolicy{egress(ingressOnly)}, clusterDNS, 53, udp, true},
		{"Egress in policyTypes without a rule sends nothing", []networkingv1.NetworkPolicy{egress(both)}, clusterDNS, 53, udp, false},
		{"the same to a pod of its namespace", []networkingv1.NetworkPolicy{egress(both)}, web, 8080, corev1.ProtocolTCP, false},
		{"no policyTypes, an egress rule: egress is isolated", []networkingv1.NetworkPolicy{egress(nil, toDNS)}, web, 8080, corev1.ProtocolTCP, false},
		{"a DNS rule sends DNS", []networkingv1.NetworkPolicy{egress(both, toDNS)}, clusterDNS, 53, udp, true},
		{"over its protocol only", []networkingv1.NetworkPolicy{egress(both, toDNS)}, clusterDNS, 53, corev1.ProtocolTCP, false},
		{"to its peers only", []networkingv1.NetworkPolicy{egress(both, toDNS)}, endpoint{namespace: "kube-system", labels: map[string]string{"app": "other"}}, 53, udp, false},
		{"egress rules add up", []networkingv1.NetworkPolicy{egress(both, toDNS), egress(both, toWeb)}, web, 8080, corev1.ProtocolTCP, true},
		{"egress allowed, ingress denied", []networkingv1.NetworkPolicy{egress(both, toWeb), policy()}, web, 8080, corev1.ProtocolTCP, false},
		{"ingress allowed, egress denied", []networkingv1.NetworkPolicy{egress(both, toDNS), policy(networkingv1.NetworkPolicyIngressRule{
			From: []networkingv1.NetworkPolicyPeer{{PodSelector: clients}}})}, web, 8080, corev1.ProtocolTCP, false},
		{"both ends allow", []networkingv1.NetworkPolicy{egress(both, toWeb), policy(networkingv1.NetworkPolicyIngressRule{
			From: []networkingv1.NetworkPolicyPeer{{PodSelector: clients}}})}, web, 8080, corev1.ProtocolTCP, true},
		{"an ipBlock holds no pods", []networkingv1.NetworkPolicy{egress(both, networkingv1.NetworkPolicyEgressRule{
			To: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "0.0.0.0/0"}}}})}, web, 8080, corev1.ProtocolTCP, false},
		{"an ipBlock holds its addresses", []networkingv1.NetworkPolicy{egress(both, networkingv1.NetworkPolicyEgressRule{
			To: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "203.0.113.0/24"}}}})}, endpointOutside("203.0.113.9"), 8883, corev1.ProtocolTCP, true},
	}
	for _, tt := range flows {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, allows(t, tt.policies, client, tt.dst, tt.port, tt.protocol))
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
				assert.Equal(t, f.want, allows(t, ps, f.from, f.to, f.port, corev1.ProtocolTCP),
					"%v in %s should %s %v:%d", f.from.labels, f.from.namespace, verb, f.to.labels, f.port)
			})
		}
	}
}

// need is a connection a pod opens: to the pods of workload (by
// "<Kind>/<name>") at port.
type need struct {
	workload string
	port     int32
}

// podNeeds are the connections each data workload opens, in either Kafka
// mode; besides them, every pod resolves names through the cluster's DNS.
func podNeeds(kraft bool) map[string][]need {
	coordination := need{"StatefulSet/zookeeper", 2181}
	if kraft {
		coordination = need{"StatefulSet/kafka", 9093}
	}
	return map[string][]need{
		"StatefulSet/zookeeper":     {{"StatefulSet/zookeeper", 2888}, {"StatefulSet/zookeeper", 3888}},
		"StatefulSet/kafka":         {coordination, {"StatefulSet/kafka", 9092}},
		"Pod/kafka-client-util":     {{"StatefulSet/kafka", 9092}},
		"Deployment/kafka-exporter": {{"StatefulSet/kafka", 9092}},
		"Deployment/kafka-console":  {{"StatefulSet/kafka", 9092}},
		"Deployment/mqtt":           nil,
	}
}

// TestDataPodsReachWhatTheyNeed: every pod of the data namespace, as the
// graph makes it, can resolve names and open each connection it needs,
// with both ends' policies evaluated (its egress, the peer's ingress). A
// policy that isolates egress without a rule cuts every pod off the DNS. A
// new workload fails until its needs are written here.
func TestDataPodsReachWhatTheyNeed(t *testing.T) {
	t.Parallel()
	for _, run := range []Run{
		{Stack: "dev3"},
		{Stack: "local"},
		{Stack: "dev3", Set: map[string]string{"kafkaMode": "kraft"}},
		{Stack: "local", Set: map[string]string{"kafkaMode": "kraft"}},
	} {
		t.Run(runName(run), func(t *testing.T) {
			g := dataGraph(t, run)
			ps := policies(t, g)
			pods := map[string]endpoint{}
			for r, tmpl := range podTemplates(t, g) {
				_, kind := tokenParts(r.Type)
				e := endpoint{namespace: r.K8sNamespace(), labels: tmpl.Labels}
				for _, c := range tmpl.Spec.Containers {
					e.ports = append(e.ports, c.Ports...)
				}
				pods[kind+"/"+r.K8sName()] = e
			}
			needs := podNeeds(run.Set["kafkaMode"] == "kraft")
			for name, src := range pods {
				if src.namespace != "data" {
					continue
				}
				wants, ok := needs[name]
				require.True(t, ok, "%s: which connections does it open? (podNeeds)", name)
				assert.True(t, resolves(t, ps, src), "%s cannot resolve names (UDP and TCP 53 to kube-dns in kube-system)", name)
				for _, w := range wants {
					dst, ok := pods[w.workload]
					require.True(t, ok, "%s needs %s, which the graph lacks", name, w.workload)
					assert.True(t, allows(t, ps, src, dst, w.port, corev1.ProtocolTCP), "%s cannot reach %s:%d", name, w.workload, w.port)
				}
			}
		})
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

// refused runs a config that must fail before anything is registered and
// returns its error message.
func refused(t *testing.T, run Run) string {
	t.Helper()
	g, err := run.Do(t)
	require.Error(t, err)
	assert.Empty(t, g.All, "no resource may be registered")
	return err.Error()
}
