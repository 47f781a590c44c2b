// Command genproject writes Pulumi.yaml from the program's own declaration
// of its config keys (stacks.Keys), so that the project file, the CLI's type
// checks and the defaults the program applies are one and the same; with
// -markdown it prints the config reference of docs/configuration.md from the same source:
//
//	go run ./cmd/genproject > Pulumi.yaml
//	go run ./cmd/genproject -markdown
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/apk8s/apk8s-platform/ops/projectfile"
)

func main() {
	markdown := flag.Bool("markdown", false, "print the config reference table of docs/configuration.md")
	flag.Parse()
	if *markdown {
		fmt.Print(projectfile.Markdown())
		return
	}
	out, err := projectfile.Render()
	if err != nil {
		fmt.Fprintln(os.Stderr, "genproject:", err)
		os.Exit(1)
	}
	os.Stdout.Write(out)
}
