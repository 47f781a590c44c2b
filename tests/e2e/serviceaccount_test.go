//go:build e2e

package e2e

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// noDefaultAccount keeps the service-account controller from ever creating
// the "default" ServiceAccount of namespace ns: a slow controller taken to
// its extreme. A pod that relies on that account is then refused by the
// ServiceAccount admission plugin, every time, instead of only when the
// program happens to outrun the controller on a fresh cluster.
const noDefaultAccount = `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: apk8s-e2e-no-default-account}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: ["v1"]
      operations: ["CREATE"]
      resources: ["serviceaccounts"]
  validations:
  - expression: "!(object.metadata.name == 'default' && request.namespace in ['NS', 'default'])"
    message: "apk8s-e2e: no default ServiceAccount here"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: apk8s-e2e-no-default-account}
spec:
  policyName: apk8s-e2e-no-default-account
  validationActions: [Deny]
`

// forbidDefaultAccount installs the policy for ns and waits until the API
// server enforces it: a dry-run create of default/default (which exists, but
// admission runs first) must come back denied by it.
func (e env) forbidDefaultAccount(t *testing.T, ns string) {
	t.Helper()
	file := t.TempDir() + "/policy.yaml"
	require.NoError(t, os.WriteFile(file, []byte(strings.ReplaceAll(noDefaultAccount, "'NS'", "'"+ns+"'")), 0o644))
	_, err := e.kubectl("apply", "-f", file)
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = e.kubectl("delete", "-f", file, "--ignore-not-found") })
	deadline := time.Now().Add(time.Minute)
	for {
		_, err := e.kubectl("-n", "default", "create", "serviceaccount", "default", "--dry-run=server")
		if err != nil && strings.Contains(err.Error(), "no default ServiceAccount here") {
			return
		}
		require.True(t, time.Now().Before(deadline), "the admission policy is not enforced after a minute: %v", err)
		time.Sleep(time.Second)
	}
}

// requireNoDefaultAccount: the policy held, so whatever ran in ns ran
// without the controller's account.
func (e env) requireNoDefaultAccount(t *testing.T, ns string) {
	t.Helper()
	_, err := e.kubectl("-n", ns, "get", "serviceaccount", "default")
	require.Error(t, err, "namespace %s got a default ServiceAccount after all", ns)
	require.Contains(t, err.Error(), "NotFound")
}
