package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/apk8s/apk8s-platform/apis/certmanagerv1"
	"github.com/apk8s/apk8s-platform/components/kafka"
)

// authRun is dev3 at a stage of kafkaAuth in a mode, without monitoring
// (its exporter still reads PLAINTEXT, which "on" refuses).
func authRun(mode, stage string, brokers int) Run {
	return Run{Stack: "dev3", Set: map[string]string{"kafkaMode": mode, "kafkaAuth": stage, "kafkaReplicas": fmt.Sprint(brokers),
		"monitoring": "none", "kafkaConsole": "none"}}
}

// startBroker runs the broker's start command as pod kafka-<i> would, up to
// where it hands over to the image, and returns what it exports: the
// listeners each pod binds and advertises.
func startBroker(t *testing.T, c corev1.Container, i int) map[string]string {
	t.Helper()
	if c.Command[len(c.Command)-1] == "/etc/kafka/docker/run" {
		return startPod(t, c, i) // KRaft: the command execs "$@"
	}
	script := c.Command[len(c.Command)-1]
	require.Contains(t, script, "exec /etc/confluent/docker/run")
	cmd := exec.Command("sh", "-ec", strings.Replace(script, "exec /etc/confluent/docker/run", "env", 1))
	cmd.Env = []string{fmt.Sprintf("HOSTNAME=kafka-%d", i), "PATH=" + os.Getenv("PATH")}
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	env := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			env[k] = v
		}
	}
	return env
}

// listenerSpec parses "NAME://host:port,…" into name → "host:port".
func listenerSpec(t *testing.T, s string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, l := range strings.Split(s, ",") {
		name, addr, ok := strings.Cut(l, "://")
		require.True(t, ok, "%q in %q", l, s)
		out[name] = addr
	}
	return out
}

func portsOf(ps []corev1.ServicePort) []int32 {
	var out []int32
	for _, p := range ps {
		out = append(out, p.Port)
	}
	slices.Sort(out)
	return out
}

