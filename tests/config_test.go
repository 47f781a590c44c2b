package tests

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/apk8s/apk8s-platform/ops/projectfile"
	"github.com/apk8s/apk8s-platform/providers/kube"
	"github.com/apk8s/apk8s-platform/stacks"
)

// TestBadConfigFailsBeforeAnyResource: each invalid config fails with a
// message that names the key, the bad value and what is allowed, and the
// program registers nothing at all.
func TestBadConfigFailsBeforeAnyResource(t *testing.T) {
	t.Parallel()
	checkBadConfigs(t, []badConfig{
		{"zero zookeeper replicas", Run{Stack: "local", Set: map[string]string{"zookeeperReplicas": "0"}},
			[]string{`apk8s-platform:zookeeperReplicas = "0" is not allowed`, "a whole number from 1 to 7"}},
		{"negative kafka replicas", Run{Stack: "local", Set: map[string]string{"kafkaReplicas": "-1"}},
			[]string{`apk8s-platform:kafkaReplicas = "-1"`, "from 1 to 32"}},
		{"replicas not a number", Run{Stack: "local", Set: map[string]string{"kafkaReplicas": "two"}},
			[]string{`apk8s-platform:kafkaReplicas = "two"`, "a whole number"}},
		{"malformed domain", Run{Stack: "local", Set: map[string]string{"domain": "dev3..apk8s.dev"}},
			[]string{`apk8s-platform:domain = "dev3..apk8s.dev"`, "a lower-case DNS name"}},
		{"single-label domain", Run{Stack: "local", Set: map[string]string{"domain": "localhost"}},
			[]string{`apk8s-platform:domain = "localhost"`, "at least two labels"}},
		{"missing password", Run{Stack: "local", Unset: []string{"basicAuthPassword"}},
			[]string{"apk8s-platform:basicAuthPassword is not set", "pulumi config set --secret basicAuthPassword"}},
		{"plain-text password", Run{Stack: "local", PlainPassword: true},
			[]string{"apk8s-platform:basicAuthPassword is stored in plain text", "must be a secret"}},
		{"short password", Run{Stack: "local", Set: map[string]string{"basicAuthPassword": "short"}},
			[]string{"apk8s-platform:basicAuthPassword (secret, 5 bytes) is not allowed", "8 to 72 bytes"}},
		{"colon in user", Run{Stack: "local", Set: map[string]string{"basicAuthUser": "sys:op"}},
			[]string{`apk8s-platform:basicAuthUser = "sys:op"`, "without ':'"}},
		{"storage class name format", Run{Stack: "local", Set: map[string]string{"storageClass": "Rook_Ceph"}},
			[]string{`apk8s-platform:storageClass = "Rook_Ceph"`, "a StorageClass name"}},
		{"heap larger than the memory limit", Run{Stack: "local", Set: map[string]string{"kafkaHeap": "2G", "kafkaMemoryLimit": "2Gi"}},
			[]string{`apk8s-platform:kafkaHeap = "2G"`, "at most 75% of apk8s-platform:kafkaMemoryLimit (2Gi)"}},
		{"heap not a JVM size", Run{Stack: "local", Set: map[string]string{"zookeeperHeap": "1GB"}},
			[]string{`apk8s-platform:zookeeperHeap = "1GB"`, "a JVM heap size"}},
		{"memory limit not a quantity", Run{Stack: "local", Set: map[string]string{"kafkaMemoryLimit": "2GB"}},
			// One problem: a heap is not held against a limit that is not one.
			[]string{"(1 problems)", `apk8s-platform:kafkaMemoryLimit = "2GB"`, "a positive Kubernetes quantity"}},
		{"heap just above three quarters of the limit", Run{Stack: "local", Set: map[string]string{"kafkaHeap": "3073m", "kafkaMemoryLimit": "4Gi"}},
			[]string{`apk8s-platform:kafkaHeap = "3073m"`, "at most 75%"}},
		{"zero storage", Run{Stack: "local", Set: map[string]string{"kafkaStorageSize": "0"}},
			[]string{`apk8s-platform:kafkaStorageSize = "0"`, "positive"}},
		{"offsets replication above brokers", Run{Stack: "local", Set: map[string]string{"kafkaOffsetsReplication": "3"}},
			[]string{`apk8s-platform:kafkaOffsetsReplication = "3"`, "at most kafkaReplicas (2)"}},
		{"no broker count to compare the offsets replication with", Run{Stack: "local", Set: map[string]string{"kafkaReplicas": "0", "kafkaOffsetsReplication": "3"}},
			[]string{"(1 problems)", `apk8s-platform:kafkaReplicas = "0"`}},
		{"image without tag", Run{Stack: "local", Set: map[string]string{"kafkaImage": "confluentinc/cp-kafka"}},
			[]string{`apk8s-platform:kafkaImage = "confluentinc/cp-kafka"`, "with a release tag", "a bare name floats"}},
		{"image tag latest", Run{Stack: "local", Set: map[string]string{"mosquittoImage": "eclipse-mosquitto:latest"}},
			[]string{`apk8s-platform:mosquittoImage = "eclipse-mosquitto:latest"`, `the tag "latest" is a line that moves`}},
		{"image digest too short", Run{Stack: "local", Set: map[string]string{"zookeeperImage": "zookeeper:3.8.6@sha256:" + digest[:63]}},
			[]string{`apk8s-platform:zookeeperImage = "zookeeper:3.8.6@sha256:` + digest[:63] + `"`, `the digest "sha256:` + digest[:63] + `" is not sha256: and 64`}},
		{"image digest upper case", Run{Stack: "local", Set: map[string]string{"kafkaImage": "confluentinc/cp-kafka:7.9.6@sha256:" + strings.ToUpper(digest)}},
			[]string{`apk8s-platform:kafkaImage = "confluentinc/cp-kafka:7.9.6@sha256:` + strings.ToUpper(digest) + `"`, "lower-case hex"}},
		{"image digest of another algorithm", Run{Stack: "local", Set: map[string]string{"mosquittoImage": "eclipse-mosquitto:2.0.22@sha512:" + digest}},
			[]string{`apk8s-platform:mosquittoImage = "eclipse-mosquitto:2.0.22@sha512:`, "is not sha256:"}},
		{"image with two digests", Run{Stack: "local", Set: map[string]string{"mosquittoImage": "eclipse-mosquitto:2.0.22@sha256:" + digest + "@sha256:" + digest}},
			[]string{`apk8s-platform:mosquittoImage = "eclipse-mosquitto:2.0.22@sha256:`, "is not sha256:"}},
		{"image upper case", Run{Stack: "local", Set: map[string]string{"mosquittoImage": "Eclipse-Mosquitto:2"}},
			[]string{`apk8s-platform:mosquittoImage = "Eclipse-Mosquitto:2"`, `the name "Eclipse-Mosquitto" is not lower-case`}},
		{"unknown cluster source", Run{Stack: "local", Set: map[string]string{"cluster": "gke"}},
			[]string{`apk8s-platform:cluster = "gke"`, `one of "existing", "kapsule", "scaleway"`}},
		{"not a boolean", Run{Stack: "local", Set: map[string]string{"certificate": "maybe"}},
			[]string{`apk8s-platform:certificate = "maybe"`, "true or false"}},
		{"a typo in a key", Run{Stack: "local", Set: map[string]string{"kafkaReplica": "3"}},
			[]string{`apk8s-platform:kafkaReplica = "3" is not a key of this program: did you mean apk8s-platform:kafkaReplicas?`, "pulumi config rm kafkaReplica"}},
		{"a key in the wrong case", Run{Stack: "dev3", Set: map[string]string{"AdminCIDRs": "198.51.100.7/32"}},
			[]string{`apk8s-platform:AdminCIDRs = "198.51.100.7/32" is not a key of this program: did you mean apk8s-platform:adminCidrs?`}},
		{"a key far from any", Run{Stack: "local", Set: map[string]string{"nodeSelector": "x"}},
			[]string{`apk8s-platform:nodeSelector = "x" is not a key of this program: see Pulumi.yaml for the keys`}},
		// A typo may be a third of the name's letters (at least two): three
		// of "domainxyz"'s nine, not four of "domainxyzw"'s ten.
		{"a typo at the edge of a guess", Run{Stack: "local", Set: map[string]string{"domainxyz": "x"}},
			[]string{`apk8s-platform:domainxyz = "x" is not a key of this program: did you mean apk8s-platform:domain?`}},
		{"a typo past the edge of a guess", Run{Stack: "local", Set: map[string]string{"domainxyzw": "x"}},
			[]string{`apk8s-platform:domainxyzw = "x" is not a key of this program: see Pulumi.yaml for the keys`}},
		{"every problem at once", Run{Stack: "local", Set: map[string]string{"zookeeperReplicas": "0", "kafkaReplicas": "0", "domain": "x", "kafkaReplica": "3"}, Unset: []string{"basicAuthPassword"}},
			[]string{"(5 problems)", "zookeeperReplicas", "kafkaReplicas", "domain", "basicAuthPassword is not set", "kafkaReplica ="}},
	})
}

