// Package verify runs the book's checks (chapter 5) against a deployed
// stack: the ZooKeeper ensemble, a Kafka topic and a message through the
// brokers, an MQTT round trip, the certificate and the claims. It talks to
// the cluster through client-go and reaches the brokers through
// port-forwards, as a user at a laptop would. The Pulumi program never
// imports it: its build stays as small as it is.
package verify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Options say which cluster and namespace to check, and with what.
type Options struct {
	// Config reaches the stack's cluster.
	Config *rest.Config
	// Namespace holds the data services ("data").
	Namespace string
	// KRaftVoters is the controller quorum of a stack in KRaft mode (its
	// output kafkaControllerVoters); 0 for the book's ZooKeeper mode.
	KRaftVoters int
	// Certificate says whether the stack makes the Certificate data-cert.
	Certificate bool
	// AlertRules is the PrometheusRule of the data namespace ("" = the
	// stack has no monitoring); Prometheus is the Service of the Prometheus
	// that should load it (nil = the cluster's own, not known here).
	AlertRules string
	Prometheus *PrometheusService
	// MQTTUser and MQTTPassword are the broker's credentials; "" connects
	// anonymously (the book's broker).
	MQTTUser, MQTTPassword string
	// Timeout bounds each check.
	Timeout time.Duration
	// Log receives what the port-forwards and clients say on the way
	// (nil = nowhere); the table never includes it.
	Log io.Writer
}

// Status is the outcome of one check.
type Status string

// The outcomes, as the table prints them.
const (
	Pass Status = "PASS"
	Fail Status = "FAIL"
	Skip Status = "SKIP"
)

// Result is one line of the table.
type Result struct {
	Check  string
	Status Status
	Detail string
}

// Check is one line's work. It returns what it saw; an error fails it,
// a skipped error skips it.
type Check struct {
	Name string
	Run  func(ctx context.Context, s *Session) (string, error)
}

// skipped marks a check that does not apply or cannot run.
type skipped struct{ reason string }

func (s skipped) Error() string { return s.reason }

// Skipped returns the error that marks a check as skipped, with why.
func Skipped(format string, args ...any) error { return skipped{fmt.Sprintf(format, args...)} }

// Session is what the checks share: the API client, the port-forwards
// they opened and what earlier checks left for later ones.
type Session struct {
	Options
	Kube kubernetes.Interface

	forwards []*forward
	kafka    *kafkaSession
	cleanups []func(context.Context) error
}

// Plan is the checks of a stack, in the order a user runs them: the pods
// first (a pod that is not running explains most later failures), then the
// coordination layer, the brokers, MQTT, the certificate and the claims.
func Plan(o Options) []Check {
	// The coordination layer of the brokers: the ensemble, or in KRaft
	// mode the controller quorum among the brokers' own pods.
	coordination := Check{Name: "zookeeper ensemble", Run: zookeeperEnsemble}
	if o.KRaftVoters > 0 {
		coordination = Check{Name: "kafka controller quorum", Run: controllerQuorum}
	}
	return []Check{
		{Name: "pods running", Run: podsRunning},
		coordination,
		{Name: "kafka brokers", Run: kafkaBrokers},
		{Name: "kafka topic created", Run: kafkaTopic},
		{Name: "kafka produce/consume", Run: kafkaRoundTrip},
		{Name: "mqtt publish/subscribe", Run: mqttRoundTrip},
		{Name: "mqtt bridges", Run: mqttBridges},
		{Name: "mqtt to kafka", Run: mqttToKafka},
		{Name: "certificate " + certificateName, Run: certificateReady},
		{Name: "claims bound", Run: claimsBound},
		{Name: "alert rules loaded", Run: alertRulesLoaded},
	}
}

// Run opens a session on the cluster and runs the checks one after the
// other, each within o.Timeout. It fails only when the cluster cannot be
// reached at all; every other problem is a failed line.
func Run(ctx context.Context, o Options, checks []Check) ([]Result, error) {
	kube, err := kubernetes.NewForConfig(o.Config)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	s := &Session{Options: o, Kube: kube}
	nctx, cancel := context.WithTimeout(ctx, o.Timeout)
	err = s.namespaceExists(nctx)
	cancel()
	if err != nil {
		return nil, err
	}
	defer s.close(ctx)
	results := make([]Result, 0, len(checks))
	for _, c := range checks {
		results = append(results, s.run(ctx, c))
	}
	return results, nil
}

func (s *Session) run(ctx context.Context, c Check) Result {
	ctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	detail, err := c.Run(ctx, s)
	var skip skipped
	switch {
	case errors.As(err, &skip):
		return Result{Check: c.Name, Status: Skip, Detail: skip.reason}
	case err != nil:
		return Result{Check: c.Name, Status: Fail, Detail: err.Error()}
	}
	return Result{Check: c.Name, Status: Pass, Detail: detail}
}

// close undoes what the checks left behind (the test topic) and stops the
// port-forwards. A failed cleanup is logged, never a failed check.
func (s *Session) close(ctx context.Context) {
	for i := len(s.cleanups) - 1; i >= 0; i-- {
		cctx, cancel := context.WithTimeout(ctx, s.Timeout)
		if err := s.cleanups[i](cctx); err != nil {
			fmt.Fprintf(s.Log, "verify: cleanup: %v\n", err)
		}
		cancel()
	}
	if s.kafka != nil {
		s.kafka.client.Close()
	}
	for _, f := range s.forwards {
		f.stop()
	}
}
