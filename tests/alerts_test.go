package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/apk8s/apk8s-platform/apis/cephv1"
	"github.com/apk8s/apk8s-platform/apis/monitoringv1"
	"github.com/apk8s/apk8s-platform/components/monitoring"
	"github.com/apk8s/apk8s-platform/components/rookceph"
)

const tokPrometheusRule = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"

// promtoolTargets are the sizes and thresholds the promtool unit tests
// (testdata/alerts/data-platform.test.yaml) are written for.
var (
	promtoolTargets = monitoring.Targets{
		Brokers: 3, MinInSync: 2, Mosquitto: "mqtt",
		ZooKeeperName: "zookeeper", ZooKeeperMembers: 3,
	}
	promtoolThresholds = monitoring.AlertConfig{ConsumerLag: 1000, VolumeUsedPercent: 80, ZooKeeperOutstanding: 10}
)

// promtool is the path of Prometheus's rule checker; the test skips
// without it (.ci/run installs it from the Debian package prometheus).
func promtool(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool is not installed (apt-get install prometheus): the alert rules are not checked")
	}
	return path
}

// writeRules writes a PrometheusRule's spec as a Prometheus rule file.
func writeRules(t *testing.T, dir string, rule *monitoringv1.PrometheusRule) string {
	t.Helper()
	out, err := yaml.Marshal(rule.Spec)
	require.NoError(t, err)
	path := filepath.Join(dir, "rules.yaml")
	require.NoError(t, os.WriteFile(path, out, 0o600))
	return path
}

func runPromtool(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command(promtool(t), args...).CombinedOutput()
	require.NoError(t, err, "promtool %s:\n%s", strings.Join(args, " "), out)
}

// TestAlertRulesPromtool: Prometheus's own checker accepts the data
// namespace's rules and Ceph's, and its unit tests with synthetic series
// see each alert of the data namespace fire when it should and not before
// its `for:`, and none on a healthy platform.
func TestAlertRulesPromtool(t *testing.T) {
	t.Parallel()
	promtool(t)
	dir := t.TempDir()
	writeRules(t, dir, monitoring.Rules("data", promtoolTargets, promtoolThresholds))
	test, err := os.ReadFile("testdata/alerts/data-platform.test.yaml")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "test.yaml"), test, 0o600))
	runPromtool(t, "check", "rules", filepath.Join(dir, "rules.yaml"))
	runPromtool(t, "test", "rules", filepath.Join(dir, "test.yaml"))

	ceph, err := rookceph.Rules()
	require.NoError(t, err)
	cephDir := t.TempDir()
	runPromtool(t, "check", "rules", writeRules(t, cephDir, ceph))
}

// promtoolTests is the shape of a promtool unit test file, as far as the
// coverage check reads it.
type promtoolTests struct {
	Tests []struct {
		AlertRuleTest []struct {
			EvalTime  string `json:"eval_time"`
			AlertName string `json:"alertname"`
			ExpAlerts []any  `json:"exp_alerts"`
		} `json:"alert_rule_test"`
	} `json:"tests"`
}

// TestEveryAlertIsUnitTested: the promtool tests hold every alert of the
// data namespace to a case where it fires and, in the same case, an
// earlier evaluation no later than its `for:` after it became true, where
// it does not yet.
func TestEveryAlertIsUnitTested(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("testdata/alerts/data-platform.test.yaml")
	require.NoError(t, err)
	var file promtoolTests
	require.NoError(t, yaml.Unmarshal(raw, &file))
	for _, g := range monitoring.Rules("data", promtoolTargets, promtoolThresholds).Spec.Groups {
		for _, r := range g.Rules {
			wait, err := time.ParseDuration(r.For)
			require.NoError(t, err, "%s: for", r.Alert)
			covered := false
			for _, c := range file.Tests {
				var fires, quiet []time.Duration
				for _, a := range c.AlertRuleTest {
					if a.AlertName != r.Alert {
						continue
					}
					at, err := time.ParseDuration(a.EvalTime)
					require.NoError(t, err)
					if len(a.ExpAlerts) > 0 {
						fires = append(fires, at)
					} else {
						quiet = append(quiet, at)
					}
				}
				if len(fires) > 0 && len(quiet) > 0 && slices.Min(quiet) < slices.Min(fires) && slices.Min(fires)-slices.Min(quiet) <= wait {
					covered = true
				}
			}
			assert.True(t, covered, "alert %s has no promtool case that shows it quiet within its for: %s and then firing", r.Alert, r.For)
		}
	}
}

