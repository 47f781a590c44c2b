package verify

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/apk8s/apk8s-platform/components/mosquitto"
	"github.com/apk8s/apk8s-platform/ops/brokertest"
)

func TestRenderAndExitCode(t *testing.T) {
	tests := []struct {
		name    string
		results []Result
		code    int
		lines   []string
	}{
		{
			name: "all passed or skipped",
			results: []Result{
				{Check: "pods running", Status: Pass, Detail: "7 pods Running and Ready"},
				{Check: "certificate data-cert", Status: Skip, Detail: "no certificate"},
			},
			code: ExitPassed,
			lines: []string{
				"CHECK                  RESULT  DETAIL",
				"pods running           PASS    7 pods Running and Ready",
				"certificate data-cert  SKIP    no certificate",
				"1 of 2 checks passed, 0 failed, 1 skipped",
			},
		},
		{
			name: "one failure fails the run",
			results: []Result{
				{Check: "kafka brokers", Status: Pass, Detail: "2 of 2 answer"},
				{Check: "mqtt publish/subscribe", Status: Fail, Detail: "not Authorized"},
			},
			code: ExitFailed,
			lines: []string{
				"CHECK                   RESULT  DETAIL",
				"kafka brokers           PASS    2 of 2 answer",
				"mqtt publish/subscribe  FAIL    not Authorized",
				"1 of 2 checks passed, 1 failed, 0 skipped",
			},
		},
		{
			name:  "nothing checked is no success",
			code:  ExitFailed,
			lines: []string{"CHECK  RESULT  DETAIL", "0 of 0 checks passed, 0 failed, 0 skipped"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			require.NoError(t, Render(&out, tt.results))
			assert.Equal(t, strings.Join(tt.lines, "\n")+"\n", out.String())
			assert.Equal(t, tt.code, ExitCode(tt.results))
		})
	}
}

func TestSessionRunTurnsErrorsIntoLines(t *testing.T) {
	s := &Session{Options: Options{Timeout: time.Second}}
	tests := []struct {
		name string
		run  func(context.Context, *Session) (string, error)
		want Result
	}{
		{"pass", func(context.Context, *Session) (string, error) { return "fine", nil },
			Result{Check: "pass", Status: Pass, Detail: "fine"}},
		{"fail", func(context.Context, *Session) (string, error) { return "ignored", errors.New("broken") },
			Result{Check: "fail", Status: Fail, Detail: "broken"}},
		{"skip", func(context.Context, *Session) (string, error) { return "", Skipped("not here: %d", 1) },
			Result{Check: "skip", Status: Skip, Detail: "not here: 1"}},
		{"deadline", func(ctx context.Context, _ *Session) (string, error) {
			<-ctx.Done()
			return "", ctx.Err()
		}, Result{Check: "deadline", Status: Fail, Detail: "context deadline exceeded"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, s.run(context.Background(), Check{Name: tt.name, Run: tt.run}))
		})
	}
}

func TestPlanHasTheBooksChecksInOrder(t *testing.T) {
	tests := []struct {
		options      Options
		coordination string
	}{
		{Options{}, "zookeeper ensemble"},
		{Options{KRaftVoters: 3}, "kafka controller quorum"},
	}
	for _, tt := range tests {
		var names []string
		for _, c := range Plan(tt.options) {
			names = append(names, c.Name)
		}
		assert.Equal(t, []string{
			"pods running", tt.coordination, "kafka brokers", "kafka topic created",
			"kafka produce/consume", "mqtt publish/subscribe", "mqtt bridges", "mqtt to kafka", "certificate data-cert", "claims bound",
			"alert rules loaded",
		}, names)
	}
}

