package verify

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/apk8s/apk8s-platform/components/kafkaconnect"
	"github.com/apk8s/apk8s-platform/components/mosquitto"
	"github.com/apk8s/apk8s-platform/ops/brokertest"
)

// twoBrokers runs a remote broker and the platform's broker, joined by
// the bridge config the program renders for topics (plain text on
// loopback), and waits until the bridge is connected.
func twoBrokers(t *testing.T, topics []mosquitto.BridgeTopic) (platform, remote mqttEndpoint) {
	t.Helper()
	remoteAddr := brokertest.Mosquitto(t, map[string]string{"bridge": "bridge-pw"})
	host, port, _ := net.SplitHostPort(remoteAddr)
	p, _ := strconv.Atoi(port)
	b := mosquitto.Bridge{Name: "factory", ClientID: "verify-" + randomHex(3), Host: host, Port: int32(p), Username: "bridge", Topics: topics}
	dir := t.TempDir()
	for name, body := range mosquitto.BridgeFiles([]mosquitto.Bridge{b}, []string{"bridge-pw"}, dir) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600))
	}
	passwords := brokertest.PasswordFile(t, map[string]string{"apk8s": "platform-pw"})
	local, log := brokertest.MosquittoConf(t, func(port int32) string {
		conf := mosquitto.Conf("127.0.0.1", passwords, mosquitto.Listener{Port: port}) + brokertest.RunAs(t) + "\n"
		return mosquitto.IncludeBridges(conf, dir)
	})
	platform = mqttEndpoint{url: "tcp://" + local, user: "apk8s", password: "platform-pw"}
	remote = mqttEndpoint{url: "tcp://" + remoteAddr, user: "bridge", password: "bridge-pw"}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	w, err := watch(ctx, platform, "$SYS/broker/connection/"+b.ClientID+"/state")
	require.NoError(t, err)
	defer w.close()
	require.NoError(t, w.await(ctx, "$SYS/broker/connection/"+b.ClientID+"/state", "1"), "bridge not connected: %s", log)
	return platform, remote
}

// TestBridgeExchange: the row passes on brokers bridged as configured, and
// fails when a message crosses in a direction the config does not have
// (here the broker runs "both" where verify was told "in").
func TestBridgeExchange(t *testing.T) {
	strayWait, arrivalWait = 200*time.Millisecond, time.Second
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	configured := []mosquitto.BridgeTopic{
		{Pattern: "machines/#", Direction: mosquitto.DirectionIn, QoS: 1, LocalPrefix: "factory/"},
		{Pattern: "decisions/+", Direction: mosquitto.DirectionOut, QoS: 1, RemotePrefix: "plant/"},
	}
	platform, remote := twoBrokers(t, configured)
	detail, err := bridgeExchange(ctx, platform, remote, configured)
	require.NoError(t, err)
	assert.Contains(t, detail, "2 crossed as configured (in factory/machines/apk8s-verify/")
	assert.Contains(t, detail, "out plant/decisions/apk8s-verify), none the other way")

	wide := []mosquitto.BridgeTopic{{Pattern: "machines/#", Direction: mosquitto.DirectionBoth, QoS: 1, LocalPrefix: "factory/"}}
	platform, remote = twoBrokers(t, wide)
	_, err = bridgeExchange(ctx, platform, remote, configured[:1])
	require.Error(t, err)
	assert.Contains(t, err.Error(), `machines/# is "in", yet factory/machines/apk8s-verify/`)
	assert.Contains(t, err.Error(), "crossed out to machines/apk8s-verify/")

	platform, remote = twoBrokers(t, configured[1:])
	_, err = bridgeExchange(ctx, platform, remote, configured)
	require.Error(t, err, "a topic the broker does not bridge")
	assert.Contains(t, err.Error(), "machines/# in: published machines/apk8s-verify/")
}

