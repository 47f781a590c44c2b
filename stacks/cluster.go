package stacks

import (
	"errors"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// clusterKeys configure the Scaleway cluster (cluster = "scaleway").
var clusterKeys = []Key{}

// ScalewayConfig is the validated shape of the Scaleway cluster.
type ScalewayConfig struct{}

// loadScaleway reads the cluster keys; c holds the keys read before them.
func loadScaleway(r *reader, c *Config) ScalewayConfig { return ScalewayConfig{} }

// scalewayProvider builds the cluster and a Kubernetes provider from its
// kubeconfig; args carries the stack-wide provider settings.
func scalewayProvider(ctx *pulumi.Context, cfg *Config, args *kubernetes.ProviderArgs) (*kubernetes.Provider, error) {
	return nil, errors.New(`cluster "scaleway" is not available yet`)
}
