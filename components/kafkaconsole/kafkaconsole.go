// Package kafkaconsole is the web console for Kafka the book's chapter
// recommends (it names Yahoo's Kafka Manager, archived since): Kafbat UI,
// Apache-licensed and maintained, read-only, as the Deployment, Service and
// NetworkPolicy "kafka-console" in the data namespace and the Ingress
// "kafka-console" at kafka.data.<domain> behind the sysop basic auth.
package kafkaconsole

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/apk8s/apk8s-platform/components/datanamespace"
	"github.com/apk8s/apk8s-platform/internal/workload"
	"github.com/apk8s/apk8s-platform/providers/kube"
)

// Name names the Deployment, Service, NetworkPolicy and Ingress.
const Name = "kafka-console"

// HTTP is the console's port (Kafbat UI's SERVER_PORT).
var HTTP = workload.Port{Name: "http", Port: 8080}

// Labels select the console's pod.
var Labels = map[string]string{"app": Name}

// nobody runs the console: the image's jar is readable by any user.
const nobody = 65534

// Host is the console's name under the cluster's domain; the data
// certificate covers it when the console is on.
func Host(domain string) string { return "kafka." + datanamespace.Name + "." + domain }

// Config is the validated shape of the console.
type Config struct {
	Image string
	// Domain is the cluster's DNS domain.
	Domain string
	// Certificate: data-cert exists and its Secret carries the host.
	Certificate bool
}

// Args are the inputs of the component.
type Args struct {
	Namespace kube.Namespace
	// Bootstrap is the brokers' address in the namespace ("kafka:9092").
	Bootstrap string
	// IngressClass is the class of the stack's controller, BasicAuth the
	// form it reads sysop-basic-auth in.
	IngressClass string
	BasicAuth    datanamespace.BasicAuthForm
	// Ingress is where the controller runs: a namespace, or every one for
	// a controller of the cluster's own.
	Ingress workload.Peer
	// After are what the Ingress waits for: the basic-auth Middleware, when
	// the controller reads one.
	After  []pulumi.Resource
	Config Config
}

// Console is the component.
type Console struct {
	pulumi.ResourceState

	Account    *kube.Resource
	Deployment *kube.Resource
	Service    *kube.Resource
	Policy     *kube.Resource
	Ingress    *kube.Resource

	// URL is where the console answers.
	URL pulumi.StringOutput `pulumi:"url"`
}

// New creates the console.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*Console, error) {
	k, c, err := kube.Register[Console](ctx, "apk8s:data:KafkaConsole", name, args.Namespace, opts...)
	if err != nil {
		return nil, err
	}
	ns := args.Namespace.Name
	k.Account = c.Add(Name, kube.Args{Object: app(ns).ServiceAccount()})
	k.Deployment = c.Add(Name, kube.Args{Object: Deployment(ns, args.Bootstrap, args.Config.Image)},
		pulumi.DependsOn([]pulumi.Resource{k.Account}))
	k.Service = c.Add(Name, kube.Args{Object: app(ns).Service(HTTP)})
	k.Policy = c.Add(Name, kube.Args{Object: app(ns).Policy(workload.Ingress{Ports: []workload.Port{HTTP}, From: []workload.Peer{args.Ingress}})})
	var after []pulumi.ResourceOption
	if len(args.After) > 0 {
		after = append(after, pulumi.DependsOn(args.After))
	}
	k.Ingress = c.Add(Name, kube.Args{Object: Ingress(ns, args)}, after...)
	if err := c.Err(); err != nil {
		return nil, err
	}
	k.URL = pulumi.String("https://" + Host(args.Config.Domain) + "/").ToStringOutput()
	return k, ctx.RegisterResourceOutputs(k, pulumi.Map{"url": k.URL})
}

func app(ns string) workload.App {
	return workload.App{Name: Name, Namespace: ns, Labels: Labels, User: nobody}
}

// Deployment is Kafbat UI pointed at the brokers, read-only (no topic
// created, no message produced, no offset reset) and without its own
// login: the ingress's basic auth guards it. Its runtime configuration
// editor is off, so the environment here is all there is.
func Deployment(ns, bootstrap, image string) *appsv1.Deployment {
	container := corev1.Container{
		Name:  Name,
		Image: image,
		Env: []corev1.EnvVar{
			{Name: "KAFKA_CLUSTERS_0_NAME", Value: ns},
			{Name: "KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS", Value: bootstrap},
			{Name: "KAFKA_CLUSTERS_0_READONLY", Value: "true"},
			{Name: "DYNAMIC_CONFIG_ENABLED", Value: "false"},
			{Name: "AUTH_TYPE", Value: "DISABLED"},
			{Name: "SERVER_PORT", Value: fmt.Sprint(HTTP.Port)},
			// The heap follows the container's limit.
			{Name: "JAVA_OPTS", Value: "-XX:MaxRAMPercentage=70 -Djava.io.tmpdir=/tmp"},
		},
		Ports: workload.ContainerPorts(HTTP),
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m"), corev1.ResourceMemory: resource.MustParse("512Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("512Mi")},
		},
		ReadinessProbe: health(20),
		LivenessProbe:  health(60),
	}
	spec := app(ns).PodSpec(container)
	// The JVM and Spring Boot write temporary files; the root stays read-only.
	workload.Scratch(&spec, &spec.Containers[0], "tmp", "/tmp")
	return app(ns).Deployment(spec, nil)
}

func health(delay int32) *corev1.Probe {
	return &corev1.Probe{
		ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
			Path: "/actuator/health", Port: intstr.FromString(HTTP.Name),
		}},
		InitialDelaySeconds: delay, PeriodSeconds: 10, TimeoutSeconds: 5, FailureThreshold: 6,
	}
}

// Ingress publishes the console at Host over HTTPS with the data
// certificate, behind sysop-basic-auth in the form the class's controller
// reads.
func Ingress(ns string, args Args) *networkingv1.Ingress {
	host := Host(args.Config.Domain)
	annotations := map[string]string{}
	if args.BasicAuth.Middleware {
		annotations["traefik.ingress.kubernetes.io/router.middlewares"] = fmt.Sprintf("%s-%s@kubernetescrd", ns, datanamespace.BasicAuthName)
	} else {
		annotations["nginx.ingress.kubernetes.io/auth-type"] = "basic"
		annotations["nginx.ingress.kubernetes.io/auth-secret"] = datanamespace.BasicAuthName
		annotations["nginx.ingress.kubernetes.io/auth-realm"] = "Authentication Required - sysop"
	}
	pathType := networkingv1.PathTypePrefix
	ing := &networkingv1.Ingress{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "Ingress"},
		ObjectMeta: metav1.ObjectMeta{Name: Name, Namespace: ns, Labels: Labels, Annotations: annotations},
		Spec: networkingv1.IngressSpec{
			IngressClassName: &args.IngressClass,
			Rules: []networkingv1.IngressRule{{
				Host: host,
				IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
					Paths: []networkingv1.HTTPIngressPath{{
						Path: "/", PathType: &pathType,
						Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
							Name: Name, Port: networkingv1.ServiceBackendPort{Name: HTTP.Name},
						}},
					}},
				}},
			}},
		},
	}
	if args.Config.Certificate {
		ing.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{host}, SecretName: datanamespace.TLSSecretName}}
	}
	return ing
}