// digest is a well-formed image digest (64 lower-case hex digits).
const digest = "4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945"

// TestImagePinnedByDigest: an image pinned by tag and digest is accepted and
// reaches the container as written, where the kubelet pulls by digest.
func TestImagePinnedByDigest(t *testing.T) {
	t.Parallel()
	tests := []struct{ key, token, object string }{
		{"zookeeperImage", tokSTS, "zookeeper"},
		{"kafkaImage", tokSTS, "kafka"},
		{"mosquittoImage", tokDeploy, "mqtt"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			image := Default(t, tt.key) + "@sha256:" + digest
			g := Run{Stack: "local", Set: map[string]string{tt.key: image}}.Shared(t).Graph
			var spec struct {
				Spec struct{ Template corev1.PodTemplateSpec } `json:"spec"`
			}
			g.Object(t, tt.token, tt.object).Decode(t, &spec)
			require.NotEmpty(t, spec.Spec.Template.Spec.Containers)
			assert.Equal(t, image, spec.Spec.Template.Spec.Containers[0].Image)
		})
	}
}

// TestImageReferenceForms: one row for each form an image reference can
// take, and whether the image rule takes it (stacks/config.go, docs/pins.md):
// a release tag, with or without a digest, or a digest alone pins the
// image; a bare name, a channel and a tag that names a line refuse it.
func TestImageReferenceForms(t *testing.T) {
	t.Parallel()
	const key = "mosquittoImage"
	tests := []struct {
		ref  string
		want string // "" = accepted, else part of the refusal
	}{
		{"eclipse-mosquitto:2.0.22", ""},
		{"eclipse-mosquitto:2.0.22@sha256:" + digest, ""},
		{"eclipse-mosquitto@sha256:" + digest, ""},
		{"danielqsj/kafka-exporter:v1.9.0", ""},
		{"ghcr.io/kafbat/kafka-ui:v1.5.0", ""},
		{"registry.example.org:5000/team/mosquitto:2.0.22", ""},
		{"ghcr.io/apk8s/kafka-connect-mqtt:4.3.1-9.0.2", ""},
		{"eclipse-mosquitto:2.0.22-openssl", ""},
		{"eclipse-mosquitto:2.0.22_1", ""},
		{"eclipse-mosquitto", "a bare name floats"},
		{"registry.example.org:5000/mosquitto", "a bare name floats"},
		{"eclipse-mosquitto:latest", `the tag "latest" is a line that moves`},
		{"eclipse-mosquitto:main", `the tag "main" is a line that moves`},
		{"eclipse-mosquitto:stable@sha256:" + digest, `the tag "stable" is a line that moves`},
		{"eclipse-mosquitto:2", `the tag "2" is a line that moves`},
		{"eclipse-mosquitto:2.0", `the tag "2.0" is a line that moves`},
		{"eclipse-mosquitto:2-openssl", `the tag "2-openssl" is a line that moves`},
		{"confluentinc/cp-kafka:7.9-latest", `the tag "7.9-latest" is a line that moves`},
		{"confluentinc/cp-kafka:7.9.6-latest", `the tag "7.9.6-latest" is a line that moves`},
		{"eclipse-mosquitto:v2", `the tag "v2" is a line that moves`},
		{"eclipse-mosquitto:2.0.22.", `the tag "2.0.22." is a line that moves`},
		{"eclipse-mosquitto:", "a bare name floats"},
		{"eclipse-mosquitto:-2.0.22", `the tag "-2.0.22" is not letters`},
		{"eclipse-mosquitto@sha256:" + digest[:63], `is not sha256: and 64 lower-case hex digits`},
		{"eclipse-mosquitto@" + digest, `is not sha256: and 64 lower-case hex digits`},
		{"Eclipse-Mosquitto:2.0.22", `the name "Eclipse-Mosquitto" is not lower-case`},
		{"/eclipse-mosquitto:2.0.22", `the name "/eclipse-mosquitto" is not lower-case`},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			_, err := loadConfig(t, Run{Stack: "local", Set: map[string]string{key: tt.ref}})
			if tt.want == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), fmt.Sprintf("apk8s-platform:%s = %q", key, tt.ref))
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// badConfig is one invalid stack config and what its error must say.
type badConfig struct {
	name  string
	run   Run
	wants []string // each must appear in the error
}

