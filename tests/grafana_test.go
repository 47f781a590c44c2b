package tests

import (
	"fmt"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"

	"github.com/apk8s/apk8s-platform/components/monitoring"
	"github.com/apk8s/apk8s-platform/stacks"
)

// TestGrafanaAdminPassword: Grafana's admin password is generated, kept in
// a Secret the chart reads (not in its values), and handed out only as a
// secret output.
func TestGrafanaAdminPassword(t *testing.T) {
	t.Parallel()
	rec := Run{Stack: "dev3"}.Shared(t)
	var password *Res
	for _, r := range rec.Find(tokPassword) {
		if r.Name == "monitoring-grafana-admin" {
			password = r
		}
	}
	require.NotNil(t, password, "no generated Grafana password")
	assert.Equal(t, 32.0, password.Inputs["length"].NumberValue())

	secret := rec.Object(t, tokSecret, monitoring.GrafanaAdminSecret)
	assert.Equal(t, monitoring.Namespace, secret.K8sNamespace())
	require.True(t, secret.Inputs["stringData"].IsSecret())
	var s corev1.Secret
	secret.Decode(t, &s)
	assert.Equal(t, rec.Token, s.StringData["admin-password"], "the generated password (the fake provider's result)")
	assert.Equal(t, "admin", s.StringData["admin-user"])

	kps := release(t, rec.Graph, monitoring.ReleaseName)
	var v monitoring.Values
	values(t, kps, &v)
	assert.Equal(t, monitoring.GrafanaAdmin{ExistingSecret: s.Name, UserKey: "admin-user", PasswordKey: "admin-password"}, v.Grafana.Admin)
	assert.Contains(t, kps.DependsOn, secret.URN, "the chart starts Grafana once its Secret exists")
	assert.NotContains(t, fmt.Sprint(kps.Plain()), rec.Token, "no password in the chart's values")

	var isSecret bool
	_, err := Run{Stack: "dev3", Program: func(ctx *pulumi.Context) error {
		cfg, err := stacks.Load(ctx)
		if err != nil {
			return err
		}
		m, err := monitoring.New(ctx, "monitoring", monitoring.Args{Config: cfg.Addons.Metrics})
		if err != nil {
			return err
		}
		isSecret = pulumi.IsSecret(m.GrafanaPassword)
		return nil
	}}.Record(t, true)
	require.NoError(t, err)
	assert.True(t, isSecret, "the exported password is a secret output")
}
