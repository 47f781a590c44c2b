package stacks

import (
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/apk8s/apk8s-platform/components/certmanager"
	"github.com/apk8s/apk8s-platform/components/cluster"
	"github.com/apk8s/apk8s-platform/components/datanamespace"
	"github.com/apk8s/apk8s-platform/components/ingressnginx"
	"github.com/apk8s/apk8s-platform/components/kafka"
	"github.com/apk8s/apk8s-platform/components/kafkaconnect"
	"github.com/apk8s/apk8s-platform/components/kafkaconsole"
	"github.com/apk8s/apk8s-platform/components/metadataguard"
	"github.com/apk8s/apk8s-platform/components/monitoring"
	"github.com/apk8s/apk8s-platform/components/mosquitto"
	"github.com/apk8s/apk8s-platform/components/rookceph"
	"github.com/apk8s/apk8s-platform/components/traefik"
	"github.com/apk8s/apk8s-platform/components/zookeeper"
	"github.com/apk8s/apk8s-platform/providers/kube"
)

// What a stack does about an add-on (certManager, rookCeph, monitoring):
// install it, rely on the cluster's own, or do without. Whatever needs an
// add-on that is "none" fails validation.
const (
	AddonInstall  = "install"
	AddonExisting = "existing"
	AddonNone     = "none"
)

// The ingressController values that install a controller, each named after
// its chart; "existing" and "none" mean what they mean for the other
// add-ons. Traefik is the default: ingress-nginx is retired upstream.
const (
	Traefik      = "traefik"
	IngressNginx = "ingress-nginx"
)

// ingressControllers are the allowed ingressController values.
var ingressControllers = []string{Traefik, IngressNginx, AddonExisting, AddonNone}

// classOf is the IngressClass each controller serves; with
// ingressController "existing" the stack names one of these classes.
var classOf = map[string]string{
	Traefik:      traefik.ClassName,
	IngressNginx: ingressnginx.ClassName,
}

// basicAuthOf is the form of sysop-basic-auth that each class's controller
// reads.
var basicAuthOf = map[string]datanamespace.BasicAuthForm{
	traefik.ClassName:      datanamespace.TraefikBasicAuth,
	ingressnginx.ClassName: datanamespace.NginxBasicAuth,
}