func TestQuorumReport(t *testing.T) {
	ready := func(name string) corev1.Pod { return pod(name, corev1.PodRunning, true, "") }
	missing := func(name string) corev1.Pod { p := corev1.Pod{}; p.Name = name; return p }
	tests := []struct {
		name      string
		voters    []corev1.Pod
		clusterID string
		detail    string
		err       string
	}{
		{"three voters", []corev1.Pod{ready("kafka-0"), ready("kafka-1"), ready("kafka-2")}, "id",
			"3 of 3 voters Ready (kafka-0, kafka-1, kafka-2), cluster ID kept", ""},
		{"one voter", []corev1.Pod{ready("kafka-0")}, "id", "1 of 1 voters Ready (kafka-0), cluster ID kept", ""},
		{"a voter not ready", []corev1.Pod{ready("kafka-0"), pod("kafka-1", corev1.PodRunning, false, ""), ready("kafka-2")}, "id",
			"", "kafka-1 (Running, not Ready)"},
		{"a voter missing", []corev1.Pod{ready("kafka-0"), missing("kafka-1")}, "id",
			"", "kafka-1 missing"},
		{"no cluster ID", []corev1.Pod{ready("kafka-0")}, "", "", "no cluster ID in ConfigMap kafka-cluster-id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			detail, err := quorumReport(tt.voters, tt.clusterID)
			assertReport(t, detail, err, tt.detail, tt.err)
		})
	}
}

// assertReport checks what a check saw: its error when want says one,
// else its detail.
func assertReport(t *testing.T, detail string, err error, wantDetail, wantErr string) {
	t.Helper()
	if wantErr != "" {
		assert.EqualError(t, err, wantErr)
		return
	}
	require.NoError(t, err)
	assert.Equal(t, wantDetail, detail)
}

func pod(name string, phase corev1.PodPhase, ready bool, waiting string) corev1.Pod {
	p := corev1.Pod{}
	p.Name = name
	p.Status.Phase = phase
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}
	if waiting != "" {
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: waiting}}}}
	}
	return p
}

func TestPodsReport(t *testing.T) {
	unschedulable := pod("kafka-1", corev1.PodPending, false, "")
	unschedulable.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable"}}
	tests := []struct {
		name   string
		pods   []corev1.Pod
		detail string
		err    string
	}{
		{name: "all running and ready", pods: []corev1.Pod{pod("kafka-0", corev1.PodRunning, true, ""), pod("mqtt-x", corev1.PodRunning, true, "")},
			detail: "2 pods Running and Ready"},
		{name: "a completed pod is fine", pods: []corev1.Pod{pod("kafka-0", corev1.PodRunning, true, ""), pod("job", corev1.PodSucceeded, false, "")},
			detail: "2 pods Running and Ready"},
		{name: "pending and crashing pods are named with their reason",
			pods: []corev1.Pod{pod("kafka-0", corev1.PodRunning, true, ""), unschedulable, pod("mqtt-x", corev1.PodRunning, false, "CrashLoopBackOff")},
			err:  "2 of 3 pods not running: kafka-1 (Pending: Unschedulable), mqtt-x (Running: CrashLoopBackOff)"},
		{name: "running but not ready", pods: []corev1.Pod{pod("zookeeper-0", corev1.PodRunning, false, "")},
			err: "1 of 1 pods not running: zookeeper-0 (Running, not Ready)"},
		{name: "an empty namespace", err: "no pods in the namespace"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			detail, err := podsReport(tt.pods)
			assertReport(t, detail, err, tt.detail, tt.err)
		})
	}
}

func TestClaimsReport(t *testing.T) {
	claim := func(name string, phase corev1.PersistentVolumeClaimPhase) corev1.PersistentVolumeClaim {
		c := corev1.PersistentVolumeClaim{}
		c.Name, c.Status.Phase = name, phase
		return c
	}
	detail, err := claimsReport([]corev1.PersistentVolumeClaim{claim("datadir-kafka-0", corev1.ClaimBound), claim("data-zookeeper-0", corev1.ClaimBound)})
	require.NoError(t, err)
	assert.Equal(t, "2 claims Bound", detail)

	_, err = claimsReport([]corev1.PersistentVolumeClaim{claim("datadir-kafka-0", corev1.ClaimBound), claim("datadir-kafka-1", corev1.ClaimPending)})
	assert.EqualError(t, err, "1 of 2 claims not Bound: datadir-kafka-1 (Pending)")
}

