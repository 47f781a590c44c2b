// Package monitoring is the cluster's monitoring as the book runs it (the
// book applies kube-prometheus v0.5.0): the kube-prometheus-stack chart in
// the namespace "monitoring", sized for the book's small cluster, and the
// scrape targets of the data namespace (scrape.go).
package monitoring

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/apk8s/apk8s-platform/providers/kube"
	"github.com/apk8s/apk8s-platform/providers/random"
)

// Names users and other add-ons rely on.
const (
	Namespace   = "monitoring"
	ReleaseName = "kube-prometheus-stack"
	Chart       = "kube-prometheus-stack"
	Repo        = "https://prometheus-community.github.io/helm-charts"

	// RetentionSize caps the Prometheus data, which lives on the node's
	// disk (an emptyDir, as in the book's kube-prometheus).
	RetentionSize = "5GB"

	// GrafanaAdminSecret holds Grafana's admin login under the keys the
	// chart reads; GrafanaAdminUser is its user.
	GrafanaAdminSecret = "grafana-admin"
	GrafanaAdminUser   = "admin"
	grafanaUserKey     = "admin-user"
	grafanaPasswordKey = "admin-password"
)

// Config is the validated shape of the add-on.
type Config struct {
	ChartVersion string
	// Retention is how long Prometheus keeps samples ("7d").
	Retention string
}

// Args are the inputs of the component.
type Args struct {
	Config Config
}

// Monitoring is the component.
type Monitoring struct {
	pulumi.ResourceState

	Namespace *kube.Resource
	// AdminPassword is Grafana's generated admin password, kept secret in
	// the state; AdminSecret hands it to the chart.
	AdminPassword *random.RandomPassword
	AdminSecret   *kube.Resource
	// Release brings the Prometheus Operator's CRDs: ServiceMonitors and
	// PodMonitors wait for it.
	Release *kube.Release

	// Prometheus is the in-cluster address of the Prometheus API.
	Prometheus pulumi.StringOutput `pulumi:"prometheus"`
	// GrafanaPassword is Grafana's admin password, a secret.
	GrafanaPassword pulumi.StringOutput `pulumi:"grafanaPassword"`
}

// New installs the stack.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*Monitoring, error) {
	m := &Monitoring{}
	ns, in, err := kube.RegisterOwner(ctx, "apk8s:addons:Monitoring", name, m, Namespace, opts...)
	if err != nil {
		return nil, err
	}
	m.Namespace = ns
	// The chart's default admin password is public; this one is drawn
	// once and kept in the state.
	m.AdminPassword, err = random.NewRandomPassword(ctx, name+"-grafana-admin", &random.RandomPasswordArgs{
		Length: pulumi.Int(32), Special: pulumi.Bool(false),
	}, pulumi.Parent(m))
	if err != nil {
		return nil, err
	}
	m.AdminSecret = in.Add(GrafanaAdminSecret, kube.Args{
		Object: adminSecret(),
		Fields: pulumi.Map{"stringData": pulumi.ToSecret(pulumi.StringMap{
			grafanaUserKey:     pulumi.String(GrafanaAdminUser),
			grafanaPasswordKey: m.AdminPassword.Result,
		})},
	})
	release := kube.ChartArgs(ReleaseName, Chart, Repo, args.Config.ChartVersion, ChartValues(args.Config))
	release.Timeout = 900 // Prometheus, Alertmanager and Grafana together take longer
	m.Release = in.Release(name, release, pulumi.DependsOn([]pulumi.Resource{m.AdminSecret}))
	if err := in.Err(); err != nil {
		return nil, err
	}
	m.Prometheus = pulumi.Sprintf("http://%s-prometheus.%s.svc:9090", ReleaseName, Namespace)
	m.GrafanaPassword = pulumi.ToSecret(m.AdminPassword.Result).(pulumi.StringOutput)
	return m, ctx.RegisterResourceOutputs(m, pulumi.Map{"prometheus": m.Prometheus, "grafanaPassword": m.GrafanaPassword})
}

// adminSecret is Grafana's admin login without its data, which comes as a
// Pulumi secret.
func adminSecret() *corev1.Secret {
	return &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: GrafanaAdminSecret, Namespace: Namespace},
		Type:       corev1.SecretTypeOpaque,
	}
}

// Values is the subset of the chart's values this program sets.
type Values struct {
	CRDs               kube.Toggle  `json:"crds"`
	Prometheus         Prometheus   `json:"prometheus"`
	Alertmanager       Alertmanager `json:"alertmanager"`
	Grafana            Grafana      `json:"grafana"`
	PrometheusOperator Sized        `json:"prometheusOperator"`
	KubeStateMetrics   kube.Toggle  `json:"kubeStateMetrics"`
	NodeExporter       kube.Toggle  `json:"nodeExporter"`
	// The control-plane monitors: k3s runs these components inside its
	// server process, with their metrics on loopback only, so the chart's
	// monitors would only ever report targets down.
	KubeControllerManager kube.Toggle `json:"kubeControllerManager"`
	KubeScheduler         kube.Toggle `json:"kubeScheduler"`
	KubeEtcd              kube.Toggle `json:"kubeEtcd"`
	KubeProxy             kube.Toggle `json:"kubeProxy"`
}