// addonKeys configure the cluster add-ons; the defaults are the book's set,
// with a maintained ingress controller in place of the retired one.
var addonKeys = []Key{
	def("ingressController", "string", Traefik, `Ingress controller: "traefik" installs Traefik (IngressClass "traefik", the default class), "ingress-nginx" the book's controller (class "nginx"; retired upstream in March 2026, pinned to its final release), "existing" relies on the cluster's own (name its class in ingressClass), "none" has none.`),
	def("ingressClass", "string", "", `IngressClass of the cluster's own controller, with ingressController "existing": "traefik" (Traefik, such as k3s's bundled one) or "nginx" (ingress-nginx). It picks the HTTP-01 solvers' class and the form of Secret sysop-basic-auth. Leave it "" otherwise: an installed controller brings its class.`),
	def("traefikChartVersion", "string", "41.3.0", "Version of the traefik chart (https://traefik.github.io/charts), 40.0.0 or later."),
	def("ingressNginxChartVersion", "string", "4.15.1", "Version of the ingress-nginx chart (https://kubernetes.github.io/ingress-nginx); 4.15.1 is the final release."),
	def("certManager", "string", AddonInstall, `cert-manager: "install" installs the chart with its CRDs and the ClusterIssuers letsencrypt-production and letsencrypt-staging, "existing" relies on the cluster's own (with the ClusterIssuer certificateIssuer names), "none" has none.`),
	def("certManagerChartVersion", "string", "v1.21.2", "Version of the cert-manager chart (https://charts.jetstack.io), v1.12.0 or later."),
	def("acmeEmail", "string", "", `Contact e-mail of the Let's Encrypt account; required with certManager "install".`),
	def("rookCeph", "string", AddonInstall, `Rook-Ceph: "install" installs the operator, a CephCluster over the workers' raw volumes, the pool replicapool and the StorageClass rook-ceph-block; "existing" relies on the cluster's own rook-ceph-block; "none" has none.`),
	def("rookCephChartVersion", "string", "v1.20.7", "Version of the rook-ceph chart (https://charts.rook.io/release), Rook's operator, v1.20.0 or later."),
	def("cephCsiDriversChartVersion", "string", "1.0.4", "Version of the ceph-csi-drivers chart (https://ceph.github.io/ceph-csi-operator); the ceph-csi-operator version the rook-ceph chart bundles."),
	def("cephImage", "string", "quay.io/ceph/ceph:v20.2.4", "Ceph image of the CephCluster's daemons."),
	def("cephDeviceFilter", "string", "^sd[a-z]$", "Regular expression over device names (without /dev/) that picks each storage node's raw volume: on Scaleway the Block Storage volume is a SCSI disk (sd*) beside the virtio root disk (vda); Rook skips disks with partitions or a filesystem."),
	def("cephNodes", "string", "", `Storage nodes, comma-separated node names ("" = the Scaleway cluster's workers; required with cluster "existing").`),
	def("cephPoolReplicas", "integer", "3", "Replicas of the pool replicapool, one per node, 1 to 3 and at most the storage nodes."),
	def("monitoring", "string", AddonInstall, `Monitoring: "install" installs kube-prometheus-stack and scrapes Kafka and ZooKeeper, "existing" only adds the scrape targets (the cluster runs the Prometheus Operator), "none" has neither.`),
	def("kubePrometheusStackChartVersion", "string", "92.1.0", "Version of the kube-prometheus-stack chart (https://prometheus-community.github.io/helm-charts)."),
	def("prometheusRetention", "string", "7d", `How long Prometheus keeps samples, a Prometheus duration such as "7d" or "36h".`),
	def("kafkaExporterImage", "string", "danielqsj/kafka-exporter:v1.9.0", "Image of the Kafka exporter that Prometheus scrapes for broker, topic and consumer-group metrics."),
	def("kafkaConsole", "string", AddonInstall, `Kafka web console (Kafbat UI, read-only): "install" serves it at kafka.data.<domain> through the ingress controller behind the sysop basic auth (needs an ingress controller), "none" has none (docs/kafka-console.md).`),
	def("kafkaConsoleImage", "string", "ghcr.io/kafbat/kafka-ui:v1.5.0", "Image of the Kafka web console (Kafbat UI, Apache License 2.0)."),
	def("alertConsumerLag", "integer", "10000", `Consumer-group lag, in messages per topic, above which a lag that keeps growing for 15 minutes raises KafkaConsumerGroupLag, 1 to 2000000000 (docs/alerts.md).`),
	def("alertVolumeUsedPercent", "integer", "80", "How full, in percent, a claim of the data namespace may get before DataVolumeFilling fires, 50 to 99 (docs/alerts.md)."),
	def("alertZooKeeperOutstandingRequests", "integer", "10", "Requests a ZooKeeper member may queue for 5 minutes before ZooKeeperOutstandingRequests fires, 1 to 100000 (docs/alerts.md)."),
}

// AddonsConfig is the validated shape of the add-ons.
type AddonsConfig struct {
	IngressController string // Traefik, IngressNginx, AddonExisting or AddonNone
	CertManager       string // AddonInstall, AddonExisting or AddonNone
	RookCeph          string
	Monitoring        string

	// IngressClass is the class the ingress controller serves ("" with none).
	IngressClass string

	Traefik      traefik.Config          // with ingressController "traefik"
	IngressNginx ingressnginx.Config     // with ingressController "ingress-nginx"
	Certs        certmanager.Config      // with certManager "install"
	Storage      rookceph.Config         // with rookCeph "install"
	Metrics      monitoring.Config       // with monitoring "install"
	Scrape       monitoring.ScrapeConfig // with monitoring "install" or "existing"
}

var addonModes = []string{AddonInstall, AddonExisting, AddonNone}

