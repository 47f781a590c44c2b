// Package random registers the Random provider's resources as its generated
// Go SDK (github.com/pulumi/pulumi-random/sdk/v4) would: same tokens, input
// names, pulumi.Version(Version) and the outputs the SDK marks secret.
package random

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/apk8s/apk8s-platform/providers/plugin"
)

// Version of the provider plugin; Pulumi's plugin server hosts it.
const Version = "4.21.1"

// Package is the Random provider plugin.
var Package = plugin.Package{Name: "random", Version: Version}

// RandomPasswordType is random:index/randomPassword:RandomPassword.
var RandomPasswordType = plugin.Type{Package: Package, Token: "random:index/randomPassword:RandomPassword",
	Required:      []string{"length"},
	SecretOutputs: []string{"bcryptHash", "result"}}

// RandomPasswordArgs are the inputs of a password.
type RandomPasswordArgs struct {
	Length  pulumi.IntInput       `pulumi:"length"`
	Special pulumi.BoolInput      `pulumi:"special"`
	Upper   pulumi.BoolInput      `pulumi:"upper"`
	Lower   pulumi.BoolInput      `pulumi:"lower"`
	Numeric pulumi.BoolInput      `pulumi:"numeric"`
	Keepers pulumi.StringMapInput `pulumi:"keepers"`
}

// RandomPassword is a random string made once and kept, secret, in the state.
type RandomPassword struct {
	pulumi.CustomResourceState

	Result pulumi.StringOutput `pulumi:"result"`
}

// NewRandomPassword registers a password.
func NewRandomPassword(ctx *pulumi.Context, name string, args *RandomPasswordArgs, opts ...pulumi.ResourceOption) (*RandomPassword, error) {
	return plugin.New[RandomPassword](ctx, RandomPasswordType, name, args, opts...)
}
