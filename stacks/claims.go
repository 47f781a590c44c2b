package stacks

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/apk8s/apk8s-platform/components/kafka"
	"github.com/apk8s/apk8s-platform/components/zookeeper"
	"github.com/apk8s/apk8s-platform/internal/workload"
	"github.com/apk8s/apk8s-platform/providers/kube"
)

// outputClaims is the stack output that remembers, per StatefulSet, the
// class and size its claims were last given: how the next run tells that
// a config edit grows them.
const outputClaims = "claims"

// claimSettings is what one StatefulSet's claims are made with, and the
// config key of their size.
type claimSettings struct {
	Set     string
	Class   string
	Size    resource.Quantity
	SizeKey string
}

// claimsOf lists the StatefulSets with claims that this config runs.
func claimsOf(cfg *Config) []claimSettings {
	var out []claimSettings
	if cfg.Kafka.Mode == kafka.ModeZooKeeper {
		out = append(out, claimSettings{zookeeper.Name, cfg.ZooKeeper.StorageClass, cfg.ZooKeeper.StorageSize, "zookeeperStorageSize"})
	}
	return append(out, claimSettings{kafka.Name, cfg.Kafka.StorageClass, cfg.Kafka.StorageSize, "kafkaStorageSize"})
}

// grownFrom is the size the claims of c had after the last update, when
// this config makes them larger; ok is false otherwise (no claims yet, the
// same size, or a shrink, which the API server refuses at preview).
func grownFrom(c claimSettings, last lastUpdate) (resource.Quantity, bool) {
	marks, _ := last[outputClaims].(map[string]any)
	mark, _ := marks[c.Set].(map[string]any)
	size, err := resource.ParseQuantity(fmt.Sprint(mark["size"]))
	if mark == nil || err != nil || c.Size.Cmp(size) <= 0 {
		return resource.Quantity{}, false
	}
	return size, true
}

// claimGrowth is, per StatefulSet, how its claims follow this config. A
// growth on a named class is checked against the class itself: the API
// server refuses to expand a claim whose class lacks allowVolumeExpansion,
// but the provider's preview keeps that refusal to itself (it takes any
// Forbidden dry run for missing permissions), so without the read it
// would surface only halfway through `up`. A growth on the cluster's
// default class ("") is left to the API server.
func claimGrowth(ctx *pulumi.Context, cfg *Config, last lastUpdate, k8s pulumi.ResourceOption) (map[string]workload.Growth, error) {
	out := map[string]workload.Growth{}
	classes := map[string]*kube.StorageClass{}
	for _, c := range claimsOf(cfg) {
		// Rendered manifests have no live claims to patch.
		g := workload.Growth{Patch: cfg.RenderYamlToDirectory == ""}
		from, grows := grownFrom(c, last)
		if g.Patch && grows && c.Class != "" {
			sc, ok := classes[c.Class]
			if !ok {
				var err error
				if sc, err = kube.ReadStorageClass(ctx, c.Class, k8s); err != nil {
					return nil, err
				}
				classes[c.Class] = sc
			}
			g.Allowed = sc.AllowVolumeExpansion.ApplyT(func(allowed *bool) (bool, error) {
				if allowed == nil || !*allowed {
					return false, fmt.Errorf("%s = %q would grow the claims of %s from %s, but their StorageClass %q does not allow volume expansion "+
						"(allowVolumeExpansion is not true), and the API server refuses to grow them: keep %s at %s, or allow expansion "+
						"on the class if its provisioner can (docs/data-services.md, \"Durability\"); no claim was changed",
						fullKey(c.SizeKey), c.Size.String(), c.Set, from.String(), c.Class, c.SizeKey, from.String())
				}
				return true, nil
			})
		}
		out[c.Set] = g
	}
	return out, nil
}

// exportClaims records this update's claim settings for the next one.
func exportClaims(ctx *pulumi.Context, cfg *Config) {
	marks := pulumi.Map{}
	for _, c := range claimsOf(cfg) {
		marks[c.Set] = pulumi.StringMap{"class": pulumi.String(c.Class), "size": pulumi.String(c.Size.String())}
	}
	ctx.Export(outputClaims, marks)
}
