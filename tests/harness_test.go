// Package tests proves the resource graph of every stack under Pulumi's
// mocks: the program runs as `pulumi up` would run it, with each stack's own
// Pulumi.<stack>.yaml, and every registration is recorded for the checks.
package tests

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/apk8s/apk8s-platform/stacks"
)

// repoRoot is where Pulumi.yaml and the stack files live.
const repoRoot = ".."

// Res is one registration the program made.
type Res struct {
	Type                    string
	Name                    string // Pulumi's logical name
	URN                     string
	Parent                  string // parent URN
	Provider                string // provider reference "<urn>::<id>", "" for components
	Custom                  bool
	Version                 string // the provider version the registration asks for
	Inputs                  resource.PropertyMap
	DependsOn               []string // URNs
	AdditionalSecretOutputs []string
}

// Plain is the inputs as plain Go values; secrets are unwrapped, so that
// the checks can read them (Secret() tells where they were).
func (r *Res) Plain() map[string]any {
	return r.Inputs.MapRepl(nil, func(v resource.PropertyValue) (any, bool) {
		if v.IsSecret() {
			return resource.NewPropertyValue(v.SecretValue().Element).Mappable(), true
		}
		return nil, false
	})
}

// K8sName is metadata.name of a Kubernetes object.
func (r *Res) K8sName() string {
	m, _ := r.Plain()["metadata"].(map[string]any)
	n, _ := m["name"].(string)
	return n
}

// K8sNamespace is metadata.namespace of a Kubernetes object.
func (r *Res) K8sNamespace() string {
	m, _ := r.Plain()["metadata"].(map[string]any)
	n, _ := m["namespace"].(string)
	return n
}

// Decode reads the inputs into out, an upstream k8s.io/api struct or ours.
func (r *Res) Decode(t testing.TB, out any) {
	t.Helper()
	raw, err := json.Marshal(r.Plain())
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, out))
}

// Graph is everything one run registered.
type Graph struct {
	stack string
	// last are the stack outputs of the previous update, which the
	// program reads back.
	last resource.PropertyMap
	// classes are the cluster's StorageClasses by name, and whether each
	// allows volume expansion.
	classes map[string]bool
	// claims says that the data services' claims exist, their class
	// defaultClass when the config names none.
	claims       bool
	defaultClass string
	// unreadable is how many reads of the last outputs fail before one
	// succeeds, like a checkpoint met while the engine writes it.
	unreadable int
	// Reads are what the program read: stacks' outputs by stack name,
	// cluster objects as "<type token> <id>".
	Reads []string
	mu    sync.Mutex
	All   []*Res
	Logs  []string
}

// tokReadStackOutputs is the engine's function that reads a stack's outputs.
const tokReadStackOutputs = "pulumi:pulumi:readStackOutputs"

// NewResource records a registration and echoes the inputs as the state, as
// a provider's dry run would.
func (g *Graph) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	if args.ReadRPC != nil {
		return g.read(args)
	}
	rpc := args.RegisterRPC
	// The same URN the mock monitor gives the resource.
	var parentType tokens.Type
	if p := resource.URN(rpc.GetParent()); p != "" && p.QualifiedType() != resource.RootStackType {
		parentType = p.QualifiedType()
	}
	urn := resource.NewURN(tokens.QName(g.stack), stacks.Project, parentType, tokens.Type(args.TypeToken), args.Name)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.All = append(g.All, &Res{
		Type:                    args.TypeToken,
		Name:                    args.Name,
		URN:                     string(urn),
		Parent:                  rpc.GetParent(),
		Provider:                args.Provider,
		Custom:                  args.Custom,
		Version:                 rpc.GetVersion(),
		Inputs:                  args.Inputs,
		DependsOn:               rpc.GetDependencies(),
		AdditionalSecretOutputs: rpc.GetAdditionalSecretOutputs(),
	})
	state := kapsuleOutputs(args.TypeToken, keptSalt(g.stack, autoNamed(args)))
	if args.TypeToken == tokPrivateKey {
		state = state.Copy()
		state["privateKeyOpenssh"], state["publicKeyOpenssh"] = fakeKeyPair(args.Name, "graph")
	}
	return args.Name + "-id", state, nil
}

