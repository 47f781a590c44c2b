// Package scaleway registers the Scaleway resources of the cluster with the
// pulumiverse Scaleway provider, as its generated Go SDK
// (github.com/pulumiverse/pulumi-scaleway/sdk) would: module-style tokens
// (scaleway:instance/server:Server, ...), the SDK's input property names,
// pulumi.Version(Version), the plugin download URL and the deprecated
// scaleway:index/... tokens as aliases.
//
// Only the resources and properties this program uses are here. Credentials
// are the provider's own business: SCW_ACCESS_KEY / SCW_SECRET_KEY /
// SCW_DEFAULT_PROJECT_ID in the environment, or `pulumi config set --secret
// scaleway:secretKey ...`.
package scaleway

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/apk8s/apk8s-platform/providers/plugin"
)

// Version and DownloadURL of the provider plugin.
const (
	Version     = "1.53.0"
	DownloadURL = "github://api.github.com/pulumiverse"
)

// Package is the Scaleway provider plugin.
var Package = plugin.Package{Name: "scaleway", Version: Version, DownloadURL: DownloadURL}

// Types of the resources, as the generated SDK registers them.
var (
	VpcType = plugin.Type{Package: Package, Token: "scaleway:network/vpc:Vpc",
		Aliases: []string{"scaleway:index/vpc:Vpc"}}
	PrivateNetworkType = plugin.Type{Package: Package, Token: "scaleway:network/privateNetwork:PrivateNetwork",
		Aliases: []string{"scaleway:index/vpcPrivateNetwork:VpcPrivateNetwork"}}
	IpType = plugin.Type{Package: Package, Token: "scaleway:instance/ip:Ip",
		Aliases: []string{"scaleway:index/instanceIp:InstanceIp"}}
	SecurityGroupType = plugin.Type{Package: Package, Token: "scaleway:instance/securityGroup:SecurityGroup",
		Aliases: []string{"scaleway:index/instanceSecurityGroup:InstanceSecurityGroup"}}
	ServerType = plugin.Type{Package: Package, Token: "scaleway:instance/server:Server",
		Required: []string{"type"},
		Aliases:  []string{"scaleway:index/instanceServer:InstanceServer"}}
	BlockVolumeType = plugin.Type{Package: Package, Token: "scaleway:block/volume:Volume",
		Required: []string{"iops"},
		Aliases:  []string{"scaleway:index/blockVolume:BlockVolume"}}
)

// VpcArgs are the inputs of a VPC (network/vpc).
type VpcArgs struct {
	Name      pulumi.StringInput      `pulumi:"name"`
	Region    pulumi.StringInput      `pulumi:"region"`
	ProjectId pulumi.StringInput      `pulumi:"projectId"`
	Tags      pulumi.StringArrayInput `pulumi:"tags"`
}

// Vpc is a VPC: the layer-3 network its private networks live in.
type Vpc struct {
	pulumi.CustomResourceState

	Name pulumi.StringOutput `pulumi:"name"`
}

// NewVpc registers a VPC.
func NewVpc(ctx *pulumi.Context, name string, args *VpcArgs, opts ...pulumi.ResourceOption) (*Vpc, error) {
	return plugin.New[Vpc](ctx, VpcType, name, args, opts...)
}

// PrivateNetworkIpv4SubnetArgs is the IPv4 subnet of a private network.
type PrivateNetworkIpv4SubnetArgs struct {
	Subnet pulumi.StringInput `pulumi:"subnet"`
}

// PrivateNetworkArgs are the inputs of a private network (network/privateNetwork).
type PrivateNetworkArgs struct {
	Name       pulumi.StringInput            `pulumi:"name"`
	VpcId      pulumi.StringInput            `pulumi:"vpcId"`
	Region     pulumi.StringInput            `pulumi:"region"`
	ProjectId  pulumi.StringInput            `pulumi:"projectId"`
	Ipv4Subnet *PrivateNetworkIpv4SubnetArgs `pulumi:"ipv4Subnet"`
	Tags       pulumi.StringArrayInput       `pulumi:"tags"`
}

// PrivateNetwork is a regional layer-2 network inside a VPC.
type PrivateNetwork struct {
	pulumi.CustomResourceState

	Name pulumi.StringOutput `pulumi:"name"`
}

// NewPrivateNetwork registers a private network.
func NewPrivateNetwork(ctx *pulumi.Context, name string, args *PrivateNetworkArgs, opts ...pulumi.ResourceOption) (*PrivateNetwork, error) {
	return plugin.New[PrivateNetwork](ctx, PrivateNetworkType, name, args, opts...)
}

// IpArgs are the inputs of a flexible public IP (instance/ip).
type IpArgs struct {
	Zone      pulumi.StringInput      `pulumi:"zone"`
	ProjectId pulumi.StringInput      `pulumi:"projectId"`
	Type      pulumi.StringInput      `pulumi:"type"`
	Tags      pulumi.StringArrayInput `pulumi:"tags"`
}

// Ip is a flexible public IP, billed from reservation to deletion.
type Ip struct {
	pulumi.CustomResourceState

	Address pulumi.StringOutput `pulumi:"address"`
}

// NewIp registers a flexible IP.
func NewIp(ctx *pulumi.Context, name string, args *IpArgs, opts ...pulumi.ResourceOption) (*Ip, error) {
	return plugin.New[Ip](ctx, IpType, name, args, opts...)
}

