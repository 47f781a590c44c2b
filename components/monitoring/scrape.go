package monitoring

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/apk8s/apk8s-platform/apis/monitoringv1"
	"github.com/apk8s/apk8s-platform/internal/workload"
	"github.com/apk8s/apk8s-platform/providers/kube"
)

// ExporterName names the Kafka exporter's Deployment, Service and
// ServiceMonitor.
const ExporterName = "kafka-exporter"

// ExporterMetrics is the exporter's Prometheus endpoint.
var ExporterMetrics = workload.Port{Name: "metrics", Port: 9308}

// ExporterLabels select the exporter.
var ExporterLabels = map[string]string{"app": ExporterName}

// ScrapeInterval is how often the data services are scraped.
const ScrapeInterval = "30s"

// ScrapeConfig is the validated shape of the data namespace's targets.
type ScrapeConfig struct {
	// ExporterImage is the Kafka exporter's image. The Confluent broker
	// image has no Prometheus endpoint; the exporter reads brokers, topics
	// and consumer-group lag through the Kafka protocol.
	ExporterImage string
	// Alerts are the thresholds of the data namespace's alert rules.
	Alerts AlertConfig
}

// Targets are the data services to scrape, as their own packages name
// them (the stack fills them in, so this package does not rebuild with
// theirs).
type Targets struct {
	// KafkaBootstrap is the brokers' address in the namespace ("kafka:9092").
	KafkaBootstrap string
	// ZooKeeperName names the PodMonitor; ZooKeeperLabels select the
	// ensemble's pods and ZooKeeperMetricsPort is their metrics port's name.
	// An empty name means no ensemble (Kafka in KRaft mode): no PodMonitor.
	ZooKeeperName        string
	ZooKeeperLabels      map[string]string
	ZooKeeperMetricsPort string
	// Pods are further pods scraped at a metrics port of their own (the
	// Kafka Connect workers).
	Pods []PodTarget

	// What the alerts compare against, as the stack configured it: no
	// exporter reports the sizes a cluster should have. Brokers is the
	// broker count, MinInSync the brokers' min.insync.replicas,
	// ZooKeeperMembers the ensemble's size (with ZooKeeperName set) and
	// Mosquitto the MQTT broker's Deployment.
	Brokers          int32
	MinInSync        int32
	ZooKeeperMembers int32
	Mosquitto        string
}

// PodTarget is a set of pods Prometheus scrapes through a PodMonitor.
type PodTarget struct {
	Name   string // of the PodMonitor
	Labels map[string]string
	Port   string // the container port's name
}

// ScrapeArgs are the inputs of the scrape component.
type ScrapeArgs struct {
	// Namespace is the data namespace.
	Namespace kube.Namespace
	// Kafka is the brokers' StatefulSet; the exporter starts once it is
	// ready.
	Kafka pulumi.Resource
	// CRDs is the release that brings the monitor CRDs, when this program
	// installs it; the monitors wait for it.
	CRDs pulumi.Resource
	// Scrapers may reach the exporter's metrics port (Prometheus).
	Scrapers []workload.Peer
	Targets  Targets
	Config   ScrapeConfig
}

// Scrape is the component that makes Prometheus scrape the data namespace:
// ZooKeeper's own Prometheus endpoint (container port "metrics") through a
// PodMonitor when there is an ensemble, and Kafka in either mode through
// the exporter, a client of the brokers, and a ServiceMonitor; and the
// alert rules and Grafana dashboards over what it scrapes.
type Scrape struct {
	pulumi.ResourceState

	Exporter         *kube.Resource
	ExporterAccount  *kube.Resource
	ExporterService  *kube.Resource
	ExporterPolicy   *kube.Resource
	KafkaMonitor     *kube.Resource
	ZooKeeperMonitor *kube.Resource
	PodMonitors      []*kube.Resource
	// Rules are the alerts of the data namespace (rules.go).
	Rules *kube.Resource
	// Dashboards are the ConfigMaps Grafana's sidecar loads
	// (dashboards.go).
	Dashboards []*kube.Resource
}