// fakeKeyPair is what the TLS provider answers for the key named name: an
// OpenSSH key pair, a different one for every key, the private half a
// secret that holds salt (and the public half does not).
func fakeKeyPair(name, salt string) (private, public resource.PropertyValue) {
	body := hex.EncodeToString([]byte(name))
	return resource.MakeSecret(resource.NewProperty("-----BEGIN OPENSSH PRIVATE KEY-----\n" + salt + body + "\n-----END OPENSSH PRIVATE KEY-----\n")),
		resource.NewProperty("ssh-ed25519 AAAAC3" + body + "\n")
}

// Tokens of the Kapsule resources.
const (
	tokKapsuleCluster = "scaleway:kubernetes/cluster:Cluster"
	tokKapsulePool    = "scaleway:kubernetes/pool:Pool"
	tokLBIP           = "scaleway:loadbalancers/ip:Ip"
)

// kapsuleToken is the fake token of the fake Kapsule kubeconfig, made
// afresh for every test run.
var kapsuleToken = "kt-" + randomHex(16)

// kapsuleOutputs adds what the Scaleway provider reports for a Kapsule
// cluster and a load balancer's IP: the admin kubeconfig (a secret, as the
// provider marks it), the API server's URL, the address.
func kapsuleOutputs(token string, state resource.PropertyMap) resource.PropertyMap {
	switch token {
	case tokKapsuleCluster:
		state = state.Copy()
		url := "https://c0ffee.api.k8s.fr-par.scw.cloud:6443"
		config := "apiVersion: v1\nclusters:\n- cluster:\n    server: " + url + "\n  name: kapsule\nusers:\n- name: admin\n  user:\n    token: " + kapsuleToken + "\n"
		state["apiserverUrl"] = resource.NewProperty(url)
		state["kubeconfigs"] = resource.MakeSecret(resource.NewProperty([]resource.PropertyValue{resource.NewProperty(resource.PropertyMap{
			"configFile": resource.NewProperty(config), "host": resource.NewProperty(url), "token": resource.NewProperty(kapsuleToken),
		})}))
	case tokLBIP:
		state = state.Copy()
		state["ipAddress"] = resource.NewProperty("51.159.10.20")
	}
	return state
}

// saltKeeper is the ConfigMap whose annotation the engine keeps as first
// registered (ignoreChanges): the salt of the basic-auth line.
const saltKeeper = "sysop-basic-auth-salt"

// keptSalts hold, per stack, the salt the first run of this process drew,
// as a stack's state would hold the salt of its first `up`. Besides
// modelling the engine, it keeps the hash the same from run to run, so the
// tests pay bcrypt once per stack.
var keptSalts sync.Map // stack -> salt

// keptSalt answers for the salt keeper with the salt kept for stack.
func keptSalt(stack string, state resource.PropertyMap) resource.PropertyMap {
	meta, ok := state["metadata"]
	if !ok || !meta.IsObject() || !meta.ObjectValue()["name"].IsString() || meta.ObjectValue()["name"].StringValue() != saltKeeper {
		return state
	}
	m := state.Mappable()
	annotations := m["metadata"].(map[string]any)["annotations"].(map[string]any)
	kept, _ := keptSalts.LoadOrStore(stack, annotations[saltAnnotation])
	annotations[saltAnnotation] = kept
	return resource.NewPropertyMapFromMap(m)
}

const saltAnnotation = "apk8s.dev/bcrypt-salt"

// autoNamed is the state of a Kubernetes object as the provider reports
// it: an object registered without metadata.name gets "<logical name>-<suffix>",
// as the provider's auto-naming gives it.
func autoNamed(args pulumi.MockResourceArgs) resource.PropertyMap {
	meta, ok := args.Inputs["metadata"]
	if !strings.HasPrefix(args.TypeToken, "kubernetes:") || !ok || !meta.IsObject() || meta.ObjectValue().HasValue("name") {
		return args.Inputs
	}
	state := args.Inputs.Copy()
	named := meta.ObjectValue().Copy()
	named["name"] = resource.NewProperty(args.Name + "-a1b2c3d4")
	state["metadata"] = resource.NewProperty(named)
	return state
}

