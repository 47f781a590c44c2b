#!/usr/bin/env bash
# Hand-written mutants: realistic bugs of the classes the invariant tests
# (tests/invariants_test.go) close. Each is one sed edit of the production
# code; the script applies it, runs the graph tests, records which tests
# fail, and puts the file back. A mutant that no test kills is LIVED.
#
#   scripts/mutants.sh            every mutant
#   scripts/mutants.sh 3 7        mutants 3 and 7 only
#
# It refuses to run over uncommitted changes of the files it edits, and
# restores them on exit (also when interrupted). Not part of `go test ./...`:
# each mutant rebuilds and runs ./tests (about half a minute each).
set -euo pipefail
cd "$(dirname "$0")/.."

# file | sed program (one substitution) | what the bug is
mutants=(
	'components/zookeeper/zookeeper.go|s/Port: intstr.FromString(Client.Name),/Port: intstr.FromString("admin"),/|probe names a port the container lacks (ZooKeeper liveness)'
	'components/kafka/kafka.go|0,/intstr.FromString(Broker.Name)/s//intstr.FromString(Broker.ServicePortName)/|probe names the Service port, not the container port (Kafka readiness)'
	'components/mosquitto/mosquitto.go|0,/TCPSocketAction{Port: probe}/s//TCPSocketAction{Port: intstr.FromInt32(1883)}/|probe on a port number the broker does not declare (Mosquitto readiness)'
	'components/monitoring/scrape.go|s/Port: intstr.FromString(ExporterMetrics.Name)/Port: intstr.FromString("http")/|probe names a port the exporter lacks'
	'components/kafka/kafka.go|s#PLAINTEXT://0.0.0.0:%d#PLAINTEXT://localhost:%d#|Kafka listener on loopback'
	'components/zookeeper/zookeeper.go|s/"quorumListenOnAllIPs=true",/"quorumListenOnAllIPs=false",/|ZooKeeper quorum ports bound to one address'
	'components/mosquitto/mosquitto.go|s/conf := Conf("", PasswordFile, cfg.Listeners()...)/conf := Conf("127.0.0.1", PasswordFile, cfg.Listeners()...)/|Mosquitto listener on loopback'
	'components/monitoring/scrape.go|s/--web.listen-address=:%d/--web.listen-address=127.0.0.1:%d/|exporter listens on loopback'
	'components/zookeeper/zookeeper.go|s/members.Budget(workload.QuorumTolerance(args.Config.Replicas))/members.Budget(workload.QuorumTolerance(args.Config.Replicas)+1)/|ZooKeeper PDB lets a drain break quorum'
	'internal/workload/app.go|s/Selector:       \&metav1.LabelSelector{MatchLabels: a.Labels},/Selector:       \&metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io\/name": a.Name}},/|PDBs select nothing'
	'components/kafka/kafka.go|s/k.Budget = c.Add(name, kube.Args{Object: brokers.Budget(1)})/k.Budget = c.Add(name, kube.Args{Object: client.Budget(1)})/|Kafka PDB selects the client pod'
	'components/kafka/kafka.go|s/brokers.Service(Broker)/brokers.Service(Controller)/|Service kafka exposes the controller port'
	'components/mosquitto/mosquitto.go|s/broker.Service(ports...)/broker.Service(MQTT)/|Service mqtt on the plain port the TLS-only broker does not open'
	'components/zookeeper/zookeeper.go|s/"ZOO_4LW_COMMANDS_WHITELIST"/"ZOO_4LW_WHITELIST"/|renamed env var (ZooKeeper four-letter words)'
	'components/zookeeper/zookeeper.go|s/"ZOO_AUTOPURGE_PURGEINTERVAL"/"ZOO_AUTOPURGE_PURGE_INTERVAL"/|renamed env var (ZooKeeper autopurge)'
	'components/kafka/kafka.go|s/"KAFKA_MIN_INSYNC_REPLICAS"/"KAFKA_MIN_IN_SYNC_REPLICAS"/|renamed env var (Kafka min.insync.replicas)'
	'components/kafka/kafka.go|s/export KAFKA_BROKER_ID=/export KAFKA_BROKERID=/|renamed variable in the start script (Kafka broker id)'
	'components/zookeeper/zookeeper.go|s/Limits:   corev1.ResourceList{corev1.ResourceMemory: c.MemoryLimit},/Limits:   corev1.ResourceList{},/|memory limit dropped (ZooKeeper)'
	'components/mosquitto/mosquitto.go|s/Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")},//|memory limit dropped (Mosquitto)'
	'components/monitoring/monitoring.go|s/Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(limit)},//|memory limit dropped (kube-prometheus-stack values)'
	'components/rookceph/rookceph.go|s/Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(limit)},//|memory limit dropped (Ceph daemons)'
	'components/mosquitto/mosquitto.go|s/sum := sha256.Sum256(\[\]byte(conf))/sum := sha256.Sum256([]byte(cfg.Image))/|config hash not tied to the config'
	'stacks/stack.go|s/args.Context = pulumi.StringPtr(cfg.KubeContext)/_ = cfg.KubeContext/|kubeContext ignored'
	'components/mosquitto/mosquitto.go|s/    kill -HUP "$broker"/    :/|a renewed MQTT certificate never reaches the broker (no SIGHUP)'
	'components/mosquitto/mosquitto.go|s/dataca.ServiceHosts(ns, Name)/dataca.ServiceHosts(ns, "mosquitto")/|MQTT certificate names another Service'
	'components/kafka/listeners.go|s/return Listeners{stage, \[\]Listener{SASLSSL, SSL}, SSL, \[\]Listener{ControllerSSL}}/return Listeners{stage, []Listener{Plaintext, SASLSSL, SSL}, SSL, []Listener{ControllerSSL}}/|Kafka keeps an unauthenticated listener at kafkaAuth on'
	'components/kafka/listeners.go|s/, "\*."+HeadlessName+"."+ns+".svc.cluster.local")/)/|broker certificate misses the pods'"'"' advertised names'
	'components/kafka/listeners.go|s/		authorizer := AclAuthorizer/		authorizer := StandardAuthorizer/|ZooKeeper-mode brokers given the KRaft authorizer'
	'components/kafka/kafka.go|s/rules = append(rules, workload.Ingress{Ports: \[\]workload.Port{SSL.Port}, From: brokersOnly})/rules = append(rules, workload.Ingress{Ports: []workload.Port{SSL.Port}, From: from})/|client pod admitted to the brokers'"'"' mutual-TLS listener'
	'components/dataca/dataca.go|s/CA: \&certmanagerv1.CAIssuer{SecretName: Name},/CA: \&certmanagerv1.CAIssuer{SecretName: "data-ca-key"},/|CA Issuer signs with a Secret the root does not fill'
	'stacks/stack.go|s/args.RenderYamlToDirectory = pulumi.StringPtr(cfg.RenderYamlToDirectory)/_ = cfg.RenderYamlToDirectory/|renderYamlToDirectory ignored'
	'components/cluster/cluster.go|s/k8s.Kubeconfig = c.Kubeconfig/_ = c.Kubeconfig/|Scaleway provider without the cluster'"'"'s kubeconfig'
	'components/cluster/cloudinit.go|s/NodeTaint:           \[\]string{ControlPlaneTaint},//|control-plane taint dropped'
	'components/kafka/kraft.go|s/return brokerSet(c, spec, true)/return brokerSet(c, spec, false)/|KRaft quorum started in order (pod 0 waits for a leader forever)'
	'components/kafka/kafka.go|s/pulumi.IgnoreChanges(\[\]string{"data"}))/)/|KRaft cluster ID drawn anew on every run'
	'components/kafka/kraft.go|s/if i < voters {/if i <= voters {/|one broker too many runs as a controller'
	'components/kafka/kraft.go|s/PodHost(ns, i), Controller.Port)/PodHost(ns, i), Broker.Port)/|voters named at the broker port'
	'components/kafka/kraft.go|s/if brokers >= 3 {/if brokers >= 2 {/|three voters chosen for two brokers'
	'components/kafka/kraft.go|s#CONTROLLER://:%\[6\]d#CONTROLLER://localhost:%[6]d#|KRaft controller listener on loopback'
	'stacks/kafkamode.go|s/if last.Mode != "" \&\& last.Mode != k.Mode {/if false {/|a switch of kafkaMode goes through'
	'stacks/addons.go|s/if cfg.Kafka.Mode == kafka.ModeZooKeeper {/if cfg.Kafka.Mode != "" {/|the monitoring add-on scrapes a ZooKeeper that KRaft mode lacks'
	'stacks/claims.go|s/allowed != nil \&\& \*allowed {/!(allowed != nil \&\& !*allowed) {/|a class that does not say allowVolumeExpansion taken as expandable'
	'internal/workload/growth.go|s/checks = append(checks, g.Allowed)/_ = g.Allowed/|claim patches do not wait for the StorageClass verdict'
	'internal/workload/growth.go|s/applied = append(applied, patch.Spec)/_ = patch.Spec/|the claims mark records a growth before its patches are applied'
	'internal/kubeminor/kubeminor.go|s/to == from+1:/to <= from+2:/|a deployed cluster jumps two minors in one update'
	'components/cluster/snapshots.go|s/"Action":    \[\]string{"s3:ListBucket", "s3:GetObject", "s3:PutObject", "s3:DeleteObject"},/"Action":    []string{"s3:*"},/|the snapshot application may do anything to the bucket (its policy, deleting it)'
	'components/cluster/k3s-bootstrap.sh|s/^cluster-init: true"$/cluster-init: false"/|the first etcd server never starts the cluster'
	'components/cluster/cluster.go|s/HostKey:    b.hostKeys\[srv\].PublicKeyOpenssh,//|remote commands accept any SSH host key'
	'components/cluster/cloudinit.go|s/SSHDeleteKeys:  true,/SSHDeleteKeys:  false,/|the image'"'"'s own SSH host keys stay beside the pinned one'
	'.github/workflows/teardown.yml|/continue-on-error: true/d|the teardown stops (red) when the tunnel cannot open'
	'.github/workflows/pull-request.yml|/cancel-in-progress: false/d|a queued preview may cancel the up that holds the stack'"'"'s tunnel'
	'scripts/ci-tunnel.sh|s/ and (.delete | not))\]/)]/|the tunnel dials a control plane pending deletion'
	'components/cluster/cipath.go|s/\t\tUpdate:     script,/\t\tUpdate:     nil,/|the CI key is not published again after a user-data change'
	'components/cluster/ci-wireguard.sh|s/oifname "\$CI_INTERFACE" counter drop//|traffic into the CI tunnel is forwarded'
	'components/cluster/cluster.go|s/return kubeconfigEpochLine(cfg.KubeconfigEpoch) + KubeconfigScript(addr, nodes)/return KubeconfigScript(addr, nodes)/|the kubeconfig in the state is never read again after k3s renews its certificate'
	'scripts/preview-guard.sh|s/ = true \] ||/ != x ] ||/|a preview environment whose author may approve the run passes the guard'
	'scripts/ci-tunnel.sh|s/^  \[ "\$got" = "\$want" \] \&\& return 0$/  return 0/|the tunnel accepts a control plane that presents another SSH host key'
	'components/kafka/kafka.go|s/{Name: "KAFKA_DEFAULT_REPLICATION_FACTOR", Value: fmt.Sprint(Replication(c.Replicas))},/{Name: "KAFKA_DEFAULT_REPLICATION_FACTOR", Value: "1"},/|topics created without a factor get one replica (acks=all refused at three brokers)'
	'components/kafka/kafka.go|s/{Name: "KAFKA_DATA_DIRS", Value: dataDir},/{Name: "KAFKA_DATA_DIRS", Value: "\/var\/lib\/kafka\/data"},/|KAFKA_DATA_DIRS off the claim'
	'stacks/config.go|s/case q.Cmp(resource.MustParse(f.Min)) < 0:/case q.Cmp(resource.MustParse(f.Min)) <= 0:/|a size at its floor refused'
	'components/mosquitto/bridge.go|s/rules = append(rules, workload.Egress{Ports: \[\]int32{b.Port}, CIDRs: b.Egress})/rules = append(rules, workload.Egress{Ports: []int32{MQTT.Port}, CIDRs: b.Egress})/|bridge egress opened at the broker'"'"'s own port, not the remote'"'"'s'
	'components/mosquitto/bridge.go|s/names = names .. net.ParseIP(b.Host) == nil/names = false/|bridge egress without DNS for a remote given by name'
	'components/kafkaconnect/kafkaconnect.go|s/"tasks.max":                    "1",/"tasks.max":                    "2",/|two MQTT source tasks write every message twice'
	'components/kafkaconnect/kafkaconnect.go|s/rf := fmt.Sprint(args.Replication)/rf := "1"/|Connect'"'"'s internal topics on one replica'
	'components/kafkaconnect/kafkaconnect.go|s/cert.Spec.PrivateKey.Encoding = "PKCS1"/cert.Spec.PrivateKey.Encoding = "PKCS8"/|Connect'"'"'s MQTT client key in a form the connector cannot read'
	'components/monitoring/rules.go|s/unless on (namespace, topic, partition) kafka_topic_partition_leader/unless on (namespace, topic) kafka_topic_partition_leader/|offline-partition alert joins on the topic only (one led partition hides the rest)'
	'components/monitoring/rules.go|s/if t.ZooKeeperMembers > 1 {/if t.ZooKeeperMembers > 0 {/|quorum alert on a standalone ZooKeeper, which never has a leader'
	'components/monitoring/rules.go|s/%s < %d and on (namespace, topic, partition) kafka_topic_partition_replicas%s >= %d/%s <= %d and on (namespace, topic, partition) kafka_topic_partition_replicas%s >= %d/|in-sync alert fires at min.insync.replicas, not below it'
	'components/monitoring/scrape.go|s/kube.Args{Object: Rules(ns, args.Targets, args.Config.Alerts)}, afterCRDs...)/kube.Args{Object: Rules(ns, args.Targets, args.Config.Alerts)})/|alert rules registered before their CRD'
	'components/rookceph/rookceph.go|s/Monitoring: cephv1.MonitoringSpec{Enabled: c.Monitored},/Monitoring: cephv1.MonitoringSpec{},/|Ceph rules without the manager'"'"'s ServiceMonitor'
	'stacks/ensemble.go|s/int32(n) == cfg.ZooKeeper.Replicas/true/|a deployed ZooKeeper ensemble resized'
	'stacks/kafkamode.go|s/k.ClusterID = last.ClusterID/k.ClusterID = kafka.NewClusterID()/|KRaft cluster ID drawn anew although the stack recorded one'
	'components/kafka/kraft.go|s/Immutable:  ptr.To(true),/Immutable:  ptr.To(false),/|the cluster ID ConfigMap editable'
	'internal/workload/policy.go|s/PolicyTypes: \[\]networkingv1.PolicyType{networkingv1.PolicyTypeIngress},/PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},/|every policy isolates egress with no egress rule (no data pod resolves names)'
	'stacks/config.go|s/case imageChannel.MatchString(tag) .. !imageRelease.MatchString(tag):/case tag == "latest":/|the floating-tag rule narrowed to latest (a line tag such as :3.9 or :2-alpine passes)'
	'stacks/cluster.go|s/case n > small \&\& !large:/case n > small+1 \&\& !large:/|one worker (or GB of Ceph volume) above the small limit taken without allowLargeCluster'
	'components/kapsule/kapsule.go|s/pulumi.DependsOn(\[\]pulumi.Resource{k.Pool})//|Kapsule provider does not wait for the pool'
	'components/kapsule/kapsule.go|s/DeleteAdditionalResources: pulumi.Bool(cfg.Disposable),/DeleteAdditionalResources: pulumi.Bool(true),/|a kept Kapsule stack'"'"'s deletion takes its volumes'
	'components/kapsule/kapsule.go|s/keep := pulumi.Protect(!cfg.Disposable)/keep := pulumi.Protect(false)/|the kept Kapsule cluster is not protected'
	'stacks/kapsule.go|s/if class := c.Kafka.StorageClass; !c.Disposable \&\& /if class := c.Kafka.StorageClass; false \&\& /|a kept Kapsule stack'"'"'s claims on a deleting class'
	'stacks/kapsule.go|s/if was := lastCluster(last); was != "" \&\& was != cfg.Cluster {/if was := lastCluster(last); false \&\& was != cfg.Cluster {/|a switch of cluster kind goes through'
	'components/traefik/traefik.go|s/AnnotationLoadBalancerIPIDs: ipID,/AnnotationLoadBalancerIPIDs: zone,/|load balancer annotation without the reserved IP'
	'components/metadataguard/metadataguard.go|s/EnableDefaultDeny: \&ciliumv2.DefaultDeny{Ingress: \&off, Egress: \&off},//|metadata deny puts every pod in default-deny'
	'components/monitoring/dashboards.go|s/Labels: map\[string\]string{DashboardLabel: DashboardLabelValue}},/Labels: map[string]string{"grafana_dashboards": DashboardLabelValue}},/|dashboard ConfigMaps under a label the sidecar does not select'
	'components/monitoring/dashboards.go|s/kafka_consumergroup_members{%s/kafka_consumergroup_member{%s/|dashboard query names a metric the exporter does not have'
	'stacks/roll.go|s/s.Name != chosen.Name {/s.Name == "" {/|rollServers lets every changed server take the new image'
	'stacks/roll.go|s/case len(pending) > 1:/case len(pending) > 4:/|a change of four servers in one update goes through'
	'stacks/roll.go|s/allowCP := r.boolean("allowControlPlaneReplacement")/allowCP := !r.boolean("allowControlPlaneReplacement")/|the control-plane opt-in read backwards'
	'stacks/roll.go|s/gone > 1 {/gone > 2 {/|two workers leave in one update'
	'components/metadataguard/metadataguard.go|s/Ingress: \&off, Egress: \&off}/Ingress: \&off, Egress: nil}/|metadata deny puts every pod in egress default-deny'
	'scripts/ci-tunnel.sh|s/if \[ "$kind" != scaleway \]; then/if false; then/|the CI tunnel hunts for a control plane a Kapsule stack does not have'
)