// Security group rule values.
const (
	ActionAccept = "accept"
	ActionDrop   = "drop"

	ProtocolTCP = "TCP"
	ProtocolUDP = "UDP"
	ProtocolAny = "ANY"
)

// SecurityGroupRuleArgs is one inbound or outbound rule of a security group.
// Port is left out for protocol ANY.
type SecurityGroupRuleArgs struct {
	Action   pulumi.StringInput `pulumi:"action"`
	Protocol pulumi.StringInput `pulumi:"protocol"`
	Port     pulumi.IntInput    `pulumi:"port"`
	IpRange  pulumi.StringInput `pulumi:"ipRange"`
}

// SecurityGroupArgs are the inputs of a security group (instance/securityGroup).
// The group filters the public interface of its servers.
type SecurityGroupArgs struct {
	Name                  pulumi.StringInput      `pulumi:"name"`
	Description           pulumi.StringInput      `pulumi:"description"`
	Zone                  pulumi.StringInput      `pulumi:"zone"`
	ProjectId             pulumi.StringInput      `pulumi:"projectId"`
	Stateful              pulumi.BoolInput        `pulumi:"stateful"`
	InboundDefaultPolicy  pulumi.StringInput      `pulumi:"inboundDefaultPolicy"`
	OutboundDefaultPolicy pulumi.StringInput      `pulumi:"outboundDefaultPolicy"`
	InboundRules          []SecurityGroupRuleArgs `pulumi:"inboundRules"`
	OutboundRules         []SecurityGroupRuleArgs `pulumi:"outboundRules"`
	Tags                  pulumi.StringArrayInput `pulumi:"tags"`
}

// SecurityGroup is an instance firewall.
type SecurityGroup struct {
	pulumi.CustomResourceState
}

// NewSecurityGroup registers a security group.
func NewSecurityGroup(ctx *pulumi.Context, name string, args *SecurityGroupArgs, opts ...pulumi.ResourceOption) (*SecurityGroup, error) {
	return plugin.New[SecurityGroup](ctx, SecurityGroupType, name, args, opts...)
}

// ServerPrivateNetworkArgs attaches a server to a private network.
type ServerPrivateNetworkArgs struct {
	PnId pulumi.StringInput `pulumi:"pnId"`
}

// ServerRootVolumeArgs is the server's boot volume.
type ServerRootVolumeArgs struct {
	DeleteOnTermination pulumi.BoolInput `pulumi:"deleteOnTermination"`
}

// UserDataCloudInit is the userData key that cloud-init reads.
const UserDataCloudInit = "cloud-init"

// ServerArgs are the inputs of an instance (instance/server).
type ServerArgs struct {
	Name            pulumi.StringInput         `pulumi:"name"`
	Type            pulumi.StringInput         `pulumi:"type"`
	Image           pulumi.StringInput         `pulumi:"image"`
	Zone            pulumi.StringInput         `pulumi:"zone"`
	ProjectId       pulumi.StringInput         `pulumi:"projectId"`
	IpIds           pulumi.StringArrayInput    `pulumi:"ipIds"`
	SecurityGroupId pulumi.StringInput         `pulumi:"securityGroupId"`
	PrivateNetworks []ServerPrivateNetworkArgs `pulumi:"privateNetworks"`
	// AdditionalVolumeIds attaches volumes beside the root volume.
	AdditionalVolumeIds pulumi.StringArrayInput `pulumi:"additionalVolumeIds"`
	RootVolume          *ServerRootVolumeArgs   `pulumi:"rootVolume"`
	// UserData is the instance's metadata; key UserDataCloudInit holds the
	// cloud-config.
	UserData pulumi.StringMapInput   `pulumi:"userData"`
	Tags     pulumi.StringArrayInput `pulumi:"tags"`
}

// Server is an instance.
type Server struct {
	pulumi.CustomResourceState

	Name pulumi.StringOutput `pulumi:"name"`
	// PrivateIps are the IPv4 and IPv6 addresses on the private networks,
	// as maps with the keys "address" and "id".
	PrivateIps pulumi.MapArrayOutput `pulumi:"privateIps"`
}

// NewServer registers an instance.
func NewServer(ctx *pulumi.Context, name string, args *ServerArgs, opts ...pulumi.ResourceOption) (*Server, error) {
	return plugin.New[Server](ctx, ServerType, name, args, opts...)
}

// BlockVolumeArgs are the inputs of a Block Storage volume (block/volume).
// Iops is 5000 or 15000.
type BlockVolumeArgs struct {
	Name      pulumi.StringInput      `pulumi:"name"`
	Zone      pulumi.StringInput      `pulumi:"zone"`
	ProjectId pulumi.StringInput      `pulumi:"projectId"`
	SizeInGb  pulumi.IntInput         `pulumi:"sizeInGb"`
	Iops      pulumi.IntInput         `pulumi:"iops"`
	Tags      pulumi.StringArrayInput `pulumi:"tags"`
}

// BlockVolume is a network block volume.
type BlockVolume struct {
	pulumi.CustomResourceState
}

// NewBlockVolume registers a Block Storage volume.
func NewBlockVolume(ctx *pulumi.Context, name string, args *BlockVolumeArgs, opts ...pulumi.ResourceOption) (*BlockVolume, error) {
	return plugin.New[BlockVolume](ctx, BlockVolumeType, name, args, opts...)
}
