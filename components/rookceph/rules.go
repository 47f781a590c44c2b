package rookceph

import (
	_ "embed"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/apk8s/apk8s-platform/apis/monitoringv1"
)

// RulesName is the PrometheusRule of Ceph's alerts, the name Rook's
// rook-ceph-cluster chart gives it.
const RulesName = "prometheus-ceph-rules"

// cephRules is Rook's own rule file for the pinned Rook line (its header
// says where from). The operator chart ships no rules and this program
// creates the CephCluster without Rook's cluster chart, so it ships them.
//
//go:embed cephrules.yaml
var cephRules []byte

// Rules are Ceph's alerts as a PrometheusRule beside the CephCluster; they
// read the metrics of the manager's Prometheus module, which the
// CephCluster's spec.monitoring makes Prometheus scrape.
func Rules() (*monitoringv1.PrometheusRule, error) {
	var spec monitoringv1.PrometheusRuleSpec
	if err := yaml.UnmarshalStrict(cephRules, &spec); err != nil {
		return nil, fmt.Errorf("ceph alert rules (cephrules.yaml): %w", err)
	}
	return &monitoringv1.PrometheusRule{
		TypeMeta:   metav1.TypeMeta{APIVersion: monitoringv1.APIVersion, Kind: "PrometheusRule"},
		ObjectMeta: metav1.ObjectMeta{Name: RulesName, Namespace: Namespace},
		Spec:       spec,
	}, nil
}
