package tests

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apiresource "k8s.io/apimachinery/pkg/api/resource"

	"github.com/apk8s/apk8s-platform/internal/workload"
	"github.com/apk8s/apk8s-platform/providers/kube"
	"github.com/apk8s/apk8s-platform/stacks"
)

const (
	tokPVC      = "kubernetes:core/v1:PersistentVolumeClaim"
	tokPVCPatch = tokPVC + "Patch"
)

// TestClaimsGrowInPlace: the StatefulSets keep the claim template they were
// created with (the engine ignores its changes), and every member's claim
// gets a Server-Side Apply patch of its storage request once the set is
// ready, which stays on the claim when the patch leaves the stack.
func TestClaimsGrowInPlace(t *testing.T) {
	t.Parallel()
	rec := Run{Stack: "dev3", Set: map[string]string{"kafkaReplicas": "3", "kafkaStorageSize": "8Gi", "zookeeperReplicas": "3"}}.Shared(t)
	for _, set := range []struct{ name, claim, size string }{
		{"kafka", "datadir", "8Gi"},
		{"zookeeper", "data", "1Gi"},
	} {
		t.Run(set.name, func(t *testing.T) {
			sts := rec.Object(t, tokSTS, set.name)
			assert.Equal(t, []string{"spec.volumeClaimTemplates"}, rec.Request(sts).GetIgnoreChanges())
			for i := range 3 {
				name := fmt.Sprintf("%s-%s-%d", set.claim, set.name, i)
				patch := rec.Object(t, tokPVCPatch, name)
				var pvc corev1.PersistentVolumeClaim
				patch.Decode(t, &pvc)
				assert.Equal(t, "PersistentVolumeClaim", pvc.Kind, "the patch names the kind it patches")
				assert.Equal(t, "data", pvc.Namespace)
				assert.Equal(t, "true", pvc.Annotations["pulumi.com/patchForce"], "the StatefulSet controller made the field")
				want := apiresource.MustParse(set.size)
				assert.Equal(t, want.Value(), pvc.Spec.Resources.Requests.Storage().Value())
				assert.Nil(t, pvc.Spec.StorageClassName, "the patch sets the size alone")
				assert.Empty(t, pvc.Spec.AccessModes)
				assert.Contains(t, patch.DependsOn, sts.URN, "the claim exists once the set is ready")
				assert.True(t, rec.Request(patch).GetRetainOnDelete(), "a scale-in leaves the claim's request alone")
			}
			assert.Len(t, claimPatchesOf(rec.Graph, set.claim+"-"+set.name+"-"), 3)
		})
	}
}

func claimPatchesOf(g *Graph, prefix string) []string {
	var out []string
	for _, r := range g.Find(tokPVCPatch) {
		if len(r.K8sName()) > len(prefix) && r.K8sName()[:len(prefix)] == prefix {
			out = append(out, r.K8sName())
		}
	}
	return out
}

// TestRenderingPatchesNoClaims: rendered manifests have no live claims.
func TestRenderingPatchesNoClaims(t *testing.T) {
	t.Parallel()
	g := dataGraph(t, Run{Stack: "render"})
	require.NotEmpty(t, g.Find(tokSTS))
	assert.Empty(t, g.Find(tokPVCPatch))
}

// liveSets answers like a cluster whose StatefulSets were created with
// another claim template: the provider reports the live template (the
// engine kept it, as the program asks).
type liveSets struct {
	*Graph
	class *string
	sizes map[string]string // by StatefulSet
}

func (m liveSets) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	id, state, err := m.Graph.NewResource(args)
	if err != nil || args.TypeToken != tokSTS {
		return id, state, err
	}
	obj := state.Mappable()
	spec := obj["spec"].(map[string]any)
	tpl := spec["volumeClaimTemplates"].([]any)[0].(map[string]any)["spec"].(map[string]any)
	if m.class == nil {
		delete(tpl, "storageClassName")
	} else {
		tpl["storageClassName"] = *m.class
	}
	name := obj["metadata"].(map[string]any)["name"].(string)
	tpl["resources"] = map[string]any{"requests": map[string]any{"storage": m.sizes[name]}}
	return id, resource.NewPropertyMapFromMap(obj), nil
}

