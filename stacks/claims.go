package stacks

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/apk8s/apk8s-platform/components/datanamespace"
	"github.com/apk8s/apk8s-platform/components/kafka"
	"github.com/apk8s/apk8s-platform/components/zookeeper"
	"github.com/apk8s/apk8s-platform/internal/workload"
	"github.com/apk8s/apk8s-platform/providers/kube"
)

// outputClaims is the stack output that remembers, per StatefulSet, the
// size its claims reached: how the next run tells that a config edit grows
// them.
const outputClaims = "claims"

// claimSettings is what one StatefulSet's claims are made with, and the
// config key of their size.
type claimSettings struct {
	Set      string
	Template string // the claim template: member i's claim is <Template>-<Set>-i
	Class    string
	Size     resource.Quantity
	SizeKey  string
}

// claimsOf lists the StatefulSets with claims that this config runs.
func claimsOf(cfg *Config) []claimSettings {
	var out []claimSettings
	if cfg.Kafka.Mode == kafka.ModeZooKeeper {
		out = append(out, claimSettings{zookeeper.Name, zookeeper.ClaimName, cfg.ZooKeeper.StorageClass, cfg.ZooKeeper.StorageSize, "zookeeperStorageSize"})
	}
	return append(out, claimSettings{kafka.Name, kafka.ClaimName, cfg.Kafka.StorageClass, cfg.Kafka.StorageSize, "kafkaStorageSize"})
}

// grownFrom is the size the claims of c had after the last update, when
// this config makes them larger; ok is false otherwise (no claims yet, the
// same size, or a shrink, which the API server refuses at preview).
func grownFrom(c claimSettings, last lastUpdate) (resource.Quantity, bool) {
	marks, _ := last[outputClaims].(map[string]any)
	mark, _ := marks[c.Set].(string)
	size, err := resource.ParseQuantity(mark)
	if err != nil || c.Size.Cmp(size) <= 0 {
		return resource.Quantity{}, false
	}
	return size, true
}

// claimGrowth is, per StatefulSet, how its claims follow this config. A
// growth is checked against the StorageClass of the claims, read from the
// cluster: the API server refuses to expand a claim whose class lacks
// allowVolumeExpansion, but the provider's preview keeps that refusal to
// itself (it takes any Forbidden dry run for missing permissions), so
// without the read it would surface only halfway through `up`. On the
// cluster's default class ("") the class is the one the first member's
// claim names.
func claimGrowth(ctx *pulumi.Context, cfg *Config, last lastUpdate, k8s pulumi.ResourceOption) (map[string]workload.Growth, error) {
	out := map[string]workload.Growth{}
	named := map[string]*kube.StorageClass{} // one read of a class both sets name
	for _, c := range claimsOf(cfg) {
		// Rendered manifests have no live claims to patch.
		g := workload.Growth{Patch: cfg.RenderYamlToDirectory == ""}
		from, grows := grownFrom(c, last)
		if g.Patch && grows {
			sc, ok := named[c.Class]
			if !ok {
				var err error
				if sc, err = readClass(ctx, c, k8s); err != nil {
					return nil, err
				}
				if c.Class != "" {
					named[c.Class] = sc
				}
			}
			g.Allowed = pulumi.All(sc.Metadata, sc.AllowVolumeExpansion).ApplyT(func(v []any) (bool, error) {
				if allowed, _ := v[1].(*bool); allowed != nil && *allowed {
					return true, nil
				}
				class, _ := v[0].(map[string]any)["name"].(string)
				return false, fmt.Errorf("%s = %q would grow the claims of %s from %s, but their StorageClass %q does not allow volume expansion "+
					"(allowVolumeExpansion is not true), and the API server refuses to grow them: keep %s at %s, or allow expansion "+
					"on the class if its provisioner can (docs/data-services.md, \"Durability\"); no claim was changed",
					fullKey(c.SizeKey), c.Size.String(), c.Set, from.String(), class, c.SizeKey, from.String())
			})
		}
		out[c.Set] = g
	}
	return out, nil
}

// readClass reads the StorageClass of c's claims: the class c names, or
// the one its first member's claim was given by the cluster's default.
func readClass(ctx *pulumi.Context, c claimSettings, k8s pulumi.ResourceOption) (*kube.StorageClass, error) {
	if c.Class != "" {
		return kube.ReadStorageClass(ctx, "storageclass-"+c.Class, pulumi.ID(c.Class), k8s)
	}
	first := workload.ClaimName(c.Template, c.Set, 0)
	claim, err := kube.Read(ctx, "claim-"+first, "v1", "PersistentVolumeClaim", pulumi.ID(datanamespace.Name+"/"+first), k8s)
	if err != nil {
		return nil, err
	}
	class := claim.Spec.ApplyT(func(spec map[string]any) (pulumi.ID, error) {
		name, _ := spec["storageClassName"].(string)
		if name == "" {
			return "", fmt.Errorf("the claim %s/%s names no StorageClass: the cluster has no default class to grow it on", datanamespace.Name, first)
		}
		return pulumi.ID(name), nil
	}).(pulumi.IDOutput)
	return kube.ReadStorageClass(ctx, "storageclass-of-"+c.Set, class, k8s)
}
