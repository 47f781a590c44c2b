// Package crd is the shape every custom resource in apis/ shares: type and
// object metadata around a spec. The API packages name each kind after its
// spec type, so the envelope is written once.
package crd

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// Object is a custom resource whose spec is S, in the JSON form the API
// server reads. Its embedded TypeMeta makes it a kube.Object.
type Object[S any] struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              S `json:"spec"`
}