// NewScrape creates the exporter and the monitors.
func NewScrape(ctx *pulumi.Context, name string, args ScrapeArgs, opts ...pulumi.ResourceOption) (*Scrape, error) {
	s, c, err := kube.Register[Scrape](ctx, "apk8s:addons:DataScrape", name, args.Namespace, opts...)
	if err != nil {
		return nil, err
	}
	ns := args.Namespace.Name
	var afterCRDs []pulumi.ResourceOption
	if args.CRDs != nil {
		afterCRDs = append(afterCRDs, pulumi.DependsOn([]pulumi.Resource{args.CRDs}))
	}
	var afterKafka []pulumi.ResourceOption
	if args.Kafka != nil {
		afterKafka = append(afterKafka, pulumi.DependsOn([]pulumi.Resource{args.Kafka}))
	}
	s.ExporterAccount = c.Add(ExporterName, kube.Args{Object: exporterApp(ns).ServiceAccount()})
	s.ExporterService = c.Add(ExporterName, kube.Args{Object: ExporterService(ns)})
	s.Exporter = c.Add(ExporterName, kube.Args{Object: Exporter(ns, args.Targets.KafkaBootstrap, args.Config)},
		append(afterKafka, pulumi.DependsOn([]pulumi.Resource{s.ExporterAccount}))...)
	s.ExporterPolicy = c.Add(ExporterName, kube.Args{Object: exporterApp(ns).Policy(
		workload.Ingress{Ports: []workload.Port{ExporterMetrics}, From: args.Scrapers})})
	s.KafkaMonitor = c.Add(ExporterName, kube.Args{Object: KafkaMonitor(ns)}, afterCRDs...)
	if args.Targets.ZooKeeperName != "" {
		s.ZooKeeperMonitor = c.Add(args.Targets.ZooKeeperName, kube.Args{Object: ZooKeeperMonitor(ns, args.Targets)}, afterCRDs...)
	}
	for _, p := range args.Targets.Pods {
		s.PodMonitors = append(s.PodMonitors, c.Add(p.Name, kube.Args{Object: PodMonitor(ns, p)}, afterCRDs...))
	}
	s.Rules = c.Add(RulesName, kube.Args{Object: Rules(ns, args.Targets, args.Config.Alerts)}, afterCRDs...)
	for _, d := range Dashboards(ns, args.Targets.ZooKeeperName) {
		cm, err := DashboardConfigMap(ns, d)
		if err != nil {
			return nil, err
		}
		s.Dashboards = append(s.Dashboards, c.Add(cm.Name, kube.Args{Object: cm}))
	}
	if err := c.Err(); err != nil {
		return nil, err
	}
	return s, ctx.RegisterResourceOutputs(s, pulumi.Map{})
}

// exporterApp is the exporter's Deployment and what selects its pod.
func exporterApp(ns string) workload.App {
	return workload.App{Name: ExporterName, Namespace: ns, Labels: ExporterLabels, User: nobody}
}

// nobody is the exporter's user: the image is a static binary that runs
// as any uid.
const nobody = 65534

// Exporter is the Kafka exporter, a read-only client of the brokers at
// bootstrap.
func Exporter(ns, bootstrap string, c ScrapeConfig) *appsv1.Deployment {
	app := exporterApp(ns)
	spec := app.PodSpec(corev1.Container{
		Name:  ExporterName,
		Image: c.ExporterImage,
		Args: []string{
			"--kafka.server=" + bootstrap,
			fmt.Sprintf("--web.listen-address=:%d", ExporterMetrics.Port),
		},
		Ports: workload.ContainerPorts(ExporterMetrics),
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("32Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("128Mi")},
		},
		ReadinessProbe: tcpProbe(10),
		LivenessProbe:  tcpProbe(30),
	})
	return app.Deployment(spec, nil)
}

func tcpProbe(delay int32) *corev1.Probe {
	return &corev1.Probe{
		ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{
			Port: intstr.FromString(ExporterMetrics.Name),
		}},
		InitialDelaySeconds: delay, PeriodSeconds: 10, TimeoutSeconds: 5, FailureThreshold: 3,
	}
}

// ExporterService is what the ServiceMonitor selects.
func ExporterService(ns string) *corev1.Service {
	return exporterApp(ns).Service(ExporterMetrics)
}

// KafkaMonitor scrapes the exporter.
func KafkaMonitor(ns string) *monitoringv1.ServiceMonitor {
	return &monitoringv1.ServiceMonitor{
		TypeMeta:   metav1.TypeMeta{APIVersion: monitoringv1.APIVersion, Kind: "ServiceMonitor"},
		ObjectMeta: metav1.ObjectMeta{Name: ExporterName, Namespace: ns, Labels: ExporterLabels},
		Spec: monitoringv1.ServiceMonitorSpec{
			Selector:  metav1.LabelSelector{MatchLabels: ExporterLabels},
			Endpoints: []monitoringv1.Endpoint{{Port: ExporterMetrics.Name, Interval: ScrapeInterval}},
		},
	}
}

// ZooKeeperMonitor scrapes every ensemble member's metrics port.
func ZooKeeperMonitor(ns string, t Targets) *monitoringv1.PodMonitor {
	return PodMonitor(ns, PodTarget{Name: t.ZooKeeperName, Labels: t.ZooKeeperLabels, Port: t.ZooKeeperMetricsPort})
}

// PodMonitor scrapes the target's pods at their metrics port.
func PodMonitor(ns string, t PodTarget) *monitoringv1.PodMonitor {
	return &monitoringv1.PodMonitor{
		TypeMeta:   metav1.TypeMeta{APIVersion: monitoringv1.APIVersion, Kind: "PodMonitor"},
		ObjectMeta: metav1.ObjectMeta{Name: t.Name, Namespace: ns, Labels: t.Labels},
		Spec: monitoringv1.PodMonitorSpec{
			Selector:            metav1.LabelSelector{MatchLabels: t.Labels},
			PodMetricsEndpoints: []monitoringv1.PodMetricsEndpoint{{Port: t.Port, Interval: ScrapeInterval}},
		},
	}
}
