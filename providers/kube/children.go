package kube

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Namespace is where a component puts its objects: the name, which it spells
// into DNS names, and the resource that creates the namespace, which every
// object waits for. Resource is nil for a namespace that exists already.
type Namespace struct {
	Name     string
	Resource *Resource
}

// Children registers the Kubernetes objects of one component: each gets the
// component as parent (and so its provider) plus the options they share. The
// first error is kept and later calls do nothing, so a component's
// constructor reads as its list of objects.
type Children struct {
	ctx  *pulumi.Context
	ns   Namespace
	opts []pulumi.ResourceOption
	err  error
}

// NewChildren starts the children of parent; objects in ns wait for it.
func NewChildren(ctx *pulumi.Context, parent pulumi.Resource, ns Namespace) *Children {
	opts := []pulumi.ResourceOption{pulumi.Parent(parent)}
	if ns.Resource != nil {
		opts = append(opts, pulumi.DependsOn([]pulumi.Resource{ns.Resource}))
	}
	return &Children{ctx: ctx, ns: ns, opts: opts}
}

// NamespaceObject is the Namespace called name.
func NamespaceObject(name string) *corev1.Namespace {
	return &corev1.Namespace{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
		ObjectMeta: metav1.ObjectMeta{Name: name},
	}
}

// OwnNamespace creates the namespace name as a child of parent and returns
// it with the Children that go into it: the start of every component that
// owns a namespace.
func OwnNamespace(ctx *pulumi.Context, parent pulumi.Resource, name string) (*Resource, *Children, error) {
	c := NewChildren(ctx, parent, Namespace{})
	ns := c.Add(name, Args{Object: NamespaceObject(name)})
	if err := c.Err(); err != nil {
		return nil, nil, err
	}
	return ns, NewChildren(ctx, parent, Namespace{Name: name, Resource: ns}), nil
}

// Register registers a new component of type typ, whose objects go into
// the namespace ns that another component owns, and returns it with the
// Children that go there: the start of every data service.
func Register[T any, C interface {
	*T
	pulumi.ComponentResource
}](ctx *pulumi.Context, typ, name string, ns Namespace, opts ...pulumi.ResourceOption) (C, *Children, error) {
	c := C(new(T))
	if err := ctx.RegisterComponentResource(typ, name, c, opts...); err != nil {
		return nil, nil, err
	}
	return c, NewChildren(ctx, c, ns), nil
}

// RegisterOwner registers the component c, of type typ, that owns the
// namespace called namespace, and creates that namespace as its child: the
// start of every add-on. It returns the namespace and the Children that go
// into it.
func RegisterOwner(ctx *pulumi.Context, typ, name string, c pulumi.ComponentResource, namespace string, opts ...pulumi.ResourceOption) (*Resource, *Children, error) {
	if err := ctx.RegisterComponentResource(typ, name, c, opts...); err != nil {
		return nil, nil, err
	}
	return OwnNamespace(ctx, c, namespace)
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