// TestClaimChangesRefused: what the claims cannot follow fails the run with
// an explanation, and no claim is patched: a class change (either way,
// named or the default), a shrink below the size they were made with. A
// growth goes through.
func TestClaimChangesRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		live  *string
		kafka string // the live brokers' claim size; ZooKeeper's is 1Gi
		set   map[string]string
		wants []string // "" = no error
	}{
		{"same class and size", ptr("rook-ceph-block"), "5Gi", nil, nil},
		{"growth", ptr("rook-ceph-block"), "5Gi", map[string]string{"kafkaStorageSize": "6Gi"}, nil},
		{"an empty class is the default class", ptr(""), "5Gi", map[string]string{"storageClass": "", "rookCeph": "existing"}, nil},
		{"class change", ptr("rook-ceph-block"), "5Gi", map[string]string{"storageClass": "fast", "rookCeph": "existing"},
			[]string{`"rook-ceph-block" and cannot move to "fast"`, "replacing the claims loses their data"}},
		{"to the default class", ptr("rook-ceph-block"), "5Gi", map[string]string{"storageClass": "", "rookCeph": "existing"},
			[]string{`cannot move to "" (the cluster's default class)`}},
		{"from the default class", nil, "5Gi", nil,
			[]string{`on the StorageClass "" (the cluster's default class) and cannot move to "rook-ceph-block"`}},
		{"shrink", ptr("rook-ceph-block"), "10Gi", nil,
			[]string{"StatefulSet kafka: its claims datadir hold 10Gi and cannot shrink to 5Gi", "volumes only grow"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := &Graph{stack: "dev3"}
			err := Run{Stack: "dev3", Set: tt.set}.Exec(t, liveSets{Graph: g, class: tt.live, sizes: map[string]string{"kafka": tt.kafka, "zookeeper": "1Gi"}})
			requireRefused(t, err, tt.wants)
		})
	}
}

// claimsMark is the output "claims" of an update that left the brokers'
// and the ensemble's claims at these sizes.
func claimsMark(kafkaSize, zookeeperSize string) map[string]any {
	return map[string]any{"claims": map[string]any{"kafka": kafkaSize, "zookeeper": zookeeperSize}}
}

// TestClaimGrowthChecksTheStorageClass: a size larger than the claims
// reached in the last update is checked against their StorageClass, read
// from the cluster (on the default class, the class the first member's
// claim names), before any claim of that StatefulSet is patched: the API
// server refuses to expand a class without allowVolumeExpansion, and the
// provider's preview would not say so. Nothing is read where nothing
// grows, where there are no claims yet, or when rendering.
func TestClaimGrowthChecksTheStorageClass(t *testing.T) {
	t.Parallel()
	const (
		kafkaClass     = tokStorageClass + " rook-ceph-block"
		kafkaClaim     = tokPVC + " data/datadir-kafka-0"
		standard       = tokStorageClass + " standard"
		refusedKafka   = `apk8s-platform:kafkaStorageSize = "10Gi" would grow the claims of kafka from 5Gi, but their StorageClass "rook-ceph-block" does not allow volume expansion`
		refusedDefault = `apk8s-platform:kafkaStorageSize = "10Gi" would grow the claims of kafka from 1Gi, but their StorageClass "standard" does not allow volume expansion`
	)
	grown := map[string]string{"kafkaStorageSize": "10Gi"}
	dev3 := claimsMark("5Gi", "1Gi")
	local := claimsMark("1Gi", "1Gi")
	tests := []struct {
		name    string
		run     Run
		reads   []string // objects read from the cluster
		refused []string // the run fails with these; nil: it succeeds
		set     string   // the StatefulSet whose claims must not be patched
	}{
		{"growth on a class that expands",
			Run{Stack: "dev3", Set: grown, Last: dev3, Classes: map[string]bool{"rook-ceph-block": true}},
			[]string{kafkaClass}, nil, ""},
		{"growth on a class that does not",
			Run{Stack: "dev3", Set: grown, Last: dev3, Classes: map[string]bool{"rook-ceph-block": false}},
			[]string{kafkaClass}, []string{refusedKafka, "keep kafkaStorageSize at 5Gi", "no claim was changed"}, "datadir-kafka-"},
		{"growth on a class the cluster lacks",
			Run{Stack: "dev3", Set: grown, Last: dev3},
			[]string{kafkaClass}, []string{`StorageClass "rook-ceph-block" not found`}, "datadir-kafka-"},
		{"both sets grow",
			Run{Stack: "dev3", Set: map[string]string{"kafkaStorageSize": "10Gi", "zookeeperStorageSize": "2Gi"}, Last: dev3, Classes: map[string]bool{"rook-ceph-block": true}},
			[]string{kafkaClass}, nil, ""}, // one read of the class both name
		{"the ensemble alone grows",
			Run{Stack: "dev3", Set: map[string]string{"zookeeperStorageSize": "2Gi"}, Last: dev3, Classes: map[string]bool{"rook-ceph-block": false}},
			[]string{kafkaClass}, []string{`apk8s-platform:zookeeperStorageSize = "2Gi" would grow the claims of zookeeper from 1Gi`}, "data-zookeeper-"},
		{"growth on the default class that expands",
			Run{Stack: "local", Set: grown, Last: local, DefaultClass: "standard", Classes: map[string]bool{"standard": true}},
			[]string{kafkaClaim, standard}, nil, ""},
		{"growth on the default class that does not",
			Run{Stack: "local", Set: grown, Last: local, DefaultClass: "standard", Classes: map[string]bool{"standard": false}},
			[]string{kafkaClaim, standard}, []string{refusedDefault}, "datadir-kafka-"},
		{"growth of claims without a class",
			Run{Stack: "local", Set: grown, Last: local},
			[]string{kafkaClaim}, []string{"the claim data/datadir-kafka-0 names no StorageClass"}, "datadir-kafka-"},
		{"the same size", Run{Stack: "dev3", Last: dev3}, nil, nil, ""},
		{"a shrink is the API server's to refuse", Run{Stack: "dev3", Set: map[string]string{"kafkaStorageSize": "2Gi"}, Last: dev3}, nil, nil, ""},
		{"no claims yet", Run{Stack: "dev3", Set: grown}, nil, nil, ""},
		{"rendered manifests", Run{Stack: "render", Set: grown, Last: dev3}, nil, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := tt.run.Do(t)
			var objects []string
			for _, r := range g.Reads {
				if r != "organization/apk8s-platform/"+tt.run.Stack {
					objects = append(objects, r)
				}
			}
			assert.Equal(t, tt.reads, objects)
			if requireRefused(t, err, tt.refused) {
				assert.Empty(t, claimPatchesOf(g, tt.set), "no claim patch of the refused set reaches the provider")
			}
		})
	}
}

