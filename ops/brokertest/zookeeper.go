package brokertest

import (
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/stretchr/testify/require"
)

// Serve listens on a loopback port until the test ends, hands each
// connection to handle and closes it; it returns the address.
func Serve(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			handle(c)
			c.Close()
		}
	}()
	return l.Addr().String()
}

// ZooKeeperSrvr answers "srvr" as a ZooKeeper member in mode ("leader",
// "follower", ...) does, and returns its address.
func ZooKeeperSrvr(t *testing.T, mode string) string {
	return Serve(t, func(c net.Conn) {
		buf := make([]byte, 4)
		if _, err := io.ReadFull(c, buf); err == nil && string(buf) == "srvr" {
			fmt.Fprintf(c, "Zookeeper version: 3.8.4-test\nLatency min/avg/max: 0/0.0/0\nMode: %s\nNode count: 5\n", mode)
		}
	})
}