// read answers a read of a cluster object from the run's classes; any
// other object is missing, as on an empty cluster.
func (g *Graph) read(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.Reads = append(g.Reads, args.TypeToken+" "+args.ID)
	state := resource.PropertyMap{"metadata": resource.NewProperty(resource.PropertyMap{"name": resource.NewProperty(args.ID)})}
	allowed, ok := g.classes[args.ID]
	switch {
	case args.TypeToken == tokStorageClass && ok:
		if allowed {
			state["allowVolumeExpansion"] = resource.NewProperty(true)
		}
	case args.TypeToken == tokPVC && g.claims:
		// The StatefulSet controller made the claim; the cluster's
		// default class filled in its storageClassName.
		state["spec"] = resource.NewProperty(resource.PropertyMap{"storageClassName": resource.NewProperty(g.defaultClass)})
	default:
		return "", nil, fmt.Errorf("%s %q not found", args.TypeToken, args.ID)
	}
	return args.ID, state, nil
}

// Call answers the engine's function that reads a stack's outputs.
func (g *Graph) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	if args.Token == tokReadStackOutputs {
		g.mu.Lock()
		defer g.mu.Unlock()
		g.Reads = append(g.Reads, args.Args["name"].StringValue())
		if g.unreadable > 0 {
			g.unreadable--
			return nil, errors.New("failed to load checkpoint: EOF")
		}
		return resource.PropertyMap{"name": args.Args["name"], "outputs": resource.NewProperty(g.last)}, nil
	}
	return nil, fmt.Errorf("unexpected call %s", args.Token)
}

// Find returns the registrations of type token, or of every type when
// token is "".
func (g *Graph) Find(token string) []*Res {
	var out []*Res
	for _, r := range g.All {
		if token == "" || r.Type == token {
			out = append(out, r)
		}
	}
	return out
}

// Object is the Kubernetes object of kind token named name.
func (g *Graph) Object(t testing.TB, token, name string) *Res {
	t.Helper()
	for _, r := range g.Find(token) {
		if r.K8sName() == name {
			return r
		}
	}
	require.Failf(t, "object missing", "no %s named %q in the graph", token, name)
	return nil
}

// ByURN finds a registration by its URN.
func (g *Graph) ByURN(urn string) *Res {
	for _, r := range g.All {
		if r.URN == urn {
			return r
		}
	}
	return nil
}

