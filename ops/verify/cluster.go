package verify

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/apk8s/apk8s-platform/components/datanamespace"
)

// ErrNotDeployed says that the stack's namespace is missing.
var ErrNotDeployed = errors.New("the stack is not deployed")

const certificateName = datanamespace.CertificateName

var certificates = schema.GroupVersionResource{Group: "cert-manager.io", Version: "v1", Resource: "certificates"}

// namespaceExists tells "not deployed" and "cluster unreachable" apart
// from a failed check.
func (s *Session) namespaceExists(ctx context.Context) error {
	_, err := s.Kube.CoreV1().Namespaces().Get(ctx, s.Namespace, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return fmt.Errorf("verify: namespace %q does not exist: %w (run up first)", s.Namespace, ErrNotDeployed)
	case err != nil:
		return fmt.Errorf("verify: cannot read namespace %q from the cluster at %s: %w", s.Namespace, s.Config.Host, err)
	}
	return nil
}

func podsRunning(ctx context.Context, s *Session) (string, error) {
	pods, err := s.Kube.CoreV1().Pods(s.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", err
	}
	return podsReport(pods.Items)
}

func claimsBound(ctx context.Context, s *Session) (string, error) {
	claims, err := s.Kube.CoreV1().PersistentVolumeClaims(s.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", err
	}
	return claimsReport(claims.Items)
}

// podsReport passes when every pod is Running and Ready (or has completed),
// and names every other pod with its phase and reason.
func podsReport(pods []corev1.Pod) (string, error) {
	if len(pods) == 0 {
		return "", errors.New("no pods in the namespace")
	}
	var bad []string
	for _, p := range pods {
		if p.Status.Phase == corev1.PodSucceeded {
			continue
		}
		if p.Status.Phase != corev1.PodRunning || !podReady(p) {
			bad = append(bad, p.Name+" "+podState(p))
		}
	}
	sort.Strings(bad)
	if len(bad) > 0 {
		return "", fmt.Errorf("%d of %d pods not running: %s", len(bad), len(pods), strings.Join(bad, ", "))
	}
	return fmt.Sprintf("%d pods Running and Ready", len(pods)), nil
}

func podReady(p corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// podState is the phase with the most telling reason a user would look
// for in `kubectl describe`: a waiting container's, else the pod's
// scheduling condition's.
func podState(p corev1.Pod) string {
	phase := string(p.Status.Phase)
	if phase == "" {
		phase = "Unknown"
	}
	for _, c := range p.Status.ContainerStatuses {
		if w := c.State.Waiting; w != nil && w.Reason != "" {
			return fmt.Sprintf("(%s: %s)", phase, w.Reason)
		}
	}
	for _, c := range p.Status.Conditions {
		if c.Status != corev1.ConditionTrue && c.Reason != "" {
			return fmt.Sprintf("(%s: %s)", phase, c.Reason)
		}
	}
	if p.Status.Phase == corev1.PodRunning {
		return "(Running, not Ready)"
	}
	return "(" + phase + ")"
}

// claimsReport passes when every claim is Bound and names the others.
func claimsReport(claims []corev1.PersistentVolumeClaim) (string, error) {
	var bad []string
	for _, c := range claims {
		if c.Status.Phase != corev1.ClaimBound {
			bad = append(bad, fmt.Sprintf("%s (%s)", c.Name, c.Status.Phase))
		}
	}
	sort.Strings(bad)
	if len(bad) > 0 {
		return "", fmt.Errorf("%d of %d claims not Bound: %s", len(bad), len(claims), strings.Join(bad, ", "))
	}
	return fmt.Sprintf("%d claims Bound", len(claims)), nil
}

func certificateReady(ctx context.Context, s *Session) (string, error) {
	if !s.Certificate {
		return "", Skipped("the stack makes no certificate (certificate = false)")
	}
	dyn, err := dynamic.NewForConfig(s.Config)
	if err != nil {
		return "", err
	}
	cert, err := dyn.Resource(certificates).Namespace(s.Namespace).Get(ctx, certificateName, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	return certificateReport(cert)
}

// certificateReport reads cert-manager's Ready condition: True passes,
// anything else fails with cert-manager's own reason and message.
func certificateReport(cert *unstructured.Unstructured) (string, error) {
	conds, _, _ := unstructured.NestedSlice(cert.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] != "Ready" {
			continue
		}
		if m["status"] == "True" {
			notAfter, _, _ := unstructured.NestedString(cert.Object, "status", "notAfter")
			return fmt.Sprintf("Ready, valid until %s", notAfter), nil
		}
		return "", fmt.Errorf("not Ready: %v: %v", m["reason"], m["message"])
	}
	return "", errors.New("not Ready: cert-manager has not reported on it yet")
}
