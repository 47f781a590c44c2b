package cluster

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/apk8s/apk8s-platform/providers/scaleway"
)

// Ports the security group opens.
const (
	PortHTTP      = 80
	PortHTTPS     = 443
	PortSSH       = 22
	PortAPIServer = 6443
)

// Anywhere is the IPv4 internet.
const Anywhere = "0.0.0.0/0"

// Rule is one inbound rule of the security group; Port 0 means every port
// (protocol ANY).
type Rule struct {
	Protocol string
	Port     int
	From     string
}

// InboundRules are the only ways in, over a default of drop: HTTP and HTTPS
// from anywhere (the ingress controller), SSH and the API server from the
// admin CIDRs, and anything from the private network. Scaleway applies
// security groups to the public interface; the private rule states the
// intent for traffic that arrives there anyway.
func InboundRules(adminCIDRs []string, privateCIDR string) []Rule {
	rules := []Rule{
		{Protocol: scaleway.ProtocolTCP, Port: PortHTTP, From: Anywhere},
		{Protocol: scaleway.ProtocolTCP, Port: PortHTTPS, From: Anywhere},
	}
	for _, port := range []int{PortSSH, PortAPIServer} {
		for _, cidr := range adminCIDRs {
			rules = append(rules, Rule{Protocol: scaleway.ProtocolTCP, Port: port, From: cidr})
		}
	}
	return append(rules, Rule{Protocol: scaleway.ProtocolAny, From: privateCIDR})
}

// securityGroupRules are rules as the provider takes them.
func securityGroupRules(rules []Rule) []scaleway.SecurityGroupRuleArgs {
	out := make([]scaleway.SecurityGroupRuleArgs, len(rules))
	for i, r := range rules {
		out[i] = scaleway.SecurityGroupRuleArgs{
			Action:   pulumi.String(scaleway.ActionAccept),
			Protocol: pulumi.String(r.Protocol),
			IpRange:  pulumi.String(r.From),
		}
		if r.Port != 0 {
			out[i].Port = pulumi.Int(r.Port)
		}
	}
	return out
}
