// Package monitoringv1 holds the monitoring.coreos.com/v1 objects this program
// creates (the Prometheus Operator's scrape targets and alert rules), as Go structs with the
// fields it sets.
package monitoringv1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/apk8s/apk8s-platform/apis/crd"
)

// APIVersion of every object here.
const APIVersion = "monitoring.coreos.com/v1"

// ServiceMonitor scrapes the endpoints of the Services it selects.
type ServiceMonitor = crd.Object[ServiceMonitorSpec]

// ServiceMonitorSpec selects Services in the monitor's own namespace.
type ServiceMonitorSpec struct {
	Selector  metav1.LabelSelector `json:"selector"`
	Endpoints []Endpoint           `json:"endpoints"`
}

// Endpoint is a port to scrape.
type Endpoint struct {
	// Port is the port's name: a Service port's in a ServiceMonitor, a
	// container port's in a PodMonitor.
	Port     string `json:"port"`
	Path     string `json:"path,omitempty"`
	Interval string `json:"interval,omitempty"`
}

// PodMonitor scrapes the pods it selects directly.
type PodMonitor = crd.Object[PodMonitorSpec]

// PodMonitorSpec selects pods in the monitor's own namespace.
type PodMonitorSpec struct {
	Selector            metav1.LabelSelector `json:"selector"`
	PodMetricsEndpoints []PodMetricsEndpoint `json:"podMetricsEndpoints"`
}

// PodMetricsEndpoint is a container port to scrape; the Prometheus
// Operator's type has more fields, the ones this program sets are an
// Endpoint's.
type PodMetricsEndpoint = Endpoint

// PrometheusRule holds alerting and recording rules; Prometheus loads the
// ones its ruleSelector and ruleNamespaceSelector select.
type PrometheusRule = crd.Object[PrometheusRuleSpec]

// PrometheusRuleSpec is a Prometheus rule file's content.
type PrometheusRuleSpec struct {
	Groups []RuleGroup `json:"groups"`
}

// RuleGroup is a named list of rules evaluated together.
type RuleGroup struct {
	Name  string `json:"name"`
	Rules []Rule `json:"rules"`
}

// Rule is an alerting rule (Alert set) or a recording rule (Record set).
type Rule struct {
	Alert       string            `json:"alert,omitempty"`
	Record      string            `json:"record,omitempty"`
	Expr        string            `json:"expr"`
	For         string            `json:"for,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}