func TestCertificateReport(t *testing.T) {
	cert := func(conds ...any) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{"status": map[string]any{
			"notAfter": "2027-02-26T00:00:00Z", "conditions": conds,
		}}}
	}
	detail, err := certificateReport(cert(map[string]any{"type": "Ready", "status": "True"}))
	require.NoError(t, err)
	assert.Equal(t, "Ready, valid until 2027-02-26T00:00:00Z", detail)

	_, err = certificateReport(cert(map[string]any{"type": "Issuing", "status": "True"},
		map[string]any{"type": "Ready", "status": "False", "reason": "DoesNotExist", "message": "Issuing certificate as Secret does not exist"}))
	assert.EqualError(t, err, "not Ready: DoesNotExist: Issuing certificate as Secret does not exist")

	_, err = certificateReport(cert())
	assert.EqualError(t, err, "not Ready: cert-manager has not reported on it yet")
}

func TestCertificateSkippedWhenTheStackMakesNone(t *testing.T) {
	_, err := certificateReady(context.Background(), &Session{Options: Options{Certificate: false}})
	var skip skipped
	require.ErrorAs(t, err, &skip)
}

func TestParseSrvr(t *testing.T) {
	tests := []struct {
		name, answer, mode, err string
	}{
		{name: "follower", answer: "Zookeeper version: 3.8.4\nLatency min/avg/max: 0/0.0/0\nMode: follower\nNode count: 5\n", mode: "follower"},
		{name: "leader", answer: "Zookeeper version: 3.8.4\nMode: leader\n", mode: "leader"},
		{name: "outside a quorum", answer: "This ZooKeeper instance is not currently serving requests\n",
			err: `no mode in the answer to srvr: "This ZooKeeper instance is not currently serving requests"`},
		{name: "not whitelisted: the server closes", answer: "", err: "no answer to srvr (is srvr in 4lw.commands.whitelist?)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mode, err := parseSrvr(bufio.NewScanner(strings.NewReader(tt.answer)))
			assertReport(t, mode, err, tt.mode, tt.err)
		})
	}
}

func TestSrvrModeOverTCP(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	mode, err := srvrMode(ctx, brokertest.ZooKeeperSrvr(t, "leader"))
	require.NoError(t, err)
	assert.Equal(t, "leader", mode)
}

func TestEnsembleReport(t *testing.T) {
	m := func(pod, mode string) memberMode { return memberMode{pod: pod, mode: mode} }
	tests := []struct {
		name    string
		members []memberMode
		detail  string
		err     string
	}{
		{name: "one leader, one follower", members: []memberMode{m("zookeeper-0", "follower"), m("zookeeper-1", "leader")},
			detail: "2 members: zookeeper-0 follower, zookeeper-1 leader"},
		{name: "a single member is standalone", members: []memberMode{m("zookeeper-0", "standalone")},
			detail: "1 members: zookeeper-0 standalone"},
		{name: "a member does not answer", members: []memberMode{m("zookeeper-0", "leader"), {pod: "zookeeper-1", err: errors.New("pod data/zookeeper-1 is not running (Pending)")}},
			err: "zookeeper-1: pod data/zookeeper-1 is not running (Pending)"},
		{name: "no leader", members: []memberMode{m("zookeeper-0", "follower"), m("zookeeper-1", "follower")},
			err: "0 leaders, want 1"},
		{name: "two leaders: a split ensemble", members: []memberMode{m("zookeeper-0", "leader"), m("zookeeper-1", "leader")},
			err: "2 leaders, want 1"},
		{name: "standalone inside an ensemble", members: []memberMode{m("zookeeper-0", "standalone"), m("zookeeper-1", "leader")},
			err: "zookeeper-0 is standalone in an ensemble of 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			detail, err := ensembleReport(tt.members)
			assertReport(t, detail, err, tt.detail, tt.err)
		})
	}
}