// requireRefused requires err to hold every one of wants, or to be nil
// when there are none; it says whether the run was refused.
func requireRefused(t *testing.T, err error, wants []string) bool {
	t.Helper()
	if wants == nil {
		require.NoError(t, err)
		return false
	}
	require.Error(t, err)
	for _, w := range wants {
		assert.Contains(t, err.Error(), w)
	}
	return true
}

// refusingPatches answers like a cluster whose API server refuses every
// claim patch during `up`.
type refusingPatches struct{ *Graph }

func (m refusingPatches) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	if args.TypeToken == tokPVCPatch {
		return "", nil, errors.New(`persistentvolumeclaims "datadir-kafka-0" is forbidden: only dynamically provisioned pvc can be resized`)
	}
	return m.Graph.NewResource(args)
}

// TestClaimSizeWaitsForThePatches: the size a Durable set reports (the
// stack's claims output) resolves only once every claim's patch is
// applied, so that a growth the API server refused is not remembered as
// done; without patches (rendering) it is the configured size at once.
func TestClaimSizeWaitsForThePatches(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		mocks   func(*Graph) pulumi.MockResourceMonitor
		patch   bool
		want    string // "" = never resolves
		patches int    // claim patches registered when it resolves
	}{
		{"patched", func(g *Graph) pulumi.MockResourceMonitor { return g }, true, "2Gi", 2},
		{"a patch refused", func(g *Graph) pulumi.MockResourceMonitor { return refusingPatches{g} }, true, "", 0},
		{"nothing to patch", func(g *Graph) pulumi.MockResourceMonitor { return g }, false, "2Gi", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := &Graph{stack: "dev3"}
			// What the size resolved to, and the patches registered by then.
			type resolution struct {
				size    string
				patches int
			}
			resolved := make(chan resolution, 1)
			err := pulumi.RunErr(func(ctx *pulumi.Context) error {
				c := kube.NewChildren(ctx, nil, kube.Namespace{Name: "data"})
				app := workload.App{Name: "kafka", Namespace: "data", Labels: map[string]string{"app": "kafka"}}
				set := workload.Set{Replicas: 2, ServiceName: "kafka-headless", Claim: workload.Claim("datadir", apiresource.MustParse("2Gi"), "")}
				_, size := app.Durable(c, "kafka", set, workload.Growth{Patch: tt.patch})
				size.ApplyT(func(s string) string {
					g.mu.Lock()
					defer g.mu.Unlock()
					resolved <- resolution{s, len(claimPatchesOf(g, "datadir-kafka-"))}
					return s
				})
				return c.Err()
			}, pulumi.WithMocks(stacks.Project, "dev3", tt.mocks(g)))
			if tt.want == "" {
				require.Error(t, err)
				// A plain value would resolve within milliseconds.
				select {
				case r := <-resolved:
					t.Fatalf("the size resolved to %s although a patch was refused", r.size)
				case <-time.After(300 * time.Millisecond):
				}
				return
			}
			require.NoError(t, err)
			select {
			case r := <-resolved:
				assert.Equal(t, tt.want, r.size)
				assert.Equal(t, tt.patches, r.patches)
			case <-time.After(10 * time.Second):
				t.Fatal("the size never resolved")
			}
		})
	}
}