// TestParseBridges reads back what the program renders.
func TestParseBridges(t *testing.T) {
	topics := []mosquitto.BridgeTopic{
		{Pattern: "machines/#", Direction: mosquitto.DirectionIn, QoS: 1, LocalPrefix: "factory/"},
		{Pattern: "sync/#", Direction: mosquitto.DirectionBoth, QoS: 0},
	}
	b := mosquitto.Bridge{Name: "factory", ClientID: "c", Host: "mqtt.factory.example", Port: 8883, CA: "PEM\n", Username: "u", Topics: topics}
	got, err := parseBridges(mosquitto.BridgeFiles([]mosquitto.Bridge{b}, []string{"p w"}, mosquitto.BridgesDir))
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, bridge{name: "factory", address: "mqtt.factory.example:8883", clientID: "c", ca: "PEM\n", user: "u", password: "p w", topics: topics}, got[0])
}

// connectStandIn does what the connector does, for the test: it
// subscribes to filter on the broker and writes each message to the Kafka
// topic, keyed by its MQTT topic (key, when set, replaces the key: a
// connector without the key transform).
func connectStandIn(t *testing.T, broker mqttEndpoint, filter string, cl *kgo.Client, topic, key string) {
	t.Helper()
	ctx := context.Background()
	c, err := mqttConnect(ctx, broker.url, nil, "stand-in-"+randomHex(3), broker.user, broker.password)
	require.NoError(t, err)
	t.Cleanup(func() { c.Disconnect(100) })
	require.NoError(t, wait(ctx, c.Subscribe(filter, 1, func(_ mqtt.Client, m mqtt.Message) {
		k := m.Topic()
		if key != "" {
			k = key
		}
		cl.Produce(ctx, &kgo.Record{Topic: topic, Key: []byte(k), Value: m.Payload()}, nil)
	})))
}

// TestRouteExchange: against a real Mosquitto, the in-process Kafka and a
// stand-in for Connect (Connect itself runs only on a real cluster), the
// row passes when the message reaches the topic keyed by its MQTT topic,
// and fails when nothing carries it or the key is not the topic.
func TestRouteExchange(t *testing.T) {
	t.Parallel()
	addr := brokertest.Mosquitto(t, map[string]string{"apk8s": "platform-pw"})
	broker := mqttEndpoint{url: "tcp://" + addr, user: "apk8s", password: "platform-pw"}
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation())
	require.NoError(t, err)
	defer cluster.Close()
	client := func(opts ...kgo.Opt) (*kgo.Client, error) {
		return kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(cluster.ListenAddrs()...)}, opts...)...)
	}
	producer, err := client(kgo.AllowAutoTopicCreation())
	require.NoError(t, err)
	defer producer.Close()

	connectStandIn(t, broker, "factory/machines/#", producer, "machines", "")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	detail, err := routeExchange(ctx, broker, client, route{connector: "mqtt-machines", filter: "factory/machines/#", kafkaTopic: "machines"})
	require.NoError(t, err)
	assert.Regexp(t, `^factory/machines/apk8s-verify/[0-9a-f]{8} → machines \(key factory/machines/apk8s-verify/[0-9a-f]{8}\) in `, detail)

	connectStandIn(t, broker, "factory/other/#", producer, "other", "fixed-key")
	_, err = routeExchange(ctx, broker, client, route{filter: "factory/other/#", kafkaTopic: "other"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `keyed "fixed-key", want the MQTT topic "factory/other/apk8s-verify/`)

	short, cancel2 := context.WithTimeout(context.Background(), time.Second)
	defer cancel2()
	_, err = routeExchange(short, broker, client, route{filter: "factory/unrouted/#", kafkaTopic: "unrouted"})
	require.Error(t, err, "nothing carries this filter into Kafka")
	assert.Contains(t, err.Error(), "nothing on Kafka topic unrouted")
}

// TestParseRoutes reads back the connector files the program renders.
func TestParseRoutes(t *testing.T) {
	files := kafkaconnect.ConfigFiles(kafkaconnect.Args{MQTT: "mqtt:1883", Replication: 1, Config: kafkaconnect.Config{Routes: []kafkaconnect.Route{
		{Name: "machines", Filters: []string{"factory/machines/#", "factory/lines/+"}, KafkaTopic: "machines", QoS: 1},
	}}})
	got, err := parseRoutes(files)
	require.NoError(t, err)
	assert.Equal(t, []route{
		{connector: "mqtt-machines", filter: "factory/lines/+", kafkaTopic: "machines"},
		{connector: "mqtt-machines", filter: "factory/machines/#", kafkaTopic: "machines"},
	}, got)
}