// TestAlertRuleShape: every alert waits (`for:`), carries a severity and a
// runbook that points at a heading of docs/alerts.md.
func TestAlertRuleShape(t *testing.T) {
	t.Parallel()
	page, err := os.ReadFile("../" + monitoring.RunbookPage)
	require.NoError(t, err)
	headings := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^#+ +(\S+)\s*$`).FindAllStringSubmatch(string(page), -1) {
		headings[strings.ToLower(m[1])] = true
	}
	for _, g := range monitoring.Rules("data", promtoolTargets, promtoolThresholds).Spec.Groups {
		for _, r := range g.Rules {
			assert.NotEmpty(t, r.For, "%s: for", r.Alert)
			assert.Contains(t, []string{monitoring.Critical, monitoring.Warning}, r.Labels["severity"], r.Alert)
			assert.NotEmpty(t, r.Annotations["summary"], r.Alert)
			anchor, ok := strings.CutPrefix(r.Annotations["runbook"], monitoring.RunbookPage+"#")
			assert.True(t, ok && headings[anchor], "%s: runbook %q names no heading of %s", r.Alert, r.Annotations["runbook"], monitoring.RunbookPage)
		}
	}
}

// ruleGroups are the group names of the data namespace's PrometheusRule
// in g, nil without one.
func ruleGroups(t *testing.T, g *Graph) []string {
	t.Helper()
	var names []string
	for _, r := range g.Find(tokPrometheusRule) {
		if r.K8sName() != monitoring.RulesName {
			continue
		}
		var rule monitoringv1.PrometheusRule
		r.Decode(t, &rule)
		assert.Equal(t, "data", rule.Namespace)
		for _, grp := range rule.Spec.Groups {
			names = append(names, grp.Name)
		}
	}
	return names
}

// alertExpr is the expression of the alert name in the data namespace's
// rules of g.
func alertExpr(t *testing.T, g *Graph, name string) string {
	t.Helper()
	var rule monitoringv1.PrometheusRule
	g.Object(t, tokPrometheusRule, monitoring.RulesName).Decode(t, &rule)
	for _, grp := range rule.Spec.Groups {
		for _, r := range grp.Rules {
			if r.Alert == name {
				return r.Expr
			}
		}
	}
	require.Failf(t, "alert missing", "no alert %s", name)
	return ""
}