// StackConfig is the config of Pulumi.<stack>.yaml, keys as the engine
// passes them ("apk8s-platform:domain").
func StackConfig(t testing.TB, stack string) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "Pulumi."+stack+".yaml"))
	require.NoError(t, err)
	var file struct {
		Config map[string]any `json:"config"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &file))
	out := map[string]string{}
	for k, v := range file.Config {
		switch v := v.(type) {
		case string:
			out[k] = v
		case map[string]any: // "secure:" values cannot be read here
			continue
		default:
			b, err := json.Marshal(v)
			require.NoError(t, err)
			out[k] = string(b)
		}
	}
	return out
}

// Default is the declared default of a config key. Tests compare pinned
// versions with it, not with a copy, so that Renovate's pull request that
// bumps a pin does not have to find the tests too.
func Default(t testing.TB, name string) string {
	t.Helper()
	for _, k := range stacks.Keys {
		if k.Name == name {
			require.True(t, k.HasDefault, "%s has no default", name)
			return k.Default
		}
	}
	require.Failf(t, "undeclared key", "no key %s in stacks.Keys", name)
	return ""
}

// TestPassword and TestMQTTPassword are made afresh for every test run, so
// no password ships in a fixture.
var (
	TestPassword     = "pw-" + randomHex(12)
	TestMQTTPassword = "mq-" + randomHex(12)
)

// secretKeys are the config keys the harness sets as secrets, with their
// values.
var secretKeys = map[string]string{
	stacks.Project + ":basicAuthPassword": TestPassword,
	stacks.Project + ":mqttPassword":      TestMQTTPassword,
}

// randomHex is n random bytes in hex, for secrets made afresh per test run.
func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// Run is one mocked `pulumi up` of a stack.
type Run struct {
	Stack string
	// File is the stack file's stack, Pulumi.<File>.yaml, when it is not
	// Stack's own (a disposable dev stack built from another stack's file).
	File string
	// Set overrides config keys (short names, "kafkaReplicas"); "" values
	// are set as empty strings, Unset removes keys.
	Set   map[string]string
	Unset []string
	// Secrets set keys as secrets, as `pulumi config set --secret` (or a
	// secret inside a structured value, `--path --secret`) stores them.
	Secrets map[string]string
	// PlainPassword stores the passwords as plain config instead of secrets.
	PlainPassword bool
	// Program replaces stacks.Run (to call stacks.Load alone).
	Program pulumi.RunFunc
	// Last are the stack's outputs of its previous update (none: a new
	// stack).
	Last map[string]any
	// Classes are the cluster's StorageClasses by name, and whether each
	// allows volume expansion.
	Classes map[string]bool
	// UnreadableOutputs is how many reads of the last outputs fail first.
	UnreadableOutputs int
	// DefaultClass is the class the cluster's default gave the existing
	// claims of a config that names none (with Last, the claims exist).
	DefaultClass string
	// CLIDefaults sets every declared default that the stack file leaves
	// out, as the Pulumi CLI hands Pulumi.yaml's defaults to the program.
	CLIDefaults bool
}

// graph is an empty graph of the run's stack.
func (run Run) graph() *Graph {
	return &Graph{stack: run.Stack, last: resource.NewPropertyMapFromMap(run.Last), classes: run.Classes,
		claims: run.Last != nil, defaultClass: run.DefaultClass, unreadable: run.UnreadableOutputs}
}

// Do runs the program and returns what it registered and its error.
func (run Run) Do(t testing.TB) (*Graph, error) {
	t.Helper()
	g := run.graph()
	return g, run.Exec(t, g)
}

// Exec runs the program with the stack's config against mocks.
func (run Run) Exec(t testing.TB, mocks pulumi.MockResourceMonitor) error {
	t.Helper()
	file := run.Stack
	if run.File != "" {
		file = run.File
	}
	cfg := StackConfig(t, file)
	if run.CLIDefaults {
		for _, k := range stacks.Keys {
			if _, set := cfg[stacks.Project+":"+k.Name]; k.HasDefault && !set {
				cfg[stacks.Project+":"+k.Name] = k.Default
			}
		}
	}
	for k, v := range secretKeys {
		cfg[k] = v
	}
	for k, v := range run.Set {
		cfg[stacks.Project+":"+k] = v
	}
	for _, k := range run.Unset {
		delete(cfg, stacks.Project+":"+k)
	}
	var secrets []string
	for k := range secretKeys {
		if _, ok := cfg[k]; ok && !run.PlainPassword {
			secrets = append(secrets, k)
		}
	}
	for k, v := range run.Secrets {
		cfg[stacks.Project+":"+k] = v
		secrets = append(secrets, stacks.Project+":"+k)
	}
	program := run.Program
	if program == nil {
		program = stacks.Run
	}
	return pulumi.RunErr(program, pulumi.WithMocks(stacks.Project, run.Stack, mocks), func(info *pulumi.RunInfo) {
		info.Config = cfg
		info.ConfigSecretKeys = secrets
	})
}

// sharedRuns hold the graphs of Shared, one per run name.
var sharedRuns sync.Map // runName -> *sharedRun

type sharedRun struct {
	once sync.Once
	rec  *Recorded
	err  error
}

// Shared is MustRecord evaluated once per test process for each stack and
// set of overrides: most tests only read a stack's graph, and the same few
// graphs are read by many of them, in parallel. The graph is shared, so a
// test must not change it; runs that need their own (fresh secrets, last
// outputs, StorageClasses, a program of their own) call MustRecord or Do.
func (run Run) Shared(t testing.TB) *Recorded {
	t.Helper()
	require.True(t, run.Unset == nil && run.Secrets == nil && !run.PlainPassword && run.Program == nil && run.Last == nil &&
		run.Classes == nil && run.UnreadableOutputs == 0 && run.DefaultClass == "",
		"only a stack and its overrides are shared: %+v", run)
	v, _ := sharedRuns.LoadOrStore(runName(run), &sharedRun{})
	s := v.(*sharedRun)
	s.once.Do(func() { s.rec, s.err = run.Record(t, true) })
	require.NoError(t, s.err)
	require.NotNil(t, s.rec, "the run %s failed in the test that made it", runName(run))
	return s.rec
}

// MustDo runs the program and requires it to succeed.
func (run Run) MustDo(t testing.TB) *Graph {
	t.Helper()
	g, err := run.Do(t)
	require.NoError(t, err)
	return g
}
