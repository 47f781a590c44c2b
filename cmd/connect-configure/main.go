// Command connect-configure puts connector configs through Kafka Connect's
// REST API, idempotently (ops/connectrest); the Job of the Kafka Connect
// component runs it from the Connect image:
//
//	connect-configure -url http://kafka-connect:8083 -wait 10m -connector mqtt-factory=/etc/kafka-connect/connectors/mqtt-factory.json
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/apk8s/apk8s-platform/ops/connectrest"
)

type connectors []string

func (c *connectors) String() string     { return strings.Join(*c, ",") }
func (c *connectors) Set(v string) error { *c = append(*c, v); return nil }

func main() {
	var list connectors
	rest := flag.String("url", "http://localhost:8083", "Connect's REST root")
	wait := flag.Duration("wait", time.Minute, "how long to retry while Connect is not answering")
	flag.Var(&list, "connector", "name=file of a connector's JSON config (repeatable)")
	flag.Parse()
	if err := run(context.Background(), connectrest.Client{URL: *rest, Retry: *wait}, list); err != nil {
		fmt.Fprintln(os.Stderr, "connect-configure:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c connectrest.Client, list connectors) error {
	for _, spec := range list {
		name, file, ok := strings.Cut(spec, "=")
		if !ok {
			return fmt.Errorf("-connector %q: want name=file", spec)
		}
		raw, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		var config map[string]string
		if err := json.Unmarshal(raw, &config); err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		outcome, err := c.Apply(ctx, name, config)
		if err != nil {
			return fmt.Errorf("connector %s: %w", name, err)
		}
		fmt.Printf("connector %s: %s\n", name, outcome)
	}
	return nil
}
