package monitoring

import (
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/apk8s/apk8s-platform/apis/monitoringv1"
)

// RulesName names the PrometheusRule of the data namespace.
const RulesName = "data-platform-alerts"

// RunbookPage is the docs page every alert's runbook annotation points
// into, at the heading named after the alert (lower case).
const RunbookPage = "docs/alerts.md"

// Severities of the alerts: critical loses data or service now, warning
// needs a look within the day.
const (
	Critical = "critical"
	Warning  = "warning"
)

// AlertConfig holds the thresholds the stack's keys set.
type AlertConfig struct {
	// ConsumerLag is the lag, in messages, of a consumer group on a topic
	// above which a lag that keeps growing raises an alert.
	ConsumerLag int32
	// VolumeUsedPercent is how full a claim of the data namespace may get.
	VolumeUsedPercent int32
	// ZooKeeperOutstanding is the queue of requests a member may hold.
	ZooKeeperOutstanding int32
}

// alert is one alert before it gets its labels and runbook.
type alert struct {
	name, expr, wait, severity, summary string
}

// Rules are the alerts of the data namespace ns, one group per service. A
// group of a service the stack does not run is left out.
func Rules(ns string, t Targets, c AlertConfig) *monitoringv1.PrometheusRule {
	groups := []monitoringv1.RuleGroup{
		group("kafka", kafkaAlerts(ns, t, c)),
	}
	if t.ZooKeeperName != "" {
		groups = append(groups, group("zookeeper", zooKeeperAlerts(ns, t, c)))
	}
	groups = append(groups,
		group("mosquitto", []alert{{
			name:     "MosquittoDown",
			expr:     fmt.Sprintf(`kube_deployment_status_replicas_available{namespace=%q, deployment=%q} < 1`, ns, t.Mosquitto),
			wait:     "5m",
			severity: Critical,
			summary:  "The MQTT broker {{ $labels.deployment }} has no available pod: MQTT clients cannot connect.",
		}}),
		group("data-volumes", []alert{{
			name: "DataVolumeFilling",
			expr: fmt.Sprintf(`100 * kubelet_volume_stats_used_bytes{namespace=%q} / kubelet_volume_stats_capacity_bytes{namespace=%q} > %d`,
				ns, ns, c.VolumeUsedPercent),
			wait:     "10m",
			severity: Warning,
			summary:  fmt.Sprintf("The claim {{ $labels.persistentvolumeclaim }} is {{ $value | humanize }}%% full (threshold %d%%).", c.VolumeUsedPercent),
		}}),
	)
	return &monitoringv1.PrometheusRule{
		TypeMeta:   metav1.TypeMeta{APIVersion: monitoringv1.APIVersion, Kind: "PrometheusRule"},
		ObjectMeta: metav1.ObjectMeta{Name: RulesName, Namespace: ns},
		Spec:       monitoringv1.PrometheusRuleSpec{Groups: groups},
	}
}

