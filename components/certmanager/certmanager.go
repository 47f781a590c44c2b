// Package certmanager is cert-manager as the book runs it: the jetstack chart
// with its CRDs in the namespace "cert-manager", and the Let's Encrypt
// ClusterIssuers "letsencrypt-production" and "letsencrypt-staging" (ACME,
// HTTP-01 through the cluster's ingress class). The issuers are created only
// once the release is ready: before that neither their CRD nor the webhook
// that admits them exists.
package certmanager

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/apk8s/apk8s-platform/apis/certmanagerv1"
	"github.com/apk8s/apk8s-platform/providers/kube"
)

// Names users and other add-ons rely on.
const (
	Namespace   = "cert-manager"
	ReleaseName = "cert-manager"
	Chart       = "cert-manager"
	Repo        = "https://charts.jetstack.io"

	ProductionIssuer = "letsencrypt-production"
	StagingIssuer    = "letsencrypt-staging"

	ProductionServer = "https://acme-v02.api.letsencrypt.org/directory"
	StagingServer    = "https://acme-staging-v02.api.letsencrypt.org/directory"

	// CRDsValueSince is the first chart that reads crds.enabled; older
	// charts read installCRDs.
	CRDsValueSince = "v1.15.0"
	// MinChartVersion is the oldest chart whose HTTP-01 solver takes an
	// ingressClassName.
	MinChartVersion = "v1.12.0"
)

// Config is the validated shape of the add-on.
type Config struct {
	ChartVersion string
	// Email is the ACME account's contact.
	Email string
	// IngressClass serves the HTTP-01 challenges.
	IngressClass string
}

// Args are the inputs of the component.
type Args struct {
	Config Config
	// Ingress is the release of the controller that serves IngressClass,
	// when this program installs it: the issuers wait for it, since no
	// challenge can pass before it runs.
	Ingress pulumi.Resource
}

// CertManager is the component.
type CertManager struct {
	pulumi.ResourceState

	Namespace *kube.Resource
	Release   *kube.Release
	// Production and Staging are the ClusterIssuers; certificates wait for
	// the one they name.
	Production *kube.Resource
	Staging    *kube.Resource

	// Issuer is the production issuer's name.
	Issuer pulumi.StringOutput `pulumi:"issuer"`
}

// New installs cert-manager and its issuers.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*CertManager, error) {
	m := &CertManager{}
	if err := ctx.RegisterComponentResource("apk8s:addons:CertManager", name, m, opts...); err != nil {
		return nil, err
	}
	ns, inNS, err := kube.OwnNamespace(ctx, m, Namespace)
	if err != nil {
		return nil, err
	}
	m.Namespace = ns
	m.Release = inNS.Release(name, kube.ChartArgs(ReleaseName, Chart, Repo, args.Config.ChartVersion, ChartValues(args.Config.ChartVersion)))
	if err := inNS.Err(); err != nil {
		return nil, err
	}
	after := []pulumi.Resource{m.Release}
	if args.Ingress != nil {
		after = append(after, args.Ingress)
	}
	issuers := kube.NewChildren(ctx, m, kube.Namespace{})
	m.Production = issuers.Add(ProductionIssuer, kube.Args{Object: Issuer(ProductionIssuer, ProductionServer, args.Config)},
		pulumi.DependsOn(after))
	m.Staging = issuers.Add(StagingIssuer, kube.Args{Object: Issuer(StagingIssuer, StagingServer, args.Config)},
		pulumi.DependsOn(after))
	if err := issuers.Err(); err != nil {
		return nil, err
	}
	m.Issuer = m.Production.Name()
	return m, ctx.RegisterResourceOutputs(m, pulumi.Map{"issuer": m.Issuer})
}

// Values is the subset of the chart's values this program sets.
type Values struct {
	// CRDs is read by v1.15 and later.
	CRDs *CRDs `json:"crds,omitempty"`
	// InstallCRDs is the older spelling.
	InstallCRDs *bool `json:"installCRDs,omitempty"`
}

// CRDs installs the CRDs with the chart. Keep leaves them in place when the
// release is uninstalled, so that removing the add-on never deletes every
// Certificate in the cluster with them.
type CRDs struct {
	Enabled bool `json:"enabled"`
	Keep    bool `json:"keep"`
}

// ChartValues install the CRDs through the chart, in the spelling of the
// chart's version.
func ChartValues(version string) Values {
	if kube.ChartVersionAtLeast(version, CRDsValueSince) {
		return Values{CRDs: &CRDs{Enabled: true, Keep: true}}
	}
	yes := true
	return Values{InstallCRDs: &yes}
}

// Issuer is an ACME ClusterIssuer that answers HTTP-01 challenges through
// the ingress class of c; its account key lives in the Secret of its own
// name.
func Issuer(name, server string, c Config) *certmanagerv1.ClusterIssuer {
	class := c.IngressClass
	return &certmanagerv1.ClusterIssuer{
		TypeMeta:   metav1.TypeMeta{APIVersion: certmanagerv1.APIVersion, Kind: "ClusterIssuer"},
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: certmanagerv1.IssuerSpec{ACME: &certmanagerv1.ACMEIssuer{
			Email:               c.Email,
			Server:              server,
			PrivateKeySecretRef: certmanagerv1.SecretKeySelector{Name: name},
			Solvers: []certmanagerv1.ACMEChallengeSolver{{
				HTTP01: &certmanagerv1.ACMEChallengeSolverHTTP01{
					Ingress: &certmanagerv1.ACMEChallengeSolverHTTP01Ingress{IngressClassName: &class},
				},
			}},
		}},
	}
}
