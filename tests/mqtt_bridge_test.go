package tests

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/apk8s/apk8s-platform/components/mosquitto"
	"github.com/apk8s/apk8s-platform/ops/brokertest"
)

// testCA is a CA of the test's own and the server certificate it signed
// for 127.0.0.1, written as PEM files.
type testCA struct {
	certPEM         string
	serverCert, key string // files
	cert            *x509.Certificate
	signer          *ecdsa.PrivateKey
}

func newTestCA(t *testing.T, dir, name string) testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	ca := testCA{certPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), cert: cert, signer: key}

	serverKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, cert, &serverKey.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(serverKey)
	require.NoError(t, err)
	ca.serverCert = filepath.Join(dir, name+".crt")
	ca.key = filepath.Join(dir, name+".key")
	require.NoError(t, os.WriteFile(ca.serverCert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}), 0o600))
	require.NoError(t, os.WriteFile(ca.key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600))
	return ca
}

// remoteBroker is the factory's broker: a TLS listener on loopback with
// a certificate of the factory's CA, where the bridge connects (its
// address), and a plain one for the factory's machines (machines); the
// bridge's user and the machines' user.
func remoteBroker(t *testing.T, ca testCA, user, password string) (bridge, machines string, log *brokertest.Log) {
	t.Helper()
	passwords := brokertest.PasswordFile(t, map[string]string{user: password, "machine": "machine-pw"})
	machines = freeLoopback(t)
	bridge, log = brokertest.MosquittoConf(t, func(port int32) string {
		_, plain, _ := net.SplitHostPort(machines)
		return strings.Join([]string{
			fmt.Sprintf("listener %d 127.0.0.1", port),
			"certfile " + ca.serverCert, "keyfile " + ca.key,
			"listener " + plain + " 127.0.0.1",
			"allow_anonymous false", "password_file " + passwords,
			"persistence false", "log_dest stdout", "log_dest stderr", brokertest.RunAs(t),
		}, "\n") + "\n"
	})
	return bridge, machines, log
}

// freeLoopback is a loopback address whose port was free a moment ago.
func freeLoopback(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

// platformBroker is the platform's broker as the pod runs it: the
// ConfigMap's mosquitto.conf (on loopback) ending in include_dir, and the
// bridges' Secret written as files into that directory.
func platformBroker(t *testing.T, bridges []mosquitto.Bridge, passwords []string) (string, *brokertest.Log) {
	t.Helper()
	dir := t.TempDir()
	for name, body := range mosquitto.BridgeFiles(bridges, passwords, dir) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600))
	}
	passwords0 := brokertest.PasswordFile(t, map[string]string{"apk8s": "platform-pw"})
	return brokertest.MosquittoConf(t, func(port int32) string {
		// stderr, unlike stdout, is not buffered: the test reads the log as
		// the broker writes it.
		conf := mosquitto.Conf("127.0.0.1", passwords0, mosquitto.Listener{Port: port}) + "log_dest stderr\n" + brokertest.RunAs(t) + "\n"
		return mosquitto.IncludeBridges(conf, dir)
	})
}

// inbox collects what a client's subscription receives, by topic.
type inbox struct {
	mu  sync.Mutex
	got map[string][]string
	new chan struct{}
}

func subscribeAll(t *testing.T, addr, user, password, filter string) *inbox {
	t.Helper()
	c, err := connect(addr, "sub-"+randomHex(4), user, password)
	require.NoError(t, err)
	t.Cleanup(func() { c.Disconnect(100) })
	in := &inbox{got: map[string][]string{}, new: make(chan struct{}, 100)}
	tok := c.Subscribe(filter, 1, func(_ mqtt.Client, m mqtt.Message) {
		in.mu.Lock()
		in.got[m.Topic()] = append(in.got[m.Topic()], string(m.Payload()))
		in.mu.Unlock()
		in.new <- struct{}{}
	})
	require.True(t, tok.WaitTimeout(5*time.Second))
	require.NoError(t, tok.Error())
	return in
}

// waitFor waits until topic has payload.
func (in *inbox) waitFor(t *testing.T, topic, payload string, why string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		in.mu.Lock()
		for _, p := range in.got[topic] {
			if p == payload {
				in.mu.Unlock()
				return
			}
		}
		in.mu.Unlock()
		select {
		case <-in.new:
		case <-deadline:
			t.Fatalf("%s: nothing on %s; received %v", why, topic, in.topics())
		}
	}
}

func (in *inbox) topics() []string {
	in.mu.Lock()
	defer in.mu.Unlock()
	var out []string
	for k := range in.got {
		out = append(out, k)
	}
	return out
}

func (in *inbox) has(topic string) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return len(in.got[topic]) > 0
}

func publish(t *testing.T, addr, user, password, topic, payload string) {
	t.Helper()
	c, err := connect(addr, "pub-"+randomHex(4), user, password)
	require.NoError(t, err)
	defer c.Disconnect(100)
	tok := c.Publish(topic, 1, false, payload)
	require.True(t, tok.WaitTimeout(5*time.Second))
	require.NoError(t, tok.Error())
}

// bridgeState waits for the bridge's notification on the platform's
// broker: "1" connected, "0" not.
func bridgeState(t *testing.T, addr string, b mosquitto.Bridge, want string) {
	t.Helper()
	state := subscribeAll(t, addr, "apk8s", "platform-pw", "$SYS/broker/connection/"+b.ClientID+"/state")
	state.waitFor(t, "$SYS/broker/connection/"+b.ClientID+"/state", want, "bridge "+b.Name+" state")
}