// checkBadConfigs requires each config to fail with every wanted phrase,
// before a single resource is registered, and without the password.
func checkBadConfigs(t *testing.T, tests []badConfig) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Empty(t, tt.refused(t).All, "no resource may be registered")
		})
	}
}

// refused runs the config, requires it to fail with every wanted phrase
// and without the password, and returns what was registered.
func (tt badConfig) refused(t *testing.T) *Graph {
	t.Helper()
	g, err := tt.run.Do(t)
	require.Error(t, err)
	for _, want := range tt.wants {
		assert.Contains(t, err.Error(), want)
	}
	assert.Contains(t, err.Error(), "nothing was deployed")
	assert.NotContains(t, err.Error(), TestPassword)
	return g
}

// TestEvenEnsembleWarns: an even ZooKeeper ensemble is allowed (the book
// runs 2) but warned about; an odd one is not.
func TestEvenEnsembleWarns(t *testing.T) {
	t.Parallel()
	for replicas, warns := range map[int]bool{1: false, 2: true, 3: false, 4: true} {
		var cfg *stacks.Config
		_, err := Run{Stack: "local", Set: map[string]string{"zookeeperReplicas": strconv.Itoa(replicas)},
			Program: func(ctx *pulumi.Context) (err error) {
				cfg, err = stacks.Load(ctx)
				return err
			}}.Do(t)
		require.NoError(t, err)
		if warns {
			require.Len(t, cfg.Warnings, 1, "replicas %d", replicas)
			assert.Contains(t, cfg.Warnings[0], "apk8s-platform:zookeeperReplicas = "+strconv.Itoa(replicas))
		} else {
			assert.Empty(t, cfg.Warnings, "replicas %d", replicas)
		}
	}
}

