package tests

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/apk8s/apk8s-platform/apis/certmanagerv1"
	"github.com/apk8s/apk8s-platform/components/kafkaconsole"
)

const tokIngress = "kubernetes:networking.k8s.io/v1:Ingress"

// TestKafkaConsole: the console is Kafbat UI pinned and read-only, a
// client of the brokers the Kafka policy admits, under the restricted
// profile; its Service selects its pod on its container port; its Ingress
// serves kafka.data.<domain> with the data certificate (which names that
// host) behind the basic auth of the controller in use; its policy admits
// only the ingress controller's namespace.
func TestKafkaConsole(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, controller, class, ingressNamespace string
		middleware                                bool
	}{
		{"traefik", "traefik", "traefik", "traefik", true},
		{"ingress-nginx", "ingress-nginx", "nginx", "ingress-nginx", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := dev3Graph(t, map[string]string{"ingressController": tc.controller})
			host := "kafka.data." + Default(t, "domain")

			var d appsv1.Deployment
			dep := g.Object(t, tokDeploy, kafkaconsole.Name)
			dep.Decode(t, &d)
			assert.Equal(t, "data", d.Namespace)
			pod := d.Spec.Template
			c := pod.Spec.Containers[0]
			assert.Equal(t, Default(t, "kafkaConsoleImage"), c.Image)
			env := map[string]string{}
			for _, e := range c.Env {
				env[e.Name] = e.Value
			}
			assert.Equal(t, "true", env["KAFKA_CLUSTERS_0_READONLY"], "read-only")
			assert.Equal(t, "false", env["DYNAMIC_CONFIG_ENABLED"], "no configuration editor")
			assert.Equal(t, "kafka:9092", env["KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS"])
			require.NotNil(t, c.SecurityContext)
			assert.True(t, *c.SecurityContext.ReadOnlyRootFilesystem)
			assert.True(t, *pod.Spec.SecurityContext.RunAsNonRoot)
			assert.False(t, c.Resources.Limits.Memory().IsZero())
			require.NotNil(t, c.ReadinessProbe)
			assert.Equal(t, c.Ports[0].Name, c.ReadinessProbe.HTTPGet.Port.StrVal, "the probe names the container's port")

			var svc corev1.Service
			g.Object(t, tokService, kafkaconsole.Name).Decode(t, &svc)
			assert.Equal(t, pod.Labels, svc.Spec.Selector, "the Service selects the console's pod")
			require.Len(t, svc.Spec.Ports, 1)
			assert.Equal(t, c.Ports[0].Name, svc.Spec.Ports[0].TargetPort.StrVal)

			var ing networkingv1.Ingress
			ingRes := g.Object(t, tokIngress, kafkaconsole.Name)
			ingRes.Decode(t, &ing)
			assert.Equal(t, tc.class, *ing.Spec.IngressClassName)
			require.Len(t, ing.Spec.Rules, 1)
			assert.Equal(t, host, ing.Spec.Rules[0].Host)
			backend := ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service
			assert.Equal(t, svc.Name, backend.Name)
			assert.Equal(t, svc.Spec.Ports[0].Name, backend.Port.Name, "the Ingress names the Service's port")
			require.Len(t, ing.Spec.TLS, 1)
			var cert certmanagerv1.Certificate
			g.Object(t, tokCert, "data-cert").Decode(t, &cert)
			assert.Equal(t, cert.Spec.SecretName, ing.Spec.TLS[0].SecretName)
			assert.Equal(t, []string{host}, ing.Spec.TLS[0].Hosts)
			assert.Contains(t, cert.Spec.DNSNames, host, "the data certificate names the console's host")
			if tc.middleware {
				assert.Equal(t, "data-sysop-basic-auth@kubernetescrd", ing.Annotations["traefik.ingress.kubernetes.io/router.middlewares"])
				assert.Contains(t, ingRes.DependsOn, g.Object(t, tokMiddleware, "sysop-basic-auth").URN, "the route waits for its Middleware")
			} else {
				assert.Equal(t, "basic", ing.Annotations["nginx.ingress.kubernetes.io/auth-type"])
				assert.Equal(t, "sysop-basic-auth", ing.Annotations["nginx.ingress.kubernetes.io/auth-secret"])
			}

			var pol networkingv1.NetworkPolicy
			g.Object(t, tokNetPol, kafkaconsole.Name).Decode(t, &pol)
			assert.Equal(t, pod.Labels, pol.Spec.PodSelector.MatchLabels)
			require.Len(t, pol.Spec.Ingress, 1)
			rule := pol.Spec.Ingress[0]
			require.Len(t, rule.Ports, 1)
			assert.Equal(t, c.Ports[0].ContainerPort, rule.Ports[0].Port.IntVal, "the policy opens the container's port")
			require.Len(t, rule.From, 1)
			assert.Nil(t, rule.From[0].PodSelector)
			assert.Equal(t, map[string]string{"kubernetes.io/metadata.name": tc.ingressNamespace}, rule.From[0].NamespaceSelector.MatchLabels,
				"the controller's pods (host ports, not the host network) reach the console")

			var kafkaPol networkingv1.NetworkPolicy
			g.Object(t, tokNetPol, "kafka").Decode(t, &kafkaPol)
			admitted := false
			for _, in := range kafkaPol.Spec.Ingress {
				for _, from := range in.From {
					if from.PodSelector != nil && from.NamespaceSelector == nil && assert.ObjectsAreEqual(pod.Labels, from.PodSelector.MatchLabels) {
						admitted = true
					}
				}
			}
			assert.True(t, admitted, "the brokers admit the console")
		})
	}

	t.Run("none", func(t *testing.T) {
		g := dev3Graph(t, map[string]string{"kafkaConsole": "none"})
		for _, tok := range []string{tokDeploy, tokService, tokNetPol, tokIngress} {
			for _, r := range g.Find(tok) {
				assert.NotEqual(t, kafkaconsole.Name, r.K8sName())
			}
		}
		var cert certmanagerv1.Certificate
		g.Object(t, tokCert, "data-cert").Decode(t, &cert)
		assert.NotContains(t, cert.Spec.DNSNames, "kafka.data."+Default(t, "domain"))
	})
	t.Run("kraft", func(t *testing.T) {
		g := dev3Graph(t, map[string]string{"kafkaMode": "kraft"})
		var d appsv1.Deployment
		g.Object(t, tokDeploy, kafkaconsole.Name).Decode(t, &d)
		assert.Contains(t, d.Spec.Template.Spec.Containers[0].Env, corev1.EnvVar{Name: "KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS", Value: "kafka:9092"})
	})
	t.Run("existing controller", func(t *testing.T) {
		g := dev3Graph(t, map[string]string{"ingressController": "existing", "ingressClass": "traefik"})
		var pol networkingv1.NetworkPolicy
		g.Object(t, tokNetPol, kafkaconsole.Name).Decode(t, &pol)
		require.Len(t, pol.Spec.Ingress[0].From, 1)
		assert.Empty(t, pol.Spec.Ingress[0].From[0].NamespaceSelector.MatchLabels, "a controller of the cluster's own, in any namespace")
	})
	checkBadConfigs(t, []badConfig{{"console without a controller", Run{Stack: "dev3", Set: map[string]string{"ingressController": "none"}},
		[]string{`apk8s-platform:kafkaConsole = "install" is not allowed`, `"none" while ingressController is "none"`}}})
}