// TestKafkaListenersByStage: at every stage of both modes, the brokers
// bind, advertise and declare the stage's listeners on every interface;
// every listener has a security protocol; PLAINTEXT (no authentication)
// exists before "on" only, where the config keeps it for clients not yet
// moved; at "on" every listener authenticates (SCRAM over TLS, or mutual
// TLS) and the authorizer of the mode runs with the brokers as the only
// super users and no allow.everyone.if.no.acl.found. The brokers talk on
// PLAINTEXT until "internal", then on SSL; KRaft's voters listen on the
// controller listeners of the stage and the quorum uses the first.
func TestKafkaListenersByStage(t *testing.T) {
	type want struct {
		listeners   []string // bound and advertised by every broker
		interBroker string
		controllers []string // KRaft: also bound by voters, first in use
		service     []int32
	}
	stages := map[string]want{
		kafka.AuthOff:      {[]string{"PLAINTEXT"}, "PLAINTEXT", []string{"CONTROLLER"}, []int32{9092}},
		kafka.AuthDual:     {[]string{"PLAINTEXT", "SASL_SSL", "SSL"}, "PLAINTEXT", []string{"CONTROLLER", "CONTROLLER_SSL"}, []int32{9092, 9094}},
		kafka.AuthInternal: {[]string{"PLAINTEXT", "SASL_SSL", "SSL"}, "SSL", []string{"CONTROLLER_SSL", "CONTROLLER"}, []int32{9092, 9094}},
		kafka.AuthOn:       {[]string{"SASL_SSL", "SSL"}, "SSL", []string{"CONTROLLER_SSL"}, []int32{9094}},
	}
	ports := map[string]int32{"PLAINTEXT": 9092, "SASL_SSL": 9094, "SSL": 9091, "CONTROLLER": 9093, "CONTROLLER_SSL": 9095}
	protocols := map[string]string{"PLAINTEXT": "PLAINTEXT", "SASL_SSL": "SASL_SSL", "SSL": "SSL", "CONTROLLER": "PLAINTEXT", "CONTROLLER_SSL": "SSL"}
	for _, mode := range []string{kafka.ModeZooKeeper, kafka.ModeKRaft} {
		for stage, w := range stages {
			t.Run(mode+"/"+stage, func(t *testing.T) {
				g := authRun(mode, stage, 3).MustDo(t)
				set := kraftSet(t, g)
				env := brokerEnv(t, set)
				c := set.Spec.Template.Spec.Containers[0]

				var svc, headless corev1.Service
				g.Object(t, tokService, "kafka").Decode(t, &svc)
				g.Object(t, tokService, "kafka-headless").Decode(t, &headless)
				assert.Equal(t, w.service, portsOf(svc.Spec.Ports), "the Service serves the clients' listeners")

				pod0, pod2 := startBroker(t, c, 0), startBroker(t, c, 2)
				advertised := listenerSpec(t, pod2["KAFKA_ADVERTISED_LISTENERS"])
				bound := listenerSpec(t, env["KAFKA_LISTENERS"]+pod2["KAFKA_LISTENERS"])
				if mode == kafka.ModeKRaft {
					bound = listenerSpec(t, pod0["KAFKA_LISTENERS"])
					for name, addr := range listenerSpec(t, pod2["KAFKA_LISTENERS"]) {
						assert.Equal(t, bound[name], addr, "a broker-only pod binds what a voter binds")
					}
				}
				names := slices.Collect(func(yield func(string) bool) {
					for n := range advertised {
						if !yield(n) {
							return
						}
					}
				})
				assert.ElementsMatch(t, w.listeners, names, "advertised")
				declared := map[int32]bool{}
				for _, p := range c.Ports {
					declared[p.ContainerPort] = true
				}
				headlessPorts := map[int32]bool{}
				for _, p := range headless.Spec.Ports {
					headlessPorts[p.Port] = true
				}
				expected := slices.Clone(w.listeners)
				if mode == kafka.ModeKRaft {
					expected = append(expected, w.controllers...)
					assert.Equal(t, strings.Join(w.controllers, ","), env["KAFKA_CONTROLLER_LISTENER_NAMES"])
					assert.Contains(t, env["KAFKA_CONTROLLER_QUORUM_VOTERS"], fmt.Sprintf(":%d", ports[w.controllers[0]]),
						"the voters are reached on the controller listener in use")
				}
				assert.Len(t, bound, len(expected), "bound: %v", bound)
				for _, name := range expected {
					addr, ok := bound[name]
					require.True(t, ok, "%s is not bound: %v", name, bound)
					host, port, _ := strings.Cut(addr, ":")
					assert.True(t, host == "" || host == "0.0.0.0", "%s binds %s only", name, host)
					assert.Equal(t, fmt.Sprint(ports[name]), port, name)
					assert.True(t, declared[ports[name]], "the container declares %s's port", name)
					assert.True(t, headlessPorts[ports[name]], "the headless Service carries %s's port", name)
					if advertised[name] != "" {
						assert.Equal(t, fmt.Sprintf("%s:%d", kafka.BrokerHost("data", "kafka-2"), ports[name]), advertised[name])
					}
				}

				if stage == kafka.AuthOff {
					// The book's brokers: nothing but the PLAINTEXT listener,
					// unchanged for a stack that stays off.
					for _, v := range []string{"KAFKA_SSL_KEYSTORE_FILENAME", "KAFKA_AUTHORIZER_CLASS_NAME", "KAFKA_OPTS"} {
						assert.NotContains(t, env, v)
					}
					assert.Empty(t, g.Find(tokCert+" kafka-tls"))
					return
				}
				protocolMap := map[string]string{}
				for _, kv := range strings.Split(env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"], ",") {
					k, v, _ := strings.Cut(kv, ":")
					protocolMap[k] = v
				}
				for _, name := range expected {
					assert.Equal(t, protocols[name], protocolMap[name], "%s's protocol", name)
				}
				assert.Equal(t, w.interBroker, env["KAFKA_INTER_BROKER_LISTENER_NAME"])
				assert.Equal(t, "SCRAM-SHA-512", env["KAFKA_SASL_ENABLED_MECHANISMS"])
				assert.Equal(t, "required", env["KAFKA_SSL_CLIENT_AUTH"], "SSL listeners: mutual TLS")
				if stage != kafka.AuthOn {
					assert.NotContains(t, env, "KAFKA_AUTHORIZER_CLASS_NAME", "no authorizer before every client has moved")
					return
				}
				for _, name := range expected {
					assert.Contains(t, []string{"SASL_SSL", "SSL"}, protocolMap[name], "%s authenticates at on", name)
				}
				authorizer := map[string]string{kafka.ModeZooKeeper: "kafka.security.authorizer.AclAuthorizer",
					kafka.ModeKRaft: "org.apache.kafka.metadata.authorizer.StandardAuthorizer"}[mode]
				assert.Equal(t, authorizer, env["KAFKA_AUTHORIZER_CLASS_NAME"])
				assert.Equal(t, "User:kafka", env["KAFKA_SUPER_USERS"], "the brokers alone")
				assert.Equal(t, "false", env["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"])
				assert.Equal(t, `RULE:^CN=([^,]+)$/$1/,DEFAULT`, env["KAFKA_SSL_PRINCIPAL_MAPPING_RULES"],
					"the brokers' certificate (CN=kafka) is the user kafka")
			})
		}
	}
}

