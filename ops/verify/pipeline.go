package verify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/twmb/franz-go/pkg/kgo"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/apk8s/apk8s-platform/components/kafkaconnect"
	"github.com/apk8s/apk8s-platform/components/mosquitto"
)

// The chapter's pipeline, checked as deployed: each bridge carries a
// message in its configured directions and not in the others, and a
// message published on MQTT reaches the Kafka topic of its route. Both
// read what is deployed (the bridges' Secret, Connect's ConfigMap), not
// the stack's config.

// VerifyLevel is the topic level verify's messages go under, inside a
// bridged pattern or a route's filter, so that no consumer of the real
// topics mistakes them for a machine's.
const VerifyLevel = "apk8s-verify"

// strayWait is how long a message in a direction not configured is given
// to arrive (it must not); arrivalWait how long one in a configured
// direction may take.
var (
	strayWait   = time.Second
	arrivalWait = 10 * time.Second
)

// bridge is one connection block of the bridges' Secret.
type bridge struct {
	name, address, clientID string
	ca                      string // PEM, "" = plain text
	user, password          string
	topics                  []mosquitto.BridgeTopic
}

// parseBridges reads the bridges' Secret as mosquitto.BridgeFiles writes it.
func parseBridges(files map[string]string) ([]bridge, error) {
	var out []bridge
	var b *bridge
	for _, line := range strings.Split(files[mosquitto.BridgesFile], "\n") {
		key, value, _ := strings.Cut(strings.TrimSpace(line), " ")
		if key == "connection" {
			out = append(out, bridge{name: value})
			b = &out[len(out)-1]
			continue
		}
		if b == nil {
			continue
		}
		switch key {
		case "address":
			b.address = value
		case "remote_clientid":
			b.clientID = value
		case "remote_username":
			b.user = value
		case "remote_password":
			b.password = value
		case "bridge_cafile":
			b.ca = files[value[strings.LastIndex(value, "/")+1:]]
			if b.ca == "" {
				return nil, fmt.Errorf("bridge %s: no CA file %s in the Secret", b.name, value)
			}
		case "topic":
			f := strings.Fields(value)
			if len(f) < 3 {
				return nil, fmt.Errorf("bridge %s: topic line %q", b.name, line)
			}
			qos, _ := strconv.Atoi(f[2])
			t := mosquitto.BridgeTopic{Pattern: f[0], Direction: f[1], QoS: qos}
			if len(f) == 5 {
				t.LocalPrefix, t.RemotePrefix = strings.Trim(f[3], `"`), strings.Trim(f[4], `"`)
			}
			b.topics = append(b.topics, t)
		}
	}
	return out, nil
}

// concreteTopic is a topic of verify's own that pattern matches: '#'
// becomes verify's level and a random one, '+' verify's level.
func concreteTopic(pattern string) string {
	levels := strings.Split(pattern, "/")
	for i, l := range levels {
		switch l {
		case "#":
			levels[i] = VerifyLevel + "/" + randomHex(4)
		case "+":
			levels[i] = VerifyLevel
		}
	}
	return strings.Join(levels, "/")
}

// mqttBridges checks every bridge of the bridges' Secret against its
// remote, which verify reaches directly with the bridge's own address,
// credentials and CA (from where verify runs: a remote behind NAT fails
// here and says so).
func mqttBridges(ctx context.Context, s *Session) (string, error) {
	secrets, err := s.Kube.CoreV1().Secrets(s.Namespace).List(ctx, metav1.ListOptions{
		LabelSelector: labels.SelectorFromSet(mosquitto.Labels).String(),
	})
	if err != nil {
		return "", err
	}
	var bridges []bridge
	for _, sec := range secrets.Items {
		if _, ok := sec.Data[mosquitto.BridgesFile]; !ok {
			continue
		}
		files := map[string]string{}
		for k, v := range sec.Data {
			files[k] = string(v)
		}
		if bridges, err = parseBridges(files); err != nil {
			return "", err
		}
	}
	if len(bridges) == 0 {
		return "", Skipped("no bridges (mqttBridges)")
	}
	platform, err := s.platformMQTT(ctx)
	if err != nil {
		return "", err
	}
	var ok, problems []string
	for _, b := range bridges {
		remote, err := b.endpoint()
		if err == nil {
			var detail string
			if detail, err = bridgeExchange(ctx, platform, remote, b.topics); err == nil {
				ok = append(ok, b.name+": "+detail)
				continue
			}
		}
		problems = append(problems, fmt.Sprintf("%s (%s): %v", b.name, b.address, err))
	}
	if len(problems) > 0 {
		return "", errors.New(strings.Join(problems, "; "))
	}
	return strings.Join(ok, "; "), nil
}

