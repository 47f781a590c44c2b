package tests

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
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
	addr, log := brokertest.MosquittoConf(t, func(port int32) string {
		return mosquitto.Conf("127.0.0.1", file, mosquitto.Listener{Port: port})
	})

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

// tlsConnect logs in over TLS, trusting pool and checking the name
// serverName, as clients in the namespace do with the Secret's ca.crt.
func tlsConnect(addr, id string, pool *x509.CertPool, serverName, user, password string) (mqtt.Client, error) {
	opts := mqtt.NewClientOptions().AddBroker("ssl://" + addr).SetClientID(id).
		SetTLSConfig(&tls.Config{RootCAs: pool, ServerName: serverName, MinVersion: tls.VersionTLS12}).
		SetUsername(user).SetPassword(password).
		SetConnectTimeout(5 * time.Second).SetAutoReconnect(false).SetConnectRetry(false)
	c := mqtt.NewClient(opts)
	tok := c.Connect()
	if !tok.WaitTimeout(10 * time.Second) {
		return nil, fmt.Errorf("connect to %s timed out", addr)
	}
	return c, tok.Error()
}

// servedSerial is the serial number of the certificate the listener at
// addr presents.
func servedSerial(t *testing.T, addr string, pool *x509.CertPool) *big.Int {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, ServerName: mosquitto.Name})
	require.NoError(t, err)
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].SerialNumber
}

// TestMosquittoTLS runs the broker as its pod does, through ReloadCommand
// on the mosquitto.conf of a TLS-only stack, with a certificate of a CA
// made here in the form of cert-manager's Secret. A client that trusts the
// CA logs in over TLS and gets its message back; one that checks another
// name, trusts another CA or speaks plain MQTT to the port is refused.
// Then the certificate is renewed in place and the broker presents the new
// one without a restart (the SIGHUP), and a TERM stops it.
func TestMosquittoTLS(t *testing.T) {
	t.Parallel()
	name, password := "apk8s", "mq-"+randomHex(8)
	file := passwordFile(t, name, password)
	ca := brokertest.NewCA(t)
	certDir := t.TempDir()
	cert, first := ca.Issue(t, mosquitto.Name, mosquitto.Name, "mqtt.data.svc.cluster.local")
	ca.WriteSecret(t, certDir, cert)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := int32(l.Addr().(*net.TCPAddr).Port)
	require.NoError(t, l.Close())
	conf := filepath.Join(t.TempDir(), "mosquitto.conf")
	require.NoError(t, os.WriteFile(conf, []byte(mosquitto.Conf("127.0.0.1", file, mosquitto.Listener{Port: port, CertDir: certDir})+
		brokertest.RunAs(t)+"\n"), 0o600))
	log := fileLog(filepath.Join(t.TempDir(), "log"))
	out, err := os.Create(string(log))
	require.NoError(t, err)
	defer out.Close()
	cmd := exec.Command("sh", "-c", mosquitto.ReloadCommand(conf, certDir, 1))
	cmd.Env = append(os.Environ(), "PATH=/usr/sbin:/usr/bin:/sbin:/bin")
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group, which the cleanup stops whatever happened.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, cmd.Start())
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	require.Eventually(t, func() bool {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err == nil
	}, 10*time.Second, 50*time.Millisecond, "mosquitto did not listen: %s", log)

	sub, err := tlsConnect(addr, "apk8s-tls-sub", ca.Pool(), mosquitto.Name, name, password)
	require.NoError(t, err, "broker log: %s", log)
	defer sub.Disconnect(100)
	got := make(chan string, 1)
	tok := sub.Subscribe("dev/apk8s", 1, func(_ mqtt.Client, m mqtt.Message) { got <- string(m.Payload()) })
	require.True(t, tok.WaitTimeout(5*time.Second))
	require.NoError(t, tok.Error())
	pub, err := tlsConnect(addr, "apk8s-tls-pub", ca.Pool(), "mqtt.data.svc.cluster.local", name, password)
	require.NoError(t, err)
	ptok := pub.Publish("dev/apk8s", 1, false, "over TLS")
	require.True(t, ptok.WaitTimeout(5*time.Second))
	require.NoError(t, ptok.Error())
	pub.Disconnect(100)
	select {
	case msg := <-got:
		assert.Equal(t, "over TLS", msg)
	case <-time.After(10 * time.Second):
		t.Fatalf("the subscriber got nothing; broker log: %s", log)
	}

	t.Run("refused", func(t *testing.T) {
		_, err := tlsConnect(addr, "apk8s-wrong-name", ca.Pool(), "kafka", name, password)
		assert.ErrorContains(t, err, "certificate is valid for", "a name the certificate does not cover")
		_, err = tlsConnect(addr, "apk8s-other-ca", brokertest.NewCA(t).Pool(), mosquitto.Name, name, password)
		assert.ErrorContains(t, err, "certificate signed by unknown authority")
		_, err = tlsConnect(addr, "apk8s-tls-wrong-pw", ca.Pool(), mosquitto.Name, name, password+"x")
		assert.ErrorContains(t, err, "not Authorized")
		_, err = connect(addr, "apk8s-plain", name, password)
		assert.Error(t, err, "plain MQTT on the TLS port")
	})

	assert.Equal(t, first, servedSerial(t, addr, ca.Pool()))
	renewed, second := ca.Issue(t, mosquitto.Name, mosquitto.Name)
	ca.WriteSecret(t, certDir, renewed)
	require.Eventually(t, func() bool { return servedSerial(t, addr, ca.Pool()).Cmp(second) == 0 },
		10*time.Second, 200*time.Millisecond, "the broker still presents the old certificate: %s", log)
	assert.Contains(t, log.String(), "reloading the broker")
	assert.True(t, sub.IsConnectionOpen(), "the reload kept the subscriber")

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Fatalf("a TERM did not stop the broker: %s", log)
	}
	_, err = net.DialTimeout("tcp", addr, 200*time.Millisecond)
	assert.Error(t, err, "the broker still listens after TERM")
}

// fileLog is a process's log file, read whole when printed.
type fileLog string

func (f fileLog) String() string {
	b, _ := os.ReadFile(string(f))
	return string(b)
}
