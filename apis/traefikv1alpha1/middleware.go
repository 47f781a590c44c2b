// Package traefikv1alpha1 holds the traefik.io/v1alpha1 objects this program
// creates, as Go structs with the fields it sets (the CRDs, shipped in the
// Traefik chart's crds/ directory, have many more).
package traefikv1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// APIVersion of every object here.
const APIVersion = "traefik.io/v1alpha1"

// Middleware is a step Traefik runs on a request before it reaches the
// service; an Ingress names it in the annotation RouterMiddlewares.
type Middleware struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              MiddlewareSpec `json:"spec"`
}

// MiddlewareSpec holds one kind of middleware; this program uses basic auth.
type MiddlewareSpec struct {
	BasicAuth *BasicAuth `json:"basicAuth,omitempty"`
}

// BasicAuth lets through the users listed in a Secret of the middleware's
// namespace: key "users", htpasswd lines (bcrypt, MD5 or SHA1 hashes).
type BasicAuth struct {
	// Secret names the Secret.
	Secret string `json:"secret"`
	// Realm is the realm the browser shows (Traefik's default: "traefik").
	Realm string `json:"realm,omitempty"`
	// RemoveHeader drops the Authorization header before the request is
	// forwarded, so the backend never sees the credentials.
	RemoveHeader bool `json:"removeHeader,omitempty"`
}

// RouterMiddlewares is the Ingress annotation that puts middlewares in front
// of the Ingress's routes, as "<namespace>-<name>@kubernetescrd", comma-separated.
const RouterMiddlewares = "traefik.ingress.kubernetes.io/router.middlewares"

// Ref is how an Ingress annotation names the middleware name in namespace.
func Ref(namespace, name string) string {
	return namespace + "-" + name + "@kubernetescrd"
}