// forRendering treats the add-ons to install as present: a Helm release
// needs its chart repository and a cluster, so a rendering stack writes only
// its own objects, and says so.
func (a *AddonsConfig) forRendering(c *Config) {
	var charts []string
	for _, addon := range []struct {
		mode  *string
		chart string
	}{
		{&a.IngressController, a.IngressController}, // each controller value is its chart's name
		{&a.CertManager, "cert-manager"},
		{&a.RookCeph, "rook-ceph"},
		{&a.Monitoring, "kube-prometheus-stack"},
	} {
		if _, controller := classOf[*addon.mode]; *addon.mode == AddonInstall || controller {
			charts = append(charts, addon.chart)
			*addon.mode = AddonExisting
		}
	}
	if len(charts) > 0 {
		c.Warnings = append(c.Warnings, fmt.Sprintf(
			"%s:renderYamlToDirectory is set: the charts %s are not rendered (render them with helm template); the objects of this program are",
			Project, strings.Join(charts, ", ")))
	}
}

// loadAddons reads the add-on keys; c holds the data layer's config, for the
// checks that span both (a claim's class that only an add-on provides).
func loadAddons(r *reader, c *Config) AddonsConfig {
	a := AddonsConfig{
		IngressController: r.oneOf("ingressController", ingressControllers...),
		CertManager:       r.oneOf("certManager", addonModes...),
		RookCeph:          r.oneOf("rookCeph", addonModes...),
		Monitoring:        r.oneOf("monitoring", addonModes...),
	}
	a.IngressClass = loadIngressClass(r, a.IngressController)
	c.Console = loadConsole(r, c, a.IngressController)
	if c.RenderYamlToDirectory != "" {
		a.forRendering(c) // the class stays the one of the controller rendered as "existing"
	}

	if a.IngressController == Traefik {
		a.Traefik = traefik.Config{ChartVersion: r.chartVersion("traefikChartVersion", traefik.MinChartVersion)}
	}
	if a.IngressController == IngressNginx && c.Cluster == ClusterKapsule {
		r.fail("ingressController", a.IngressController, fmt.Sprintf(`one of %q, "existing" or "none" while cluster is "kapsule": `+
			`the retired controller binds the nodes' host ports, which Kapsule's nodes do not open; Traefik goes behind a Scaleway load balancer`, Traefik))
	}
	if a.IngressController == IngressNginx {
		a.IngressNginx = ingressnginx.Config{ChartVersion: r.chartVersion("ingressNginxChartVersion", "")}
		c.Warnings = append(c.Warnings, fmt.Sprintf(
			"%s:ingressController = %q: the Kubernetes project retired ingress-nginx in March 2026; chart %s is its final release and gets no security fixes",
			Project, IngressNginx, a.IngressNginx.ChartVersion))
	}

	if a.CertManager == AddonInstall {
		a.Certs = certmanager.Config{
			ChartVersion: r.chartVersion("certManagerChartVersion", certmanager.MinChartVersion),
			Email:        r.email("acmeEmail"),
			IngressClass: a.IngressClass,
		}
		if a.IngressController == AddonNone {
			r.fail("certManager", a.CertManager, `"existing" or "none" while ingressController is "none": its ClusterIssuers answer HTTP-01 challenges `+
				`through an ingress controller (set ingressController to "traefik", or to "existing" with the cluster's class in ingressClass)`)
		}
	}
	if c.Certificate && a.CertManager == AddonNone {
		r.fail("certificate", "true", `false while certManager is "none": nothing in the cluster would serve the Certificate data-cert `+
			`(set certManager to "install", or to "existing" if the cluster runs cert-manager with the ClusterIssuer certificateIssuer names)`)
	}

	if a.RookCeph == AddonInstall {
		a.Storage = loadRook(r, c)
		a.Storage.Monitored = a.Monitoring != AddonNone
		if c.Kafka.StorageClass != rookceph.StorageClassName {
			c.Warnings = append(c.Warnings, fmt.Sprintf(
				"%s:rookCeph = %q but storageClass = %q: Ceph is installed and the ZooKeeper and Kafka claims do not use it",
				Project, AddonInstall, c.Kafka.StorageClass))
		}
	}
	if c.Kafka.StorageClass == rookceph.StorageClassName && a.RookCeph == AddonNone {
		r.fail("storageClass", c.Kafka.StorageClass, `a class the cluster has while rookCeph is "none": `+
			`set storageClass to "" (the cluster's default class) or another class, rookCeph to "install", `+
			`or rookCeph to "existing" if the cluster has its own rook-ceph-block`)
	}

	if a.Monitoring == AddonInstall {
		a.Metrics = monitoring.Config{
			ChartVersion: r.chartVersion("kubePrometheusStackChartVersion", ""),
			Retention:    r.duration("prometheusRetention"),
		}
	}
	if a.Monitoring != AddonNone {
		a.Scrape = monitoring.ScrapeConfig{
			ExporterImage: r.image("kafkaExporterImage"),
			Alerts: monitoring.AlertConfig{
				ConsumerLag:          r.integer("alertConsumerLag", 1, 2_000_000_000),
				VolumeUsedPercent:    r.integer("alertVolumeUsedPercent", 50, 99),
				ZooKeeperOutstanding: r.integer("alertZooKeeperOutstandingRequests", 1, 100_000),
			},
		}
	}
	return a
}

