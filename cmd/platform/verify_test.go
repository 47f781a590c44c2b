package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// kubeconfigYAML has two contexts, one cluster each, so that a test sees
// which file and which context were taken.
func kubeconfigYAML(name string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- {name: a, cluster: {server: "https://%[1]s-a.example:6443"}}
- {name: b, cluster: {server: "https://%[1]s-b.example:6443"}}
users:
- {name: u, user: {token: t}}
contexts:
- {name: ctx-a, context: {cluster: a, user: u}}
- {name: ctx-b, context: {cluster: b, user: u}}
current-context: ctx-a
`, name)
}

func TestKubeConfigSource(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "explicit")
	require.NoError(t, os.WriteFile(file, []byte(kubeconfigYAML("explicit")), 0o600))
	ambient := filepath.Join(dir, "ambient")
	require.NoError(t, os.WriteFile(ambient, []byte(kubeconfigYAML("ambient")), 0o600))
	t.Setenv("KUBECONFIG", ambient)
	built := auto.OutputMap{"kubeconfig": {Value: kubeconfigYAML("stack"), Secret: true}}

	tests := []struct {
		name                    string
		file, flagCtx, stackCtx string
		outputs                 auto.OutputMap
		host, source            string
	}{
		{name: "an existing cluster: $KUBECONFIG, current context", outputs: auto.OutputMap{},
			host: "https://ambient-a.example:6443", source: "$KUBECONFIG or ~/.kube/config"},
		{name: "an existing cluster: the stack's kubeContext", stackCtx: "ctx-b", outputs: auto.OutputMap{},
			host: "https://ambient-b.example:6443", source: "$KUBECONFIG or ~/.kube/config, context ctx-b"},
		{name: "a cluster the stack built: its kubeconfig output", outputs: built,
			host: "https://stack-a.example:6443", source: `the stack's "kubeconfig" output`},
		{name: "-kubeconfig wins over the output", file: file, outputs: built,
			host: "https://explicit-a.example:6443", source: "kubeconfig " + file},
		{name: "-context wins over the stack's kubeContext", file: file, flagCtx: "ctx-b", stackCtx: "ctx-a",
			host: "https://explicit-b.example:6443", source: "kubeconfig " + file + ", context ctx-b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc, source, err := kubeConfig(tt.file, tt.flagCtx, tt.stackCtx, tt.outputs)
			require.NoError(t, err)
			assert.Equal(t, tt.host, rc.Host)
			assert.Equal(t, tt.source, source)
		})
	}

	_, _, err := kubeConfig("", "ctx-missing", "", auto.OutputMap{})
	assert.ErrorContains(t, err, "ctx-missing")
}

func TestConfigValueFallsBackToTheDeclaredDefault(t *testing.T) {
	config := auto.ConfigMap{"apk8s-platform:certificate": {Value: "false"}}
	assert.Equal(t, "false", configValue(config, "certificate"))
	assert.Equal(t, "true", configValue(auto.ConfigMap{}, "certificate"), "stacks.Keys declares certificate = true")
	assert.Equal(t, "", configValue(auto.ConfigMap{}, "kubeContext"))
}

func TestMQTTPasswordNeverFromTheCommandLine(t *testing.T) {
	t.Setenv("APK8S_MQTT_PASSWORD", "from-env")
	p, err := mqttPassword("")
	require.NoError(t, err)
	assert.Equal(t, "from-env", p)

	file := filepath.Join(t.TempDir(), "pw")
	require.NoError(t, os.WriteFile(file, []byte("from-file\n"), 0o600))
	p, err = mqttPassword(file)
	require.NoError(t, err)
	assert.Equal(t, "from-file", p, "the file wins, its newline trimmed")

	require.NoError(t, os.WriteFile(file, []byte("\n"), 0o600))
	_, err = mqttPassword(file)
	assert.EqualError(t, err, "-mqtt-password-file: the file is empty")
}

func TestExitErrorCarriesTheStatus(t *testing.T) {
	assert.Equal(t, "exit status 1", exitError{code: 1}.Error())
	e := cannot(os.ErrNotExist)
	var exit exitError
	require.ErrorAs(t, e, &exit)
	assert.Equal(t, 2, exit.code)
	assert.Equal(t, os.ErrNotExist.Error(), e.Error())
}

// TestKRaftVotersFromTheOutputs: verify checks the controller quorum of a
// stack whose outputs say KRaft, and the ensemble otherwise.
func TestKRaftVotersFromTheOutputs(t *testing.T) {
	tests := []struct {
		name    string
		outputs auto.OutputMap
		want    int
	}{
		{"kraft with three voters", auto.OutputMap{"kafkaMode": {Value: "kraft"}, "kafkaControllerVoters": {Value: float64(3)}}, 3},
		{"zookeeper mode", auto.OutputMap{"kafkaMode": {Value: "zookeeper"}, "zookeeper": {Value: "zookeeper:2181"}}, 0},
		{"a stack from before kafkaMode", auto.OutputMap{"kafkaBootstrap": {Value: "kafka:9092"}}, 0},
		{"voters without the mode", auto.OutputMap{"kafkaControllerVoters": {Value: float64(1)}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, kraftVoters(tt.outputs))
		})
	}
}
