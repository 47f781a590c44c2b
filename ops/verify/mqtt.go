package verify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/apk8s/apk8s-platform/components/mosquitto"
)

// TopicMQTT is where the round trip publishes, under the book's dev/apk8s
// but not on it, so that the book's subscribers never see verify's
// messages.
const TopicMQTT = "dev/apk8s/verify"

// mqttRoundTrip is the book's test: a subscriber and a publisher, both
// through a port-forward to the broker pod (the book forwards svc/mqtt,
// which is that pod), with the configured credentials. Where the Service
// has the TLS listener, they use it, trusting the namespace's CA (the
// ca.crt of the broker's certificate Secret) and checking the Service's
// name; else the book's plain listener.
func mqttRoundTrip(ctx context.Context, s *Session) (string, error) {
	ep, err := s.platformMQTT(ctx)
	if err != nil {
		return "", err
	}
	return mqttExchange(ctx, ep.url, ep.tls, ep.user, ep.password)
}

// mqttEndpoint is where and how a client reaches a broker.
type mqttEndpoint struct {
	url            string // tcp://host:port or ssl://host:port
	tls            *tls.Config
	user, password string
}

// platformMQTT reaches the platform's broker through a port-forward to its
// pod: the TLS listener where the Service has it, else the plain one.
func (s *Session) platformMQTT(ctx context.Context) (mqttEndpoint, error) {
	pod, err := s.brokerPod(ctx)
	if err != nil {
		return mqttEndpoint{}, err
	}
	svc, err := s.Kube.CoreV1().Services(s.Namespace).Get(ctx, mosquitto.Name, metav1.GetOptions{})
	if err != nil {
		return mqttEndpoint{}, fmt.Errorf("Service %s: %w", mosquitto.Name, err)
	}
	var secure bool
	for _, p := range svc.Spec.Ports {
		secure = secure || p.Port == mosquitto.MQTTS.Port
	}
	if !secure {
		f, err := s.forwardPod(ctx, pod, mosquitto.MQTT.Port)
		if err != nil {
			return mqttEndpoint{}, err
		}
		return mqttEndpoint{url: "tcp://" + f.local, user: s.MQTTUser, password: s.MQTTPassword}, nil
	}
	secret, err := s.Kube.CoreV1().Secrets(s.Namespace).Get(ctx, mosquitto.TLSSecretName, metav1.GetOptions{})
	if err != nil {
		return mqttEndpoint{}, fmt.Errorf("the broker's certificate (Secret %s): %w", mosquitto.TLSSecretName, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(secret.Data["ca.crt"]) {
		return mqttEndpoint{}, fmt.Errorf("Secret %s holds no CA certificate under ca.crt", mosquitto.TLSSecretName)
	}
	f, err := s.forwardPod(ctx, pod, mosquitto.MQTTS.Port)
	if err != nil {
		return mqttEndpoint{}, err
	}
	return mqttEndpoint{url: "ssl://" + f.local, tls: &tls.Config{RootCAs: pool, ServerName: mosquitto.Name, MinVersion: tls.VersionTLS12},
		user: s.MQTTUser, password: s.MQTTPassword}, nil
}

// brokerPod is the running pod behind the Service mqtt.
func (s *Session) brokerPod(ctx context.Context) (string, error) {
	pods, err := s.Kube.CoreV1().Pods(s.Namespace).List(ctx, metav1.ListOptions{
		LabelSelector: labels.SelectorFromSet(mosquitto.Labels).String(),
	})
	if err != nil {
		return "", err
	}
	var states []string
	for _, p := range pods.Items {
		if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
			return p.Name, nil
		}
		states = append(states, p.Name+" "+podState(p))
	}
	if len(states) == 0 {
		return "", fmt.Errorf("no pod of Deployment %s in %s", mosquitto.Name, s.Namespace)
	}
	return "", fmt.Errorf("no running broker pod: %v", states)
}

// mqttExchange subscribes to a topic of this run's own, publishes one
// message at QoS 1 and waits for it; with tlsConfig over TLS.
func mqttExchange(ctx context.Context, broker string, tlsConfig *tls.Config, user, password string) (string, error) {
	topic := TopicMQTT + "/" + randomHex(4)
	payload := "apk8s verify " + randomHex(8)
	who := "anonymously"
	if user != "" {
		who = fmt.Sprintf("as %q", user)
	}
	if tlsConfig != nil {
		who += " over TLS"
	}
	sub, err := mqttConnect(ctx, broker, tlsConfig, "apk8s-verify-sub-"+randomHex(4), user, password)
	if err != nil {
		return "", fmt.Errorf("subscriber cannot connect %s: %w", who, err)
	}
	defer sub.Disconnect(100)
	got := make(chan string, 1)
	if err := wait(ctx, sub.Subscribe(topic, 1, func(_ mqtt.Client, m mqtt.Message) {
		select {
		case got <- string(m.Payload()):
		default:
		}
	})); err != nil {
		return "", fmt.Errorf("subscribe to %s: %w", topic, err)
	}
	pub, err := mqttConnect(ctx, broker, tlsConfig, "apk8s-verify-pub-"+randomHex(4), user, password)
	if err != nil {
		return "", fmt.Errorf("publisher cannot connect %s: %w", who, err)
	}
	defer pub.Disconnect(100)
	t0 := time.Now()
	if err := wait(ctx, pub.Publish(topic, 1, false, payload)); err != nil {
		return "", fmt.Errorf("publish to %s: %w", topic, err)
	}
	select {
	case msg := <-got:
		if msg != payload {
			return "", fmt.Errorf("the subscriber got %q, want %q", msg, payload)
		}
		return fmt.Sprintf("%s, connected %s, delivered in %s", topic, who, time.Since(t0).Round(time.Millisecond)), nil
	case <-ctx.Done():
		return "", fmt.Errorf("published to %s, the subscriber got nothing: %w", topic, ctx.Err())
	}
}

func mqttConnect(ctx context.Context, broker string, tlsConfig *tls.Config, id, user, password string) (mqtt.Client, error) {
	opts := mqtt.NewClientOptions().AddBroker(broker).SetClientID(id).SetTLSConfig(tlsConfig).
		SetUsername(user).SetPassword(password).
		SetConnectTimeout(10 * time.Second).SetAutoReconnect(false).SetConnectRetry(false)
	c := mqtt.NewClient(opts)
	if err := wait(ctx, c.Connect()); err != nil {
		return nil, err
	}
	return c, nil
}

// wait waits for a paho token within ctx.
func wait(ctx context.Context, tok mqtt.Token) error {
	select {
	case <-tok.Done():
		return tok.Error()
	case <-ctx.Done():
		return errors.New("no answer from the broker: " + ctx.Err().Error())
	}
}