// endpoint is how verify reaches the bridge's remote: as the bridge does.
func (b bridge) endpoint() (mqttEndpoint, error) {
	if b.ca == "" {
		return mqttEndpoint{url: "tcp://" + b.address, user: b.user, password: b.password}, nil
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(b.ca)) {
		return mqttEndpoint{}, errors.New("the bridge's CA holds no certificate")
	}
	host, _, err := net.SplitHostPort(b.address)
	if err != nil {
		return mqttEndpoint{}, err
	}
	return mqttEndpoint{url: "ssl://" + b.address, tls: &tls.Config{RootCAs: pool, ServerName: host, MinVersion: tls.VersionTLS12},
		user: b.user, password: b.password}, nil
}

// bridgeExchange sends one message per topic and direction: it must
// arrive in each configured direction, with the prefixes, and must not in
// a direction not configured.
func bridgeExchange(ctx context.Context, platform, remote mqttEndpoint, topics []mosquitto.BridgeTopic) (string, error) {
	local, err := watch(ctx, platform, "#")
	if err != nil {
		return "", fmt.Errorf("platform broker: %w", err)
	}
	defer local.close()
	far, err := watch(ctx, remote, "#")
	if err != nil {
		return "", fmt.Errorf("remote broker: %w", err)
	}
	defer far.close()
	var crossed []string
	for _, t := range topics {
		topic := concreteTopic(t.Pattern)
		in := t.Direction == mosquitto.DirectionIn || t.Direction == mosquitto.DirectionBoth
		out := t.Direction == mosquitto.DirectionOut || t.Direction == mosquitto.DirectionBoth
		for _, leg := range []struct {
			configured bool
			from, to   mqttEndpoint
			at         *watcher
			src, dst   string
			name       string
		}{
			{in, remote, platform, local, t.RemotePrefix + topic, t.LocalPrefix + topic, "in"},
			{out, platform, remote, far, t.LocalPrefix + topic, t.RemotePrefix + topic, "out"},
		} {
			payload := "apk8s verify " + randomHex(8)
			if err := publishOnce(ctx, leg.from, leg.src, payload); err != nil {
				return "", err
			}
			if leg.configured {
				actx, cancel := context.WithTimeout(ctx, arrivalWait)
				err := leg.at.await(actx, leg.dst, payload)
				cancel()
				if err != nil {
					return "", fmt.Errorf("%s %s: published %s, nothing on %s: %w", t.Pattern, leg.name, leg.src, leg.dst, err)
				}
				crossed = append(crossed, leg.name+" "+leg.dst)
				continue
			}
			select {
			case <-time.After(strayWait):
			case <-ctx.Done():
				return "", ctx.Err()
			}
			if leg.at.has(leg.dst, payload) {
				return "", fmt.Errorf("%s is %q, yet %s crossed %s to %s", t.Pattern, t.Direction, leg.src, leg.name, leg.dst)
			}
		}
	}
	return fmt.Sprintf("%d crossed as configured (%s), none the other way", len(crossed), strings.Join(crossed, ", ")), nil
}

// watcher collects what one subscription receives.
type watcher struct {
	client mqtt.Client
	mu     sync.Mutex
	got    map[string][]string
	news   chan struct{}
}

func watch(ctx context.Context, ep mqttEndpoint, filter string) (*watcher, error) {
	c, err := mqttConnect(ctx, ep.url, ep.tls, "apk8s-verify-watch-"+randomHex(4), ep.user, ep.password)
	if err != nil {
		return nil, err
	}
	w := &watcher{client: c, got: map[string][]string{}, news: make(chan struct{}, 1)}
	if err := wait(ctx, c.Subscribe(filter, 1, func(_ mqtt.Client, m mqtt.Message) {
		w.mu.Lock()
		w.got[m.Topic()] = append(w.got[m.Topic()], string(m.Payload()))
		w.mu.Unlock()
		select {
		case w.news <- struct{}{}:
		default:
		}
	})); err != nil {
		c.Disconnect(100)
		return nil, err
	}
	return w, nil
}

func (w *watcher) close() { w.client.Disconnect(100) }

func (w *watcher) has(topic, payload string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, p := range w.got[topic] {
		if p == payload {
			return true
		}
	}
	return false
}