// wildcardCovers is the x509 rule: "*" stands for one whole leftmost label.
func wildcardCovers(names []string, host string) bool {
	for _, n := range names {
		if n == host {
			return true
		}
		if rest, ok := strings.CutPrefix(n, "*."); ok {
			if first, tail, ok := strings.Cut(host, "."); ok && first != "" && tail == rest {
				return true
			}
		}
	}
	return false
}

// TestKafkaCertificateNamesEveryAddress: the brokers' certificate, from the
// namespace's CA, covers every address a client or a broker uses with
// hostname verification on: the Service kafka in all its forms, every
// pod's advertised name (at the largest cluster allowed, by the wildcard,
// so a scale-out needs no new certificate), the voters' names; its common
// name is the brokers' principal. cert-manager writes the PKCS#12 stores
// with the password of the Secret the brokers mount.
func TestKafkaCertificateNamesEveryAddress(t *testing.T) {
	g := authRun(kafka.ModeKRaft, kafka.AuthDual, 32).MustDo(t)
	var cert certmanagerv1.Certificate
	certRes := g.Object(t, tokCert, "kafka-tls")
	certRes.Decode(t, &cert)
	assert.Equal(t, "data-ca", cert.Spec.IssuerRef.Name)
	assert.Contains(t, certRes.DependsOn, g.Object(t, tokIssuer, "data-ca").URN)
	assert.Equal(t, "kafka", cert.Spec.CommonName)
	assert.Contains(t, cert.Spec.Usages, "client auth", "brokers present it to each other")
	assert.Contains(t, cert.Spec.Usages, "server auth")
	for _, host := range []string{"kafka", "kafka.data", "kafka.data.svc", "kafka.data.svc.cluster.local", "kafka-headless.data.svc.cluster.local"} {
		assert.True(t, wildcardCovers(cert.Spec.DNSNames, host), "%s", host)
	}
	for i := range 32 {
		assert.True(t, wildcardCovers(cert.Spec.DNSNames, kafka.BrokerHost("data", fmt.Sprintf("kafka-%d", i))), "broker %d", i)
	}
	assert.False(t, wildcardCovers(cert.Spec.DNSNames, "mqtt.data.svc.cluster.local"), "the check refuses what is not named")
	assert.False(t, wildcardCovers(cert.Spec.DNSNames, "a.b.kafka-headless.data.svc.cluster.local"), "a wildcard is one label")
	require.NotNil(t, cert.Spec.Keystores)
	require.NotNil(t, cert.Spec.Keystores.PKCS12)
	assert.True(t, cert.Spec.Keystores.PKCS12.Create)
	assert.Equal(t, "kafka-keystore-password", cert.Spec.Keystores.PKCS12.PasswordSecretRef.Name)
}

