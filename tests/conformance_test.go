package tests

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/apk8s/apk8s-platform/providers/command"
	"github.com/apk8s/apk8s-platform/providers/plugin"
	"github.com/apk8s/apk8s-platform/providers/random"
	"github.com/apk8s/apk8s-platform/providers/scaleway"
	"github.com/apk8s/apk8s-platform/providers/tls"
)

// The provider facts (tests/testdata/provider-facts): what the schemas and
// generated Go SDKs of the four stand-in providers say.

type schemaProp struct {
	Type                 string      `json:"type"`
	Ref                  string      `json:"$ref"`
	Items                *schemaProp `json:"items"`
	AdditionalProperties *schemaProp `json:"additionalProperties"`
	Secret               bool        `json:"secret"`
	Deprecated           bool        `json:"deprecated"`
	Enum                 []any       `json:"enum"`
}

type schemaType struct {
	Type       string                `json:"type"`
	Properties map[string]schemaProp `json:"properties"`
	Required   []string              `json:"required"`
	Enum       []any                 `json:"enum"`
}

type goSdkFacts struct {
	SecretInputs            []string `json:"secretInputs"`
	AdditionalSecretOutputs []string `json:"additionalSecretOutputs"`
	ReplaceOnChanges        []string `json:"replaceOnChanges"`
	Aliases                 []string `json:"aliases"`
	RequiredArgsChecked     []string `json:"requiredArgsChecked"`
}

type resourceFacts struct {
	Inputs         map[string]schemaProp `json:"inputs"`
	RequiredInputs []string              `json:"requiredInputs"`
	Deprecated     any                   `json:"deprecated"`
	Documented     map[string]struct {
		AllowedValues []any `json:"allowedValues"`
	} `json:"documented"`
	GoSdk goSdkFacts `json:"goSdk"`
}

type providerFacts struct {
	Name              string                   `json:"name"`
	Version           string                   `json:"version"`
	PluginDownloadURL *string                  `json:"pluginDownloadURL"`
	Config            map[string]schemaProp    `json:"config"`
	Resources         map[string]resourceFacts `json:"resources"`
	Types             map[string]schemaType    `json:"types"`
}

func (p *providerFacts) downloadURL() string {
	if p.PluginDownloadURL == nil {
		return ""
	}
	return *p.PluginDownloadURL
}

// standIns are the providers whose SDKs providers/* replace.
var standIns = []string{"scaleway", "tls", "command", "random"}

func loadFacts(t testing.TB) map[string]*providerFacts {
	t.Helper()
	out := map[string]*providerFacts{}
	for _, name := range standIns {
		raw, err := os.ReadFile(filepath.Join("testdata", "provider-facts", name+".facts.json"))
		require.NoError(t, err)
		var f providerFacts
		require.NoError(t, json.Unmarshal(raw, &f), name)
		require.Equal(t, name, f.Name)
		out[name] = &f
	}
	return out
}

// packageOf is the provider a token belongs to, "" for others: resource
// tokens "<pkg>:<module>:<Type>" and provider tokens "pulumi:providers:<pkg>".
func packageOf(token string) string {
	pkg, _, _ := strings.Cut(token, ":")
	if rest, ok := strings.CutPrefix(token, "pulumi:providers:"); ok {
		pkg = rest
	}
	if slices.Contains(standIns, pkg) {
		return pkg
	}
	return ""
}

// checker checks property values against one provider's schema.
type checker struct {
	facts    *providerFacts
	problems []string
}

func (c *checker) fail(path, format string, args ...any) {
	c.problems = append(c.problems, path+": "+fmt.Sprintf(format, args...))
}

// object checks an object's properties against their schemas.
func (c *checker) object(path string, props map[string]schemaProp, required []string, v resource.PropertyMap) {
	for k, x := range v {
		schema, ok := props[string(k)]
		if !ok {
			c.fail(path, "unknown property %q", k)
			continue
		}
		if schema.Deprecated && !x.IsNull() {
			c.fail(path, "property %q is deprecated", k)
		}
		c.value(path+"."+string(k), schema, x)
	}
	for _, k := range required {
		if x, ok := v[resource.PropertyKey(k)]; !ok || x.IsNull() {
			c.fail(path, "required property %q is not set", k)
		}
	}
}