// TestProjectFileDeclaresEveryKey: Pulumi.yaml declares exactly the keys the
// program reads, with their types, defaults and secrecy.
func TestProjectFileDeclaresEveryKey(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "Pulumi.yaml"))
	require.NoError(t, err)
	var project struct {
		Name    string `json:"name"`
		Runtime string `json:"runtime"`
		Config  map[string]struct {
			Type    string `json:"type"`
			Default any    `json:"default"`
			Secret  bool   `json:"secret"`
		} `json:"config"`
	}
	want, err := projectfile.Render()
	require.NoError(t, err)
	assert.Equal(t, string(want), string(raw), "Pulumi.yaml is stale: go run ./cmd/genproject > Pulumi.yaml")
	require.NoError(t, yaml.Unmarshal(raw, &project))
	assert.Equal(t, stacks.Project, project.Name)
	assert.Equal(t, "go", project.Runtime)
	require.Len(t, project.Config, len(stacks.Keys), "run: go run ./cmd/genproject > Pulumi.yaml")
	for _, k := range stacks.Keys {
		c, ok := project.Config[k.Name]
		if !assert.True(t, ok, "Pulumi.yaml lacks %s", k.Name) {
			continue
		}
		assert.Equal(t, k.Type, c.Type, k.Name)
		assert.Equal(t, k.Secret, c.Secret, k.Name)
		if k.HasDefault {
			got := strings.TrimSpace(toString(c.Default))
			if k.Type == "integer" { // YAML numbers come back as floats
				got = strings.TrimSuffix(got, ".0")
			}
			assert.Equal(t, k.Default, got, k.Name)
		} else {
			assert.Nil(t, c.Default, k.Name)
		}
	}
}

