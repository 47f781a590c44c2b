package tests

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/apk8s/apk8s-platform/apis/monitoringv1"
	"github.com/apk8s/apk8s-platform/components/monitoring"
)

// knownMetrics are the metric names of testdata/dashboards/metrics.txt.
func knownMetrics(t *testing.T) map[string]bool {
	t.Helper()
	raw, err := os.ReadFile("testdata/dashboards/metrics.txt")
	require.NoError(t, err)
	known := map[string]bool{}
	for line := range strings.Lines(string(raw)) {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			known[line] = true
		}
	}
	return known
}

// PromQL's parts that are not metric names: strings, label matchers,
// ranges, label lists of grouping and matching, keywords, and identifiers
// that call (functions, aggregations).
var (
	promqlStrings  = regexp.MustCompile(`"(\\.|[^"\\])*"|'(\\.|[^'\\])*'|` + "`[^`]*`")
	promqlMatchers = regexp.MustCompile(`\{[^}]*\}`)
	promqlRanges   = regexp.MustCompile(`\[[^\]]*\]`)
	promqlLabels   = regexp.MustCompile(`\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promqlIdent    = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	promqlDigitEnd = regexp.MustCompile(`[0-9]$`)
	promqlKeywords = []string{"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right", "inf", "nan"}
)

// metricNames are the metric names an expression reads; the expression is
// one promtool has parsed, so the cuts above see well-formed PromQL.
func metricNames(expr string) []string {
	expr = promqlStrings.ReplaceAllString(expr, `""`)
	expr = promqlMatchers.ReplaceAllString(expr, " ")
	expr = promqlRanges.ReplaceAllString(expr, " ")
	expr = promqlLabels.ReplaceAllString(expr, " ")
	var names []string
	for _, at := range promqlIdent.FindAllStringIndex(expr, -1) {
		name, before, after := expr[at[0]:at[1]], expr[:at[0]], strings.TrimSpace(expr[at[1]:])
		switch {
		case strings.HasSuffix(before, "$") || strings.HasSuffix(before, ".") || promqlDigitEnd.MatchString(before):
			// a variable, or the exponent or unit of a number
		case strings.HasPrefix(after, "("), slices.Contains(promqlKeywords, strings.ToLower(name)), slices.Contains(names, name):
			// a call, a keyword, or seen already
		default:
			names = append(names, name)
		}
	}
	return names
}

// TestMetricNames: the extractor finds the selectors' names and nothing
// else, so that the checks below can fail.
func TestMetricNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		expr string
		want []string
	}{
		{`up`, []string{"up"}},
		{`sum by (topic, partition) (rate(kafka_topic_partition_current_offset{namespace="data", topic=~"a|b"}[$__rate_interval]))`, []string{"kafka_topic_partition_current_offset"}},
		{`x{a="sum(y)"} unless on (namespace, topic) z > 3 and bool w offset 5m`, []string{"x", "z", "w"}},
		{`100 * used / capacity > 80`, []string{"used", "capacity"}},
		{`(count(up{job="j"} == 1) or vector(0)) < 3`, []string{"up"}},
		{`absent(leader_uptime{job="data/zookeeper"})`, []string{"leader_uptime"}},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, metricNames(tt.expr), tt.expr)
	}
}

// checkPromQL has promtool parse every expression, each as a recording
// rule; Grafana's interval variable becomes a duration first.
func checkPromQL(t *testing.T, exprs []string) {
	t.Helper()
	group := monitoringv1.RuleGroup{Name: "dashboards"}
	for i, e := range exprs {
		group.Rules = append(group.Rules, monitoringv1.Rule{
			Record: fmt.Sprintf("dashboard:query%d", i), Expr: strings.ReplaceAll(e, "$__rate_interval", "5m"),
		})
	}
	out, err := yaml.Marshal(monitoringv1.PrometheusRuleSpec{Groups: []monitoringv1.RuleGroup{group}})
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "queries.yaml")
	require.NoError(t, os.WriteFile(path, out, 0o600))
	runPromtool(t, "check", "rules", path)
}

// labelValues is Grafana's variable query label_values(<selector>, <label>).
var labelValues = regexp.MustCompile(`^label_values\((.+),\s*[a-zA-Z_][a-zA-Z0-9_]*\)$`)

// dashboardsOf are the dashboards of g's ConfigMaps that carry the
// sidecar's label, by uid, checked for the shape Grafana loads.
func dashboardsOf(t *testing.T, g *Graph, label, value string) map[string]monitoring.Dashboard {
	t.Helper()
	out := map[string]monitoring.Dashboard{}
	for _, r := range g.Find(tokConfigMap) {
		var cm corev1.ConfigMap
		r.Decode(t, &cm)
		if cm.Labels[label] != value {
			continue
		}
		require.Len(t, cm.Data, 1, "%s: one dashboard per ConfigMap", cm.Name)
		for file, raw := range cm.Data {
			assert.True(t, strings.HasSuffix(file, ".json"), "%s: the sidecar writes %s as is", cm.Name, file)
			var loose map[string]any
			require.NoError(t, json.Unmarshal([]byte(raw), &loose), "%s is not JSON", file)
			var d monitoring.Dashboard
			dec := json.NewDecoder(strings.NewReader(raw))
			dec.DisallowUnknownFields()
			require.NoError(t, dec.Decode(&d), file)
			out[d.UID] = d
		}
	}
	return out
}

// TestDashboards: the data platform's dashboards are ConfigMaps with the
// label the chart's Grafana sidecar selects, in a namespace it searches;
// each is JSON of Grafana's dashboard shape with the Prometheus data
// source as a variable; every query parses as PromQL (promtool) and reads
// only metrics that the exporters expose (testdata/dashboards/metrics.txt).
func TestDashboards(t *testing.T) {
	t.Parallel()
	g := dev3Graph(t, nil)
	var v monitoring.Values
	values(t, release(t, g, monitoring.ReleaseName), &v)
	side := v.Grafana.Sidecar.Dashboards
	require.True(t, side.Enabled)
	assert.Equal(t, "ALL", side.SearchNamespace, "the dashboards live in the data namespace, not Grafana's")
	dashboards := dashboardsOf(t, g, side.Label, side.LabelValue)
	assert.ElementsMatch(t, []string{"apk8s-kafka", "apk8s-zookeeper", "apk8s-mosquitto", "apk8s-data-volumes"}, slices.Sorted(maps.Keys(dashboards)))

	known := knownMetrics(t)
	var exprs []string
	for uid, d := range dashboards {
		assert.NotEmpty(t, d.Title, uid)
		assert.LessOrEqual(t, len(uid), 40, "Grafana's uid limit")
		assert.Positive(t, d.SchemaVersion, uid)
		require.NotEmpty(t, d.Templating.List, uid)
		ds := d.Templating.List[0]
		assert.Equal(t, monitoring.Variable{Name: "datasource", Label: "Prometheus", Type: "datasource", Query: "prometheus"}, ds, uid)
		for _, variable := range d.Templating.List[1:] {
			m := labelValues.FindStringSubmatch(variable.Query)
			require.NotNil(t, m, "%s: variable %s: %q", uid, variable.Name, variable.Query)
			exprs = append(exprs, m[1])
			require.NotNil(t, variable.Datasource)
			assert.Equal(t, "${datasource}", variable.Datasource.UID)
		}
		require.NotEmpty(t, d.Panels, uid)
		ids := map[int]bool{}
		for _, p := range d.Panels {
			assert.False(t, ids[p.ID], "%s: panel id %d twice", uid, p.ID)
			ids[p.ID] = true
			assert.Contains(t, []string{"timeseries", "stat"}, p.Type)
			assert.NotEmpty(t, p.Title)
			assert.Equal(t, monitoring.Datasource{Type: "prometheus", UID: "${datasource}"}, p.Datasource, "%s: %s queries the variable", uid, p.Title)
			assert.True(t, p.GridPos.W > 0 && p.GridPos.H > 0 && p.GridPos.X+p.GridPos.W <= 24, "%s: %s on the grid", uid, p.Title)
			require.NotEmpty(t, p.Targets, "%s: %s", uid, p.Title)
			for _, target := range p.Targets {
				assert.NotEmpty(t, target.RefID)
				exprs = append(exprs, target.Expr)
			}
		}
	}
	for _, e := range exprs {
		names := metricNames(e)
		assert.NotEmpty(t, names, e)
		for _, n := range names {
			assert.True(t, known[n], "%q reads %s, which no exporter of metrics.txt exposes", e, n)
		}
	}
	promtool(t)
	checkPromQL(t, exprs)

	t.Run("kraft", func(t *testing.T) {
		g := dev3Graph(t, map[string]string{"kafkaMode": "kraft"})
		assert.NotContains(t, dashboardsOf(t, g, side.Label, side.LabelValue), "apk8s-zookeeper", "no ensemble, no ZooKeeper dashboard")
	})
	t.Run("no monitoring", func(t *testing.T) {
		g := dev3Graph(t, map[string]string{"monitoring": "none"})
		assert.Empty(t, dashboardsOf(t, g, side.Label, side.LabelValue))
	})
}

// TestAlertRulesUseKnownMetrics: the alerts read only metrics that the
// exporters expose, as the dashboards do.
func TestAlertRulesUseKnownMetrics(t *testing.T) {
	t.Parallel()
	known := knownMetrics(t)
	for _, grp := range monitoring.Rules("data", promtoolTargets, promtoolThresholds).Spec.Groups {
		for _, r := range grp.Rules {
			names := metricNames(r.Expr)
			assert.NotEmpty(t, names, r.Alert)
			for _, n := range names {
				assert.True(t, known[n], "%s reads %s, which no exporter of metrics.txt exposes", r.Alert, n)
			}
		}
	}
}