func (c *checker) value(path string, schema schemaProp, v resource.PropertyValue) {
	for v.IsSecret() || v.IsOutput() {
		if v.IsSecret() {
			v = v.SecretValue().Element
		} else {
			v = v.OutputValue().Element
		}
	}
	if v.IsNull() || v.IsComputed() {
		return
	}
	if schema.Ref != "" {
		if schema.Ref == "pulumi.json#/Any" {
			return
		}
		name := strings.TrimPrefix(schema.Ref, "#/types/")
		typ, ok := c.facts.Types[name]
		switch {
		case !ok:
			c.fail(path, "type %s is not in the facts", name)
		case len(typ.Enum) > 0:
			if !slices.Contains(typ.Enum, v.V) {
				c.fail(path, "%v is not one of %v", v.V, typ.Enum)
			}
		case typ.Type == "object":
			if !v.IsObject() {
				c.fail(path, "want an object (%s), have %s", name, v.TypeString())
				return
			}
			c.object(path, typ.Properties, typ.Required, v.ObjectValue())
		}
		return
	}
	if len(schema.Enum) > 0 && !slices.Contains(schema.Enum, v.V) {
		c.fail(path, "%v is not one of %v", v.V, schema.Enum)
	}
	switch schema.Type {
	case "string":
		if !v.IsString() {
			c.fail(path, "want a string, have %s", v.TypeString())
		}
	case "integer":
		if !v.IsNumber() || v.NumberValue() != math.Trunc(v.NumberValue()) {
			c.fail(path, "want an integer, have %s %v", v.TypeString(), v.V)
		}
	case "number":
		if !v.IsNumber() {
			c.fail(path, "want a number, have %s", v.TypeString())
		}
	case "boolean":
		if !v.IsBool() {
			c.fail(path, "want a boolean, have %s", v.TypeString())
		}
	case "array":
		if !v.IsArray() {
			c.fail(path, "want an array, have %s", v.TypeString())
			return
		}
		for i, x := range v.ArrayValue() {
			c.value(fmt.Sprintf("%s[%d]", path, i), *schema.Items, x)
		}
	case "object":
		if !v.IsObject() {
			c.fail(path, "want an object, have %s", v.TypeString())
			return
		}
		if schema.AdditionalProperties != nil {
			for k, x := range v.ObjectValue() {
				c.value(path+"."+string(k), *schema.AdditionalProperties, x)
			}
		}
	default:
		c.fail(path, "schema type %q is not handled by this test", schema.Type)
	}
}

func missing(want, have []string) []string {
	var out []string
	for _, w := range want {
		if !slices.Contains(have, w) {
			out = append(out, w)
		}
	}
	return out
}

// conformance checks one registration r made with request req; it returns
// the problems found.
func conformance(facts map[string]*providerFacts, req *pulumirpc.RegisterResourceRequest, r *Res) []string {
	pkg := packageOf(r.Type)
	f := facts[pkg]
	c := &checker{facts: f}
	where := r.Type + " " + r.Name
	if req == nil {
		return []string{where + ": no request recorded"}
	}
	if strings.HasPrefix(r.Type, "pulumi:providers:") {
		c.object(where, f.Config, nil, r.Inputs)
		return c.problems
	}
	res, ok := f.Resources[r.Type]
	if !ok {
		return []string{where + ": no such resource type in " + pkg + " " + f.Version}
	}
	if res.Deprecated != nil && res.Deprecated != false {
		c.fail(where, "the token is deprecated (%v)", res.Deprecated)
	}
	c.object(where, res.Inputs, res.RequiredInputs, r.Inputs)
	for k, doc := range res.Documented {
		v, ok := r.Inputs[resource.PropertyKey(k)]
		if ok && len(doc.AllowedValues) > 0 {
			for v.IsSecret() {
				v = v.SecretValue().Element
			}
			if !v.IsNull() && !slices.Contains(doc.AllowedValues, v.V) {
				c.fail(where, "%s = %v is not one of the documented values %v", k, v.V, doc.AllowedValues)
			}
		}
	}
	if req.GetVersion() != f.Version {
		c.fail(where, "version %q, want %q", req.GetVersion(), f.Version)
	}
	if req.GetPluginDownloadURL() != f.downloadURL() {
		c.fail(where, "plugin download URL %q, want %q", req.GetPluginDownloadURL(), f.downloadURL())
	}
	for _, k := range res.GoSdk.SecretInputs {
		if v, ok := r.Inputs[resource.PropertyKey(k)]; ok && !v.IsSecret() {
			c.fail(where, "input %q must be a secret, as the SDK makes it", k)
		}
	}
	if m := missing(res.GoSdk.AdditionalSecretOutputs, r.AdditionalSecretOutputs); len(m) > 0 {
		c.fail(where, "outputs %v must be additional secret outputs", m)
	}
	if m := missing(res.GoSdk.ReplaceOnChanges, req.GetReplaceOnChanges()); len(m) > 0 {
		c.fail(where, "replaceOnChanges misses %v", m)
	}
	var aliases []string
	for _, a := range req.GetAliases() {
		if spec := a.GetSpec(); spec != nil {
			aliases = append(aliases, spec.GetType())
		}
	}
	if m := missing(res.GoSdk.Aliases, aliases); len(m) > 0 {
		c.fail(where, "aliases miss %v", m)
	}
	return c.problems
}

