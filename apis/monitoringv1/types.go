// Package monitoringv1 holds the monitoring.coreos.com/v1 objects this program
// creates (the Prometheus Operator's scrape targets), as Go structs with the
// fields it sets.
package monitoringv1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// APIVersion of every object here.
const APIVersion = "monitoring.coreos.com/v1"

// ServiceMonitor scrapes the endpoints of the Services it selects.
type ServiceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              ServiceMonitorSpec `json:"spec"`
}

// ServiceMonitorSpec selects Services in the monitor's own namespace.
type ServiceMonitorSpec struct {
	Selector  metav1.LabelSelector `json:"selector"`
	Endpoints []Endpoint           `json:"endpoints"`
}

// Endpoint is a Service port to scrape.
type Endpoint struct {
	// Port is the Service port's name.
	Port     string `json:"port"`
	Path     string `json:"path,omitempty"`
	Interval string `json:"interval,omitempty"`
}

// PodMonitor scrapes the pods it selects directly.
type PodMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              PodMonitorSpec `json:"spec"`
}

// PodMonitorSpec selects pods in the monitor's own namespace.
type PodMonitorSpec struct {
	Selector            metav1.LabelSelector `json:"selector"`
	PodMetricsEndpoints []PodMetricsEndpoint `json:"podMetricsEndpoints"`
}

// PodMetricsEndpoint is a container port to scrape.
type PodMetricsEndpoint struct {
	// Port is the container port's name.
	Port     string `json:"port"`
	Path     string `json:"path,omitempty"`
	Interval string `json:"interval,omitempty"`
}
