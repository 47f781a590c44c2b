// Package command registers the Command provider's resources as its
// generated Go SDK (github.com/pulumi/pulumi-command/sdk) would: same
// tokens, input names, pulumi.Version(Version), the connection's defaults
// filled in and the connection kept secret both ways.
package command

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/apk8s/apk8s-platform/providers/plugin"
)

// Version of the provider plugin; Pulumi's plugin server hosts it.
const Version = "1.2.1"

// Package is the Command provider plugin.
var Package = plugin.Package{Name: "command", Version: Version}

// RemoteCommandType is command:remote:Command.
var RemoteCommandType = plugin.Type{Package: Package, Token: "command:remote:Command",
	Required:         []string{"connection"},
	SecretInputs:     []string{"connection"},
	SecretOutputs:    []string{"connection"},
	ReplaceOnChanges: []string{"triggers[*]"}}

// Logging values: what of a command's output goes to the Pulumi log.
const (
	LogStdout          = "stdout"
	LogStderr          = "stderr"
	LogStdoutAndStderr = "stdoutAndStderr"
	LogNone            = "none"
)

// ConnectionArgs are the SSH connection of a remote command. Nil fields
// get the SDK's defaults: user root, port 22, 10 dial errors allowed, 15 s
// per dial.
type ConnectionArgs struct {
	Host           pulumi.StringInput  `pulumi:"host"`
	Port           pulumi.Float64Input `pulumi:"port"`
	User           pulumi.StringInput  `pulumi:"user"`
	PrivateKey     pulumi.StringInput  `pulumi:"privateKey"`
	DialErrorLimit pulumi.IntInput     `pulumi:"dialErrorLimit"`
	PerDialTimeout pulumi.IntInput     `pulumi:"perDialTimeout"`
	// HostKey is the one host key the server may present, as a line of
	// authorized_keys ("ssh-ed25519 AAAA..."); nil accepts any key.
	HostKey pulumi.StringInput `pulumi:"hostKey"`
}

// Defaults fills the unset fields as the generated SDK does.
func (c ConnectionArgs) Defaults() ConnectionArgs {
	if c.DialErrorLimit == nil {
		c.DialErrorLimit = pulumi.Int(10)
	}
	if c.PerDialTimeout == nil {
		c.PerDialTimeout = pulumi.Int(15)
	}
	if c.Port == nil {
		c.Port = pulumi.Float64(22)
	}
	if c.User == nil {
		c.User = pulumi.String("root")
	}
	return c
}

// RemoteCommandArgs are the inputs of a remote command. Changing an
// element of Triggers replaces the command, which runs Create again.
type RemoteCommandArgs struct {
	Connection *ConnectionArgs    `pulumi:"connection"`
	Create     pulumi.StringInput `pulumi:"create"`
	Update     pulumi.StringInput `pulumi:"update"`
	Delete     pulumi.StringInput `pulumi:"delete"`
	Triggers   pulumi.ArrayInput  `pulumi:"triggers"`
	Logging    pulumi.StringInput `pulumi:"logging"`
	// Stdin is written to the command's standard input: the way to hand a
	// secret to a remote command without putting it on its command line.
	Stdin pulumi.StringInput `pulumi:"stdin"`
}

// RemoteCommand is a command run over SSH when the resource is created.
type RemoteCommand struct {
	pulumi.CustomResourceState

	Stdout pulumi.StringOutput `pulumi:"stdout"`
	Stderr pulumi.StringOutput `pulumi:"stderr"`
}

// NewRemoteCommand registers a remote command.
func NewRemoteCommand(ctx *pulumi.Context, name string, args *RemoteCommandArgs, opts ...pulumi.ResourceOption) (*RemoteCommand, error) {
	var a RemoteCommandArgs
	if args != nil {
		a = *args
	}
	if a.Connection != nil {
		conn := a.Connection.Defaults()
		a.Connection = &conn
	}
	return plugin.New[RemoteCommand](ctx, RemoteCommandType, name, &a, opts...)
}
