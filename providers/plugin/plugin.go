// Package plugin registers the resources of a provider plugin whose Go SDK
// this program does not import, the way that SDK's generated constructors
// register them: the exact type token and input property names, the
// plugin's version and download URL, the old tokens as aliases, secret
// inputs wrapped as secrets and the outputs the schema marks secret.
//
// The per-provider packages (providers/scaleway, tls, command, random) hold
// typed Args structs whose fields are Pulumi inputs tagged with the
// provider's property names, as generated SDKs have them; Props turns such a
// struct into the property map that goes to the engine.
package plugin

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Package is one provider plugin.
type Package struct {
	Name    string
	Version string
	// DownloadURL is where the engine fetches the plugin when it is not
	// installed; "" for Pulumi's own plugin server.
	DownloadURL string
}

// options are what every generated constructor of the package adds first,
// so that callers may override them.
func (p Package) options() []pulumi.ResourceOption {
	opts := []pulumi.ResourceOption{pulumi.Version(p.Version)}
	if p.DownloadURL != "" {
		opts = append(opts, pulumi.PluginDownloadURL(p.DownloadURL))
	}
	return opts
}

// Type is what a generated constructor knows of one resource type.
type Type struct {
	Package Package
	Token   string
	// Required are the inputs the constructor refuses to go without.
	Required []string
	// Aliases are older tokens of the same resource.
	Aliases []string
	// SecretInputs are wrapped as secrets before registration.
	SecretInputs []string
	// SecretOutputs are outputs the engine must store as secrets.
	SecretOutputs []string
	// ReplaceOnChanges are property paths whose change replaces the resource.
	ReplaceOnChanges []string
}

// Register registers a resource of type t named name, with args (a struct
// of Pulumi inputs tagged `pulumi:"property"`) as its inputs and out (a
// struct embedding pulumi.CustomResourceState, with tagged output fields)
// receiving its outputs.
func (t Type) Register(ctx *pulumi.Context, name string, args any, out pulumi.CustomResource, opts ...pulumi.ResourceOption) error {
	props, err := Props(args)
	if err != nil {
		return fmt.Errorf("%s %q: %w", t.Token, name, err)
	}
	for _, key := range t.Required {
		if _, ok := props[key]; !ok {
			return fmt.Errorf("%s %q: missing required input %q", t.Token, name, key)
		}
	}
	for _, key := range t.SecretInputs {
		if v, ok := props[key]; ok {
			props[key] = pulumi.ToSecret(v)
		}
	}
	all := append(t.Package.options(), opts...)
	if len(t.Aliases) > 0 {
		aliases := make([]pulumi.Alias, len(t.Aliases))
		for i, token := range t.Aliases {
			aliases[i] = pulumi.Alias{Type: pulumi.String(token)}
		}
		all = append(all, pulumi.Aliases(aliases))
	}
	if len(t.SecretOutputs) > 0 {
		all = append(all, pulumi.AdditionalSecretOutputs(t.SecretOutputs))
	}
	if len(t.ReplaceOnChanges) > 0 {
		all = append(all, pulumi.ReplaceOnChanges(t.ReplaceOnChanges))
	}
	return ctx.RegisterResource(t.Token, name, props, out, all...)
}

// Props is the property map of an Args struct: one entry per field tagged
// `pulumi:"name"` that is set. A field is a Pulumi input, a struct of them
// (or a pointer to one) for an object property, or a slice of such structs
// for an array of objects. Unset (nil) fields are left out, as the engine
// expects of optional properties.
func Props(args any) (pulumi.Map, error) {
	v := reflect.ValueOf(args)
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return pulumi.Map{}, nil
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return nil, fmt.Errorf("args of type %s: want a struct of Pulumi inputs", v.Type())
	}
	props := pulumi.Map{}
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		field := t.Field(i)
		name, _, _ := strings.Cut(field.Tag.Get("pulumi"), ",")
		if name == "" || !field.IsExported() {
			continue
		}
		in, set, err := input(v.Field(i))
		if err != nil {
			return nil, fmt.Errorf("%s (%s): %w", field.Name, name, err)
		}
		if set {
			props[name] = in
		}
	}
	return props, nil
}

var inputType = reflect.TypeOf((*pulumi.Input)(nil)).Elem()

// input converts one field; set is false for a nil field.
func input(v reflect.Value) (in pulumi.Input, set bool, err error) {
	switch v.Kind() {
	case reflect.Interface, reflect.Pointer, reflect.Slice, reflect.Map:
		if v.IsNil() {
			return nil, false, nil
		}
	}
	if v.Type().Implements(inputType) {
		return v.Interface().(pulumi.Input), true, nil
	}
	switch v.Kind() {
	case reflect.Pointer:
		return input(v.Elem())
	case reflect.Struct:
		m, err := Props(v.Interface())
		return m, err == nil, err
	case reflect.Slice:
		arr := make(pulumi.Array, 0, v.Len())
		for i := 0; i < v.Len(); i++ {
			in, set, err := input(v.Index(i))
			if err != nil {
				return nil, false, fmt.Errorf("[%d]: %w", i, err)
			}
			if !set {
				return nil, false, fmt.Errorf("[%d] is nil", i)
			}
			arr = append(arr, in)
		}
		return arr, true, nil
	}
	return nil, false, fmt.Errorf("type %s is neither a Pulumi input nor a struct of them", v.Type())
}

// New registers a resource of type t and returns its output struct R, or
// nil and the error, as a generated constructor does.
func New[R any, P interface {
	*R
	pulumi.CustomResource
}](ctx *pulumi.Context, t Type, name string, args any, opts ...pulumi.ResourceOption) (*R, error) {
	res := P(new(R))
	if err := t.Register(ctx, name, args, res, opts...); err != nil {
		return nil, err
	}
	return res, nil
}
