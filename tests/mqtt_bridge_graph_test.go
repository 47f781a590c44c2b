package tests

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/apk8s/apk8s-platform/components/mosquitto"
)

// bridgeJSON is mqttBridges as a stack file holds it.
func bridgeJSON(t *testing.T, entries ...map[string]any) string {
	t.Helper()
	b, err := json.Marshal(entries)
	require.NoError(t, err)
	return string(b)
}

// factoryEntry is a valid entry: a factory broker by host name over TLS
// with its CA and credentials; change applies changes to it.
func factoryEntry(t *testing.T, change func(map[string]any)) map[string]any {
	ca := newTestCA(t, t.TempDir(), "factory")
	e := map[string]any{
		"name":        "factory",
		"address":     "mqtt.factory.example:8883",
		"egressCidrs": []string{"203.0.113.10/32"},
		"ca":          ca.certPEM,
		"username":    "bridge",
		"password":    "bridge-" + randomHex(8),
		"topics": []map[string]any{
			{"pattern": "machines/#", "direction": "in", "localPrefix": "factory/"},
			{"pattern": "decisions/#", "direction": "out", "qos": 2, "remotePrefix": "plant/"},
		},
	}
	if change != nil {
		change(e)
	}
	return e
}

// TestMQTTBridgesGraph: with mqttBridges the broker includes the
// bridges' Secret, a Pulumi secret holding the connection blocks and the
// remote's CA, mounted where mosquitto.conf's include_dir reads it, and a
// policy lets the broker reach the remote's addresses at its port and the
// cluster's DNS, nothing else.
func TestMQTTBridgesGraph(t *testing.T) {
	t.Parallel()
	entry := factoryEntry(t, nil)
	password := entry["password"].(string)
	g := Run{Stack: "local", Secrets: map[string]string{"mqttBridges": bridgeJSON(t, entry)}}.MustDo(t)

	var cm corev1.ConfigMap
	g.Object(t, tokConfigMap, "mqtt").Decode(t, &cm)
	conf := cm.Data[mosquitto.ConfigFile]
	assert.True(t, strings.HasSuffix(conf, "\ninclude_dir /mosquitto/bridges\n"), "include_dir last, else later lines belong to a bridge:\n%s", conf)
	assert.NotContains(t, conf, password)

	var bridges *Res
	for _, r := range g.Find(tokSecret) {
		if r.Name == "mqtt-bridges" {
			bridges = r
		}
	}
	require.NotNil(t, bridges, "no Secret mqtt-bridges")
	require.True(t, bridges.Inputs["stringData"].IsSecret(), "the Secret holds the remote's password")
	assert.Empty(t, bridges.K8sName(), "the provider names the Secret, so new bridges are a new Secret")
	var secret corev1.Secret
	bridges.Decode(t, &secret)
	block := secret.StringData[mosquitto.BridgesFile]
	for _, line := range []string{
		"connection factory",
		"address mqtt.factory.example:8883",
		"remote_clientid apk8s-local-factory",
		"bridge_cafile /mosquitto/bridges/factory.ca.crt",
		"bridge_insecure false",
		"remote_username bridge",
		"remote_password " + password,
		"restart_timeout 5 60",
		`topic machines/# in 1 factory/ ""`,
		`topic decisions/# out 2 "" plant/`,
	} {
		assert.Contains(t, strings.Split(block, "\n"), line)
	}
	assert.Equal(t, entry["ca"], secret.StringData["factory.ca.crt"])

	var d appsv1.Deployment
	g.Object(t, tokDeploy, "mqtt").Decode(t, &d)
	pod := d.Spec.Template.Spec
	var volume *corev1.Volume
	for i := range pod.Volumes {
		if pod.Volumes[i].Secret != nil && pod.Volumes[i].Secret.SecretName == "mqtt-bridges-a1b2c3d4" {
			volume = &pod.Volumes[i]
		}
	}
	require.NotNil(t, volume, "the Deployment names the bridges' Secret by its generated name")
	assert.Equal(t, int32(0o440), *volume.Secret.DefaultMode, "the broker's group alone reads the passwords")
	assert.Contains(t, pod.Containers[0].VolumeMounts, corev1.VolumeMount{Name: volume.Name, MountPath: mosquitto.BridgesDir, ReadOnly: true})

	var egress networkingv1.NetworkPolicy
	g.Object(t, tokNetPol, mosquitto.EgressPolicyName).Decode(t, &egress)
	assert.True(t, selects(t, &egress.Spec.PodSelector, d.Spec.Template.Labels), "the policy selects the broker's pod")
	assert.Equal(t, []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}, egress.Spec.PolicyTypes)
	remote := endpointOutside("203.0.113.10")
	assert.True(t, egressAdmits(t, egress, remote, 8883, corev1.ProtocolTCP), "the remote at its port")
	assert.False(t, egressAdmits(t, egress, remote, 1883, corev1.ProtocolTCP), "the remote at another port")
	assert.False(t, egressAdmits(t, egress, endpointOutside("203.0.113.11"), 8883, corev1.ProtocolTCP), "another address")
	dns := endpoint{namespace: "kube-system", labels: map[string]string{"k8s-app": "kube-dns"}}
	assert.True(t, egressAdmits(t, egress, dns, 53, corev1.ProtocolUDP), "the cluster's DNS resolves the remote's name")
	assert.False(t, egressAdmits(t, egress, endpoint{namespace: "data", labels: map[string]string{"app": "kafka"}}, 9092, corev1.ProtocolTCP), "nothing else")
}