// TestAlertRulesFollowTheStack: the rules exist where Prometheus runs (its
// rule selector takes every namespace's, TestMonitoring), hold the
// configured sizes and thresholds, leave out ZooKeeper in KRaft mode, and
// wait for the CRD the monitoring release brings; Ceph's rules come with
// the CephCluster, whose manager Prometheus then scrapes.
func TestAlertRulesFollowTheStack(t *testing.T) {
	t.Parallel()
	g := dev3Graph(t, map[string]string{
		"kafkaReplicas": "3", "zookeeperReplicas": "3",
		"alertConsumerLag": "5000", "alertVolumeUsedPercent": "90", "alertZooKeeperOutstandingRequests": "50",
	})
	assert.Equal(t, []string{"kafka", "zookeeper", "mosquitto", "data-volumes"}, ruleGroups(t, g))
	assert.Contains(t, alertExpr(t, g, "KafkaBrokerMissing"), "< 3")
	assert.Contains(t, alertExpr(t, g, "KafkaInSyncReplicasBelowMinimum"), "< 2", "min.insync.replicas of three brokers")
	assert.Contains(t, alertExpr(t, g, "KafkaConsumerGroupLag"), "> 5000")
	assert.Contains(t, alertExpr(t, g, "DataVolumeFilling"), "> 90")
	assert.Contains(t, alertExpr(t, g, "ZooKeeperOutstandingRequests"), "> 50")
	assert.Contains(t, alertExpr(t, g, "ZooKeeperMemberDown"), "< 3")
	assert.Contains(t, alertExpr(t, g, "ZooKeeperMemberDown"), `job="data/zookeeper"`, "the PodMonitor's job label")
	assert.Contains(t, alertExpr(t, g, "KafkaExporterDown"), `job="kafka-exporter"`, "the ServiceMonitor's job: its Service's name")
	assert.Contains(t, alertExpr(t, g, "MosquittoDown"), `deployment="mqtt"`)
	kps := release(t, g, monitoring.ReleaseName)
	assert.Contains(t, g.Object(t, tokPrometheusRule, monitoring.RulesName).DependsOn, kps.URN, "the rules need their CRD")

	ceph := g.Object(t, tokPrometheusRule, rookceph.RulesName)
	assert.Equal(t, rookceph.Namespace, ceph.K8sNamespace())
	assert.Contains(t, ceph.DependsOn, kps.URN, "Ceph's rules need their CRD")
	var cluster cephv1.CephCluster
	g.Object(t, tokCephCluster, rookceph.ClusterName).Decode(t, &cluster)
	assert.True(t, cluster.Spec.Monitoring.Enabled, "Rook creates the manager's ServiceMonitor")

	t.Run("small ensemble", func(t *testing.T) {
		g := dev3Graph(t, map[string]string{"zookeeperReplicas": "1"})
		var rule monitoringv1.PrometheusRule
		g.Object(t, tokPrometheusRule, monitoring.RulesName).Decode(t, &rule)
		for _, grp := range rule.Spec.Groups {
			for _, r := range grp.Rules {
				assert.NotEqual(t, "ZooKeeperQuorumLost", r.Alert, "a standalone server has no leader")
			}
		}
	})
	t.Run("kraft", func(t *testing.T) {
		g := dev3Graph(t, map[string]string{"kafkaMode": "kraft"})
		assert.Equal(t, []string{"kafka", "mosquitto", "data-volumes"}, ruleGroups(t, g), "no ZooKeeper rules without an ensemble")
	})
	t.Run("no monitoring", func(t *testing.T) {
		g := dev3Graph(t, map[string]string{"monitoring": "none"})
		assert.Empty(t, g.Find(tokPrometheusRule))
		var cluster cephv1.CephCluster
		g.Object(t, tokCephCluster, rookceph.ClusterName).Decode(t, &cluster)
		assert.False(t, cluster.Spec.Monitoring.Enabled, "no ServiceMonitor without its CRD")
	})
	t.Run("existing monitoring", func(t *testing.T) {
		g := dev3Graph(t, map[string]string{"monitoring": "existing"})
		assert.NotEmpty(t, ruleGroups(t, g))
		g.Object(t, tokPrometheusRule, rookceph.RulesName)
	})
	t.Run("no ceph", func(t *testing.T) {
		g := dev3Graph(t, map[string]string{"rookCeph": "existing", "storageClass": "rook-ceph-block"})
		for _, r := range g.Find(tokPrometheusRule) {
			assert.NotEqual(t, rookceph.RulesName, r.K8sName(), "Ceph's rules belong to the CephCluster this program creates")
		}
	})
}

// TestAlertThresholdEdges: each threshold is taken at its bounds and
// refused one past them, before anything is registered, naming the key,
// the value and the range.
func TestAlertThresholdEdges(t *testing.T) {
	t.Parallel()
	for _, edge := range []struct{ key, lo, hi, below, above, allowed string }{
		{"alertConsumerLag", "1", "2000000000", "0", "2000000001", "a whole number from 1 to 2000000000"},
		{"alertVolumeUsedPercent", "50", "99", "49", "100", "a whole number from 50 to 99"},
		{"alertZooKeeperOutstandingRequests", "1", "100000", "0", "100001", "a whole number from 1 to 100000"},
	} {
		for _, v := range []string{edge.lo, edge.hi} {
			g := dev3Graph(t, map[string]string{edge.key: v})
			assert.NotEmpty(t, g.Find(tokPrometheusRule), "%s = %s", edge.key, v)
		}
		var bad []badConfig
		for _, v := range []string{edge.below, edge.above} {
			bad = append(bad, badConfig{edge.key + "=" + v, Run{Stack: "dev3", Set: map[string]string{edge.key: v}},
				[]string{`apk8s-platform:` + edge.key + ` = "` + v + `" is not allowed`, edge.allowed}})
		}
		checkBadConfigs(t, bad)
	}
}