func toString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case []any: // an array key's default, as its declaration writes it
		b, _ := json.Marshal(v)
		return string(b)
	}
	return ""
}

// configDoc is the page with the config reference and the error example.
const configDoc = "docs/configuration.md"

// TestConfigReferenceIsGenerated: the docs' config table is the one the
// keys declare (go run ./cmd/genproject -markdown).
func TestConfigReferenceIsGenerated(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join(repoRoot, configDoc))
	require.NoError(t, err)
	_, rest, ok := strings.Cut(string(raw), "<!-- config:begin -->\n")
	require.True(t, ok, "%s has no <!-- config:begin --> marker", configDoc)
	table, _, ok := strings.Cut(rest, "<!-- config:end -->")
	require.True(t, ok, "%s has no <!-- config:end --> marker", configDoc)
	assert.Equal(t, projectfile.Markdown(), table, "regenerate with: scripts/gen-config-docs.sh")
}

// TestStackFilesUseDeclaredKeys: a typo in a stack file would be silently
// ignored by the program; every key there must be declared.
func TestStackFilesUseDeclaredKeys(t *testing.T) {
	t.Parallel()
	declared := map[string]bool{}
	for _, k := range stacks.Keys {
		declared[stacks.Project+":"+k.Name] = true
	}
	files, err := filepath.Glob(filepath.Join(repoRoot, "Pulumi.*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		stack := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "Pulumi."), ".yaml")
		for key := range StackConfig(t, stack) {
			if strings.HasPrefix(key, stacks.Project+":") {
				assert.True(t, declared[key], "%s sets undeclared key %s", filepath.Base(f), key)
			}
		}
	}
}

// TestProviderVersionMatchesSDK: objects registered through providers/kube
// ask for the provider version of the SDK that go.mod requires.
func TestProviderVersionMatchesSDK(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "go.mod"))
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^\s*github\.com/pulumi/pulumi-kubernetes/sdk/v4 v(\S+)`).FindSubmatch(raw)
	require.NotNil(t, m, "go.mod requires no pulumi-kubernetes SDK")
	assert.Equal(t, string(m[1]), kube.ProviderVersion)

	g := Run{Stack: "local"}.Shared(t).Graph
	for _, r := range g.All {
		if strings.HasPrefix(r.Type, "kubernetes:") {
			assert.Equal(t, kube.ProviderVersion, r.Version, "%s %s", r.Type, r.Name)
		}
	}
}

// TestGroupedPinsAgree: the pins Renovate moves as one group hold one
// version, so a pull request that moved only some of them fails here. The
// workflows' PULUMI_VERSION and kube.ProviderVersion have their own tests
// (TestWorkflowPulumiCLIMatchesSDK, TestProviderVersionMatchesSDK).
func TestGroupedPinsAgree(t *testing.T) {
	t.Parallel()
	read := func(file, re string) string {
		t.Helper()
		raw, err := os.ReadFile(filepath.Join(repoRoot, file))
		require.NoError(t, err)
		m := regexp.MustCompile(re).FindSubmatch(raw)
		require.NotNil(t, m, "%s: no match for %s", file, re)
		return string(m[1])
	}
	sdk := read("go.mod", `(?m)^\s*github\.com/pulumi/pulumi/sdk/v3 (v\S+)`)
	k8sSDK := read("go.mod", `(?m)^\s*github\.com/pulumi/pulumi-kubernetes/sdk/v4 v(\S+)`)
	tests := []struct{ what, got, want string }{
		{"the CLI the e2e tests build (pkg/v3)", read("scripts/tools/pulumi/go.mod", `(?m)^\s*github\.com/pulumi/pulumi/pkg/v3 (v\S+)`), sdk},
		{"the SDK of that CLI", read("scripts/tools/pulumi/go.mod", `(?m)^\s*github\.com/pulumi/pulumi/sdk/v3 (v\S+)`), sdk},
		{"the plugin the e2e tests build", read("scripts/bootstrap-tools.sh", `(?m)^PLUGIN_VERSION=(\S+)$`), k8sSDK},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.got, tt.what)
	}
}

// TestConfigErrorExample: the error the docs show is the one the program
// gives for that config, to the letter.
func TestConfigErrorExample(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join(repoRoot, configDoc))
	require.NoError(t, err)
	_, rest, ok := strings.Cut(string(raw), "```text\n")
	require.True(t, ok, "%s shows no error", configDoc)
	shown, _, _ := strings.Cut(rest, "\n```")
	_, err = Run{Stack: "dev3", Set: map[string]string{"kafkaReplicas": "0", "kafkaHeap": "2G"}}.Do(t)
	require.Error(t, err)
	assert.Contains(t, err.Error(), shown)
}