// TestMQTTBridgeByAddressNeedsNoDNS: a remote given by IP address opens
// that address alone, and no DNS.
func TestMQTTBridgeByAddressNeedsNoDNS(t *testing.T) {
	t.Parallel()
	entry := factoryEntry(t, func(e map[string]any) {
		e["address"] = "198.51.100.20"
		delete(e, "egressCidrs")
	})
	g := Run{Stack: "local", Secrets: map[string]string{"mqttBridges": bridgeJSON(t, entry)}}.MustDo(t)
	var egress networkingv1.NetworkPolicy
	g.Object(t, tokNetPol, mosquitto.EgressPolicyName).Decode(t, &egress)
	assert.True(t, egressAdmits(t, egress, endpointOutside("198.51.100.20"), 8883, corev1.ProtocolTCP), "the default TLS port")
	dns := endpoint{namespace: "kube-system", labels: map[string]string{"k8s-app": "kube-dns"}}
	assert.False(t, egressAdmits(t, egress, dns, 53, corev1.ProtocolUDP))
}

// TestNoBridgesNoBridgeObjects: without mqttBridges the broker is as
// before: no include_dir, no Secret, no egress policy.
func TestNoBridgesNoBridgeObjects(t *testing.T) {
	t.Parallel()
	g := Run{Stack: "local"}.Shared(t).Graph
	var cm corev1.ConfigMap
	g.Object(t, tokConfigMap, "mqtt").Decode(t, &cm)
	assert.NotContains(t, cm.Data[mosquitto.ConfigFile], "include_dir")
	for _, r := range g.Find(tokSecret) {
		assert.NotEqual(t, "mqtt-bridges", r.Name)
	}
	for _, r := range g.Find(tokNetPol) {
		assert.NotEqual(t, mosquitto.EgressPolicyName, r.K8sName())
	}
}

