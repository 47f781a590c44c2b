package kafka

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/apk8s/apk8s-platform/apis/certmanagerv1"
	"github.com/apk8s/apk8s-platform/components/dataca"
	"github.com/apk8s/apk8s-platform/internal/workload"
)

// brokerCertificate is the certificate every broker presents, to clients
// and (mutual TLS) to each other, with cert-manager's PKCS#12 key and
// trust stores beside the PEM files: both images' configure scripts read
// stores and their passwords from files, and Java reads PKCS#12 natively.
func brokerCertificate(ns string) *certmanagerv1.Certificate {
	c := dataca.Certificate(ns, CertificateName, TLSSecretName, BrokerPrincipal, BrokerHosts(ns))
	c.Spec.Keystores = &certmanagerv1.CertificateKeystores{PKCS12: &certmanagerv1.PKCS12Keystore{
		Create:            true,
		PasswordSecretRef: certmanagerv1.SecretKeySelector{Name: KeystorePassword, Key: passwordKey},
		Profile:           "Modern2023",
	}}
	return c
}

// keystorePassword is the Secret of the stores' password, without its
// data (a Pulumi secret drawn on the first run, kept after it).
func keystorePassword(ns string) *corev1.Secret {
	return &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: brokerApp(ns).Meta(KeystorePassword),
		Type:       corev1.SecretTypeOpaque,
	}
}

// jaasMap holds the brokers' JAAS file, which names no secret.
func jaasMap(ns string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: brokerApp(ns).Meta(JAASName),
		Data:       map[string]string{JAASFile: JAAS},
	}
}

// newPassword draws 24 random bytes, base64url: no character a
// properties file or a shell would read specially.
func newPassword() string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// mountSecrets gives the broker SecretsDir as the configure scripts want
// it: the stores from the certificate's Secret, their password and the
// JAAS file, readable by the broker's group (fsGroup) only. A renewed
// certificate reaches the files; the broker reads them at start (a roll,
// or `kafka-configs --alter` of the listener's ssl.keystore.location,
// docs/data-services.md).
func mountSecrets(spec *corev1.PodSpec, broker *corev1.Container) {
	spec.Volumes = append(spec.Volumes, corev1.Volume{Name: "kafka-secrets", VolumeSource: corev1.VolumeSource{
		Projected: &corev1.ProjectedVolumeSource{
			DefaultMode: ptr.To(int32(0o440)),
			Sources: []corev1.VolumeProjection{
				{Secret: &corev1.SecretProjection{
					LocalObjectReference: corev1.LocalObjectReference{Name: TLSSecretName},
					Items:                []corev1.KeyToPath{{Key: KeystoreFile, Path: KeystoreFile}, {Key: TruststoreFile, Path: TruststoreFile}},
				}},
				{Secret: &corev1.SecretProjection{
					LocalObjectReference: corev1.LocalObjectReference{Name: KeystorePassword},
					Items:                []corev1.KeyToPath{{Key: passwordKey, Path: PasswordFile}},
				}},
				{ConfigMap: &corev1.ConfigMapProjection{
					LocalObjectReference: corev1.LocalObjectReference{Name: JAASName},
					Items:                []corev1.KeyToPath{{Key: JAASFile, Path: JAASFile}},
				}},
			},
		},
	}})
	broker.VolumeMounts = append(broker.VolumeMounts, corev1.VolumeMount{Name: "kafka-secrets", MountPath: SecretsDir, ReadOnly: true})
}

// JAASHashAnnotation on the brokers' pod template changes with the JAAS
// file, so that a new one rolls them.
const JAASHashAnnotation = "apk8s.dev/config-sha256"

// withJAASHash marks set's pods with the JAAS file's hash when they mount it.
func withJAASHash(set workload.Set, l Listeners) workload.Set {
	if l.TLS() {
		sum := sha256.Sum256([]byte(JAAS))
		set.Annotations = map[string]string{JAASHashAnnotation: hex.EncodeToString(sum[:])}
	}
	return set
}
