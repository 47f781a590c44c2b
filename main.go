// Command apk8s-platform is the Pulumi program of the apk8s data platform.
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/apk8s/apk8s-platform/stacks"
)

func main() {
	pulumi.Run(stacks.Run)
}