// stackNames are the stacks of the repository (Pulumi.<stack>.yaml).
func stackNames(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot, "Pulumi.*.yaml"))
	require.NoError(t, err)
	var out []string
	for _, f := range files {
		out = append(out, strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "Pulumi."), ".yaml"))
	}
	sort.Strings(out)
	require.Contains(t, out, "dev3")
	return out
}

// TestProviderSchemaConformance: every resource any stack registers with
// the Scaleway, TLS, Command or Random provider uses a token that exists
// and is not deprecated, sets every required input, uses only input names
// the provider has and types them right, and is registered with the
// provider's version, plugin download URL, aliases, secret inputs and
// secret outputs, as the generated SDK would register it.
func TestProviderSchemaConformance(t *testing.T) {
	t.Parallel()
	facts := loadFacts(t)
	runs := map[string]Run{}
	for _, stack := range stackNames(t) {
		runs[stack] = Run{Stack: stack}
	}
	// Optional inputs that the stack files leave unset.
	runs["dev3 with options"] = Run{Stack: "dev3", Set: map[string]string{
		"scalewayProjectId": "11111111-2222-3333-4444-555555555555",
		"cephVolumeIops":    "15000", "serverImage": "ubuntu_jammy"}}
	runs["dev3 with three servers and snapshots"] = Run{Stack: "dev3", Set: snapshotSet(map[string]string{"controlPlaneCount": "3"})}
	runs["kapsule with options"] = Run{Stack: "kapsule", Set: map[string]string{
		"scalewayProjectId": "11111111-2222-3333-4444-555555555555", "poolMax": "5"}}
	for name, run := range runs {
		t.Run(name, func(t *testing.T) {
			rec, err := run.Record(t, true)
			require.NoError(t, err)
			checked := map[string]int{}
			for _, r := range rec.All {
				if packageOf(r.Type) == "" {
					continue
				}
				checked[packageOf(r.Type)]++
				assert.Empty(t, conformance(facts, rec.Request(r), r))
			}
			if run.Stack == "dev3" {
				for _, pkg := range standIns {
					assert.NotZero(t, checked[pkg], "dev3 registers %s resources", pkg)
				}
			}
			if run.Stack == "kapsule" {
				for _, tok := range []string{tokKapsuleCluster, tokKapsulePool, tokLBIP, tokPN, tokVPC} {
					assert.Len(t, rec.Find(tok), 1, "the Kapsule stack registers one %s", tok)
				}
			}
			if name == "dev3 with options" {
				var withProject int
				for _, r := range rec.All {
					if _, ok := r.Inputs["projectId"]; ok && packageOf(r.Type) == "scaleway" {
						withProject++
					}
				}
				assert.Equal(t, len(rec.Find(tokServer))+len(rec.Find(tokIP))+len(rec.Find(tokVolume))+3, withProject,
					"every Scaleway resource gets the project")
			}
		})
	}
}

// TestConformanceCatchesMistakes: the checker rejects what it should.
func TestConformanceCatchesMistakes(t *testing.T) {
	t.Parallel()
	facts := loadFacts(t)
	rec, err := Run{Stack: "dev3"}.Record(t, true)
	require.NoError(t, err)
	srv := rec.Find(tokServer)[0]
	bad := *srv
	bad.Inputs = srv.Inputs.Copy()
	bad.Inputs["bootscriptId"] = resource.NewProperty("x")    // deprecated
	bad.Inputs["imageLabel"] = resource.NewProperty("ubuntu") // unknown
	bad.Inputs["zone"] = resource.NewProperty(1.0)            // wrong type
	bad.Inputs["privateNetworks"] = resource.NewProperty([]resource.PropertyValue{
		resource.NewProperty(resource.PropertyMap{"zone": resource.NewProperty("fr-par-1")}), // pnId missing
	})
	delete(bad.Inputs, "type") // required
	problems := strings.Join(conformance(facts, rec.Request(srv), &bad), "\n")
	for _, want := range []string{`"bootscriptId" is deprecated`, `unknown property "imageLabel"`, ".zone: want a string", `required property "pnId"`, `required property "type"`} {
		assert.Contains(t, problems, want)
	}

	key := rec.Find(tokPrivateKey)[0]
	bad = *key
	bad.Inputs = resource.PropertyMap{"algorithm": resource.NewProperty("DSA")}
	bad.AdditionalSecretOutputs = nil
	problems = strings.Join(conformance(facts, rec.Request(key), &bad), "\n")
	assert.Contains(t, problems, "not one of the documented values")
	assert.Contains(t, problems, "must be additional secret outputs")

	deprecated := *srv
	deprecated.Type = "scaleway:index/instanceServer:InstanceServer"
	assert.Contains(t, strings.Join(conformance(facts, rec.Request(srv), &deprecated), "\n"), "the token is deprecated")
}