func (w *watcher) await(ctx context.Context, topic, payload string) error {
	for !w.has(topic, payload) {
		select {
		case <-w.news:
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func publishOnce(ctx context.Context, ep mqttEndpoint, topic, payload string) error {
	c, err := mqttConnect(ctx, ep.url, ep.tls, "apk8s-verify-pub-"+randomHex(4), ep.user, ep.password)
	if err != nil {
		return fmt.Errorf("publisher on %s: %w", ep.url, err)
	}
	defer c.Disconnect(100)
	if err := wait(ctx, c.Publish(topic, 1, false, payload)); err != nil {
		return fmt.Errorf("publish to %s: %w", topic, err)
	}
	return nil
}

// route is one connector of Connect's ConfigMap: an MQTT filter and the
// Kafka topic it writes to.
type route struct {
	connector, filter, kafkaTopic string
}

var kcqlStatement = regexp.MustCompile("^INSERT INTO `([^`]+)` SELECT \\* FROM `([^`]+)`$")

// parseRoutes reads the connectors' files of Connect's ConfigMap.
func parseRoutes(files map[string]string) ([]route, error) {
	var out []route
	for name, body := range files {
		connector, ok := strings.CutSuffix(name, ".json")
		if !ok {
			continue
		}
		var config map[string]string
		if err := json.Unmarshal([]byte(body), &config); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		for _, statement := range strings.Split(config["connect.mqtt.kcql"], ";") {
			m := kcqlStatement.FindStringSubmatch(statement)
			if m == nil {
				return nil, fmt.Errorf("%s: KCQL %q", name, statement)
			}
			out = append(out, route{connector: connector, kafkaTopic: m[1], filter: m[2]})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].connector+out[i].filter < out[j].connector+out[j].filter })
	return out, nil
}

// mqttToKafka publishes on the platform's broker under each route's filter
// and reads the message back from the route's Kafka topic, keyed by its
// MQTT topic.
func mqttToKafka(ctx context.Context, s *Session) (string, error) {
	cm, err := s.Kube.CoreV1().ConfigMaps(s.Namespace).Get(ctx, kafkaconnect.Name, metav1.GetOptions{})
	if err != nil {
		return "", Skipped("no Kafka Connect (mqttToKafka): %v", err)
	}
	routes, err := parseRoutes(cm.Data)
	if err != nil {
		return "", err
	}
	if s.kafka == nil {
		return "", Skipped("no broker to read from (see kafka brokers)")
	}
	platform, err := s.platformMQTT(ctx)
	if err != nil {
		return "", err
	}
	var ok []string
	for _, r := range routes {
		detail, err := routeExchange(ctx, platform, func(opts ...kgo.Opt) (*kgo.Client, error) { return s.kafkaClient(opts...) }, r)
		if err != nil {
			return "", fmt.Errorf("%s: %w", r.connector, err)
		}
		ok = append(ok, detail)
	}
	return strings.Join(ok, "; "), nil
}

// routeExchange publishes one message under the route's filter and waits
// for it on the Kafka topic, with the MQTT topic as key. The consumer
// starts at the records written from a little before the publish on, by
// timestamp: not the topic's whole history, and not its end, which a
// consumer that meets the topic only after Connect created it would find
// past the record.
func routeExchange(ctx context.Context, platform mqttEndpoint, client func(...kgo.Opt) (*kgo.Client, error), r route) (string, error) {
	t0 := time.Now()
	consumer, err := client(kgo.ConsumeTopics(r.kafkaTopic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AfterMilli(t0.Add(-5*time.Second).UnixMilli())))
	if err != nil {
		return "", err
	}
	defer consumer.Close()
	topic := concreteTopic(r.filter)
	payload := "apk8s verify " + randomHex(8)
	if err := publishOnce(ctx, platform, topic, payload); err != nil {
		return "", err
	}
	for {
		fetches := consumer.PollFetches(ctx)
		if ctx.Err() != nil {
			return "", fmt.Errorf("published %s on MQTT, nothing on Kafka topic %s: %w", topic, r.kafkaTopic, ctx.Err())
		}
		for _, rec := range fetches.Records() {
			if string(rec.Value) != payload {
				continue
			}
			if string(rec.Key) != topic {
				return "", fmt.Errorf("the record on %s is keyed %q, want the MQTT topic %q", r.kafkaTopic, rec.Key, topic)
			}
			return fmt.Sprintf("%s → %s (key %s) in %s", topic, r.kafkaTopic, topic, time.Since(t0).Round(time.Millisecond)), nil
		}
	}
}
