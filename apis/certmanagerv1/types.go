// Package certmanagerv1 holds the cert-manager.io/v1 objects this program
// creates, as Go structs with the fields it sets (the CRDs have many more).
package certmanagerv1

import "github.com/apk8s/apk8s-platform/apis/crd"

// APIVersion of every object here.
const APIVersion = "cert-manager.io/v1"

// ObjectReference names an issuer.
type ObjectReference struct {
	Name  string `json:"name"`
	Kind  string `json:"kind,omitempty"`
	Group string `json:"group,omitempty"`
}

// Certificate asks cert-manager for a certificate stored in SecretName.
type Certificate = crd.Object[CertificateSpec]

// CertificateSpec is the part of the Certificate spec this program sets.
type CertificateSpec struct {
	SecretName string          `json:"secretName"`
	IssuerRef  ObjectReference `json:"issuerRef"`
	CommonName string          `json:"commonName,omitempty"`
	DNSNames   []string        `json:"dnsNames"`
}
