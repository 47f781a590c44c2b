package stacks

// clusterKeys configure the Scaleway cluster (cluster = "scaleway").
var clusterKeys = []Key{}