// Grafana is sized, and reads its admin login from a Secret instead of
// the chart's default password.
type Grafana struct {
	Resources corev1.ResourceRequirements `json:"resources"`
	Admin     GrafanaAdmin                `json:"admin"`
	Sidecar   GrafanaSidecar              `json:"sidecar"`
}

// GrafanaSidecar loads dashboards from ConfigMaps.
type GrafanaSidecar struct {
	Dashboards SidecarDashboards `json:"dashboards"`
}

// SidecarDashboards selects the dashboard ConfigMaps by one label, in the
// namespaces SearchNamespace names ("ALL": every one; the data platform's
// live in the data namespace).
type SidecarDashboards struct {
	Enabled         bool   `json:"enabled"`
	Label           string `json:"label"`
	LabelValue      string `json:"labelValue"`
	SearchNamespace string `json:"searchNamespace"`
}

// GrafanaAdmin names the Secret and its keys.
type GrafanaAdmin struct {
	ExistingSecret string `json:"existingSecret"`
	UserKey        string `json:"userKey"`
	PasswordKey    string `json:"passwordKey"`
}

// Sized sets a component's resources.
type Sized struct {
	Resources corev1.ResourceRequirements `json:"resources"`
}

// Prometheus configures the Prometheus server.
type Prometheus struct {
	PrometheusSpec PrometheusSpec `json:"prometheusSpec"`
}

// PrometheusSpec is the Prometheus resource the chart creates. The
// *NilUsesHelmValues switches are false so that Prometheus selects every
// monitor and rule in every namespace, not only the chart's own: the Kafka
// and ZooKeeper monitors live in the data namespace.
type PrometheusSpec struct {
	Retention                               string                      `json:"retention"`
	RetentionSize                           string                      `json:"retentionSize"`
	Resources                               corev1.ResourceRequirements `json:"resources"`
	ServiceMonitorSelectorNilUsesHelmValues bool                        `json:"serviceMonitorSelectorNilUsesHelmValues"`
	PodMonitorSelectorNilUsesHelmValues     bool                        `json:"podMonitorSelectorNilUsesHelmValues"`
	RuleSelectorNilUsesHelmValues           bool                        `json:"ruleSelectorNilUsesHelmValues"`
	ProbeSelectorNilUsesHelmValues          bool                        `json:"probeSelectorNilUsesHelmValues"`
	ScrapeConfigSelectorNilUsesHelmValues   bool                        `json:"scrapeConfigSelectorNilUsesHelmValues"`
}

// Alertmanager configures the Alertmanager.
type Alertmanager struct {
	AlertmanagerSpec Sized `json:"alertmanagerSpec"`
}

// ChartValues size the stack for the book's cluster (three 8 GB workers
// that also carry Ceph, ZooKeeper and Kafka): one Prometheus, one
// Alertmanager, Grafana, node-exporter and kube-state-metrics, each with a
// memory limit.
func ChartValues(c Config) Values {
	return Values{
		CRDs: kube.Toggle{Enabled: true},
		Prometheus: Prometheus{PrometheusSpec: PrometheusSpec{
			Retention:     c.Retention,
			RetentionSize: RetentionSize,
			Resources:     sized("200m", "512Mi", "2Gi"),
		}},
		Alertmanager: Alertmanager{AlertmanagerSpec: Sized{Resources: sized("10m", "32Mi", "128Mi")}},
		Grafana: Grafana{
			Resources: sized("50m", "128Mi", "512Mi"),
			Admin:     GrafanaAdmin{ExistingSecret: GrafanaAdminSecret, UserKey: grafanaUserKey, PasswordKey: grafanaPasswordKey},
			Sidecar: GrafanaSidecar{Dashboards: SidecarDashboards{
				Enabled: true, Label: DashboardLabel, LabelValue: DashboardLabelValue, SearchNamespace: "ALL",
			}},
		},
		PrometheusOperator:    Sized{Resources: sized("50m", "64Mi", "256Mi")},
		KubeStateMetrics:      kube.Toggle{Enabled: true},
		NodeExporter:          kube.Toggle{Enabled: true},
		KubeControllerManager: kube.Toggle{Enabled: false},
		KubeScheduler:         kube.Toggle{Enabled: false},
		KubeEtcd:              kube.Toggle{Enabled: false},
		KubeProxy:             kube.Toggle{Enabled: false},
	}
}

func sized(cpu, memory, limit string) corev1.ResourceRequirements {
	return corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(memory)},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(limit)},
	}
}
