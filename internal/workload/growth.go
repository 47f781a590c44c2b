package workload

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/apk8s/apk8s-platform/providers/kube"
)

// A StatefulSet's volumeClaimTemplates cannot change once it exists, and
// the book's way out, replacing the set, would take its claims (and the
// brokers' data) with it. So the program never changes the template of a
// running set: the engine keeps the one the set was created with
// (IgnoreChanges), and a new size reaches the existing claims through a
// Server-Side Apply patch of each claim's storage request. The template the
// live set holds is the program's memory of the class and size the claims
// were made with: a class change and a shrink below it are refused before
// any claim is touched. (docs/data-services.md, "Durability".)

// templatesPath is the StatefulSet field the engine keeps as created.
const templatesPath = "spec.volumeClaimTemplates"

// PatchForceAnnotation makes a Server-Side Apply patch take over fields
// another manager set (the StatefulSet controller created the claims).
const PatchForceAnnotation = "pulumi.com/patchForce"

// ClaimPatch sets the storage request of the existing claim name in ns to
// size, and nothing else of it.
func ClaimPatch(ns, name string, size resource.Quantity) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns,
			Annotations: map[string]string{PatchForceAnnotation: "true"}},
		Spec: corev1.PersistentVolumeClaimSpec{
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: size}},
		},
	}
}

// CheckClaimChange refuses what the claims of StatefulSet set cannot
// follow: live is the template the set was created with, want this run's.
func CheckClaimChange(set string, live, want corev1.PersistentVolumeClaim) error {
	class := func(c corev1.PersistentVolumeClaim) string {
		if c.Spec.StorageClassName == nil || *c.Spec.StorageClassName == "" {
			return `"" (the cluster's default class)`
		}
		return fmt.Sprintf("%q", *c.Spec.StorageClassName)
	}
	if class(live) != class(want) {
		return fmt.Errorf("StatefulSet %s: its claims %s are on the StorageClass %s and cannot move to %s: "+
			"a claim's class is fixed, and replacing the claims loses their data. Keep storageClass, "+
			"or move the data yourself (docs/data-services.md, \"Durability\")",
			set, live.Name, class(live), class(want))
	}
	have, size := live.Spec.Resources.Requests.Storage(), want.Spec.Resources.Requests.Storage()
	if size.Cmp(*have) < 0 {
		return fmt.Errorf("StatefulSet %s: its claims %s hold %s and cannot shrink to %s: volumes only grow",
			set, live.Name, have.String(), size.String())
	}
	return nil
}

// Growth is how the claims of a Durable set follow a new size.
type Growth struct {
	// Patch grows the live claims; false when the stack renders
	// manifests, which have no live claims.
	Patch bool
	// Allowed, when set, is the verdict on a growth the stack saw coming
	// (from the StorageClass it read): every claim patch waits for it, and
	// its error refuses the growth before any claim is touched.
	Allowed pulumi.Output
}

// Durable registers the app's StatefulSet built from s so that its claims
// outlive config changes: the claim template stays as created, a class
// change or shrink fails the run, and with g.Patch each claim of a member
// is patched to the template's size once the set is ready. It returns the
// set and the claims' size, which resolves once every patch is applied (at
// once when nothing is patched): what the stack remembers as the size the
// claims reached, so that a failed growth is not taken for a done one.
func (a App) Durable(c *kube.Children, name string, s Set, g Growth, opts ...pulumi.ResourceOption) (*kube.Resource, pulumi.StringOutput) {
	want := s.Claim
	size := want.Spec.Resources.Requests.Storage()
	set := c.Add(name, kube.Args{Object: a.StatefulSet(s)},
		append(opts, pulumi.IgnoreChanges([]string{templatesPath}))...)
	if set == nil || !g.Patch {
		return set, pulumi.String(size.String()).ToStringOutput()
	}
	checks := []any{set.Spec}
	if g.Allowed != nil {
		checks = append(checks, g.Allowed)
	}
	spec := pulumi.All(checks...).ApplyT(func(v []any) (map[string]any, error) {
		live, ok, err := liveTemplate(v[0].(map[string]any))
		if err != nil {
			return nil, err
		}
		if ok {
			if err := CheckClaimChange(a.Name, live, want); err != nil {
				return nil, err
			}
		}
		body, err := kube.Body(ClaimPatch(a.Namespace, "", *size))
		if err != nil {
			return nil, err
		}
		return body["spec"].(map[string]any), nil
	}).(pulumi.MapOutput)
	applied := []any{pulumi.String(size.String())}
	for i := range s.Replicas {
		claim := ClaimName(want.Name, a.Name, i)
		// RetainOnDelete: when a member goes (scale-in), its claim stays
		// as it is; deleting the patch would give up the storage request,
		// a required field.
		patch := c.Add(claim, kube.Args{
			Object: ClaimPatch(a.Namespace, claim, *size),
			Fields: pulumi.Map{"spec": spec},
			Patch:  true,
		}, pulumi.DependsOn([]pulumi.Resource{set}), pulumi.RetainOnDelete(true))
		if patch != nil {
			applied = append(applied, patch.Spec)
		}
	}
	return set, pulumi.All(applied...).ApplyT(func(v []any) string { return v[0].(string) }).(pulumi.StringOutput)
}