// TestKafkaSecretsFollowConfigure: the variables both images' configure
// scripts insist on once KAFKA_ADVERTISED_LISTENERS holds "SSL://" and
// "SASL_" (confluentinc/kafka-images kafka/include/etc/confluent/docker/configure,
// apache/kafka docker/resources/common-scripts/configure: `ensure` of
// KAFKA_SSL_KEYSTORE_FILENAME, KAFKA_SSL_KEY_CREDENTIALS,
// KAFKA_SSL_KEYSTORE_CREDENTIALS, with ssl.client.auth required the trust
// store's two as well, and KAFKA_OPTS naming java.security.auth.login.config)
// are set, and every file they name is in /etc/kafka/secrets, where the
// scripts look: the stores from the certificate's Secret, the password
// from its Secret (a Pulumi secret, never in the pod spec), the JAAS file.
func TestKafkaSecretsFollowConfigure(t *testing.T) {
	for _, mode := range []string{kafka.ModeZooKeeper, kafka.ModeKRaft} {
		t.Run(mode, func(t *testing.T) {
			g := authRun(mode, kafka.AuthOn, 3).MustDo(t)
			set := kraftSet(t, g)
			env := brokerEnv(t, set)
			advertised := startBroker(t, set.Spec.Template.Spec.Containers[0], 1)["KAFKA_ADVERTISED_LISTENERS"]
			require.Contains(t, advertised, "SSL://", "configure reads the stores only then")
			require.Contains(t, advertised, "SASL_", "configure asks for KAFKA_OPTS only then")
			files := projectedFiles(t, set)
			for _, v := range []string{"KAFKA_SSL_KEYSTORE_FILENAME", "KAFKA_SSL_KEY_CREDENTIALS", "KAFKA_SSL_KEYSTORE_CREDENTIALS",
				"KAFKA_SSL_TRUSTSTORE_FILENAME", "KAFKA_SSL_TRUSTSTORE_CREDENTIALS"} {
				require.NotEmpty(t, env[v], v)
				assert.Contains(t, files, "/etc/kafka/secrets/"+env[v], "%s names a file configure finds", v)
			}
			jaas, ok := strings.CutPrefix(env["KAFKA_OPTS"], "-Djava.security.auth.login.config=")
			require.True(t, ok, env["KAFKA_OPTS"])
			assert.Equal(t, "secret kafka-tls/keystore.p12", files["/etc/kafka/secrets/keystore.p12"])
			assert.Equal(t, "secret kafka-keystore-password/password", files["/etc/kafka/secrets/keystore-password"])
			assert.Equal(t, "configmap kafka-jaas/kafka_server_jaas.conf", files[jaas])
			var cm corev1.ConfigMap
			g.Object(t, tokConfigMap, "kafka-jaas").Decode(t, &cm)
			assert.Contains(t, cm.Data["kafka_server_jaas.conf"], "KafkaServer {\n  org.apache.kafka.common.security.scram.ScramLoginModule required;\n};")

			pw := g.Object(t, tokSecret, "kafka-keystore-password")
			require.True(t, pw.Inputs["stringData"].IsSecret(), "the password is a Pulumi secret")
			var secret corev1.Secret
			pw.Decode(t, &secret)
			password := secret.StringData["password"]
			assert.GreaterOrEqual(t, len(password), 32)
			spec := fmt.Sprint(set.Spec)
			assert.NotContains(t, spec, password, "the password stays out of the pod spec")
		})
	}
}

