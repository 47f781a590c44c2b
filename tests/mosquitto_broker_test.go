package tests

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/apk8s/apk8s-platform/components/mosquitto"
	"github.com/apk8s/apk8s-platform/ops/brokertest"
)

func connect(addr, id string, login ...string) (mqtt.Client, error) {
	opts := mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).
		SetConnectTimeout(5 * time.Second).SetAutoReconnect(false).SetConnectRetry(false)
	if len(login) == 2 {
		opts.SetUsername(login[0]).SetPassword(login[1])
	}
	c := mqtt.NewClient(opts)
	tok := c.Connect()
	if !tok.WaitTimeout(10 * time.Second) {
		return nil, fmt.Errorf("connect to %s timed out", addr)
	}
	return c, tok.Error()
}

// passwordFile makes the broker's password file as the pod's init
// container does: the Secret's plain line, hashed in place by the real
// mosquitto_passwd through the same script.
func passwordFile(t *testing.T, name, password string) string {
	t.Helper()
	if _, err := exec.LookPath("mosquitto_passwd"); err != nil {
		t.Fatal("mosquitto_passwd is missing: apt-get install -y mosquitto")
	}
	dir := t.TempDir()
	credentials := filepath.Join(dir, mosquitto.CredentialsKey)
	require.NoError(t, os.WriteFile(credentials, []byte(mosquitto.CredentialsLine(name, password)), 0o400))
	// Its own directory, which a broker that dropped root can enter.
	out, err := os.MkdirTemp("", "apk8s-mqtt-")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(out) })
	require.NoError(t, os.Chmod(out, 0o711))
	file := filepath.Join(out, "passwd")
	log, err := exec.Command("sh", "-ec", mosquitto.PasswdCommand(credentials, file)).CombinedOutput()
	require.NoError(t, err, "%s", log)
	hashed, err := os.ReadFile(file)
	require.NoError(t, err)
	assert.NotContains(t, string(hashed), password, "the password file holds a hash, not the password")
	assert.True(t, strings.HasPrefix(string(hashed), name+":$7$"), "a PBKDF2-SHA512 hash: %s", hashed)
	info, err := os.Stat(file)
	require.NoError(t, err)
	assert.Zero(t, info.Mode().Perm()&0o077, "only the broker's user reads the password file: %v", info.Mode())
	if os.Geteuid() == 0 {
		// A broker started as root drops to the user "mosquitto" (in the
		// pod it starts as that user and made the file itself).
		u, err := user.Lookup("mosquitto")
		require.NoError(t, err, "Debian's mosquitto package creates the user mosquitto")
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		require.NoError(t, os.Chown(file, uid, gid))
	}
	return file
}

// TestMosquittoRoundTrip is the book's test on a real broker, with the
// mosquitto.conf the program puts in the ConfigMap (bound to loopback here)
// and a password file made by mosquitto_passwd: a subscriber on dev/apk8s
// receives what a second client publishes, both logged in; an anonymous
// client and a wrong password are turned away.
func TestMosquittoRoundTrip(t *testing.T) {
	t.Parallel()
	user, password := "apk8s", "mq-"+randomHex(8)
	file := passwordFile(t, user, password)
	addr, log := brokertest.MosquittoConf(t, func(port int32) string { return mosquitto.Conf(port, "127.0.0.1", file) })

	sub, err := connect(addr, "apk8s-sub", user, password)
	require.NoError(t, err, "broker log: %s", log)
	defer sub.Disconnect(100)
	got := make(chan string, 1)
	tok := sub.Subscribe("dev/apk8s", 1, func(_ mqtt.Client, m mqtt.Message) { got <- string(m.Payload()) })
	require.True(t, tok.WaitTimeout(5*time.Second))
	require.NoError(t, tok.Error())

	pub, err := connect(addr, "apk8s-pub", user, password)
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

	for name, login := range map[string][]string{
		"anonymous":      nil,
		"wrong password": {user, password + "x"},
		"unknown user":   {"intruder", password},
	} {
		t.Run(name+" is refused", func(t *testing.T) {
			_, err := connect(addr, "apk8s-"+strings.ReplaceAll(name, " ", "-"), login...)
			require.Error(t, err, "broker log: %s", log)
			assert.Contains(t, err.Error(), "not Authorized")
		})
	}
}

// TestBookConfigRefusesClients shows why the config changed: the book's
// "port 1883" alone, on Mosquitto 2, turns every client away.
func TestBookConfigRefusesClients(t *testing.T) {
	t.Parallel()
	addr, log := brokertest.MosquittoConf(t, func(port int32) string {
		// The book's two lines; bind_address keeps the test on loopback.
		return fmt.Sprintf("user mosquitto\nport %d\nbind_address 127.0.0.1\n", port)
	})
	_, err := connect(addr, "apk8s-book")
	require.Error(t, err, "the book's config accepted an anonymous client; broker log: %s", log)
	assert.Contains(t, err.Error(), "not Authorized")
}