// factoryBridge is the chapter's bridge: the machines' readings come in
// under factory/, the decisions go out under plant/.
func factoryBridge(remote, ca string) mosquitto.Bridge {
	host, port, _ := net.SplitHostPort(remote)
	var p int32
	fmt.Sscan(port, &p)
	return mosquitto.Bridge{
		Name: "factory", ClientID: "apk8s-test-factory-" + randomHex(3), Host: host, Port: p, CA: ca, Username: "bridge",
		Topics: []mosquitto.BridgeTopic{
			{Pattern: "machines/#", Direction: mosquitto.DirectionIn, QoS: 1, LocalPrefix: "factory/"},
			{Pattern: "decisions/#", Direction: mosquitto.DirectionOut, QoS: 1, RemotePrefix: "plant/"},
			{Pattern: "sync/#", Direction: mosquitto.DirectionBoth, QoS: 1},
		},
	}
}

// TestBridgeJoinsTwoRealBrokers: the rendered connection block joins the
// platform's broker to a factory broker over TLS with the factory's CA;
// messages cross in the configured directions, with the prefixes, and not
// in the others.
func TestBridgeJoinsTwoRealBrokers(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca := newTestCA(t, dir, "factory")
	// A password with a space and a '#': the connection block keeps it whole.
	password := "bridge pw#" + randomHex(4)
	remote, machines, remoteLog := remoteBroker(t, ca, "bridge", password)
	b := factoryBridge(remote, ca.certPEM)
	local, localLog := platformBroker(t, []mosquitto.Bridge{b}, []string{password})
	bridgeState(t, local, b, "1")

	atRemote := subscribeAll(t, machines, "machine", "machine-pw", "#")
	atLocal := subscribeAll(t, local, "apk8s", "platform-pw", "#")

	// in: the remote's machines/# arrive under factory/; the remote's
	// decisions (an "out" topic) do not come in, nor does an unbridged
	// topic. Each negative goes first on the same path as the positive
	// after it, so that it would have arrived before.
	publish(t, machines, "machine", "machine-pw", "decisions/d-in", "must not come in")
	publish(t, machines, "machine", "machine-pw", "plant/decisions/d-in", "must not come in")
	publish(t, machines, "machine", "machine-pw", "other/x", "not bridged")
	publish(t, machines, "machine", "machine-pw", "machines/m1", "21.5")
	atLocal.waitFor(t, "factory/machines/m1", "21.5", "in: remote machines/m1 → platform factory/machines/m1; logs:\n"+localLog.String()+remoteLog.String())

	// out: the platform's decisions/# leave under plant/; the platform's
	// factory/machines (an "in" topic) do not go out.
	publish(t, local, "apk8s", "platform-pw", "factory/machines/m2", "must not go out")
	publish(t, local, "apk8s", "platform-pw", "other/y", "not bridged")
	publish(t, local, "apk8s", "platform-pw", "decisions/d1", "stop line 3")
	atRemote.waitFor(t, "plant/decisions/d1", "stop line 3", "out: platform decisions/d1 → remote plant/decisions/d1")

	// both: sync/# crosses either way, unchanged.
	publish(t, local, "apk8s", "platform-pw", "sync/from-platform", "p")
	atRemote.waitFor(t, "sync/from-platform", "p", "both, outwards")
	publish(t, machines, "machine", "machine-pw", "sync/from-factory", "f")
	atLocal.waitFor(t, "sync/from-factory", "f", "both, inwards")

	for _, topic := range []string{"decisions/d-in", "plant/decisions/d-in", "factory/decisions/d-in", "other/x", "factory/other/x"} {
		assert.False(t, atLocal.has(topic), "%s came in, a direction not configured", topic)
	}
	for _, topic := range []string{"machines/m2", "factory/machines/m2", "plant/factory/machines/m2", "other/y", "plant/other/y"} {
		assert.False(t, atRemote.has(topic), "%s went out, a direction not configured", topic)
	}
	assert.NotContains(t, localLog.String(), password, "the broker never logs the bridge's password")
}

// TestBridgeRefusedWithoutTheRightCredentialsOrCA: a wrong password is
// turned away by the remote, and a remote whose certificate another CA
// signed is not trusted; neither bridge carries a message.
func TestBridgeRefusedWithoutTheRightCredentialsOrCA(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca := newTestCA(t, dir, "factory")
	other := newTestCA(t, dir, "impostor")
	remote, machines, remoteLog := remoteBroker(t, ca, "bridge", "right-password")

	tests := []struct {
		name, ca, password string
		remoteSays         string // what the remote logs, "" = nothing to check there
		localSays          string
	}{
		{"wrong password", ca.certPEM, "wrong-password", "not authorised", ""},
		{"another CA", other.certPEM, "right-password", "", "certificate verify failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := factoryBridge(remote, tt.ca)
			local, localLog := platformBroker(t, []mosquitto.Bridge{b}, []string{tt.password})
			atLocal := subscribeAll(t, local, "apk8s", "platform-pw", "factory/#")
			deadline := time.Now().Add(10 * time.Second)
			for !strings.Contains(remoteLog.String()+localLog.String(), tt.remoteSays+tt.localSays) {
				require.True(t, time.Now().Before(deadline), "no refusal logged; platform:\n%s\nremote:\n%s", localLog, remoteLog)
				time.Sleep(50 * time.Millisecond)
			}
			publish(t, machines, "machine", "machine-pw", "machines/m1", "21.5")
			time.Sleep(300 * time.Millisecond)
			assert.Empty(t, atLocal.topics(), "a refused bridge carried a message")
		})
	}
}