pick=("$@")
touched=()
restore() {
	for f in "${touched[@]}"; do
		git checkout --quiet -- "$f"
	done
	touched=()
}
trap restore EXIT

log=$(mktemp)
killed=0
lived=0
printf '%-3s %-8s %s\n' '#' result 'mutant: tests that fail'
for i in "${!mutants[@]}"; do
	n=$((i + 1))
	if [ ${#pick[@]} -gt 0 ] && ! printf '%s\n' "${pick[@]}" | grep -qx "$n"; then
		continue
	fi
	IFS='|' read -r file program what <<<"${mutants[$i]}"
	if ! git diff --quiet -- "$file"; then
		echo "$file has uncommitted changes: commit or stash them first" >&2
		exit 2
	fi
	touched+=("$file")
	sed -i "$program" "$file"
	if git diff --quiet -- "$file"; then
		printf '%-3s %-8s %s: the edit matched nothing (update this script)\n' "$n" STALE "$what"
		restore
		continue
	fi
	if go test ./tests/ -count=1 >"$log" 2>&1; then
		lived=$((lived + 1))
		printf '%-3s %-8s %s\n' "$n" LIVED "$what"
	elif grep -q '\[build failed\]' "$log"; then
		printf '%-3s %-8s %s: does not compile (update this script)\n' "$n" BROKEN "$what"
	else
		killed=$((killed + 1))
		failed=$(grep -E '^--- FAIL' "$log" | awk '{print $3}' | sort -u | paste -sd, -)
		printf '%-3s %-8s %s: %s\n' "$n" KILLED "$what" "${failed:-build failed}"
	fi
	restore
done
rm -f "$log"
echo "killed $killed, lived $lived"
