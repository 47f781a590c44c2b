package kube

import "github.com/pulumi/pulumi/sdk/v3/go/pulumi"

// StorageClass is a cluster's StorageClass as read from the API server:
// the program looks at it and does not manage it.
type StorageClass struct {
	pulumi.CustomResourceState

	// AllowVolumeExpansion is nil when the class does not say, which the
	// API server takes as false.
	AllowVolumeExpansion pulumi.BoolPtrOutput `pulumi:"allowVolumeExpansion"`
}

// ReadStorageClass reads the StorageClass name, failing the run when the
// cluster has none of that name.
func ReadStorageClass(ctx *pulumi.Context, name string, opts ...pulumi.ResourceOption) (*StorageClass, error) {
	var sc StorageClass
	opts = append([]pulumi.ResourceOption{pulumi.Version(ProviderVersion)}, opts...)
	err := ctx.ReadResource(Token("storage.k8s.io/v1", "StorageClass"), "storageclass-"+name, pulumi.ID(name), pulumi.Map{}, &sc, opts...)
	return &sc, err
}
