// Package workload holds the building blocks that the data workloads
// (ZooKeeper, Kafka, Mosquitto, the Kafka exporter) share: ports that feed
// both container and Service ports, object metadata, Services, single-pod
// Deployments, PodDisruptionBudgets, claims, service accounts and JVM heap
// sizes. The components describe what differs; the shapes they have in
// common are built here once.
package workload
