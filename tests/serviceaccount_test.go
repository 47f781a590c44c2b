package tests

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
)

const tokServiceAccount = "kubernetes:core/v1:ServiceAccount"

// podRuns are the registrations that make pods, each with its pod spec.
func podRuns(t *testing.T, g *Graph) map[*Res]corev1.PodSpec {
	t.Helper()
	out := map[*Res]corev1.PodSpec{}
	for r, tmpl := range podTemplates(t, g) {
		out[r] = tmpl.Spec
	}
	return out
}

// TestPodsRunUnderTheirOwnServiceAccount: every pod the program defines runs
// under a ServiceAccount that the program itself creates in the same
// namespace and registers first, so no pod waits for the namespace's
// "default" account (which a controller makes some time after the
// namespace: on a fresh cluster a bare Pod created too early is refused).
// None of them mounts an API token: no data workload calls the API.
func TestPodsRunUnderTheirOwnServiceAccount(t *testing.T) {
	t.Parallel()
	runs := []Run{
		{Stack: "dev3"}, // monitoring installed: the Kafka exporter runs in data too
		{Stack: "local"},
		{Stack: "local", Set: map[string]string{"monitoring": "existing"}},
	}
	for _, run := range runs {
		t.Run(run.Stack+"/"+run.Set["monitoring"], func(t *testing.T) {
			g := dataGraph(t, run)
			pods := podRuns(t, g)
			require.GreaterOrEqual(t, len(pods), 3, "the broker, ensemble and MQTT workloads at least")
			for r, spec := range pods {
				what := r.Type + " " + r.K8sName()
				require.NotEmpty(t, spec.ServiceAccountName, "%s names no ServiceAccount: it would run as %q", what, "default")
				var account *Res
				for _, sa := range g.Find(tokServiceAccount) {
					if sa.K8sName() == spec.ServiceAccountName && sa.K8sNamespace() == r.K8sNamespace() {
						account = sa
					}
				}
				require.NotNil(t, account, "%s runs as ServiceAccount %q, which the program does not create in %q",
					what, spec.ServiceAccountName, r.K8sNamespace())
				assert.Contains(t, r.DependsOn, account.URN, "%s is registered without waiting for its ServiceAccount", what)
				assert.Equal(t, r.Parent, account.Parent, "%s and its ServiceAccount belong to one component", what)
				if assert.NotNil(t, spec.AutomountServiceAccountToken, "%s: automountServiceAccountToken unset", what) {
					assert.False(t, *spec.AutomountServiceAccountToken, "%s mounts an API token", what)
				}
				var sa corev1.ServiceAccount
				account.Decode(t, &sa)
				if assert.NotNil(t, sa.AutomountServiceAccountToken, "ServiceAccount %s", sa.Name) {
					assert.False(t, *sa.AutomountServiceAccountToken, "ServiceAccount %s hands out tokens", sa.Name)
				}
			}
		})
	}
}

// TestServiceAccountsAreNotShared: each workload has an account of its own,
// so that a later grant (an RBAC role, a policy selecting the account) to
// one workload is not a grant to another.
func TestServiceAccountsAreNotShared(t *testing.T) {
	t.Parallel()
	g := dataGraph(t, Run{Stack: "dev3"})
	users := map[string][]string{}
	for r, spec := range podRuns(t, g) {
		key := r.K8sNamespace() + "/" + spec.ServiceAccountName
		users[key] = append(users[key], r.Type+" "+r.K8sName())
	}
	for account, who := range users {
		slices.Sort(who)
		assert.Len(t, who, 1, "ServiceAccount %s is shared by %v", account, who)
	}
}
