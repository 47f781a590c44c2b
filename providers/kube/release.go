package kube

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// ReleaseToken is the provider's type token of a Helm release: the chart is
// installed by the provider's embedded Helm, so its hooks run, its crds/
// directory is applied and `helm list` shows the release.
const ReleaseToken = "kubernetes:helm.sh/v3:Release"

// ReleaseArgs are the inputs of a Helm release. Each field is sent under the
// property name of the provider's schema (the typed SDK's helm/v3
// ReleaseArgs); zero values are left out, so the provider's defaults apply.
type ReleaseArgs struct {
	// Name is the release name `helm list` shows. It is required: without
	// it the provider would make one up with a random suffix.
	Name string
	// Chart and Version pin the chart; Repo is the chart repository's URL
	// (repositoryOpts.repo).
	Chart   string
	Version string
	Repo    string
	// Namespace is where the release lives. Passing the Namespace resource's
	// name output makes the release wait for it.
	Namespace pulumi.StringInput
	// Values are the chart values: a Go struct with JSON tags (the typed
	// subset of a chart's values a component sets), a JSON-shaped map, or a
	// pulumi.MapOutput of such a map when they hold other resources' outputs.
	Values any
	// CreateNamespace lets Helm create the namespace; this program creates
	// its namespaces itself, so it stays false.
	CreateNamespace bool
	// SkipCrds leaves the chart's crds/ directory out.
	SkipCrds bool
	// Atomic rolls a failed install back; CleanupOnFail deletes what a
	// failed upgrade created.
	Atomic        bool
	CleanupOnFail bool
	// SkipAwait returns as soon as Helm has applied the manifests; by default
	// the provider waits until every object of the release is ready.
	SkipAwait bool
	// WaitForJobs also waits for the release's Jobs to complete.
	WaitForJobs bool
	// Timeout bounds each Helm operation, in seconds (provider default 300).
	Timeout int
	// MaxHistory bounds the release revisions Helm keeps (0 = no limit).
	MaxHistory int
	// Description is recorded with the release.
	Description string
}

// Release is a Helm release registered with the provider.
type Release struct {
	pulumi.CustomResourceState

	ReleaseName pulumi.StringOutput `pulumi:"name"`
	Namespace   pulumi.StringOutput `pulumi:"namespace"`
	Chart       pulumi.StringOutput `pulumi:"chart"`
	Version     pulumi.StringOutput `pulumi:"version"`
	// Status is what Helm reports after the operation: name, namespace,
	// chart, version, appVersion, revision and status.
	Status pulumi.MapOutput `pulumi:"status"`
}

// NewRelease registers a Helm release under ReleaseToken, with the same
// inputs and the same provider version as the typed SDK's helm.NewRelease.
func NewRelease(ctx *pulumi.Context, name string, args ReleaseArgs, opts ...pulumi.ResourceOption) (*Release, error) {
	props, err := args.inputs()
	if err != nil {
		return nil, fmt.Errorf("helm release %q: %w", name, err)
	}
	opts = withVersion(opts)
	var res Release
	if err := ctx.RegisterResource(ReleaseToken, name, props, &res, opts...); err != nil {
		return nil, err
	}
	return &res, nil
}

