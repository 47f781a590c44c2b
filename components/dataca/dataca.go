// Package dataca is the data namespace's own certificate authority, kept
// by cert-manager: a self-signed Issuer signs one root, the Certificate
// "data-ca", and the Issuer "data-ca" signs every service certificate of
// the namespace with it (Kafka's brokers, Mosquitto). Clients trust the
// root through the ca.crt key that every certificate's Secret carries.
package dataca

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/apk8s/apk8s-platform/apis/certmanagerv1"
	"github.com/apk8s/apk8s-platform/providers/kube"
)

// Names of the objects.
const (
	RootIssuerName = "data-selfsigned"
	Name           = "data-ca" // the root Certificate, its Secret and the CA Issuer
	// CAKey is the key of every certificate Secret that holds the root.
	CAKey = "ca.crt"
	// CertKey and PrivateKeyKey hold a service's certificate and key.
	CertKey       = "tls.crt"
	PrivateKeyKey = "tls.key"
)

// Lifetimes. The root lives five years and is renewed (with a new key) a
// year before it ends; a service certificate lives the 90 days of
// cert-manager's default and is renewed 30 days before, which leaves a
// month for a renewal to reach the processes (each component says how).
const (
	rootDuration    = "43800h"
	rootRenewBefore = "8760h"
	leafDuration    = "2160h"
	leafRenewBefore = "720h"
)

// Args are the inputs of the component.
type Args struct {
	Namespace kube.Namespace
	// After is cert-manager, when this program installs it: the issuers'
	// CRDs and webhook exist only once it runs.
	After []pulumi.Resource
}

// CA is the component.
type CA struct {
	pulumi.ResourceState

	RootIssuer *kube.Resource
	Root       *kube.Resource
	Issuer     *kube.Resource
}

// New creates the authority.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*CA, error) {
	ca, c, err := kube.Register[CA](ctx, "apk8s:data:CertificateAuthority", name, args.Namespace, opts...)
	if err != nil {
		return nil, err
	}
	ns := args.Namespace.Name
	ca.RootIssuer = c.Add(RootIssuerName, kube.Args{Object: issuer(ns, RootIssuerName, certmanagerv1.IssuerSpec{
		SelfSigned: &certmanagerv1.SelfSignedIssuer{},
	})}, pulumi.DependsOn(args.After))
	ca.Root = c.Add(Name, kube.Args{Object: root(ns)}, pulumi.DependsOn([]pulumi.Resource{ca.RootIssuer}))
	ca.Issuer = c.Add(Name, kube.Args{Object: issuer(ns, Name, certmanagerv1.IssuerSpec{
		CA: &certmanagerv1.CAIssuer{SecretName: Name},
	})}, pulumi.DependsOn([]pulumi.Resource{ca.Root}))
	if err := c.Err(); err != nil {
		return nil, err
	}
	return ca, ctx.RegisterResourceOutputs(ca, pulumi.Map{})
}

func issuer(ns, name string, spec certmanagerv1.IssuerSpec) *certmanagerv1.Issuer {
	return &certmanagerv1.Issuer{
		TypeMeta:   metav1.TypeMeta{APIVersion: certmanagerv1.APIVersion, Kind: "Issuer"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       spec,
	}
}

// root is the namespace's root certificate, ECDSA P-256.
func root(ns string) *certmanagerv1.Certificate {
	return &certmanagerv1.Certificate{
		TypeMeta:   metav1.TypeMeta{APIVersion: certmanagerv1.APIVersion, Kind: "Certificate"},
		ObjectMeta: metav1.ObjectMeta{Name: Name, Namespace: ns},
		Spec: certmanagerv1.CertificateSpec{
			SecretName:  Name,
			IssuerRef:   certmanagerv1.ObjectReference{Name: RootIssuerName, Kind: "Issuer", Group: "cert-manager.io"},
			CommonName:  "apk8s data namespace CA (" + ns + ")",
			IsCA:        true,
			Duration:    rootDuration,
			RenewBefore: rootRenewBefore,
			PrivateKey:  &certmanagerv1.CertificatePrivateKey{Algorithm: "ECDSA", Size: 256, RotationPolicy: "Always"},
		},
	}
}

// Certificate is a service's certificate signed by the namespace's CA,
// stored in the Secret secret: commonName names the service (Kafka's
// brokers take it as their principal when they present it to each
// other), hosts every address clients use. The key is PKCS#8, which Java
// reads, and is drawn afresh on every renewal. It serves as a server and a
// client certificate: brokers present theirs to each other.
func Certificate(ns, name, secret, commonName string, hosts []string) *certmanagerv1.Certificate {
	return &certmanagerv1.Certificate{
		TypeMeta:   metav1.TypeMeta{APIVersion: certmanagerv1.APIVersion, Kind: "Certificate"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: certmanagerv1.CertificateSpec{
			SecretName:  secret,
			IssuerRef:   certmanagerv1.ObjectReference{Name: Name, Kind: "Issuer", Group: "cert-manager.io"},
			CommonName:  commonName,
			DNSNames:    hosts,
			Duration:    leafDuration,
			RenewBefore: leafRenewBefore,
			Usages:      []string{"server auth", "client auth", "digital signature", "key encipherment"},
			PrivateKey:  &certmanagerv1.CertificatePrivateKey{Algorithm: "RSA", Size: 2048, Encoding: "PKCS8", RotationPolicy: "Always"},
		},
	}
}

// ServiceHosts are the names of Service svc in ns: short, with the
// namespace, and fully qualified.
func ServiceHosts(ns, svc string) []string {
	return []string{svc, svc + "." + ns, svc + "." + ns + ".svc", svc + "." + ns + ".svc.cluster.local"}
}
