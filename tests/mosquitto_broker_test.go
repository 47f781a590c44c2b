package tests

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/apk8s/apk8s-platform/components/mosquitto"
)

// mosquittoBinary finds a real broker. CI installs Debian's mosquitto and
// must never skip this test; a developer without it is told how to get it.
func mosquittoBinary(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"mosquitto", "/usr/sbin/mosquitto"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("mosquitto is not installed; .ci/run must install it (apt-get install -y mosquitto)")
	}
	t.Skip("mosquitto is not installed (apt-get install -y mosquitto); skipped outside CI")
	return ""
}

// startBroker runs mosquitto with conf on a free loopback port and stops it
// when the test ends.
func startBroker(t *testing.T, conf func(port int32) string) (addr string, log *bytes.Buffer) {
	t.Helper()
	bin := mosquittoBinary(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := int32(l.Addr().(*net.TCPAddr).Port)
	require.NoError(t, l.Close())

	file := filepath.Join(t.TempDir(), "mosquitto.conf")
	require.NoError(t, os.WriteFile(file, []byte(conf(port)), 0o644))
	log = &bytes.Buffer{}
	cmd := exec.Command(bin, "-c", file)
	cmd.Stdout, cmd.Stderr = log, log
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	addr = fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return addr, log
		}
		require.True(t, time.Now().Before(deadline), "mosquitto did not listen on %s: %s", addr, log)
		time.Sleep(50 * time.Millisecond)
	}
}

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
	addr, log := startBroker(t, func(port int32) string { return mosquitto.Conf(port, "127.0.0.1") })

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
	addr, log := startBroker(t, func(port int32) string {
		// The book's two lines; bind_address keeps the test on loopback.
		return fmt.Sprintf("user mosquitto\nport %d\nbind_address 127.0.0.1\n", port)
	})
	_, err := connect(addr, "apk8s-book")
	require.Error(t, err, "the book's config accepted an anonymous client; broker log: %s", log)
	assert.Contains(t, err.Error(), "not Authorized")
}