// TestUnknownKeysUnderTheCLI: under the Pulumi CLI the program gets its
// config in PULUMI_CONFIG (and the secret keys in
// PULUMI_CONFIG_SECRET_KEYS), not in RunInfo: an undeclared key is refused
// there too, before anything is registered, and a clean config runs.
func TestUnknownKeysUnderTheCLI(t *testing.T) {
	secretTypo := "pw-" + randomHex(8)
	for _, tt := range []struct {
		name   string
		extra  map[string]string
		secret string // an extra key stored as a secret
		want   string // "" = success
	}{
		{"clean", nil, "", ""},
		{"typo", map[string]string{"apk8s-platform:zookeperReplicas": "3"}, "",
			`apk8s-platform:zookeperReplicas = "3" is not a key of this program: did you mean apk8s-platform:zookeeperReplicas?`},
		{"typo in a secret key", map[string]string{"apk8s-platform:basicAuthPasword": secretTypo}, "apk8s-platform:basicAuthPasword",
			`apk8s-platform:basicAuthPasword = [secret] is not a key of this program: did you mean apk8s-platform:basicAuthPassword?`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := StackConfig(t, "local")
			names := []string{tt.secret}
			for k, v := range secretKeys {
				cfg[k] = v
				names = append(names, k)
			}
			for k, v := range tt.extra {
				cfg[k] = v
			}
			raw, err := json.Marshal(cfg)
			require.NoError(t, err)
			t.Setenv(pulumi.EnvConfig, string(raw))
			secrets, err := json.Marshal(names)
			require.NoError(t, err)
			t.Setenv(pulumi.EnvConfigSecretKeys, string(secrets))
			g := &Graph{stack: "local"}
			err = pulumi.RunErr(stacks.Run, pulumi.WithMocks(stacks.Project, "local", g))
			if tt.want == "" {
				require.NoError(t, err)
				assert.NotEmpty(t, g.All, "the config from PULUMI_CONFIG reached the program")
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), secretTypo, "a secret's value is never printed")
			assert.Empty(t, g.All)
		})
	}
}