// loadConsole reads the console's keys: it is reached only through an
// ingress, so it needs a controller.
func loadConsole(r *reader, c *Config, controller string) *kafkaconsole.Config {
	if r.oneOf("kafkaConsole", AddonInstall, AddonNone) != AddonInstall {
		return nil
	}
	if controller == AddonNone {
		r.fail("kafkaConsole", AddonInstall, `"none" while ingressController is "none": the console is served only through an ingress `+
			`(set ingressController, or kafkaConsole to "none")`)
	}
	return &kafkaconsole.Config{Image: r.image("kafkaConsoleImage"), Domain: c.Domain, Certificate: c.Certificate}
}

// loadIngressClass reads ingressClass: the installed controller's class, or
// the class of the cluster's own controller, which only the stack knows.
func loadIngressClass(r *reader, controller string) string {
	v := r.str("ingressClass")
	classes := []string{traefik.ClassName, ingressnginx.ClassName}
	switch own, installed := classOf[controller]; {
	case installed && (v == "" || v == own):
		return own
	case installed:
		r.fail("ingressClass", v, fmt.Sprintf(`"" or %q while ingressController is %q: the class is the installed controller's`, own, controller))
	case controller == AddonExisting && !slices.Contains(classes, v):
		r.fail("ingressClass", v, fmt.Sprintf(`one of %s while ingressController is "existing": the class of the cluster's controller `+
			`("traefik" for Traefik, such as k3s's own; "nginx" for ingress-nginx), which decides the HTTP-01 solvers' class and the form of Secret %s`,
			quoteAll(classes), datanamespace.BasicAuthName))
	case controller == AddonNone && v != "":
		r.fail("ingressClass", v, `"" while ingressController is "none": no controller serves a class`)
	}
	return v
}

// BasicAuth is the form of sysop-basic-auth the stack's controller reads;
// without a controller, the book's.
func (a *AddonsConfig) BasicAuth() datanamespace.BasicAuthForm {
	if form, ok := basicAuthOf[a.IngressClass]; ok {
		return form
	}
	return datanamespace.NginxBasicAuth
}

// loadRook reads the Ceph keys and sizes the cluster for its storage nodes.
func loadRook(r *reader, c *Config) rookceph.Config {
	rc := rookceph.Config{
		ChartVersion:        r.chartVersion("rookCephChartVersion", rookceph.MinChartVersion),
		DriversChartVersion: r.chartVersion("cephCsiDriversChartVersion", ""),
		CephImage:           r.image("cephImage"),
		DeviceFilter:        r.str("cephDeviceFilter"),
		Nodes:               r.nodes("cephNodes"),
		PoolReplicas:        r.integer("cephPoolReplicas", 1, 3),
	}
	if _, err := regexp.Compile(rc.DeviceFilter); err != nil || rc.DeviceFilter == "" {
		r.fail("cephDeviceFilter", rc.DeviceFilter, `a regular expression over device names without "/dev/", such as "^sd[a-z]$"`)
	}
	if len(rc.Nodes) == 0 {
		if c.Cluster == ClusterScaleway {
			rc.Nodes = scalewayWorkers(c)
		} else {
			r.fail("cephNodes", "", fmt.Sprintf(`the storage nodes' names, comma-separated, while cluster is %q: `+
				`only the k3s cluster on Scaleway knows its own workers and their raw volumes`, c.Cluster))
		}
	}
	if n := int32(len(rc.Nodes)); n > 0 && rc.PoolReplicas > n {
		r.fail("cephPoolReplicas", fmt.Sprint(rc.PoolReplicas), fmt.Sprintf(
			"at most the %d storage node(s): the pool's failure domain is host, one replica per node", n))
	}
	return rc
}