// inputs are the release's input properties, spelled as the schema spells
// them.
func (a ReleaseArgs) inputs() (pulumi.Map, error) {
	var missing []error
	if a.Name == "" {
		missing = append(missing, errors.New("name is required (an unnamed release gets a random name)"))
	}
	if a.Chart == "" {
		missing = append(missing, errors.New("chart is required"))
	}
	if a.Namespace == nil {
		missing = append(missing, errors.New("namespace is required"))
	}
	if err := errors.Join(missing...); err != nil {
		return nil, err
	}
	props := pulumi.Map{
		"name":            pulumi.String(a.Name),
		"chart":           pulumi.String(a.Chart),
		"namespace":       a.Namespace,
		"createNamespace": pulumi.Bool(a.CreateNamespace),
		"skipCrds":        pulumi.Bool(a.SkipCrds),
		// The typed SDK always sends this marker; the provider accepts it.
		"compat": pulumi.String("true"),
	}
	if a.Version != "" {
		props["version"] = pulumi.String(a.Version)
	}
	if a.Repo != "" {
		props["repositoryOpts"] = pulumi.Map{"repo": pulumi.String(a.Repo)}
	}
	if out, ok := a.Values.(pulumi.MapOutput); ok {
		// Values that hold another resource's outputs, resolved by then.
		props["values"] = out
	} else if a.Values != nil {
		tree, err := Values(a.Values)
		if err != nil {
			return nil, err
		}
		props["values"] = pulumi.Any(tree)
	}
	for k, v := range map[string]bool{
		"atomic":        a.Atomic,
		"cleanupOnFail": a.CleanupOnFail,
		"skipAwait":     a.SkipAwait,
		"waitForJobs":   a.WaitForJobs,
	} {
		if v {
			props[k] = pulumi.Bool(true)
		}
	}
	if a.Timeout > 0 {
		props["timeout"] = pulumi.Int(a.Timeout)
	}
	if a.MaxHistory > 0 {
		props["maxHistory"] = pulumi.Int(a.MaxHistory)
	}
	if a.Description != "" {
		props["description"] = pulumi.String(a.Description)
	}
	return props, nil
}

// Values turns a chart's values, written as a Go struct with JSON tags, into
// the tree a release takes; null fields are dropped, so a chart default is
// overridden only where the struct says so.
func Values(v any) (map[string]any, error) {
	values, err := tree(v)
	if err != nil {
		return nil, fmt.Errorf("chart values must be a JSON object: %w", err)
	}
	return values, nil
}

// Release registers a Helm release as a child; it returns nil once an error
// has happened.
func (c *Children) Release(name string, args ReleaseArgs, opts ...pulumi.ResourceOption) *Release {
	if c.err != nil {
		return nil
	}
	if args.Namespace == nil && c.ns.Resource != nil {
		args.Namespace = c.ns.Resource.Name() // the release waits for its namespace
	}
	res, err := NewRelease(c.ctx, name, args, append(append([]pulumi.ResourceOption{}, c.opts...), opts...)...)
	c.err = err
	return res
}

// ChartArgs installs version of chart from repo as release with values,
// the way every add-on does: waiting up to ten minutes for its resources
// and jobs, keeping five revisions of history.
func ChartArgs(release, chart, repo, version string, values any) ReleaseArgs {
	return ReleaseArgs{
		Name:        release,
		Chart:       chart,
		Version:     version,
		Repo:        repo,
		Values:      values,
		Timeout:     600,
		WaitForJobs: true,
		MaxHistory:  5,
	}
}

// ChartVersion reads a chart version such as "v1.21.2" or "4.15.1" (an
// optional "v", three numbers, an optional pre-release suffix) into its
// numbers, for the checks that depend on a chart's generation.
func ChartVersion(v string) ([3]int, error) {
	var n [3]int
	s := strings.TrimPrefix(v, "v")
	if i := strings.IndexAny(s, "-+"); i >= 0 {
		s = s[:i]
	}
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return n, fmt.Errorf("chart version %q: want MAJOR.MINOR.PATCH", v)
	}
	for i, p := range parts {
		x, err := strconv.Atoi(p)
		if err != nil || x < 0 || (len(p) > 1 && p[0] == '0') {
			return n, fmt.Errorf("chart version %q: %q is not a version number", v, p)
		}
		n[i] = x
	}
	return n, nil
}

// ChartVersionAtLeast tells whether version v is min or later; a version
// that does not parse is never.
func ChartVersionAtLeast(v, min string) bool {
	a, err := ChartVersion(v)
	if err != nil {
		return false
	}
	b, err := ChartVersion(min)
	if err != nil {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return a[i] > b[i]
		}
	}
	return true
}

// Toggle is the `enabled: true|false` switch that charts use for their
// optional parts.
type Toggle struct {
	Enabled bool `json:"enabled"`
}
