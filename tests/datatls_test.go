package tests

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/apk8s/apk8s-platform/apis/certmanagerv1"
	"github.com/apk8s/apk8s-platform/components/mosquitto"
	"github.com/apk8s/apk8s-platform/stacks"
)

const tokIssuer = "kubernetes:cert-manager.io/v1:Issuer"

// TestDataCA: the namespace's CA is a chain cert-manager keeps in data: a
// self-signed Issuer signs the root Certificate (a CA), and the CA Issuer
// signs with the root's Secret. Each waits for the one before it, and the
// first for cert-manager.
func TestDataCA(t *testing.T) {
	t.Parallel()
	g := dataGraph(t, Run{Stack: "dev3"})
	var selfSigned, caIssuer certmanagerv1.Issuer
	var root certmanagerv1.Certificate
	selfRes, rootRes, caRes := g.Object(t, tokIssuer, "data-selfsigned"), g.Object(t, tokCert, "data-ca"), g.Object(t, tokIssuer, "data-ca")
	selfRes.Decode(t, &selfSigned)
	rootRes.Decode(t, &root)
	caRes.Decode(t, &caIssuer)
	for _, o := range []string{selfSigned.Namespace, root.Namespace, caIssuer.Namespace} {
		assert.Equal(t, "data", o)
	}
	require.NotNil(t, selfSigned.Spec.SelfSigned)
	assert.Equal(t, "data-selfsigned", root.Spec.IssuerRef.Name)
	assert.Equal(t, "Issuer", root.Spec.IssuerRef.Kind)
	assert.True(t, root.Spec.IsCA, "the root is a CA")
	require.NotNil(t, caIssuer.Spec.CA)
	assert.Equal(t, root.Spec.SecretName, caIssuer.Spec.CA.SecretName, "the CA Issuer signs with the root's key")
	assert.Contains(t, rootRes.DependsOn, selfRes.URN)
	assert.Contains(t, caRes.DependsOn, rootRes.URN)
	var waits bool
	for _, dep := range selfRes.DependsOn {
		waits = waits || g.ByURN(dep).Type == "kubernetes:cert-manager.io/v1:ClusterIssuer"
	}
	assert.True(t, waits, "the issuers wait for cert-manager (its ClusterIssuer): %v", selfRes.DependsOn)

	none := dataGraph(t, Run{Stack: "local"})
	assert.Empty(t, none.Find(tokIssuer), "no cert-manager, no CA")
	assert.Empty(t, none.Find(tokCert))
}

// TestMosquittoTLSListener: with cert-manager the broker listens with TLS
// on 8883 alone, with a certificate of the namespace's CA that names every
// address of the Service mqtt, mounted (key readable by the broker's group
// only) where mosquitto.conf reads it; the broker runs under the reload
// loop. The plain listener comes back only when the config asks for it,
// and without cert-manager it is the only one, with a warning.
func TestMosquittoTLSListener(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		run       Run
		ports     []int32
		cert      bool
		warnPlain bool
	}{
		{"TLS only by default", Run{Stack: "dev3"}, []int32{8883}, true, false},
		{"the book's plain listener beside it", Run{Stack: "dev3", Set: map[string]string{"mqttPlainListener": "true"}}, []int32{8883, 1883}, true, false},
		{"plain only without cert-manager, asked for", Run{Stack: "local"}, []int32{1883}, false, false},
		{"plain only without cert-manager, warned", Run{Stack: "local", Set: map[string]string{"mqttPlainListener": "false"}}, []int32{1883}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := dataGraph(t, tt.run)
			var svc corev1.Service
			g.Object(t, tokService, "mqtt").Decode(t, &svc)
			var ports []int32
			for _, p := range svc.Spec.Ports {
				ports = append(ports, p.Port)
			}
			assert.Equal(t, tt.ports, ports, "the Service's ports")
			var d appsv1.Deployment
			dep := g.Object(t, tokDeploy, "mqtt")
			dep.Decode(t, &d)
			broker := d.Spec.Template.Spec.Containers[0]
			var declared []int32
			for _, p := range broker.Ports {
				declared = append(declared, p.ContainerPort)
			}
			assert.Equal(t, tt.ports, declared, "the container's ports")
			var cm corev1.ConfigMap
			g.Object(t, tokConfigMap, "mqtt").Decode(t, &cm)
			conf := cm.Data[mosquitto.ConfigFile]
			if !tt.cert {
				assert.NotContains(t, conf, "certfile")
				assert.Nil(t, broker.Command, "the image's own start")
			} else {
				var cert certmanagerv1.Certificate
				certRes := g.Object(t, tokCert, "mqtt-tls")
				certRes.Decode(t, &cert)
				assert.Equal(t, "data-ca", cert.Spec.IssuerRef.Name)
				assert.Equal(t, "Issuer", cert.Spec.IssuerRef.Kind)
				assert.Contains(t, certRes.DependsOn, g.Object(t, tokIssuer, "data-ca").URN)
				assert.Contains(t, dep.DependsOn, certRes.URN, "the broker starts once its certificate is asked for")
				for _, host := range []string{"mqtt", "mqtt.data", "mqtt.data.svc", "mqtt.data.svc.cluster.local"} {
					assert.Contains(t, cert.Spec.DNSNames, host, "clients reach the broker as %s", host)
				}
				var tlsVolume *corev1.Volume
				for i, v := range d.Spec.Template.Spec.Volumes {
					if v.Secret != nil && v.Secret.SecretName == cert.Spec.SecretName {
						tlsVolume = &d.Spec.Template.Spec.Volumes[i]
					}
				}
				require.NotNil(t, tlsVolume, "the broker mounts the certificate's Secret")
				assert.Equal(t, int32(0o440), *tlsVolume.Secret.DefaultMode, "the key is the broker's group's alone")
				var dir string
				for _, m := range broker.VolumeMounts {
					if m.Name == tlsVolume.Name {
						dir = m.MountPath
						assert.True(t, m.ReadOnly)
					}
				}
				require.NotEmpty(t, dir)
				assert.Contains(t, conf, "certfile "+dir+"/tls.crt\nkeyfile "+dir+"/tls.key\n")
				assert.Equal(t, []string{"sh", "-c", mosquitto.ReloadCommand("/mosquitto/config/mosquitto.conf", dir, 60)}, broker.Command,
					"the loop that TestMosquittoTLS runs, on the mounted certificate")
			}
			warned := strings.Contains(strings.Join(loadWarnings(t, tt.run), "\n"), "MQTT keeps the plain listener")
			assert.Equal(t, tt.warnPlain, warned)
		})
	}
}

// loadWarnings are the warnings of the run's config.
func loadWarnings(t *testing.T, run Run) []string {
	t.Helper()
	var cfg *stacks.Config
	run.Program = func(ctx *pulumi.Context) (err error) {
		cfg, err = stacks.Load(ctx)
		return err
	}
	_, err := run.Do(t)
	require.NoError(t, err)
	return cfg.Warnings
}
