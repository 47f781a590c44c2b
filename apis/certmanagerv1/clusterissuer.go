package certmanagerv1

import "github.com/apk8s/apk8s-platform/apis/crd"

// ClusterIssuer signs certificates for every namespace.
type ClusterIssuer = crd.Object[IssuerSpec]

// IssuerSpec is the part of an issuer's spec this program sets: an ACME
// account, a self-signed issuer or a certificate authority, one of them.
type IssuerSpec struct {
	ACME       *ACMEIssuer       `json:"acme,omitempty"`
	SelfSigned *SelfSignedIssuer `json:"selfSigned,omitempty"`
	CA         *CAIssuer         `json:"ca,omitempty"`
}

// SelfSignedIssuer signs each certificate with its own key: here only the
// namespace's root.
type SelfSignedIssuer struct{}

// CAIssuer signs with the key pair in SecretName (tls.crt, tls.key).
type CAIssuer struct {
	SecretName string `json:"secretName"`
}

// ACMEIssuer is an account with an ACME server such as Let's Encrypt.
type ACMEIssuer struct {
	// Email is the account's contact for expiry and policy notices.
	Email string `json:"email"`
	// Server is the ACME directory URL.
	Server string `json:"server"`
	// PrivateKeySecretRef names the Secret (in cert-manager's namespace)
	// that keeps the account key.
	PrivateKeySecretRef SecretKeySelector     `json:"privateKeySecretRef"`
	Solvers             []ACMEChallengeSolver `json:"solvers"`
}

// SecretKeySelector names a Secret, and optionally one of its keys.
type SecretKeySelector struct {
	Name string `json:"name"`
	Key  string `json:"key,omitempty"`
}

// ACMEChallengeSolver answers the server's challenges.
type ACMEChallengeSolver struct {
	HTTP01 *ACMEChallengeSolverHTTP01 `json:"http01,omitempty"`
}

// ACMEChallengeSolverHTTP01 answers HTTP-01 challenges through an Ingress.
type ACMEChallengeSolverHTTP01 struct {
	Ingress *ACMEChallengeSolverHTTP01Ingress `json:"ingress,omitempty"`
}

// ACMEChallengeSolverHTTP01Ingress is the Ingress cert-manager creates for
// a challenge; IngressClassName picks the controller that serves it.
type ACMEChallengeSolverHTTP01Ingress struct {
	IngressClassName *string `json:"ingressClassName,omitempty"`
}