// projectedFiles are the files of the broker's projected volumes, by path,
// as "secret|configmap <name>/<key>".
func projectedFiles(t *testing.T, set appsv1.StatefulSet) map[string]string {
	t.Helper()
	mounts := map[string]string{}
	for _, m := range set.Spec.Template.Spec.Containers[0].VolumeMounts {
		mounts[m.Name] = m.MountPath
	}
	out := map[string]string{}
	for _, v := range set.Spec.Template.Spec.Volumes {
		if v.Projected == nil {
			continue
		}
		assert.Equal(t, int32(0o440), *v.Projected.DefaultMode, "the broker's group reads the secrets, nobody else")
		for _, s := range v.Projected.Sources {
			switch {
			case s.Secret != nil:
				for _, it := range s.Secret.Items {
					out[path.Join(mounts[v.Name], it.Path)] = "secret " + s.Secret.Name + "/" + it.Key
				}
			case s.ConfigMap != nil:
				for _, it := range s.ConfigMap.Items {
					out[path.Join(mounts[v.Name], it.Path)] = "configmap " + s.ConfigMap.Name + "/" + it.Key
				}
			}
		}
	}
	return out
}

// TestKafkaAuthMovesOneStage: a running cluster moves one stage per
// update, forwards or back; a jump is refused before anything is
// registered, naming the stages allowed; a stack from before the key ran
// "off"; a new cluster, or one kafkaClusterReset rebuilds, starts at any
// stage; past "off" needs cert-manager, and "on" a stack without the
// exporter and the console, which read PLAINTEXT.
func TestKafkaAuthMovesOneStage(t *testing.T) {
	last := func(stage string) map[string]any {
		m := map[string]any{"kafkaMode": "zookeeper", "kafkaBootstrap": "kafka:9092"}
		if stage != "" {
			m["kafkaAuth"] = stage
		}
		return m
	}
	at := func(stage string, before map[string]any) Run {
		r := authRun(kafka.ModeZooKeeper, stage, 2)
		r.Last = before
		return r
	}
	for _, ok := range []Run{
		at("dual", last("")), at("dual", last("off")), at("internal", last("dual")), at("on", last("internal")),
		at("internal", last("on")), at("off", last("dual")), at("on", last("on")), at("on", nil),
	} {
		_, err := ok.Do(t)
		assert.NoError(t, err, "%v after %v", ok.Set["kafkaAuth"], ok.Last)
	}
	reset := at("on", last("off"))
	reset.Set["kafkaClusterReset"] = "true"
	_, err := reset.Do(t)
	assert.NoError(t, err, "a rebuilt cluster starts anywhere")

	tests := []badConfig{
		{"off to internal", at("internal", last("off")),
			[]string{`apk8s-platform:kafkaAuth = "internal" is not allowed: must be one of "dual", "off": the brokers run at "off"`}},
		{"a stack from before the key, to on", at("on", last("")),
			[]string{`apk8s-platform:kafkaAuth = "on" is not allowed`, `the brokers run at "off"`}},
		{"dual to on", at("on", last("dual")),
			[]string{`must be one of "dual", "internal", "off"`}},
		{"on back to dual", at("dual", last("on")),
			[]string{`must be one of "internal", "on"`}},
		{"without cert-manager", Run{Stack: "local", Set: map[string]string{"kafkaAuth": "dual"}},
			[]string{`apk8s-platform:kafkaAuth = "dual" is not allowed: must be "off" while certManager is "none"`}},
		{"on with the exporter and the console", Run{Stack: "dev3", Set: map[string]string{"kafkaAuth": "on"}},
			[]string{`apk8s-platform:kafkaAuth = "on" is not allowed: must be at most "internal" while monitoring is "install"`,
				`apk8s-platform:kafkaAuth = "on" is not allowed: must be at most "internal" while kafkaConsole is "install"`}},
		{"not a stage", Run{Stack: "dev3", Set: map[string]string{"kafkaAuth": "yes"}},
			[]string{`apk8s-platform:kafkaAuth = "yes" is not allowed: must be one of "dual", "internal", "off", "on"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := tt.refused(t)
			assert.Empty(t, g.All, "nothing is registered")
		})
	}
}