// TestStandInTypesMatchTheSDKs: each typed wrapper declares what the
// generated SDK's constructor does (token, version, download URL, required
// inputs, aliases, secrets, replaceOnChanges), and every field of its Args
// struct, nested ones included, is an input property of the provider.
func TestStandInTypesMatchTheSDKs(t *testing.T) {
	t.Parallel()
	facts := loadFacts(t)
	assert.Equal(t, facts["scaleway"].Version, scaleway.Version)
	assert.Equal(t, facts["scaleway"].downloadURL(), scaleway.DownloadURL)
	assert.Equal(t, facts["tls"].Version, tls.Version)
	assert.Equal(t, facts["command"].Version, command.Version)
	assert.Equal(t, facts["random"].Version, random.Version)

	for _, tt := range []struct {
		typ  plugin.Type
		args any
	}{
		{scaleway.VpcType, scaleway.VpcArgs{}},
		{scaleway.PrivateNetworkType, scaleway.PrivateNetworkArgs{}},
		{scaleway.IpType, scaleway.IpArgs{}},
		{scaleway.SecurityGroupType, scaleway.SecurityGroupArgs{}},
		{scaleway.ServerType, scaleway.ServerArgs{}},
		{scaleway.BlockVolumeType, scaleway.BlockVolumeArgs{}},
		{scaleway.BucketType, scaleway.BucketArgs{}},
		{scaleway.BucketPolicyType, scaleway.BucketPolicyArgs{}},
		{scaleway.IamApplicationType, scaleway.IamApplicationArgs{}},
		{scaleway.IamApiKeyType, scaleway.IamApiKeyArgs{}},
		{scaleway.KubernetesClusterType, scaleway.KubernetesClusterArgs{}},
		{scaleway.KubernetesPoolType, scaleway.KubernetesPoolArgs{}},
		{scaleway.LoadBalancerIpType, scaleway.LoadBalancerIpArgs{}},
		{tls.PrivateKeyType, tls.PrivateKeyArgs{}},
		{random.RandomPasswordType, random.RandomPasswordArgs{}},
		{command.RemoteCommandType, command.RemoteCommandArgs{}},
	} {
		t.Run(tt.typ.Token, func(t *testing.T) {
			f := facts[tt.typ.Package.Name]
			require.NotNil(t, f)
			res, ok := f.Resources[tt.typ.Token]
			require.True(t, ok, "token exists")
			assert.Nil(t, res.Deprecated)
			assert.Equal(t, f.Version, tt.typ.Package.Version)
			assert.Equal(t, f.downloadURL(), tt.typ.Package.DownloadURL)
			assert.ElementsMatch(t, res.GoSdk.RequiredArgsChecked, tt.typ.Required)
			assert.ElementsMatch(t, res.GoSdk.Aliases, tt.typ.Aliases)
			assert.ElementsMatch(t, res.GoSdk.SecretInputs, tt.typ.SecretInputs)
			assert.ElementsMatch(t, res.GoSdk.AdditionalSecretOutputs, tt.typ.SecretOutputs)
			assert.ElementsMatch(t, res.GoSdk.ReplaceOnChanges, tt.typ.ReplaceOnChanges)
			var problems []string
			argFields(f, reflect.TypeOf(tt.args), res.Inputs, tt.typ.Token, &problems)
			assert.Empty(t, problems)
		})
	}
}

// argFields checks the tagged fields of an Args struct type against props.
func argFields(f *providerFacts, t reflect.Type, props map[string]schemaProp, path string, problems *[]string) {
	for i := 0; i < t.NumField(); i++ {
		field := t.Field(i)
		name, _, _ := strings.Cut(field.Tag.Get("pulumi"), ",")
		if name == "" {
			continue
		}
		schema, ok := props[name]
		if !ok {
			*problems = append(*problems, fmt.Sprintf("%s.%s: %q is not an input", path, field.Name, name))
			continue
		}
		if schema.Deprecated {
			*problems = append(*problems, fmt.Sprintf("%s.%s: %q is deprecated", path, field.Name, name))
		}
		ft := field.Type
		for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice {
			ft = ft.Elem()
			if schema.Items != nil {
				schema = *schema.Items
			}
		}
		if ft.Kind() != reflect.Struct {
			continue
		}
		typ, ok := f.Types[strings.TrimPrefix(schema.Ref, "#/types/")]
		if !ok || typ.Type != "object" {
			*problems = append(*problems, fmt.Sprintf("%s.%s: %q is not an object property", path, field.Name, name))
			continue
		}
		argFields(f, ft, typ.Properties, path+"."+name, problems)
	}
}