// scalewayWorkers are the node names of the Scaleway cluster's workers, each
// with one raw Block Storage volume for Ceph (the control plane has none).
func scalewayWorkers(c *Config) []string {
	names := make([]string, c.Scaleway.Cluster.Workers)
	for i := range names {
		names[i] = cluster.WorkerName(ResourcePrefix(c.Stack), i+1)
	}
	return names
}

// chartVersion reads a chart version, at least min when min is set.
func (r *reader) chartVersion(name, min string) string {
	v := r.str(name)
	if _, err := kube.ChartVersion(v); err != nil {
		r.fail(name, v, `a chart version such as "1.2.3" or "v1.2.3"`)
		return v
	}
	if min != "" && !kube.ChartVersionAtLeast(v, min) {
		r.fail(name, v, fmt.Sprintf("%s or later", min))
	}
	return v
}

// email reads a plain e-mail address; Let's Encrypt refuses the example
// domains.
func (r *reader) email(name string) string {
	v := r.str(name)
	addr, err := mail.ParseAddress(v)
	ok := err == nil && addr.Address == v
	if ok {
		domain := strings.ToLower(v[strings.LastIndex(v, "@")+1:])
		ok = strings.Contains(domain, ".") && len(validation.IsDNS1123Subdomain(domain)) == 0 &&
			!slices.Contains([]string{"example.com", "example.org", "example.net"}, domain)
	}
	if !ok {
		r.fail(name, v, "the e-mail address of the Let's Encrypt account, such as sysop@apk8s.dev")
	}
	return v
}

// promDuration is a Prometheus duration: units from milliseconds to years.
var promDuration = regexp.MustCompile(`^([0-9]+(ms|s|m|h|d|w|y))+$`)

func (r *reader) duration(name string) string {
	v := r.str(name)
	if !promDuration.MatchString(v) || strings.Trim(v, "0msdhwy") == "" {
		r.fail(name, v, `a positive Prometheus duration such as "7d" or "36h"`)
	}
	return v
}

// nodes reads a comma-separated list of node names.
func (r *reader) nodes(name string) []string {
	v := r.str(name)
	if v == "" {
		return nil
	}
	var out []string
	for _, n := range strings.Split(v, ",") {
		n = strings.TrimSpace(n)
		if len(validation.IsDNS1123Subdomain(n)) > 0 || slices.Contains(out, n) {
			r.fail(name, v, `distinct node names separated by commas, such as "worker-1,worker-2,worker-3"`)
			return nil
		}
		out = append(out, n)
	}
	return out
}

// AddonOutputs are what the data layer waits for.
type AddonOutputs struct {
	// IngressNamespace is the namespace of the ingress controller, when
	// installed here: network policies let it reach the services it fronts.
	IngressNamespace string
	// IngressCRDs is the release that brings the traefik.io CRDs, when
	// Traefik is installed here.
	IngressCRDs pulumi.Resource
	// Issuer is the ClusterIssuer the certificate names, when created here.
	Issuer pulumi.Resource
	// StorageClass is the class of the claims, when created here.
	StorageClass pulumi.Resource
	// MonitorCRDs is the release that brings the ServiceMonitor and
	// PodMonitor CRDs, when installed here.
	MonitorCRDs pulumi.Resource
}

// storage lists the StorageClass, if any, for DependsOn.
func (a *AddonOutputs) storage() []pulumi.Resource {
	if a.StorageClass == nil {
		return nil
	}
	return []pulumi.Resource{a.StorageClass}
}

