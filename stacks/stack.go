// Package stacks reads and validates a stack's config and composes the
// components in dependency order: the only place that knows the whole
// platform.
package stacks

import (
	"fmt"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/apk8s/apk8s-platform/components/dataca"
	"github.com/apk8s/apk8s-platform/components/datanamespace"
	"github.com/apk8s/apk8s-platform/components/kafka"
	"github.com/apk8s/apk8s-platform/components/kafkaconnect"
	"github.com/apk8s/apk8s-platform/components/kafkaconsole"
	"github.com/apk8s/apk8s-platform/components/monitoring"
	"github.com/apk8s/apk8s-platform/components/mosquitto"
	"github.com/apk8s/apk8s-platform/components/traefik"
	"github.com/apk8s/apk8s-platform/components/zookeeper"
	"github.com/apk8s/apk8s-platform/internal/workload"
	"github.com/apk8s/apk8s-platform/providers/kube"
)

// Run is the Pulumi program of every stack.
func Run(ctx *pulumi.Context) error {
	cfg, err := Load(ctx)
	if err != nil {
		return err
	}
	last, err := settle(ctx, cfg)
	if err != nil {
		return err
	}
	for _, w := range cfg.Warnings {
		if err := ctx.Log.Warn(w, nil); err != nil {
			return err
		}
	}
	ctx.Export(outputCluster, pulumi.String(cfg.Cluster))
	k8s, lb, err := kubernetesProvider(ctx, cfg)
	if err != nil {
		return err
	}
	addons, err := deployAddons(ctx, cfg, lb, pulumi.Provider(k8s))
	if err != nil {
		return err
	}
	return deployData(ctx, cfg, last, addons, pulumi.Provider(k8s))
}

// kubernetesProvider is the provider every Kubernetes object of the stack
// uses; no object falls back to the ambient default provider. On Kapsule it
// also returns the load balancer the ingress controller goes behind.
func kubernetesProvider(ctx *pulumi.Context, cfg *Config) (*kubernetes.Provider, *traefik.LoadBalancer, error) {
	args := &kubernetes.ProviderArgs{}
	if cfg.RenderYamlToDirectory != "" {
		// Rendering writes manifests for GitOps and needs no cluster; Load
		// refuses it for a stack that builds one.
		args.RenderYamlToDirectory = pulumi.StringPtr(cfg.RenderYamlToDirectory)
		p, err := kubernetes.NewProvider(ctx, "kubernetes", args)
		return p, nil, err
	}
	switch cfg.Cluster {
	case ClusterExisting:
		if cfg.KubeContext != "" {
			args.Context = pulumi.StringPtr(cfg.KubeContext)
		}
	case ClusterScaleway:
		p, err := scalewayProvider(ctx, cfg, args)
		return p, nil, err
	case ClusterKapsule:
		p, k, err := kapsuleProvider(ctx, cfg, args)
		if err != nil {
			return nil, nil, err
		}
		return p, &traefik.LoadBalancer{IPID: k.IngressIPID, Zone: cfg.Kapsule.Cluster.Zone}, nil
	}
	p, err := kubernetes.NewProvider(ctx, "kubernetes", args)
	return p, nil, err
}

