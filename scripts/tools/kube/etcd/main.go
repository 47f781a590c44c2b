// Command etcd is the upstream etcd server, built from the pinned
// go.etcd.io/etcd/server/v3 module; it does what etcd's own main does.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