// deployAddons installs the add-ons the stack switches on. The ingress
// controller comes first: cert-manager's issuers answer challenges through
// it.
func deployAddons(ctx *pulumi.Context, cfg *Config, lb *traefik.LoadBalancer, k8s pulumi.ResourceOption) (*AddonOutputs, error) {
	a := cfg.Addons
	out := &AddonOutputs{}
	if cfg.Cluster == ClusterKapsule {
		// Kapsule's nodes are Instances with the metadata API any pod
		// could ask for the node's user data.
		if _, err := metadataguard.New(ctx, "metadata-guard", k8s); err != nil {
			return nil, err
		}
	}

	var ingress pulumi.Resource
	switch a.IngressController {
	case Traefik:
		t, err := traefik.New(ctx, "traefik", traefik.Args{Config: a.Traefik, LoadBalancer: lb}, k8s)
		if err != nil {
			return nil, err
		}
		ingress, out.IngressCRDs, out.IngressNamespace = t.Release, t.Release, traefik.Namespace
	case IngressNginx:
		in, err := ingressnginx.New(ctx, "ingress-nginx", ingressnginx.Args{Config: a.IngressNginx}, k8s)
		if err != nil {
			return nil, err
		}
		ingress, out.IngressNamespace = in.Release, ingressnginx.Namespace
	}
	if a.CertManager == AddonInstall {
		m, err := certmanager.New(ctx, "cert-manager", certmanager.Args{Config: a.Certs, Ingress: ingress}, k8s)
		if err != nil {
			return nil, err
		}
		out.Issuer = m.Production
		if cfg.CertificateIssuer == certmanager.StagingIssuer {
			out.Issuer = m.Staging
		}
	}
	if a.Monitoring == AddonInstall {
		m, err := monitoring.New(ctx, "monitoring", monitoring.Args{Config: a.Metrics}, k8s)
		if err != nil {
			return nil, err
		}
		out.MonitorCRDs = m.Release
		ctx.Export("grafanaAdminPassword", m.GrafanaPassword)
	}
	if a.RookCeph == AddonInstall {
		rc, err := rookceph.New(ctx, "rook-ceph", rookceph.Args{Config: a.Storage, MonitorCRDs: out.MonitorCRDs}, k8s)
		if err != nil {
			return nil, err
		}
		if cfg.Kafka.StorageClass == rookceph.StorageClassName {
			out.StorageClass = rc.StorageClass
		}
	}
	return out, nil
}

// deployScrape makes Prometheus scrape Kafka and ZooKeeper in ns once Kafka
// runs; nothing when the stack has no monitoring.
//
// Dependencies here name resources, never components: the Go SDK attaches a
// component's children asynchronously, so DependsOn on a component only
// covers the children registered far enough at that moment.
func deployScrape(ctx *pulumi.Context, cfg *Config, addons *AddonOutputs, ns kube.Namespace, kf *kafka.Kafka, k8s pulumi.ResourceOption) error {
	if cfg.Addons.Monitoring == AddonNone {
		return nil
	}
	_, err := monitoring.NewScrape(ctx, "data-metrics", monitoring.ScrapeArgs{
		Namespace: ns,
		Scrapers:  metricsScrapers(cfg),
		Kafka:     kf.StatefulSet,
		CRDs:      addons.MonitorCRDs,
		Targets:   scrapeTargets(cfg),
		Config:    cfg.Addons.Scrape,
	}, k8s)
	return err
}

// scrapeTargets are Kafka at its bootstrap address, which both modes
// serve, the ensemble only in the mode that has one, and the Connect
// workers when there are routes; with the sizes the alerts hold them to.
func scrapeTargets(cfg *Config) monitoring.Targets {
	t := monitoring.Targets{
		KafkaBootstrap: fmt.Sprintf("%s:%d", kafka.Name, kafka.Broker.Port),
		Brokers:        cfg.Kafka.Replicas,
		MinInSync:      cfg.Kafka.MinInSyncReplicas(),
		Mosquitto:      mosquitto.Name,
	}
	if len(cfg.Connect.Routes) > 0 {
		t.Pods = append(t.Pods, monitoring.PodTarget{Name: kafkaconnect.Name, Labels: kafkaconnect.Labels, Port: kafkaconnect.Metrics.Name})
	}
	if cfg.Kafka.Mode == kafka.ModeZooKeeper {
		t.ZooKeeperName = zookeeper.Name
		t.ZooKeeperLabels = zookeeper.Labels
		t.ZooKeeperMetricsPort = zookeeper.Metrics.Name
		t.ZooKeeperMembers = cfg.ZooKeeper.Replicas
	}
	return t
}
