package verify

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/apk8s/apk8s-platform/components/kafka"
)

// TopicPrefix starts the name of the topic each run creates and deletes:
// a name of its own per run, so that a run never reads an earlier run's
// message and never touches the book's topic "test".
const TopicPrefix = "apk8s-verify-"

// kafkaSession is the Kafka client the brokers check makes and the topic
// and round-trip checks reuse.
type kafkaSession struct {
	dialer  *brokerDialer
	client  *kgo.Client
	brokers int    // pods of the StatefulSet
	topic   string // created by the topic check
}

// brokerDialer maps the brokers' advertised in-cluster names
// (kafka-N.kafka-headless.<ns>.svc.cluster.local:9092), which a client
// outside the cluster cannot resolve, onto the port-forwards to their pods.
// Every connection of the Kafka clients goes through it; an address it does
// not know is refused rather than dialed.
type brokerDialer struct {
	forwards map[string]*forward // advertised host:port -> forward
}

func newBrokerDialer() *brokerDialer { return &brokerDialer{forwards: map[string]*forward{}} }

// add maps pod's advertised address onto f.
func (d *brokerDialer) add(ns string, f *forward) string {
	addr := net.JoinHostPort(kafka.BrokerHost(ns, f.pod), strconv.Itoa(int(kafka.Broker.Port)))
	d.forwards[addr] = f
	return addr
}

