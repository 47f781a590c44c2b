package stacks

import "github.com/pulumi/pulumi/sdk/v3/go/pulumi"

// addonKeys configure the cluster add-ons.
var addonKeys = []Key{}

// AddonsConfig is the validated shape of the add-ons.
type AddonsConfig struct{}

// loadAddons reads the add-on keys; c holds the data layer's config, for the
// checks that span both (a claim's class that only an add-on provides).
func loadAddons(r *reader, c *Config) AddonsConfig { return AddonsConfig{} }

// AddonOutputs are what the data layer waits for.
type AddonOutputs struct {
	// Issuer is the ClusterIssuer the certificate names, when created here.
	Issuer pulumi.Resource
	// StorageClass is the class of the claims, when created here.
	StorageClass pulumi.Resource
}

// storage lists the StorageClass, if any, for DependsOn.
func (a *AddonOutputs) storage() []pulumi.Resource {
	if a.StorageClass == nil {
		return nil
	}
	return []pulumi.Resource{a.StorageClass}
}

// deployAddons installs the add-ons the stack switches on.
func deployAddons(ctx *pulumi.Context, cfg *Config, k8s pulumi.ResourceOption) (*AddonOutputs, error) {
	return &AddonOutputs{}, nil
}