// deployData builds the data namespace and its services (chapter 5).
// The certificate waits for its issuer and the claims for their
// StorageClass when the add-ons create them.
func deployData(ctx *pulumi.Context, cfg *Config, last lastUpdate, addons *AddonOutputs, k8s pulumi.ResourceOption) error {
	growth, err := claimGrowth(ctx, cfg, last, k8s)
	if err != nil {
		return err
	}
	data, err := datanamespace.New(ctx, "data", datanamespace.Args{
		Domain:            cfg.Domain,
		Certificate:       cfg.Certificate,
		IssuerName:        cfg.CertificateIssuer,
		Issuer:            addons.Issuer,
		BasicAuthUser:     cfg.BasicAuthUser,
		BasicAuthPassword: cfg.BasicAuthPassword,
		BasicAuth:         cfg.Addons.BasicAuth(),
		MiddlewareCRDs:    addons.IngressCRDs,
		// The controller this program installs; "" (any namespace) for a
		// controller of the cluster's own.
		IngressNamespace: addons.IngressNamespace,
		ExtraHosts:       consoleHosts(cfg),
	}, k8s)
	if err != nil {
		return err
	}
	// Who may reach what (docs/data-services.md): the brokers use the
	// ensemble, the exporter the brokers, Prometheus the metrics ports,
	// MQTT clients the broker from any namespace. The brokers wait for
	// the ensemble's StatefulSet, not the component: a component stands
	// for the children registered so far, which races with their
	// registration.
	after := addons.storage()
	var zk *zookeeper.ZooKeeper
	var connect string
	if cfg.Kafka.Mode == kafka.ModeZooKeeper {
		zk, err = zookeeper.New(ctx, "zookeeper", zookeeper.Args{
			Namespace: data.Ref(),
			Clients:   []workload.Peer{workload.Pods(kafka.Labels)},
			Scrapers:  metricsScrapers(cfg),
			After:     addons.storage(),
			Growth:    growth[zookeeper.Name],
			Config:    cfg.ZooKeeper,
		}, k8s)
		if err != nil {
			return err
		}
		after = append([]pulumi.Resource{zk.StatefulSet}, after...)
		connect = zookeeper.ConnectString()
	}
	var ca *dataca.CA
	if cfg.Addons.CertManager != AddonNone {
		var issuerAfter []pulumi.Resource
		if addons.Issuer != nil {
			issuerAfter = append(issuerAfter, addons.Issuer) // cert-manager runs
		}
		ca, err = dataca.New(ctx, "data-ca", dataca.Args{Namespace: data.Ref(), After: issuerAfter}, k8s)
		if err != nil {
			return err
		}
	}
	kf, err := kafka.New(ctx, "kafka", kafka.Args{
		Namespace: data.Ref(),
		CA:        issuerOf(ca),
		ZooKeeper: connect,
		After:     after,
		Clients:   kafkaClients(cfg),
		Growth:    growth[kafka.Name],
		Config:    cfg.Kafka,
	}, k8s)
	if err != nil {
		return err
	}
	mq, err := mosquitto.New(ctx, "mqtt", mosquitto.Args{
		Namespace: data.Ref(),
		CA:        issuerOf(ca),
		Clients:   []workload.Peer{workload.Cluster()},
		Config:    cfg.Mosquitto,
	}, k8s)
	if err != nil {
		return err
	}
	if err := deployConnect(ctx, cfg, data.Ref(), kf, issuerOf(ca), k8s); err != nil {
		return err
	}
	if err := deployScrape(ctx, cfg, addons, data.Ref(), kf, k8s); err != nil {
		return err
	}
	if cfg.Console != nil {
		console, err := kafkaconsole.New(ctx, kafkaconsole.Name, kafkaconsole.Args{
			Namespace:    data.Ref(),
			Bootstrap:    fmt.Sprintf("%s:%d", kafka.Name, kafka.Broker.Port),
			IngressClass: cfg.Addons.IngressClass,
			BasicAuth:    cfg.Addons.BasicAuth(),
			Ingress:      ingressPeer(addons),
			After:        middleware(data),
			Config:       *cfg.Console,
		}, k8s)
		if err != nil {
			return err
		}
		ctx.Export("kafkaConsole", console.URL)
	}
	ctx.Export("namespace", data.Name)
	ctx.Export(outputKafkaMode, pulumi.String(cfg.Kafka.Mode))
	if zk != nil {
		ctx.Export("zookeeper", zk.Connect)
		ctx.Export(outputEnsemble, pulumi.Int(int(cfg.ZooKeeper.Replicas)))
	} else {
		ctx.Export(outputVoters, pulumi.Int(int(cfg.Kafka.Voters)))
		ctx.Export(outputClusterID, kf.ClusterIDValue)
	}
	ctx.Export(outputKafkaBroker, kf.Bootstrap)
	ctx.Export(outputKafkaAuth, pulumi.String(cfg.Kafka.Auth))
	// The size each StatefulSet's claims reached, resolved once they are
	// patched: a growth that failed leaves the last update's mark.
	claims := pulumi.StringMap{kafka.Name: kf.ClaimSize}
	if zk != nil {
		claims[zookeeper.Name] = zk.ClaimSize
	}
	ctx.Export(outputClaims, claims)
	ctx.Export("mqtt", mq.Address)
	return nil
}

