package tests

import (
	"fmt"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/apk8s/apk8s-platform/components/mosquitto"
	"github.com/apk8s/apk8s-platform/internal/brokertest"
)

func connect(addr, id string) (mqtt.Client, error) {
	opts := mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).
		SetConnectTimeout(5 * time.Second).SetAutoReconnect(false).SetConnectRetry(false)
	c := mqtt.NewClient(opts)
	tok := c.Connect()
	if !tok.WaitTimeout(10 * time.Second) {
		return nil, fmt.Errorf("connect to %s timed out", addr)
	}
	return c, tok.Error()
}

// TestMosquittoRoundTrip is the book's test on a real broker: a subscriber
// on dev/apk8s receives what a second client publishes, with the
// mosquitto.conf the program puts in the ConfigMap (bound to loopback here).
func TestMosquittoRoundTrip(t *testing.T) {
	addr, log := brokertest.MosquittoConf(t, func(port int32) string { return mosquitto.Conf(port, "127.0.0.1") })

	sub, err := connect(addr, "apk8s-sub")
	require.NoError(t, err, "broker log: %s", log)
	defer sub.Disconnect(100)
	got := make(chan string, 1)
	tok := sub.Subscribe("dev/apk8s", 1, func(_ mqtt.Client, m mqtt.Message) { got <- string(m.Payload()) })
	require.True(t, tok.WaitTimeout(5*time.Second))
	require.NoError(t, tok.Error())

	pub, err := connect(addr, "apk8s-pub")
	require.NoError(t, err)
	defer pub.Disconnect(100)
	ptok := pub.Publish("dev/apk8s", 1, false, "hello from the data platform")
	require.True(t, ptok.WaitTimeout(5*time.Second))
	require.NoError(t, ptok.Error())

	select {
	case msg := <-got:
		assert.Equal(t, "hello from the data platform", msg)
	case <-time.After(10 * time.Second):
		t.Fatalf("the subscriber got nothing; broker log: %s", log)
	}
}

// TestBookConfigRefusesClients shows why the config changed: the book's
// "port 1883" alone, on Mosquitto 2, turns every client away.
func TestBookConfigRefusesClients(t *testing.T) {
	addr, log := brokertest.MosquittoConf(t, func(port int32) string {
		// The book's two lines; bind_address keeps the test on loopback.
		return fmt.Sprintf("user mosquitto\nport %d\nbind_address 127.0.0.1\n", port)
	})
	_, err := connect(addr, "apk8s-book")
	require.Error(t, err, "the book's config accepted an anonymous client; broker log: %s", log)
	assert.Contains(t, err.Error(), "not Authorized")
}