// seeds are the advertised addresses, the client's bootstrap list.
func (d *brokerDialer) seeds() []string {
	out := make([]string, 0, len(d.forwards))
	for a := range d.forwards {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// DialContext is kgo's dialer.
func (d *brokerDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	f, ok := d.forwards[addr]
	if !ok {
		return nil, fmt.Errorf("broker address %s is none of the forwarded brokers (%s)", addr, strings.Join(d.seeds(), ", "))
	}
	if err := f.ended(); err != nil {
		return nil, err
	}
	var nd net.Dialer
	conn, err := nd.DialContext(ctx, network, f.local)
	if err != nil {
		return nil, fmt.Errorf("broker %s through its port-forward %s: %w", f.pod, f.local, err)
	}
	return conn, nil
}

func (s *Session) kafkaClient(extra ...kgo.Opt) (*kgo.Client, error) {
	opts := append([]kgo.Opt{
		kgo.SeedBrokers(s.kafka.dialer.seeds()...),
		kgo.Dialer(s.kafka.dialer.DialContext),
		kgo.RequestRetries(2),
		kgo.RetryTimeout(s.Timeout / 2),
	}, extra...)
	return kgo.NewClient(opts...)
}

// kafkaBrokers forwards to every broker pod of the StatefulSet and asks
// each broker on its own for the cluster metadata: every broker must answer,
// and the metadata must list every pod under its advertised name. Asking
// each one (not any one, as a client would) is what finds a stopped broker.
func kafkaBrokers(ctx context.Context, s *Session) (string, error) {
	n, err := s.replicas(ctx, kafka.Name)
	if err != nil {
		return "", err
	}
	d := newBrokerDialer()
	var problems, answered []string
	var listed kadm.BrokerDetails
	for i := range n {
		pod := fmt.Sprintf("%s-%d", kafka.Name, i)
		f, err := s.forwardPod(ctx, pod, kafka.Broker.Port)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		addr := d.add(s.Namespace, f)
		meta, err := brokerMetadata(ctx, d, addr)
		if err != nil {
			if ended := f.ended(); ended != nil {
				err = ended
			}
			problems = append(problems, fmt.Sprintf("%s does not answer: %v", pod, err))
			continue
		}
		answered = append(answered, pod)
		listed = meta.Brokers
	}
	if len(d.forwards) > 0 {
		s.kafka = &kafkaSession{dialer: d, brokers: n}
		if s.kafka.client, err = s.kafkaClient(); err != nil {
			return "", err
		}
	}
	return brokersReport(s.Namespace, n, listed, answered, problems)
}

// brokerMetadata asks the one broker at addr, through d, for the metadata.
func brokerMetadata(ctx context.Context, d *brokerDialer, addr string) (kadm.Metadata, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.Dialer(d.DialContext), kgo.RequestRetries(0))
	if err != nil {
		return kadm.Metadata{}, err
	}
	defer cl.Close()
	return kadm.NewClient(cl).BrokerMetadata(ctx)
}

// brokersReport passes when the metadata lists the n brokers of the
// StatefulSet under their advertised names, no other, and each answered.
func brokersReport(ns string, n int, listed kadm.BrokerDetails, answered, problems []string) (string, error) {
	byHost := map[string]kadm.BrokerDetail{}
	for _, b := range listed {
		byHost[b.Host] = b
	}
	var ok []string
	for i := range n {
		pod := fmt.Sprintf("%s-%d", kafka.Name, i)
		b, found := byHost[kafka.BrokerHost(ns, pod)]
		delete(byHost, b.Host)
		switch {
		case listed != nil && !found:
			problems = append(problems, pod+" is not in the cluster metadata")
		case slices.Contains(answered, pod):
			ok = append(ok, fmt.Sprintf("%s (id %d)", pod, b.NodeID))
		}
	}
	for host, b := range byHost {
		problems = append(problems, fmt.Sprintf("broker id %d advertises %s, no pod of the StatefulSet", b.NodeID, host))
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return "", errors.New(strings.Join(problems, "; "))
	}
	return fmt.Sprintf("%d of %d answer: %s", len(ok), n, strings.Join(ok, ", ")), nil
}

// kafkaTopic is the book's `kafka-topics --create` with 1 partition, on a
// topic of this run's own (the session deletes it at the end), but without
// a replication factor: the brokers give it default.replication.factor,
// which must follow the internal topics' rule (the book's factor 1 refuses
// acks=all writes once min.insync.replicas is 2, at three brokers).
func kafkaTopic(ctx context.Context, s *Session) (string, error) {
	if s.kafka == nil {
		return "", Skipped("no broker to ask (see kafka brokers)")
	}
	topic := TopicPrefix + randomHex(4)
	adm := kadm.NewClient(s.kafka.client)
	resp, err := adm.CreateTopic(ctx, 1, -1, nil, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		return "", fmt.Errorf("create %s: %w", topic, err)
	}
	s.kafka.topic = topic
	s.cleanups = append(s.cleanups, func(ctx context.Context) error {
		resp, err := adm.DeleteTopic(ctx, topic)
		if err == nil {
			err = resp.Err
		}
		if err != nil {
			return fmt.Errorf("delete topic %s: %w", topic, err)
		}
		return nil
	})
	return topicReport(topic, resp.ReplicationFactor, s.kafka.brokers)
}

// topicReport passes when a topic created without a factor got the
// default the brokers should have: three copies, or one per broker.
func topicReport(topic string, replicas int16, brokers int) (string, error) {
	want := kafka.Replication(int32(brokers))
	if int32(replicas) != want {
		return "", fmt.Errorf("%s was created with %d replicas by the brokers' default.replication.factor; %d brokers should give %d (min(3, brokers))",
			topic, replicas, brokers, want)
	}
	return fmt.Sprintf("%s, 1 partition, %d replicas (the brokers' default)", topic, replicas), nil
}

// kafkaRoundTrip is the book's console producer and consumer: one record
// produced to the topic and read back from its start by a second client.
func kafkaRoundTrip(ctx context.Context, s *Session) (string, error) {
	if s.kafka == nil || s.kafka.topic == "" {
		return "", Skipped("no topic to use (see kafka topic created)")
	}
	payload := []byte("apk8s verify " + randomHex(8))
	t0 := time.Now()
	rec, err := s.kafka.client.ProduceSync(ctx, &kgo.Record{Topic: s.kafka.topic, Value: payload}).First()
	if err != nil {
		return "", fmt.Errorf("produce: %w", err)
	}
	consumer, err := s.kafkaClient(kgo.ConsumeTopics(s.kafka.topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return "", err
	}
	defer consumer.Close()
	for {
		fetches := consumer.PollFetches(ctx)
		if ctx.Err() != nil {
			return "", fmt.Errorf("produced to partition %d offset %d, consumed nothing back: %w", rec.Partition, rec.Offset, ctx.Err())
		}
		var errs []error
		fetches.EachError(func(_ string, _ int32, err error) { errs = append(errs, err) })
		if len(errs) > 0 {
			return "", fmt.Errorf("consume: %w", errors.Join(errs...))
		}
		for _, r := range fetches.Records() {
			if bytes.Equal(r.Value, payload) {
				return fmt.Sprintf("1 record through partition %d offset %d in %s", r.Partition, r.Offset, time.Since(t0).Round(time.Millisecond)), nil
			}
		}
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
