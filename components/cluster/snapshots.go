package cluster

// Snapshots are the etcd snapshot settings of the servers.
type Snapshots struct{}