// TestConfigWarnings: the legal but doubtful choices are logged, and the
// sound ones are not: Ceph installed while the claims use another class;
// a rendering stack whose add-on charts are left out.
func TestConfigWarnings(t *testing.T) {
	t.Parallel()
	const (
		cephUnused  = "Ceph is installed and the ZooKeeper and Kafka claims do not use it"
		notRendered = "renderYamlToDirectory is set: the charts"
		docAddress  = "are documentation addresses (RFC 5737)"
	)
	none := map[string]string{"ingressController": "none", "kafkaConsole": "none", "certManager": "none", "certificate": "false", "rookCeph": "none", "storageClass": "", "monitoring": "none"}
	tests := []struct {
		name    string
		run     Run
		warns   []string
		silence []string
	}{
		{"Ceph for the claims", Run{Stack: "dev3"}, nil, []string{cephUnused, notRendered}},
		{"admin CIDRs from the documentation ranges", Run{Stack: "dev3"}, []string{"apk8s-platform:adminCidrs = 203.0.113.10/32 " + docAddress}, nil},
		{"a whole documentation range", Run{Stack: "dev3", Set: map[string]string{"adminCidrs": "203.0.113.0/24"}}, []string{"203.0.113.0/24 " + docAddress}, nil},
		{"admin CIDRs of your own", Run{Stack: "dev3", Set: map[string]string{"adminCidrs": "198.18.7.1/32"}}, nil, []string{docAddress}},
		{"no admin CIDRs without a cluster to build", Run{Stack: "local"}, nil, []string{docAddress}},
		{"Ceph beside another class", Run{Stack: "dev3", Set: map[string]string{"storageClass": "fast"}}, []string{cephUnused}, nil},
		{"rendering leaves the charts out", Run{Stack: "render"}, []string{notRendered + " traefik, cert-manager, rook-ceph, kube-prometheus-stack are not rendered"}, nil},
		{"rendering without add-ons", Run{Stack: "render", Set: none}, nil, []string{notRendered}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cfg *stacks.Config
			tt.run.Program = func(ctx *pulumi.Context) (err error) {
				cfg, err = stacks.Load(ctx)
				return err
			}
			_, err := tt.run.Do(t)
			require.NoError(t, err)
			all := strings.Join(cfg.Warnings, "\n")
			for _, w := range tt.warns {
				assert.Contains(t, all, w)
			}
			for _, w := range tt.silence {
				assert.NotContains(t, all, w)
			}
		})
	}
}

// TestLimitsTakenAtTheirEdge: the largest values allowed pass: a heap of
// exactly 75% of the memory limit, internal topics on every broker.
func TestLimitsTakenAtTheirEdge(t *testing.T) {
	t.Parallel()
	cfg, err := loadConfig(t, Run{Stack: "local", Set: map[string]string{
		"kafkaHeap": "3g", "kafkaMemoryLimit": "4Gi", "kafkaReplicas": "2", "kafkaOffsetsReplication": "2"}})
	require.NoError(t, err)
	assert.Equal(t, "3g", cfg.Kafka.Heap)
	assert.EqualValues(t, 2, cfg.Kafka.OffsetsTopicReplicas)
}

