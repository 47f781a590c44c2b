package tests

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/apk8s/apk8s-platform/apis/certmanager"
)

// TestCertificateIssuer: a disposable stack, rebuilt every day, asks Let's
// Encrypt staging by default (production allows 5 duplicate certificates
// a week); a kept stack asks production; certificateIssuer overrides
// either. The certificate waits for the issuer it names.
func TestCertificateIssuer(t *testing.T) {
	// A kept stack with the book's add-ons: dev3's file without the mark.
	kept := func(set map[string]string) Run {
		all := map[string]string{"disposable": "false"}
		for k, v := range set {
			all[k] = v
		}
		return Run{Stack: "dev3", Set: all}
	}
	tests := []struct {
		name string
		run  Run
		want string
	}{
		{"disposable stack", Run{Stack: "dev3"}, "letsencrypt-staging"},
		{"kept stack", kept(nil), "letsencrypt-production"},
		{"disposable, production chosen", Run{Stack: "dev3", Set: map[string]string{"certificateIssuer": "letsencrypt-production"}}, "letsencrypt-production"},
		{"kept, staging chosen", kept(map[string]string{"certificateIssuer": "letsencrypt-staging"}), "letsencrypt-staging"},
		{"kept, existing cert-manager", Run{Stack: "local", Set: map[string]string{"certificate": "true", "certManager": "existing"}}, "letsencrypt-production"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := dataGraph(t, tt.run)
			cert := g.Object(t, tokCert, "data-cert")
			var c certmanager.Certificate
			cert.Decode(t, &c)
			assert.Equal(t, certmanager.ObjectReference{Name: tt.want, Kind: "ClusterIssuer", Group: "cert-manager.io"}, c.Spec.IssuerRef)
			assert.Equal(t, "data-production-tls", c.Spec.SecretName, "the ingresses' Secret keeps its name")
			issuers := g.Find(tokClusterIssuer)
			if len(issuers) == 0 {
				return // cert-manager is the cluster's own
			}
			assert.Contains(t, cert.DependsOn, g.Object(t, tokClusterIssuer, tt.want).URN, "data-cert waits for its own issuer")
		})
	}
}

// TestDeliveryConfigRefused: the keys of this delivery fail like every other
// bad value, before anything is registered.
func TestDeliveryConfigRefused(t *testing.T) {
	checkBadConfigs(t, []badConfig{
		{"disposable stack of another name", Run{Stack: "local", Set: map[string]string{"disposable": "true"}},
			[]string{`apk8s-platform:disposable = "true" is not allowed`, `false for stack "local"`, "^dev[0-9]+"}},
		{"unknown issuer", Run{Stack: "dev3", Set: map[string]string{"certificateIssuer": "letsencrypt"}},
			[]string{`apk8s-platform:certificateIssuer = "letsencrypt"`, `"letsencrypt-production", "letsencrypt-staging"`}},
	})
}
