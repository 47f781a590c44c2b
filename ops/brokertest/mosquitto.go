// Package brokertest runs the brokers of the data namespace for tests: a
// real Mosquitto (Debian's mosquitto) on a free loopback port, and a
// ZooKeeper member's answer to the four-letter word "srvr".
package brokertest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/apk8s/apk8s-platform/components/mosquitto"
)

// mosquittoBinary finds the broker. CI installs it and must never skip; a
// developer without it is told how to get it.
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

// Log is what a broker has written so far; the test may read it while the
// broker runs.
type Log struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// MosquittoConf runs mosquitto with the config conf(port) writes for a
// free loopback port until the test ends, and returns its address and
// its log.
func MosquittoConf(t *testing.T, conf func(port int32) string) (addr string, log *Log) {
	t.Helper()
	bin := mosquittoBinary(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := int32(l.Addr().(*net.TCPAddr).Port)
	require.NoError(t, l.Close())

	file := filepath.Join(t.TempDir(), "mosquitto.conf")
	require.NoError(t, os.WriteFile(file, []byte(conf(port)), 0o600))
	log = &Log{}
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

// RunAs is the config line that keeps a broker started as root from
// dropping to the user "mosquitto", which cannot read the test's private
// temp dirs.
func RunAs(t *testing.T) string {
	t.Helper()
	me, err := user.Current()
	require.NoError(t, err)
	return "user " + me.Username
}

// Mosquitto runs a broker until the test ends and returns its address.
// With users (name -> password) it refuses anonymous clients and checks
// passwords from a file hashed by mosquitto_passwd; without, it is the
// book's anonymous broker.
func Mosquitto(t *testing.T, users map[string]string) string {
	t.Helper()
	conf := []string{"persistence false", "log_dest stdout", RunAs(t)}
	if len(users) == 0 {
		conf = append(conf, "allow_anonymous true")
	} else {
		conf = append(conf, "allow_anonymous false", "password_file "+PasswordFile(t, users))
	}
	addr, _ := MosquittoConf(t, func(port int32) string {
		return fmt.Sprintf("listener %d 127.0.0.1\n%s\n", port, strings.Join(conf, "\n"))
	})
	return addr
}

// MosquittoTLS runs a broker on the program's own mosquitto.conf with the
// TLS listener alone, its certificate from ca for the names of the Service
// mqtt, admitting users.
func MosquittoTLS(t *testing.T, ca *CA, users map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	cert, _ := ca.Issue(t, mosquitto.Name, mosquitto.Name, "mqtt.data.svc.cluster.local")
	ca.WriteSecret(t, dir, cert)
	passwords := PasswordFile(t, users)
	addr, _ := MosquittoConf(t, func(port int32) string {
		return mosquitto.Conf("127.0.0.1", passwords, mosquitto.Listener{Port: port, CertDir: dir}) + RunAs(t) + "\n"
	})
	return addr
}

// PasswordFile writes users as "name:password" lines and lets
// mosquitto_passwd -U hash them in place, so that no password is ever on
// a command line.
func PasswordFile(t *testing.T, users map[string]string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "passwords")
	var lines []string
	for u, p := range users {
		lines = append(lines, u+":"+p)
	}
	require.NoError(t, os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o600))
	path, err := exec.LookPath("mosquitto_passwd")
	require.NoError(t, err, "mosquitto_passwd is not installed (Debian package mosquitto)")
	out, err := exec.Command(path, "-U", file).CombinedOutput()
	require.NoError(t, err, "mosquitto_passwd -U: %s", out)
	return file
}