// TestBadBridgesRefused: each bad entry is refused before anything is
// registered, naming the key, the entry and the field.
func TestBadBridgesRefused(t *testing.T) {
	t.Parallel()
	bad := func(name string, change func(map[string]any), wants ...string) badConfig {
		return badConfig{name, Run{Stack: "local", Secrets: map[string]string{"mqttBridges": bridgeJSON(t, factoryEntry(t, change))}}, wants}
	}
	checkBadConfigs(t, []badConfig{
		bad("no topic", func(e map[string]any) { e["topics"] = []any{} },
			`apk8s-platform:mqttBridges[0].topics = "[]" (bridge "factory") is not allowed: must be at least one topic`),
		bad("unknown direction", func(e map[string]any) {
			e["topics"] = []map[string]any{{"pattern": "machines/#", "direction": "sideways"}}
		}, `apk8s-platform:mqttBridges[0].topics[0].direction = "sideways" (bridge "factory") is not allowed: must be one of "in"`),
		bad("no direction", func(e map[string]any) { e["topics"] = []map[string]any{{"pattern": "machines/#"}} },
			`mqttBridges[0].topics[0].direction = ""`),
		bad("plain text without opt-in", func(e map[string]any) { e["tls"] = false; delete(e, "ca") },
			`apk8s-platform:mqttBridges[0].tls = "false" (bridge "factory") is not allowed`, `"allowPlaintext": true`),
		bad("TLS without the remote's CA", func(e map[string]any) { delete(e, "ca") },
			`mqttBridges[0].ca = ""`, "the PEM of the CA"),
		bad("a CA that is no certificate", func(e map[string]any) { e["ca"] = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n" },
			`mqttBridges[0].ca = "(a certificate that does not parse)"`),
		bad("a wildcard inside a level", func(e map[string]any) {
			e["topics"] = []map[string]any{{"pattern": "machines/#/x", "direction": "in"}}
		}, `topics[0].pattern = "machines/#/x"`, "'#' must be the whole last level"),
		bad("QoS 3", func(e map[string]any) {
			e["topics"] = []map[string]any{{"pattern": "m/#", "direction": "in", "qos": 3}}
		}, `topics[0].qos = "3"`, "0, 1 or 2"),
		bad("a host name without its addresses", func(e map[string]any) { delete(e, "egressCidrs") },
			`mqttBridges[0].egressCidrs = ""`, "a NetworkPolicy admits addresses, not names"),
		bad("the whole internet", func(e map[string]any) { e["egressCidrs"] = []string{"0.0.0.0/0"} },
			`egressCidrs = "0.0.0.0/0"`),
		bad("port out of range", func(e map[string]any) { e["address"] = "mqtt.factory.example:65536" },
			`mqttBridges[0].address = "mqtt.factory.example:65536"`),
		bad("an unknown field", func(e map[string]any) { e["adress"] = "x" },
			`apk8s-platform:mqttBridges is not allowed`, `unknown field "adress"`),
		bad("a name that is no label", func(e map[string]any) { e["name"] = "Factory One" },
			`mqttBridges[0].name = "Factory One"`),
		bad("every problem at once", func(e map[string]any) {
			e["tls"] = false
			e["topics"] = []any{}
		}, "(3 problems)", "topics", "tls", "ca"),
	})
	t.Run("a password in plain text", func(t *testing.T) {
		entry := factoryEntry(t, nil)
		err := refused(t, Run{Stack: "local", Set: map[string]string{"mqttBridges": bridgeJSON(t, entry)}})
		assert.Contains(t, err, `apk8s-platform:mqttBridges[0].password (bridge "factory") is stored in plain text`)
		assert.Contains(t, err, `pulumi config set --path --secret 'mqttBridges[0].password'`)
		assert.NotContains(t, err, entry["password"].(string))
	})
	t.Run("two bridges of one name", func(t *testing.T) {
		err := refused(t, Run{Stack: "local", Secrets: map[string]string{"mqttBridges": bridgeJSON(t, factoryEntry(t, nil), factoryEntry(t, nil))}})
		assert.Contains(t, err, `apk8s-platform:mqttBridges[1].name = "factory" (bridge "factory") is not allowed: must be a name no other bridge has`)
	})
}

// TestBridgePlainTextOptIn: a plain-text remote with the explicit opt-in
// is accepted, on MQTT's plain port, without a CA. The flags and the QoS
// are written as strings, as `pulumi config set --path` may store them.
func TestBridgePlainTextOptIn(t *testing.T) {
	t.Parallel()
	entry := factoryEntry(t, func(e map[string]any) {
		e["tls"], e["allowPlaintext"] = "false", "true"
		e["topics"] = []map[string]any{{"pattern": "machines/#", "direction": "in", "qos": "0"}}
		e["address"] = "198.51.100.20"
		delete(e, "ca")
		delete(e, "egressCidrs")
	})
	g := Run{Stack: "local", Secrets: map[string]string{"mqttBridges": bridgeJSON(t, entry)}}.MustDo(t)
	var secret corev1.Secret
	for _, r := range g.Find(tokSecret) {
		if r.Name == "mqtt-bridges" {
			r.Decode(t, &secret)
		}
	}
	block := secret.StringData[mosquitto.BridgesFile]
	assert.Contains(t, block, "address 198.51.100.20:1883")
	assert.Contains(t, block, "topic machines/# in 0\n")
	assert.NotContains(t, block, "bridge_cafile")
}
