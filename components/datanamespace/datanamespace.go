// Package datanamespace is the tenant namespace of the data platform: the
// Namespace "data" under the restricted Pod Security Standard, its TLS
// Certificate "data-cert", the basic-auth Secret "sysop-basic-auth" in the
// form the cluster's ingress controller reads it (with Traefik, through the
// Middleware "sysop-basic-auth"), and the NetworkPolicies that concern the
// whole namespace (default deny, cert-manager's HTTP-01 solver).
package datanamespace

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/apk8s/apk8s-platform/apis/certmanagerv1"
	"github.com/apk8s/apk8s-platform/apis/traefikv1alpha1"
	"github.com/apk8s/apk8s-platform/internal/htpasswd"
	"github.com/apk8s/apk8s-platform/internal/workload"
	"github.com/apk8s/apk8s-platform/providers/kube"
)

// Names of the objects, as the book gives them.
const (
	Name            = "data"
	CertificateName = "data-cert"
	TLSSecretName   = "data-production-tls"
	BasicAuthName   = "sysop-basic-auth"

	// SaltName is the ConfigMap that keeps the bcrypt salt of the basic-auth
	// line, under SaltAnnotation.
	SaltName       = BasicAuthName + "-salt"
	SaltAnnotation = "apk8s.dev/bcrypt-salt"
	// SolverPolicyName admits the ingress controller to cert-manager's
	// HTTP-01 solver pods.
	SolverPolicyName = "acme-http01-solver"
)

// cert-manager's HTTP-01 solver: the label its solver pods carry and the
// port they serve the challenge on. The pods run in the Certificate's
// namespace and the ingress controller forwards the ACME server's request
// to them.
var (
	SolverLabels = map[string]string{"acme.cert-manager.io/http01-solver": "true"}
	SolverPort   = workload.Port{Name: "http", Port: 8089}
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
	// BasicAuth is the form the ingress controller reads.
	BasicAuth BasicAuthForm
	// MiddlewareCRDs is the release that installs the traefik.io CRDs, when
	// this program installs Traefik: the Middleware waits for it.
	MiddlewareCRDs pulumi.Resource
	// IngressNamespace is where the ingress controller runs, which reaches
	// the HTTP-01 solver; "" admits every namespace (a controller of the
	// cluster's own, in a namespace this program does not know).
	IngressNamespace string
	// ExtraHosts are further names data-cert covers (the Kafka console's).
	ExtraHosts []string
}

// DataNamespace is the namespace component.
type DataNamespace struct {
	pulumi.ResourceState

	Namespace   *kube.Resource
	Certificate *kube.Resource // nil when switched off
	BasicAuth   *kube.Resource
	Middleware  *kube.Resource // nil unless the form asks for it
	Salt        *kube.Resource
	DenyIngress *kube.Resource
	Solver      *kube.Resource

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
	d.Namespace = c.Add(name, kube.Args{Object: namespace()})
	if err := c.Err(); err != nil {
		return nil, err
	}
	in := kube.NewChildren(ctx, d, d.Ref())
	if args.Certificate {
		var after []pulumi.ResourceOption
		if args.Issuer != nil {
			after = append(after, pulumi.DependsOn([]pulumi.Resource{args.Issuer}))
		}
		d.Certificate = in.Add(CertificateName, kube.Args{Object: certificate(args.Domain, args.IssuerName, args.ExtraHosts)}, after...)
	}
	d.DenyIngress = in.Add(workload.DenyIngressName, kube.Args{Object: workload.DenyIngress(Name)})
	d.Solver = in.Add(SolverPolicyName, kube.Args{Object: solverPolicy(args.IngressNamespace)})
	salt, err := htpasswd.NewSalt()
	if err != nil {
		return nil, err
	}
	// The salt is drawn afresh on every run, and the engine keeps the
	// first one: the annotation's changes are ignored, so the state (and
	// the cluster) hold the salt of the first `up`, and the line below is
	// the same on every run until the password changes.
	d.Salt = in.Add(SaltName, kube.Args{Object: saltKeeper(salt)},
		pulumi.IgnoreChanges([]string{"metadata.annotations"}))
	if d.Salt != nil {
		d.BasicAuth = in.Add(BasicAuthName, kube.Args{
			Object: basicAuth(),
			Fields: pulumi.Map{"stringData": pulumi.ToSecret(pulumi.StringMap{
				args.BasicAuth.Key: htpasswdLine(args.BasicAuthUser, args.BasicAuthPassword, keptSalt(d.Salt)),
			})},
		})
	}
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

func certificate(domain, issuer string, extra []string) *certmanagerv1.Certificate {
	hosts := append(Hosts(domain), extra...)
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

// namespace is the Namespace "data", enforcing the restricted Pod Security
// Standard: a pod that runs as root, keeps a capability or may escalate its
// privileges is refused.
func namespace() *corev1.Namespace {
	ns := kube.NamespaceObject(Name)
	ns.Labels = workload.PodSecurityLabels()
	return ns
}

// solverPolicy admits the ingress controller in ingressNamespace ("" =
// any namespace) to the HTTP-01 solver pods, so that data-cert can be
// issued behind the namespace's default deny. The solver serves only the
// challenge token, which the ACME server fetches from the internet anyway.
func solverPolicy(ingressNamespace string) *networkingv1.NetworkPolicy {
	from := workload.Cluster()
	if ingressNamespace != "" {
		from = workload.Namespace(ingressNamespace)
	}
	return workload.Policy(Name, SolverPolicyName, SolverLabels,
		workload.Ingress{Ports: []workload.Port{SolverPort}, From: []workload.Peer{from}})
}

// saltKeeper is the ConfigMap that carries the basic-auth salt in the
// state from one run to the next. The salt is no secret: every bcrypt line
// shows its own.
func saltKeeper(salt string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Name: SaltName, Namespace: Name,
			Annotations: map[string]string{SaltAnnotation: salt}},
	}
}

// keptSalt is the salt the keeper holds in the state.
func keptSalt(keeper *kube.Resource) pulumi.StringOutput {
	return keeper.Metadata.ApplyT(func(m map[string]any) (string, error) {
		annotations, _ := m["annotations"].(map[string]any)
		salt, ok := annotations[SaltAnnotation].(string)
		if !ok {
			return "", fmt.Errorf("%s: the ConfigMap %s has lost its annotation %s; delete it to draw a new salt", BasicAuthName, SaltName, SaltAnnotation)
		}
		return salt, nil
	}).(pulumi.StringOutput)
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
func htpasswdLine(user string, password, salt pulumi.StringOutput) pulumi.StringOutput {
	return pulumi.ToSecret(pulumi.All(password, salt).ApplyT(func(in []any) (string, error) {
		line, err := htpasswd.Line(user, in[0].(string), in[1].(string))
		if err != nil {
			return "", fmt.Errorf("%s: %w", BasicAuthName, err)
		}
		return line, nil
	})).(pulumi.StringOutput)
}