// issuerOf is the CA Issuer that the services' certificates wait for; nil
// without a CA.
func issuerOf(ca *dataca.CA) pulumi.Resource {
	if ca == nil {
		return nil
	}
	return ca.Issuer
}

// metricsScrapers are the pods that scrape the data services' metrics
// ports: Prometheus in the monitoring namespace, when the stack has one.
func metricsScrapers(cfg *Config) []workload.Peer {
	if cfg.Addons.Monitoring == AddonNone {
		return nil
	}
	return []workload.Peer{workload.Namespace(monitoring.Namespace)}
}

// kafkaClients are the brokers' clients besides the client pod: the
// exporter, when the stack scrapes Kafka, the Connect workers, when it
// routes MQTT into Kafka, and the console.
func kafkaClients(cfg *Config) []workload.Peer {
	var out []workload.Peer
	if cfg.Addons.Monitoring != AddonNone {
		out = append(out, workload.Pods(monitoring.ExporterLabels))
	}
	if len(cfg.Connect.Routes) > 0 {
		out = append(out, workload.Pods(kafkaconnect.Labels))
	}
	if cfg.Console != nil {
		out = append(out, workload.Pods(kafkaconsole.Labels))
	}
	return out
}

// deployConnect runs the Kafka Connect cluster of the MQTT → Kafka routes
// once the brokers run; nothing without routes.
func deployConnect(ctx *pulumi.Context, cfg *Config, ns kube.Namespace, kf *kafka.Kafka, ca pulumi.Resource, k8s pulumi.ResourceOption) error {
	if len(cfg.Connect.Routes) == 0 {
		return nil
	}
	// The broker's TLS listener where it has one (its first port), with a
	// client certificate of the namespace's CA.
	mqttPort := mosquitto.MQTT.Port
	if cfg.Mosquitto.TLS {
		mqttPort = mosquitto.MQTTS.Port
	}
	_, err := kafkaconnect.New(ctx, "kafka-connect", kafkaconnect.Args{
		Namespace:    ns,
		Bootstrap:    fmt.Sprintf("%s:%d", kafka.Name, kafka.Broker.Port),
		BrokerLabels: kafka.Labels,
		BrokerPort:   kafka.Broker.Port,
		Replication:  cfg.Kafka.InternalReplication(),
		MQTT:         fmt.Sprintf("%s:%d", mosquitto.Name, mqttPort),
		MQTTLabels:   mosquitto.Labels,
		MQTTPort:     mqttPort,
		MQTTTLS:      cfg.Mosquitto.TLS,
		CA:           ca,
		MQTTUser:     cfg.Mosquitto.User,
		MQTTPassword: cfg.Mosquitto.Password,
		Scrapers:     metricsScrapers(cfg),
		After:        []pulumi.Resource{kf.StatefulSet},
		Config:       cfg.Connect,
	}, k8s)
	return err
}

// consoleHosts are the certificate's names besides the book's: the
// console's, when it is on.
func consoleHosts(cfg *Config) []string {
	if cfg.Console == nil {
		return nil
	}
	return []string{kafkaconsole.Host(cfg.Domain)}
}

// ingressPeer is the ingress controller as its traffic reaches a backend.
// Both controllers this program installs bind the nodes' ports 80/443 as
// host ports of ordinary pods (not the host network), so their requests
// come from pod addresses in their namespace; a controller of the
// cluster's own may run anywhere.
func ingressPeer(addons *AddonOutputs) workload.Peer {
	if addons.IngressNamespace == "" {
		return workload.Cluster()
	}
	return workload.Namespace(addons.IngressNamespace)
}

// middleware is the basic-auth Middleware an Ingress names, when the
// controller reads one.
func middleware(data *datanamespace.DataNamespace) []pulumi.Resource {
	if data.Middleware == nil {
		return nil
	}
	return []pulumi.Resource{data.Middleware}
}
