// Command pulumi-resource-kubernetes is the Pulumi Kubernetes provider plugin,
// built from the provider's Go module instead of downloaded as a release.
//
// The upstream main embeds schema-embed.json and terraform-mapping-embed.json,
// which its release pipeline generates and which the module zip does not
// carry. bootstrap-tools.sh copies this directory to a scratch build dir and
// puts the module's own schema.json and terraform-mapping.json beside this
// file before `go build`; they are never committed.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema.json
var schema []byte

//go:embed terraform-mapping.json
var mapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, schema, mapping)
}