// TestBrokerDialerMapsAdvertisedNames: a connection to a broker's
// in-cluster name lands on that broker's forward, and nowhere else.
func TestBrokerDialerMapsAdvertisedNames(t *testing.T) {
	echo := func(name string) string {
		return brokertest.Serve(t, func(c net.Conn) { _, _ = c.Write([]byte(name)) })
	}
	d := newBrokerDialer()
	a0 := d.add("data", &forward{pod: "kafka-0", local: echo("kafka-0")})
	a1 := d.add("data", &forward{pod: "kafka-1", local: echo("kafka-1")})
	assert.Equal(t, "kafka-0.kafka-headless.data.svc.cluster.local:9092", a0)
	assert.Equal(t, "kafka-1.kafka-headless.data.svc.cluster.local:9092", a1)
	assert.Equal(t, []string{a0, a1}, d.seeds())

	ctx := context.Background()
	for _, pod := range []string{"kafka-0", "kafka-1"} {
		conn, err := d.DialContext(ctx, "tcp", pod+".kafka-headless.data.svc.cluster.local:9092")
		require.NoError(t, err)
		got, err := io.ReadAll(conn)
		require.NoError(t, err)
		conn.Close()
		assert.Equal(t, pod, string(got), "the dial reached the wrong forward")
	}

	_, err := d.DialContext(ctx, "tcp", "kafka-2.kafka-headless.data.svc.cluster.local:9092")
	assert.EqualError(t, err, "broker address kafka-2.kafka-headless.data.svc.cluster.local:9092 is none of the forwarded brokers ("+a0+", "+a1+")")
	_, err = d.DialContext(ctx, "tcp", "kafka-0.kafka-headless.other.svc.cluster.local:9092")
	assert.Error(t, err, "another namespace's broker is not ours")

	d.forwards[a1].err = errors.New("port-forward to pod data/kafka-1 ended: lost connection to pod")
	_, err = d.DialContext(ctx, "tcp", a1)
	assert.EqualError(t, err, "port-forward to pod data/kafka-1 ended: lost connection to pod")
}

func TestBrokersReport(t *testing.T) {
	host := func(i string) string { return "kafka-" + i + ".kafka-headless.data.svc.cluster.local" }
	listed := kadm.BrokerDetails{{NodeID: 0, Host: host("0"), Port: 9092}, {NodeID: 1, Host: host("1"), Port: 9092}}
	both := []string{"kafka-0", "kafka-1"}

	detail, err := brokersReport("data", 2, listed, both, nil)
	require.NoError(t, err)
	assert.Equal(t, "2 of 2 answer: kafka-0 (id 0), kafka-1 (id 1)", detail)

	_, err = brokersReport("data", 2, listed, both[:1], []string{"kafka-1 does not answer: EOF"})
	assert.EqualError(t, err, "kafka-1 does not answer: EOF", "a stopped broker, still registered")

	_, err = brokersReport("data", 2, listed[:1], both[:1], []string{"pod data/kafka-1 is not running (Pending)"})
	assert.EqualError(t, err, "kafka-1 is not in the cluster metadata; pod data/kafka-1 is not running (Pending)")

	_, err = brokersReport("data", 1, listed, both[:1], nil)
	assert.EqualError(t, err, "broker id 1 advertises "+host("1")+", no pod of the StatefulSet")

	_, err = brokersReport("data", 2, nil, nil, []string{"kafka-0 does not answer: EOF", "kafka-1 does not answer: EOF"})
	assert.EqualError(t, err, "kafka-0 does not answer: EOF; kafka-1 does not answer: EOF", "no metadata at all")
}

