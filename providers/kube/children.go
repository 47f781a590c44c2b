package kube

import "github.com/pulumi/pulumi/sdk/v3/go/pulumi"

// Namespace is where a component puts its objects: the name, which it spells
// into DNS names, and the resource that creates the namespace, which every
// object waits for. Resource is nil for a namespace that exists already.
type Namespace struct {
	Name     string
	Resource pulumi.Resource
}

// Children registers the Kubernetes objects of one component: each gets the
// component as parent (and so its provider) plus the options they share. The
// first error is kept and later calls do nothing, so a component's
// constructor reads as its list of objects.
type Children struct {
	ctx  *pulumi.Context
	opts []pulumi.ResourceOption
	err  error
}

// NewChildren starts the children of parent; objects in ns wait for it.
func NewChildren(ctx *pulumi.Context, parent pulumi.Resource, ns Namespace) *Children {
	opts := []pulumi.ResourceOption{pulumi.Parent(parent)}
	if ns.Resource != nil {
		opts = append(opts, pulumi.DependsOn([]pulumi.Resource{ns.Resource}))
	}
	return &Children{ctx: ctx, opts: opts}
}

// Add registers one object; it returns nil once an error has happened.
func (c *Children) Add(name string, args Args, opts ...pulumi.ResourceOption) *Resource {
	if c.err != nil {
		return nil
	}
	res, err := New(c.ctx, name, args, append(append([]pulumi.ResourceOption{}, c.opts...), opts...)...)
	c.err = err
	return res
}

// Err is the first error met, if any.
func (c *Children) Err() error { return c.err }
