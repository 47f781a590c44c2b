// Package kube registers Kubernetes objects and Helm releases with the
// pulumi-kubernetes provider without importing its typed API-group packages.
//
// The typed SDK packages (core/v1, apps/v1, helm/v3, apiextensions, ...) make
// every `go build` of a Pulumi program slow and heavy: helm/v3 alone pulls in
// every API group of the SDK. Objects here are written as the upstream
// k8s.io/api Go structs (or small structs of our own for CRDs), and registered
// under exactly the type tokens and input properties the typed SDK would use,
// so the engine, the provider and the mocks see the same resources.
package kube

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// ProviderVersion is the pulumi-kubernetes version this program is built and
// tested against; it equals the version of github.com/pulumi/pulumi-kubernetes/sdk/v4
// in go.mod (a test keeps the two in step; Renovate moves them together).
//
// renovate: datasource=go depName=github.com/pulumi/pulumi-kubernetes/sdk/v4 extractVersion=^v(?<version>.+)$
const ProviderVersion = "4.32.0"

// Object is a Kubernetes object as a Go struct with its TypeMeta filled in.
// Every k8s.io/api type satisfies it, and so does any struct that embeds
// metav1.TypeMeta.
type Object interface {
	GetObjectKind() schema.ObjectKind
}

// Args is an object body plus the values that exist only at deploy time.
type Args struct {
	// Object is the body: apiVersion, kind, metadata, spec, data, ...
	Object Object
	// Namespace, when set, replaces metadata.namespace. Passing the Namespace
	// resource's name output here makes the object wait for its namespace.
	Namespace pulumi.StringInput
	// Fields replaces top-level fields with Pulumi inputs, for values that are
	// outputs of other resources or secrets (a Secret's stringData).
	Fields pulumi.Map
	// Patch registers the object as a Server-Side Apply patch of an
	// existing object of its kind (the provider's <Kind>Patch resource),
	// which sets only the fields the object has.
	Patch bool
}

// Resource is a Kubernetes object registered with the provider.
type Resource struct {
	pulumi.CustomResourceState

	APIVersion pulumi.StringOutput `pulumi:"apiVersion"`
	Kind       pulumi.StringOutput `pulumi:"kind"`
	Metadata   pulumi.MapOutput    `pulumi:"metadata"`
	// Spec is the object's spec as the provider reports it (empty for
	// kinds without one).
	Spec pulumi.MapOutput `pulumi:"spec"`
	// Data is a ConfigMap's or Secret's data as the provider reports it:
	// what the cluster holds (empty for other kinds; a Secret's is secret).
	Data pulumi.MapOutput `pulumi:"data"`
}

// Name is the object's metadata.name as the provider reports it.
func (r *Resource) Name() pulumi.StringOutput {
	return r.Metadata.ApplyT(func(m map[string]any) string {
		name, _ := m["name"].(string)
		return name
	}).(pulumi.StringOutput)
}

// Token is the provider's type token for an apiVersion and kind, e.g.
// "kubernetes:apps/v1:StatefulSet"; the core group is spelled "core".
func Token(apiVersion, kind string) string {
	if !strings.Contains(apiVersion, "/") {
		apiVersion = "core/" + apiVersion
	}
	return "kubernetes:" + apiVersion + ":" + kind
}

// secretKinds lists the kinds whose outputs the typed SDK marks secret.
var secretKinds = map[string][]string{
	"kubernetes:core/v1:Secret": {"data", "stringData"},
}

// New registers args.Object under the token of its apiVersion and kind.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*Resource, error) {
	gvk := args.Object.GetObjectKind().GroupVersionKind()
	if gvk.Kind == "" || gvk.Version == "" {
		return nil, fmt.Errorf("kube object %q: apiVersion and kind must be set", name)
	}
	apiVersion, kind := gvk.GroupVersion().String(), gvk.Kind
	body, err := Body(args.Object)
	if err != nil {
		return nil, fmt.Errorf("kube object %q: %w", name, err)
	}
	props := pulumi.Map{}
	for k, v := range body {
		if k == "metadata" {
			continue
		}
		props[k] = pulumi.Any(v)
	}
	meta := pulumi.Map{}
	if m, ok := body["metadata"].(map[string]any); ok {
		for k, v := range m {
			meta[k] = pulumi.Any(v)
		}
	}
	if args.Namespace != nil {
		meta["namespace"] = args.Namespace
	}
	props["metadata"] = meta
	for k, v := range args.Fields {
		props[k] = v
	}

	token := Token(apiVersion, kind)
	if args.Patch {
		token += "Patch"
	}
	opts = withVersion(opts)
	if secrets, ok := secretKinds[token]; ok {
		opts = append(opts, pulumi.AdditionalSecretOutputs(secrets))
	}
	var res Resource
	if err := ctx.RegisterResource(token, name, props, &res, opts...); err != nil {
		return nil, err
	}
	return &res, nil
}

// Body is the object as the API server reads it: its JSON form, without the
// read-only status and without null fields.
func Body(obj Object) (map[string]any, error) {
	body, err := tree(obj)
	if err != nil {
		return nil, err
	}
	delete(body, "status")
	return body, nil
}

// tree is v's JSON form as maps, without null fields: what the provider
// takes as an object's body or a release's values.
func tree(v any) (map[string]any, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, err
	}
	prune(out)
	return out, nil
}

// prune drops null values and the empty "status" objects that the k8s.io/api
// structs emit for nested templates (a claim template's status, say); neither
// belongs in a desired state and both would show up in every diff.
func prune(v any) {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			if x == nil {
				delete(t, k)
				continue
			}
			if m, ok := x.(map[string]any); ok && k == "status" && len(m) == 0 {
				delete(t, k)
				continue
			}
			prune(x)
		}
	case []any:
		for _, x := range t {
			prune(x)
		}
	}
}