// kafkaAlerts read the exporter's metrics (kafka_exporter.go of
// danielqsj/kafka_exporter): a partition without a leader has no
// kafka_topic_partition_leader series but keeps its replicas series.
func kafkaAlerts(ns string, t Targets, c AlertConfig) []alert {
	sel := fmt.Sprintf(`{namespace=%q}`, ns)
	exporter := fmt.Sprintf(`up{namespace=%q, job=%q}`, ns, ExporterName)
	return []alert{
		{
			name:     "KafkaExporterDown",
			expr:     fmt.Sprintf(`%s == 0 or absent(%s)`, exporter, exporter),
			wait:     "5m",
			severity: Warning,
			summary:  "Prometheus cannot scrape the Kafka exporter: no Kafka alert can fire.",
		},
		{
			name:     "KafkaBrokerMissing",
			expr:     fmt.Sprintf(`kafka_brokers%s < %d`, sel, t.Brokers),
			wait:     "5m",
			severity: Critical,
			summary:  fmt.Sprintf("{{ $value }} of %d Kafka brokers are in the cluster.", t.Brokers),
		},
		{
			name:     "KafkaPartitionOffline",
			expr:     fmt.Sprintf(`kafka_topic_partition_replicas%s unless on (namespace, topic, partition) kafka_topic_partition_leader%s`, sel, sel),
			wait:     "2m",
			severity: Critical,
			summary:  "Partition {{ $labels.partition }} of topic {{ $labels.topic }} has no leader: it can be neither written nor read.",
		},
		{
			name:     "KafkaUnderReplicatedPartitions",
			expr:     fmt.Sprintf(`sum by (namespace, topic) (kafka_topic_partition_under_replicated_partition%s) > 0`, sel),
			wait:     "10m",
			severity: Warning,
			summary:  "{{ $value }} partition(s) of topic {{ $labels.topic }} have fewer in-sync replicas than replicas.",
		},
		{
			name: "KafkaInSyncReplicasBelowMinimum",
			expr: fmt.Sprintf(`kafka_topic_partition_in_sync_replica%s < %d and on (namespace, topic, partition) kafka_topic_partition_replicas%s >= %d`,
				sel, t.MinInSync, sel, t.MinInSync),
			wait:     "5m",
			severity: Critical,
			summary: fmt.Sprintf("Partition {{ $labels.partition }} of topic {{ $labels.topic }} has {{ $value }} in-sync replica(s), "+
				"below min.insync.replicas %d: producers with acks=all are refused.", t.MinInSync),
		},
		{
			name: "KafkaConsumerGroupLag",
			expr: fmt.Sprintf(`kafka_consumergroup_lag_sum%s > %d and delta(kafka_consumergroup_lag_sum%s[15m]) > 0`,
				sel, c.ConsumerLag, sel),
			wait:     "15m",
			severity: Warning,
			summary: fmt.Sprintf("Consumer group {{ $labels.consumergroup }} is {{ $value }} messages behind on topic {{ $labels.topic }} "+
				"(threshold %d) and falling further behind.", c.ConsumerLag),
		},
	}
}

// zooKeeperAlerts read ZooKeeper's own Prometheus endpoint (its
// PrometheusMetricsProvider): only the leader registers leader_uptime, and
// a standalone server (one member) has no leader, so the quorum alert
// needs an ensemble of two or more.
func zooKeeperAlerts(ns string, t Targets, c AlertConfig) []alert {
	sel := fmt.Sprintf(`{namespace=%q, job=%q}`, ns, ns+"/"+t.ZooKeeperName)
	alerts := []alert{{
		name:     "ZooKeeperMemberDown",
		expr:     fmt.Sprintf(`(count(up%s == 1) or vector(0)) < %d`, sel, t.ZooKeeperMembers),
		wait:     "5m",
		severity: Warning,
		summary:  fmt.Sprintf("{{ $value }} of %d ZooKeeper members answer Prometheus.", t.ZooKeeperMembers),
	}}
	if t.ZooKeeperMembers > 1 {
		alerts = append(alerts, alert{
			name:     "ZooKeeperQuorumLost",
			expr:     fmt.Sprintf(`absent(leader_uptime%s)`, sel),
			wait:     "2m",
			severity: Critical,
			summary:  "No ZooKeeper member is leader: the ensemble has lost its quorum and the Kafka brokers cannot change metadata.",
		})
	}
	return append(alerts, alert{
		name:     "ZooKeeperOutstandingRequests",
		expr:     fmt.Sprintf(`outstanding_requests%s > %d`, sel, c.ZooKeeperOutstanding),
		wait:     "5m",
		severity: Warning,
		summary:  fmt.Sprintf("ZooKeeper member {{ $labels.pod }} queues {{ $value }} requests (threshold %d).", c.ZooKeeperOutstanding),
	})
}

// group turns alerts into rules with their severity and runbook.
func group(name string, alerts []alert) monitoringv1.RuleGroup {
	g := monitoringv1.RuleGroup{Name: name}
	for _, a := range alerts {
		g.Rules = append(g.Rules, monitoringv1.Rule{
			Alert:  a.name,
			Expr:   a.expr,
			For:    a.wait,
			Labels: map[string]string{"severity": a.severity},
			Annotations: map[string]string{
				"summary": a.summary,
				"runbook": Runbook(a.name),
			},
		})
	}
	return g
}

// Runbook is where docs/ says what to check first when alert fires.
func Runbook(alert string) string {
	return RunbookPage + "#" + strings.ToLower(alert)
}
