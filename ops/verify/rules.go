package verify

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

var prometheusRules = schema.GroupVersionResource{Group: "monitoring.coreos.com", Version: "v1", Resource: "prometheusrules"}

// PrometheusService is the Service of the Prometheus API, reached through
// the API server's service proxy.
type PrometheusService struct {
	Namespace, Name, Port string
}

// alertRulesLoaded checks that the stack's PrometheusRule exists and that
// Prometheus's rules API lists every group of it, from the file the
// Prometheus Operator writes for it (<namespace>-<name>-<uid>.yaml).
func alertRulesLoaded(ctx context.Context, s *Session) (string, error) {
	if s.AlertRules == "" {
		return "", Skipped("the stack installs no monitoring (monitoring = none): no alert rules")
	}
	dyn, err := dynamic.NewForConfig(s.Config)
	if err != nil {
		return "", err
	}
	rule, err := dyn.Resource(prometheusRules).Namespace(s.Namespace).Get(ctx, s.AlertRules, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	if s.Prometheus == nil {
		groups, err := ruleGroups(rule)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("PrometheusRule %s/%s has %d groups; the cluster's own Prometheus is not known here: check its rules page", s.Namespace, s.AlertRules, len(groups)), nil
	}
	p := s.Prometheus
	api, err := s.Kube.CoreV1().Services(p.Namespace).ProxyGet("http", p.Name, p.Port, "/api/v1/rules", map[string]string{"type": "alert"}).DoRaw(ctx)
	if err != nil {
		return "", fmt.Errorf("Prometheus rules API (service %s/%s): %w", p.Namespace, p.Name, err)
	}
	return rulesReport(rule, api)
}

// ruleGroups are the group names of a PrometheusRule.
func ruleGroups(rule *unstructured.Unstructured) ([]string, error) {
	groups, _, err := unstructured.NestedSlice(rule.Object, "spec", "groups")
	if err != nil {
		return nil, err
	}
	var names []string
	for _, g := range groups {
		m, _ := g.(map[string]any)
		if name, ok := m["name"].(string); ok {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("PrometheusRule %s/%s has no groups", rule.GetNamespace(), rule.GetName())
	}
	return names, nil
}

// rulesReport compares the groups of rule with those Prometheus's rules
// API (/api/v1/rules) lists from the rule's file.
func rulesReport(rule *unstructured.Unstructured, api []byte) (string, error) {
	want, err := ruleGroups(rule)
	if err != nil {
		return "", err
	}
	var answer struct {
		Status string `json:"status"`
		Data   struct {
			Groups []struct {
				Name  string `json:"name"`
				File  string `json:"file"`
				Rules []any  `json:"rules"`
			} `json:"groups"`
		} `json:"data"`
	}
	if err := json.Unmarshal(api, &answer); err != nil || answer.Status != "success" {
		return "", fmt.Errorf("the rules API answered %.200q", api)
	}
	file := rule.GetNamespace() + "-" + rule.GetName() + "-"
	var loaded []string
	alerts := 0
	for _, g := range answer.Data.Groups {
		if strings.Contains(g.File, "/"+file) && slices.Contains(want, g.Name) {
			loaded = append(loaded, g.Name)
			alerts += len(g.Rules)
		}
	}
	var missing []string
	for _, w := range want {
		if !slices.Contains(loaded, w) {
			missing = append(missing, w)
		}
	}
	if len(missing) > 0 {
		return "", fmt.Errorf("Prometheus has not loaded group(s) %s of %s/%s (the operator reloads within a minute or two; check its ruleSelector)",
			strings.Join(missing, ", "), rule.GetNamespace(), rule.GetName())
	}
	return fmt.Sprintf("%d groups, %d alerts of %s/%s loaded by Prometheus", len(loaded), alerts, rule.GetNamespace(), rule.GetName()), nil
}
