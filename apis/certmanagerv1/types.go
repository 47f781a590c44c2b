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
	DNSNames   []string        `json:"dnsNames,omitempty"`
	// IsCA makes the certificate a certificate authority (an issuer of
	// kind CA signs with it).
	IsCA bool `json:"isCA,omitempty"`
	// Duration and RenewBefore are Go durations ("2160h").
	Duration    string   `json:"duration,omitempty"`
	RenewBefore string   `json:"renewBefore,omitempty"`
	Usages      []string `json:"usages,omitempty"`
	// PrivateKey is how the key is made; nil takes cert-manager's
	// defaults (RSA 2048, PKCS#1, kept across renewals before v1.18).
	PrivateKey *CertificatePrivateKey `json:"privateKey,omitempty"`
	// Keystores adds Java key and trust stores to the Secret beside
	// tls.crt, tls.key and ca.crt.
	Keystores *CertificateKeystores `json:"keystores,omitempty"`
}

// CertificatePrivateKey is the key's algorithm, size, encoding and
// rotation.
type CertificatePrivateKey struct {
	Algorithm string `json:"algorithm,omitempty"` // RSA, ECDSA, Ed25519
	Size      int    `json:"size,omitempty"`
	Encoding  string `json:"encoding,omitempty"` // PKCS1 or PKCS8
	// RotationPolicy "Always" draws a new key on every renewal.
	RotationPolicy string `json:"rotationPolicy,omitempty"`
}

// CertificateKeystores are the Java stores cert-manager writes.
type CertificateKeystores struct {
	PKCS12 *PKCS12Keystore `json:"pkcs12,omitempty"`
}

// PKCS12Keystore writes keystore.p12 (key and chain) and truststore.p12
// (the CA) into the Secret, both locked with the password the referenced
// Secret holds.
type PKCS12Keystore struct {
	Create            bool              `json:"create"`
	PasswordSecretRef SecretKeySelector `json:"passwordSecretRef"`
	// Profile is the encryption of the stores: "Modern2023" (AES-256,
	// PBKDF2) is read by Java 11.0.12 and later.
	Profile string `json:"profile,omitempty"`
}

// Issuer signs certificates in its own namespace.
type Issuer = crd.Object[IssuerSpec]
