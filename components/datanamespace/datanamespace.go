// Package datanamespace is the tenant namespace of the data platform: the
// Namespace "data", its TLS Certificate "data-cert" and the basic-auth Secret
// "sysop-basic-auth" that the namespace's ingresses read, in the form the
// cluster's ingress controller reads it (with Traefik, through the Middleware
// "sysop-basic-auth").
package datanamespace

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/apk8s/apk8s-platform/apis/certmanagerv1"
	"github.com/apk8s/apk8s-platform/apis/traefikv1alpha1"
	"github.com/apk8s/apk8s-platform/internal/htpasswd"
	"github.com/apk8s/apk8s-platform/providers/kube"
)

// Names of the objects, as the book gives them.
const (
	Name            = "data"
	CertificateName = "data-cert"
	TLSSecretName   = "data-production-tls"
	BasicAuthName   = "sysop-basic-auth"
)

// BasicAuthForm is how the cluster's ingress controller reads the htpasswd
// line of sysop-basic-auth.
type BasicAuthForm struct {
	// Key is the Secret's key that holds the line.
	Key string
	// Middleware adds the Traefik Middleware sysop-basic-auth, which an
	// Ingress names in its router.middlewares annotation.
	Middleware bool
}

var (
	// NginxBasicAuth is the book's Secret: key "auth", which ingress-nginx's
	// auth-secret annotation reads.
	NginxBasicAuth = BasicAuthForm{Key: "auth"}
	// TraefikBasicAuth is key "users", which Traefik's basicAuth middleware
	// reads, and the Middleware itself.
	TraefikBasicAuth = BasicAuthForm{Key: "users", Middleware: true}
)

// Hosts are the names the certificate covers under domain, the namespace's
// own name first.
func Hosts(domain string) []string {
	return []string{
		Name + "." + domain,
		"nifi." + Name + "." + domain,
		"kib." + Name + "." + domain,
	}
}

// Args are the inputs of the component.
type Args struct {
	Domain string
	// Certificate turns data-cert on; it needs cert-manager's CRDs.
	Certificate bool
	// IssuerName is the ClusterIssuer data-cert asks (Let's Encrypt
	// staging or production). The Secret keeps the book's name
	// data-production-tls either way, so the ingresses never change.
	IssuerName string
	// Issuer is the ClusterIssuer resource, when this program creates it:
	// the certificate waits for it.
	Issuer pulumi.Resource
	// BasicAuthUser and BasicAuthPassword make the htpasswd line; the
	// password must be a secret output.
	BasicAuthUser     string
	BasicAuthPassword pulumi.StringOutput
	// HashScope varies the bcrypt salt between stacks (the stack's name).
	HashScope string
	// BasicAuth is the form the ingress controller reads.
	BasicAuth BasicAuthForm
	// MiddlewareCRDs is the release that installs the traefik.io CRDs, when
	// this program installs Traefik: the Middleware waits for it.
	MiddlewareCRDs pulumi.Resource
}

// DataNamespace is the namespace component.
type DataNamespace struct {
	pulumi.ResourceState

	Namespace   *kube.Resource
	Certificate *kube.Resource // nil when switched off
	BasicAuth   *kube.Resource
	Middleware  *kube.Resource // nil unless the form asks for it

	// Name is the namespace's name.
	Name pulumi.StringOutput `pulumi:"name"`
}

// New creates the namespace and what lives in it for every service.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*DataNamespace, error) {
	if args.BasicAuth.Key == "" {
		return nil, fmt.Errorf("data namespace %q: the basic-auth form names no Secret key", name)
	}
	d := &DataNamespace{}
	if err := ctx.RegisterComponentResource("apk8s:data:Namespace", name, d, opts...); err != nil {
		return nil, err
	}
	c := kube.NewChildren(ctx, d, kube.Namespace{})
	d.Namespace = c.Add(name, kube.Args{Object: kube.NamespaceObject(Name)})
	if err := c.Err(); err != nil {
		return nil, err
	}
	in := kube.NewChildren(ctx, d, d.Ref())
	if args.Certificate {
		var after []pulumi.ResourceOption
		if args.Issuer != nil {
			after = append(after, pulumi.DependsOn([]pulumi.Resource{args.Issuer}))
		}
		d.Certificate = in.Add(CertificateName, kube.Args{Object: certificate(args.Domain, args.IssuerName)}, after...)
	}
	d.BasicAuth = in.Add(BasicAuthName, kube.Args{
		Object: basicAuth(),
		Fields: pulumi.Map{"stringData": pulumi.ToSecret(pulumi.StringMap{
			args.BasicAuth.Key: htpasswdLine(args.BasicAuthUser, args.BasicAuthPassword, args.HashScope),
		})},
	})
	if args.BasicAuth.Middleware {
		var after []pulumi.ResourceOption
		if args.MiddlewareCRDs != nil {
			after = append(after, pulumi.DependsOn([]pulumi.Resource{args.MiddlewareCRDs}))
		}
		d.Middleware = in.Add(BasicAuthName, kube.Args{Object: basicAuthMiddleware()}, after...)
	}
	if err := in.Err(); err != nil {
		return nil, err
	}
	d.Name = d.Namespace.Name()
	return d, ctx.RegisterResourceOutputs(d, pulumi.Map{"name": d.Name})
}

// Ref is how other components put objects into this namespace.
func (d *DataNamespace) Ref() kube.Namespace {
	return kube.Namespace{Name: Name, Resource: d.Namespace}
}

func certificate(domain, issuer string) *certmanagerv1.Certificate {
	hosts := Hosts(domain)
	return &certmanagerv1.Certificate{
		TypeMeta:   metav1.TypeMeta{APIVersion: certmanagerv1.APIVersion, Kind: "Certificate"},
		ObjectMeta: metav1.ObjectMeta{Name: CertificateName, Namespace: Name},
		Spec: certmanagerv1.CertificateSpec{
			SecretName: TLSSecretName,
			IssuerRef:  certmanagerv1.ObjectReference{Name: issuer, Kind: "ClusterIssuer", Group: "cert-manager.io"},
			CommonName: hosts[0],
			DNSNames:   hosts,
		},
	}
}

// basicAuth is the Secret without its data, which comes as a Pulumi secret.
func basicAuth() *corev1.Secret {
	return &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: BasicAuthName, Namespace: Name},
		Type:       corev1.SecretTypeOpaque,
	}
}

// basicAuthMiddleware lets through the users of sysop-basic-auth; the
// backends never see their credentials.
func basicAuthMiddleware() *traefikv1alpha1.Middleware {
	return &traefikv1alpha1.Middleware{
		TypeMeta:   metav1.TypeMeta{APIVersion: traefikv1alpha1.APIVersion, Kind: "Middleware"},
		ObjectMeta: metav1.ObjectMeta{Name: BasicAuthName, Namespace: Name},
		Spec: traefikv1alpha1.MiddlewareSpec{BasicAuth: &traefikv1alpha1.BasicAuth{
			Secret:       BasicAuthName,
			RemoveHeader: true,
		}},
	}
}

// htpasswdLine hashes inside an apply, so the password never leaves the
// secret output and the line is a secret too.
func htpasswdLine(user string, password pulumi.StringOutput, scope string) pulumi.StringOutput {
	return pulumi.ToSecret(password.ApplyT(func(p string) (string, error) {
		line, err := htpasswd.Line(user, p, scope)
		if err != nil {
			return "", fmt.Errorf("%s: %w", BasicAuthName, err)
		}
		return line, nil
	})).(pulumi.StringOutput)
}
