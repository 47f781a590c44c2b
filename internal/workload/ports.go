package workload

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Port is a named TCP port of a container.
type Port struct {
	Name string
	Port int32
	// ServicePortName names the Service port when it differs from the
	// container port's name (the book calls Kafka's Service port "broker").
	ServicePortName string
}

// ContainerPorts lists ps as container ports.
func ContainerPorts(ps ...Port) []corev1.ContainerPort {
	out := make([]corev1.ContainerPort, len(ps))
	for i, p := range ps {
		out[i] = corev1.ContainerPort{Name: p.Name, ContainerPort: p.Port, Protocol: corev1.ProtocolTCP}
	}
	return out
}

// ServicePorts lists ps as Service ports that target the container port by name.
func ServicePorts(ps ...Port) []corev1.ServicePort {
	out := make([]corev1.ServicePort, len(ps))
	for i, p := range ps {
		name := p.Name
		if p.ServicePortName != "" {
			name = p.ServicePortName
		}
		out[i] = corev1.ServicePort{
			Name:       name,
			Port:       p.Port,
			Protocol:   corev1.ProtocolTCP,
			TargetPort: intstr.FromString(p.Name),
		}
	}
	return out
}