// TestMQTTExchange runs the round trip against a real Mosquitto, with and
// without a password file.
func TestMQTTExchange(t *testing.T) {
	anonymous := "tcp://" + brokertest.Mosquitto(t, nil)
	protected := "tcp://" + brokertest.Mosquitto(t, map[string]string{"sysop": "s3cret-verify"})
	ca := brokertest.NewCA(t)
	secure := "ssl://" + brokertest.MosquittoTLS(t, ca, map[string]string{"sysop": "s3cret-verify"})
	trusted := &tls.Config{RootCAs: ca.Pool(), ServerName: mosquitto.Name}
	stranger := &tls.Config{RootCAs: brokertest.NewCA(t).Pool(), ServerName: mosquitto.Name}
	tests := []struct {
		name, broker, user, password string
		tls                          *tls.Config
		detail, err                  string
	}{
		{name: "over TLS", broker: secure, tls: trusted, user: "sysop", password: "s3cret-verify", detail: `connected as "sysop" over TLS`},
		{name: "over TLS, wrong password", broker: secure, tls: trusted, user: "sysop", password: "wrong", err: `subscriber cannot connect as "sysop" over TLS: not Authorized`},
		{name: "over TLS, another CA", broker: secure, tls: stranger, user: "sysop", password: "s3cret-verify", err: "certificate signed by unknown authority"},
		{name: "anonymous, as in the book", broker: anonymous, detail: "connected anonymously"},
		{name: "with the configured credentials", broker: protected, user: "sysop", password: "s3cret-verify", detail: `connected as "sysop"`},
		{name: "wrong password", broker: protected, user: "sysop", password: "wrong", err: `subscriber cannot connect as "sysop": not Authorized`},
		{name: "no credentials where they are required", broker: protected, err: "subscriber cannot connect anonymously: not Authorized"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			detail, err := mqttExchange(ctx, tt.broker, tt.tls, tt.user, tt.password)
			if tt.err != "" {
				assert.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Contains(t, detail, TopicMQTT+"/")
			assert.Contains(t, detail, tt.detail)
		})
	}
}