// TestSizeFloors: every size key refuses a value below the smallest its
// service runs on, naming the key, the value and the floor, and takes the
// floor itself. The memory limits are raised with the heaps at their
// floors, so that a heap's share of the limit never decides.
func TestSizeFloors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		key, below, floor string
	}{
		{"zookeeperHeap", "127m", "128m"},
		{"zookeeperMemoryLimit", "255Mi", "256Mi"},
		{"zookeeperStorageSize", "511Mi", "512Mi"},
		{"kafkaHeap", "255m", "256m"},
		{"kafkaMemoryLimit", "511Mi", "512Mi"},
		{"kafkaStorageSize", "1023Mi", "1Gi"},
	}
	base := map[string]string{"zookeeperHeap": "128m", "kafkaHeap": "256m"}
	with := func(key, value string) Run {
		set := map[string]string{key: value}
		for k, v := range base {
			if k != key {
				set[k] = v
			}
		}
		return Run{Stack: "local", Set: set}
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			badConfig{tt.key + " below", with(tt.key, tt.below), []string{
				"(1 problems)", fmt.Sprintf(`apk8s-platform:%s = %q is not allowed: must be at least %s: `, tt.key, tt.below, tt.floor),
			}}.refused(t)
			_, err := loadConfig(t, with(tt.key, tt.floor))
			require.NoError(t, err, "the floor itself is taken")
		})
	}
	t.Run("the key descriptions give the floors", func(t *testing.T) {
		for _, tt := range tests {
			k := declaredKey(t, tt.key)
			assert.Contains(t, k.Description, "at least "+tt.floor, tt.key)
		}
	})
}

// declaredKey is the key of that name in stacks.Keys.
func declaredKey(t *testing.T, name string) stacks.Key {
	t.Helper()
	for _, k := range stacks.Keys {
		if k.Name == name {
			return k
		}
	}
	t.Fatalf("no key %s in stacks.Keys", name)
	return stacks.Key{}
}

// TestBoundsAtTheirEdges: every whole-number bound of the cluster keys,
// taken at each edge and refused one past it: the floor, the small limit
// without allowLargeCluster, and the large limit with it. A value passes
// when no problem names its key (other keys' problems, such as Ceph's
// replicas on one worker, are their own rows' business).
func TestBoundsAtTheirEdges(t *testing.T) {
	t.Parallel()
	type edge struct {
		value string
		large bool // allowLargeCluster
		ok    bool
	}
	edges := func(lo, small, max int) []edge {
		n := func(i int) string { return fmt.Sprint(i) }
		return []edge{
			{n(lo - 1), false, false}, {n(lo), false, true},
			{n(small), false, true}, {n(small + 1), false, false},
			{n(small + 1), true, true}, {n(max), true, true}, {n(max + 1), true, false},
		}
	}
	tests := []struct {
		stack, key string
		with       func(v string) map[string]string // the other keys the value needs
		edges      []edge
	}{
		{"dev3", "workerCount", func(string) map[string]string { return map[string]string{"cephPoolReplicas": "1"} }, edges(1, 6, 20)},
		{"dev3", "cephVolumeSizeGb", func(string) map[string]string { return nil }, edges(10, 500, 10000)},
		{"kapsule", "poolMin", func(v string) map[string]string { return map[string]string{"poolMax": v} }, edges(1, 6, 20)},
		{"kapsule", "poolMax", func(string) map[string]string { return map[string]string{"poolMin": "1"} }, edges(1, 6, 20)},
	}
	for _, tt := range tests {
		for _, e := range tt.edges {
			t.Run(fmt.Sprintf("%s=%s large=%v", tt.key, e.value, e.large), func(t *testing.T) {
				set := map[string]string{tt.key: e.value, "allowLargeCluster": fmt.Sprint(e.large)}
				for k, v := range tt.with(e.value) {
					set[k] = v
				}
				_, err := loadConfig(t, Run{Stack: tt.stack, Set: set})
				named := fmt.Sprintf("apk8s-platform:%s = %q is not allowed", tt.key, e.value)
				if e.ok {
					if err != nil {
						assert.NotContains(t, err.Error(), named)
					}
					return
				}
				require.Error(t, err)
				assert.Contains(t, err.Error(), named)
				assert.Contains(t, err.Error(), "allowLargeCluster", "the refusal names the opt-in")
			})
		}
	}
}
