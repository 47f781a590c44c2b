package kube

import "github.com/pulumi/pulumi/sdk/v3/go/pulumi"

// Read reads the live object id ("namespace/name", or the name of a
// cluster-scoped kind) of apiVersion and kind from the API server: the
// program looks at it and does not manage it. The run fails when the
// object does not exist.
func Read(ctx *pulumi.Context, name, apiVersion, kind string, id pulumi.IDInput, opts ...pulumi.ResourceOption) (*Resource, error) {
	var r Resource
	err := ctx.ReadResource(Token(apiVersion, kind), name, id, pulumi.Map{}, &r, withVersion(opts)...)
	return &r, err
}

// StorageClass is a cluster's StorageClass as read from the API server.
type StorageClass struct {
	pulumi.CustomResourceState

	Metadata pulumi.MapOutput `pulumi:"metadata"`
	// AllowVolumeExpansion is nil when the class does not say, which the
	// API server takes as false.
	AllowVolumeExpansion pulumi.BoolPtrOutput `pulumi:"allowVolumeExpansion"`
}

// ReadStorageClass reads the StorageClass id, as Read does.
func ReadStorageClass(ctx *pulumi.Context, name string, id pulumi.IDInput, opts ...pulumi.ResourceOption) (*StorageClass, error) {
	var sc StorageClass
	err := ctx.ReadResource(Token("storage.k8s.io/v1", "StorageClass"), name, id, pulumi.Map{}, &sc, withVersion(opts)...)
	return &sc, err
}

// withVersion pins the provider version, as New does.
func withVersion(opts []pulumi.ResourceOption) []pulumi.ResourceOption {
	return append([]pulumi.ResourceOption{pulumi.Version(ProviderVersion)}, opts...)
}