// TestRunTellsNotDeployedFromUnreachable: nothing is checked, and the
// error says why, when the namespace is missing or the API does not answer.
func TestRunTellsNotDeployedFromUnreachable(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404,"message":"namespaces \"data\" not found"}`)
	}))
	defer api.Close()
	called := false
	checks := []Check{{Name: "never", Run: func(context.Context, *Session) (string, error) { called = true; return "", nil }}}

	_, err := Run(context.Background(), Options{Config: &rest.Config{Host: api.URL}, Namespace: "data", Timeout: 5 * time.Second}, checks)
	require.ErrorIs(t, err, ErrNotDeployed)
	assert.EqualError(t, err, `verify: namespace "data" does not exist: the stack is not deployed (run up first)`)

	gone := api.URL
	api.Close()
	_, err = Run(context.Background(), Options{Config: &rest.Config{Host: gone}, Namespace: "data", Timeout: 5 * time.Second}, checks)
	require.Error(t, err)
	assert.NotErrorIs(t, err, ErrNotDeployed)
	assert.Contains(t, err.Error(), `verify: cannot read namespace "data" from the cluster at `+gone)
	assert.False(t, called, "no check runs when nothing can be checked")
}

func TestTopicReport(t *testing.T) {
	tests := []struct {
		replicas int16
		brokers  int
		ok       bool
	}{
		{1, 1, true}, {2, 2, true}, {3, 3, true}, {3, 5, true},
		{1, 3, false}, // the book's factor: acks=all refused at min.insync 2
		{2, 3, false}, {1, 2, false}, {5, 5, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d of %d", tt.replicas, tt.brokers), func(t *testing.T) {
			line, err := topicReport("apk8s-verify-x", tt.replicas, tt.brokers)
			if tt.ok {
				require.NoError(t, err)
				assert.Equal(t, fmt.Sprintf("apk8s-verify-x, 1 partition, %d replicas (the brokers' default)", tt.replicas), line)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), fmt.Sprintf("created with %d replicas", tt.replicas))
		})
	}
}

func TestRulesReport(t *testing.T) {
	rule := &unstructured.Unstructured{Object: map[string]any{
		"metadata": map[string]any{"namespace": "data", "name": "data-platform-alerts"},
		"spec": map[string]any{"groups": []any{
			map[string]any{"name": "kafka"}, map[string]any{"name": "mosquitto"},
		}},
	}}
	api := func(groups ...string) []byte {
		return []byte(`{"status":"success","data":{"groups":[` + strings.Join(groups, ",") + `]}}`)
	}
	const file = `"file":"/etc/prometheus/rules/prometheus-kube-prometheus-stack-prometheus-rulefiles-0/data-data-platform-alerts-0a1b.yaml"`
	kafka := `{"name":"kafka",` + file + `,"rules":[{},{},{}]}`
	mosquitto := `{"name":"mosquitto",` + file + `,"rules":[{}]}`
	other := `{"name":"mosquitto","file":"/etc/prometheus/rules/x/monitoring-other-rules-9f.yaml","rules":[{}]}`

	detail, err := rulesReport(rule, api(kafka, mosquitto))
	require.NoError(t, err)
	assert.Equal(t, "2 groups, 4 alerts of data/data-platform-alerts loaded by Prometheus", detail)

	_, err = rulesReport(rule, api(kafka, other))
	assert.ErrorContains(t, err, "has not loaded group(s) mosquitto of data/data-platform-alerts", "a group of the same name from another file is not ours")

	_, err = rulesReport(rule, []byte(`{"status":"error","error":"unavailable"}`))
	assert.ErrorContains(t, err, "the rules API answered")

	_, err = rulesReport(&unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{}}}, api(kafka))
	assert.ErrorContains(t, err, "has no groups")
}

func TestAlertRulesSkippedWithoutMonitoring(t *testing.T) {
	_, err := alertRulesLoaded(context.Background(), &Session{Options: Options{AlertRules: ""}})
	var skip skipped
	require.ErrorAs(t, err, &skip)
	assert.Contains(t, skip.reason, "monitoring = none")
}

// TestAlertRulesThroughTheAPIServer: the check reads the PrometheusRule
// and asks Prometheus through the API server's service proxy.
func TestAlertRulesThroughTheAPIServer(t *testing.T) {
	var paths []string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.URL.Path)
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/apis/monitoring.coreos.com/v1/namespaces/data/prometheusrules/data-platform-alerts":
			_, _ = w.Write([]byte(`{"apiVersion":"monitoring.coreos.com/v1","kind":"PrometheusRule","metadata":{"namespace":"data","name":"data-platform-alerts"},"spec":{"groups":[{"name":"kafka"}]}}`))
		case "/api/v1/namespaces/monitoring/services/http:kube-prometheus-stack-prometheus:9090/proxy/api/v1/rules":
			_, _ = w.Write([]byte(`{"status":"success","data":{"groups":[{"name":"kafka","file":"/etc/prometheus/rules/r-0/data-data-platform-alerts-1.yaml","rules":[{},{}]}]}}`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer api.Close()
	config := &rest.Config{Host: api.URL}
	kube, err := kubernetes.NewForConfig(config)
	require.NoError(t, err)
	s := &Session{Kube: kube, Options: Options{Config: config, Namespace: "data", AlertRules: "data-platform-alerts",
		Prometheus: &PrometheusService{Namespace: "monitoring", Name: "kube-prometheus-stack-prometheus", Port: "9090"}}}
	detail, err := alertRulesLoaded(context.Background(), s)
	require.NoError(t, err, "paths asked: %v", paths)
	assert.Equal(t, "1 groups, 2 alerts of data/data-platform-alerts loaded by Prometheus", detail)

	s.Prometheus = nil
	detail, err = alertRulesLoaded(context.Background(), s)
	require.NoError(t, err)
	assert.Contains(t, detail, "the cluster's own Prometheus is not known here")

	s.AlertRules = "missing"
	_, err = alertRulesLoaded(context.Background(), s)
	assert.Error(t, err, "a PrometheusRule that is not there fails")
}
