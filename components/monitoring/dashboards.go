package monitoring

import (
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The Grafana sidecar of kube-prometheus-stack loads every ConfigMap that
// carries DashboardLabel=DashboardLabelValue, in every namespace
// (ChartValues sets both, and the search, rather than rely on the chart's
// defaults).
const (
	DashboardLabel      = "grafana_dashboard"
	DashboardLabelValue = "1"
	// DatasourceVariable is the dashboards' Prometheus data source, a
	// variable: Grafana offers every Prometheus it knows.
	DatasourceVariable = "datasource"
)

// Dashboard is the part of Grafana's dashboard JSON model these
// dashboards use.
type Dashboard struct {
	UID           string     `json:"uid"`
	Title         string     `json:"title"`
	Tags          []string   `json:"tags"`
	SchemaVersion int        `json:"schemaVersion"`
	Editable      bool       `json:"editable"`
	Refresh       string     `json:"refresh"`
	Time          TimeRange  `json:"time"`
	Templating    Templating `json:"templating"`
	Panels        []Panel    `json:"panels"`
}

// TimeRange is the dashboard's default range.
type TimeRange struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// Templating holds the dashboard's variables.
type Templating struct {
	List []Variable `json:"list"`
}

// Variable is a dashboard variable: the data source, or a query over it.
type Variable struct {
	Name       string      `json:"name"`
	Label      string      `json:"label"`
	Type       string      `json:"type"` // "datasource" or "query"
	Query      string      `json:"query"`
	Datasource *Datasource `json:"datasource,omitempty"`
	Multi      bool        `json:"multi,omitempty"`
	IncludeAll bool        `json:"includeAll,omitempty"`
	Refresh    int         `json:"refresh,omitempty"` // 2: on time range change
}

// Datasource names the data source a panel or variable queries.
type Datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// Panel is a time series or stat panel.
type Panel struct {
	ID          int         `json:"id"`
	Type        string      `json:"type"`
	Title       string      `json:"title"`
	Description string      `json:"description,omitempty"`
	GridPos     GridPos     `json:"gridPos"`
	Datasource  Datasource  `json:"datasource"`
	FieldConfig FieldConfig `json:"fieldConfig"`
	Targets     []Target    `json:"targets"`
}

// GridPos places a panel on Grafana's 24-column grid.
type GridPos struct {
	X int `json:"x"`
	Y int `json:"y"`
	W int `json:"w"`
	H int `json:"h"`
}

// FieldConfig sets the panel's unit.
type FieldConfig struct {
	Defaults FieldDefaults `json:"defaults"`
}

// FieldDefaults holds the unit (Grafana's unit ids: "short", "bytes", ...).
type FieldDefaults struct {
	Unit string `json:"unit"`
}

// Target is one PromQL query of a panel.
type Target struct {
	RefID        string `json:"refId"`
	Expr         string `json:"expr"`
	LegendFormat string `json:"legendFormat,omitempty"`
}

// promDatasource is the variable every panel queries.
var promDatasource = Datasource{Type: "prometheus", UID: "${" + DatasourceVariable + "}"}

// panel is one panel before it is placed.
type panel struct {
	kind, title, unit string
	queries           []query
}

type query struct{ expr, legend string }

// dashboard places the panels two a row, under the data source variable
// and vars.
func dashboard(uid, title string, vars []Variable, panels []panel) Dashboard {
	d := Dashboard{
		UID: uid, Title: title, Tags: []string{"apk8s", "data"},
		SchemaVersion: 39, Refresh: "30s",
		Time: TimeRange{From: "now-6h", To: "now"},
		Templating: Templating{List: append([]Variable{{
			Name: DatasourceVariable, Label: "Prometheus", Type: "datasource", Query: "prometheus",
		}}, vars...)},
	}
	for i, p := range panels {
		// Two panels a row, each half the grid wide.
		out := Panel{
			ID: i + 1, Type: p.kind, Title: p.title,
			GridPos:     GridPos{X: (i % 2) * 12, Y: (i / 2) * 8, W: 12, H: 8},
			Datasource:  promDatasource,
			FieldConfig: FieldConfig{Defaults: FieldDefaults{Unit: p.unit}},
		}
		for j, q := range p.queries {
			out.Targets = append(out.Targets, Target{RefID: string(rune('A' + j)), Expr: q.expr, LegendFormat: q.legend})
		}
		d.Panels = append(d.Panels, out)
	}
	return d
}

// Dashboards are the data platform's dashboards for namespace ns: Kafka,
// Mosquitto and the data claims, and ZooKeeper when the stack has an
// ensemble (zk names its PodMonitor, "" for none). Every query reads only
// metrics the exporters really expose (the list and its sources:
// tests/testdata/dashboards/metrics.txt).
func Dashboards(ns, zk string) []Dashboard {
	sel := fmt.Sprintf(`namespace=%q`, ns)
	out := []Dashboard{
		dashboard("apk8s-kafka", "Kafka", []Variable{{
			Name: "group", Label: "Consumer group", Type: "query", Datasource: &promDatasource, Multi: true, IncludeAll: true, Refresh: 2,
			Query: fmt.Sprintf(`label_values(kafka_consumergroup_lag_sum{%s}, consumergroup)`, sel),
		}}, []panel{
			{"stat", "Brokers in the cluster", "short", []query{{fmt.Sprintf(`kafka_brokers{%s}`, sel), "brokers"}}},
			{"timeseries", "Messages in per topic", "short", []query{{
				fmt.Sprintf(`sum by (topic) (rate(kafka_topic_partition_current_offset{%s}[$__rate_interval]))`, sel), "{{topic}}"}}},
			{"timeseries", "Consumer-group lag per topic", "short", []query{{
				fmt.Sprintf(`sum by (consumergroup, topic) (kafka_consumergroup_lag_sum{%s, consumergroup=~"$group"})`, sel), "{{consumergroup}} on {{topic}}"}}},
			{"timeseries", "Consumer-group members", "short", []query{{
				fmt.Sprintf(`kafka_consumergroup_members{%s, consumergroup=~"$group"}`, sel), "{{consumergroup}}"}}},
			{"timeseries", "Partitions per topic", "short", []query{{fmt.Sprintf(`kafka_topic_partitions{%s}`, sel), "{{topic}}"}}},
			{"timeseries", "Under-replicated and leaderless partitions", "short", []query{
				{fmt.Sprintf(`sum by (topic) (kafka_topic_partition_under_replicated_partition{%s})`, sel), "under-replicated {{topic}}"},
				{fmt.Sprintf(`count by (topic) (kafka_topic_partition_replicas{%s} unless on (namespace, topic, partition) kafka_topic_partition_leader{%s})`, sel, sel), "no leader {{topic}}"},
			}},
		}),
	}
	if zk != "" {
		zsel := fmt.Sprintf(`%s, job=%q`, sel, ns+"/"+zk)
		out = append(out, dashboard("apk8s-zookeeper", "ZooKeeper", nil, []panel{
			{"stat", "Members up", "short", []query{{fmt.Sprintf(`sum(up{%s})`, zsel), "members"}}},
			{"timeseries", "Leader (uptime)", "ms", []query{{fmt.Sprintf(`leader_uptime{%s}`, zsel), "{{pod}}"}}},
			{"timeseries", "Quorum and synced followers", "short", []query{
				{fmt.Sprintf(`max(quorum_size{%s})`, zsel), "quorum size"},
				{fmt.Sprintf(`max(synced_followers{%s})`, zsel), "synced followers"},
			}},
			{"timeseries", "Outstanding requests", "short", []query{{fmt.Sprintf(`outstanding_requests{%s}`, zsel), "{{pod}}"}}},
			{"timeseries", "Average latency", "ms", []query{{fmt.Sprintf(`avg_latency{%s}`, zsel), "{{pod}}"}}},
			{"timeseries", "Client connections", "short", []query{{fmt.Sprintf(`num_alive_connections{%s}`, zsel), "{{pod}}"}}},
			{"timeseries", "Znodes", "short", []query{{fmt.Sprintf(`znode_count{%s}`, zsel), "{{pod}}"}}},
		}))
	}
	return append(out,
		dashboard("apk8s-mosquitto", "Mosquitto", nil, []panel{
			{"stat", "Available brokers", "short", []query{{fmt.Sprintf(`kube_deployment_status_replicas_available{%s, deployment="mqtt"}`, sel), "available"}}},
			{"timeseries", "Restarts (1h)", "short", []query{{fmt.Sprintf(`sum(increase(kube_pod_container_status_restarts_total{%s, container="mqtt"}[1h]))`, sel), "restarts"}}},
			{"timeseries", "Memory", "bytes", []query{{fmt.Sprintf(`sum(container_memory_working_set_bytes{%s, container="mqtt"})`, sel), "working set"}}},
			{"timeseries", "CPU", "short", []query{{fmt.Sprintf(`sum(rate(container_cpu_usage_seconds_total{%s, container="mqtt"}[$__rate_interval]))`, sel), "cores"}}},
		}),
		dashboard("apk8s-data-volumes", "Data volumes", nil, []panel{
			{"timeseries", "Used per claim", "percent", []query{{
				fmt.Sprintf(`100 * kubelet_volume_stats_used_bytes{%s} / kubelet_volume_stats_capacity_bytes{%s}`, sel, sel), "{{persistentvolumeclaim}}"}}},
			{"timeseries", "Available per claim", "bytes", []query{{fmt.Sprintf(`kubelet_volume_stats_available_bytes{%s}`, sel), "{{persistentvolumeclaim}}"}}},
		}),
	)
}

// DashboardConfigMap carries one dashboard to the sidecar.
func DashboardConfigMap(ns string, d Dashboard) (*corev1.ConfigMap, error) {
	raw, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("dashboard %s: %w", d.UID, err)
	}
	return &corev1.ConfigMap{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Name: "grafana-dashboard-" + d.UID, Namespace: ns,
			Labels: map[string]string{DashboardLabel: DashboardLabelValue}},
		Data: map[string]string{d.UID + ".json": string(raw)},
	}, nil
}
