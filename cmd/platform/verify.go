package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/apk8s/apk8s-platform/components/kafka"
	"github.com/apk8s/apk8s-platform/components/monitoring"
	"github.com/apk8s/apk8s-platform/ops/verify"
	"github.com/apk8s/apk8s-platform/stacks"
)

// verifyFlags are the options of the verify command.
type verifyFlags struct {
	kubeconfig, context string
	mqttUser            string
	mqttPasswordFile    string
	timeout             time.Duration
	verbose             bool
}

func (v *verifyFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&v.kubeconfig, "kubeconfig", "", `verify: kubeconfig file (default: the stack's "kubeconfig" output, else $KUBECONFIG or ~/.kube/config)`)
	fs.StringVar(&v.context, "context", "", "verify: kubeconfig context (default: the stack's kubeContext, else the current context)")
	fs.StringVar(&v.mqttUser, "mqtt-user", "", `verify: MQTT user ("" = anonymous, the book's broker)`)
	fs.StringVar(&v.mqttPasswordFile, "mqtt-password-file", "", "verify: file holding the MQTT password (or set $APK8S_MQTT_PASSWORD)")
	fs.DurationVar(&v.timeout, "timeout", 30*time.Second, "verify: time limit of each check")
	fs.BoolVar(&v.verbose, "v", false, "verify: show the port-forwards' and clients' messages on stderr")
}

// exitError ends the command with a given status; err (if any) is printed.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

// cannot is a verify that checked nothing.
func cannot(err error) error { return exitError{code: verify.ExitCannot, err: err} }

// runVerify runs the book's checks against the deployed stack s and prints
// the table on stdout.
func runVerify(ctx context.Context, s auto.Stack, workdir string, v verifyFlags) error {
	o, err := checkOptions(ctx, s, workdir, v, true)
	if err != nil {
		return err
	}
	results, err := verify.Run(ctx, o, verify.Plan(o))
	if err != nil {
		return cannot(err)
	}
	if err := verify.Render(os.Stdout, results); err != nil {
		return err
	}
	if code := verify.ExitCode(results); code != verify.ExitPassed {
		return exitError{code: code}
	}
	return nil
}

// runGate waits until the health gates of a rolling node change pass
// (docs/cluster.md, "Rolling node changes"), a round every interval up to
// wait, and prints the last round's table.
func runGate(ctx context.Context, s auto.Stack, workdir string, v verifyFlags, g gateFlags) error {
	o, err := checkOptions(ctx, s, workdir, v, false)
	if err != nil {
		return err
	}
	gates := verify.GatePlan(o, verify.GateOptions{Node: g.node, Since: time.Now()})
	rounds := 0
	results, err := verify.Wait(ctx, g.wait, g.interval, func(ctx context.Context) ([]verify.Result, error) {
		rounds++
		results, err := verify.Run(ctx, o, gates)
		if err == nil && !verify.Passed(results) {
			fmt.Fprintf(os.Stderr, "gate: round %d: %s\n", rounds, failing(results))
		}
		return results, err
	})
	if err != nil {
		return cannot(err)
	}
	if err := verify.Render(os.Stdout, results); err != nil {
		return err
	}
	if !verify.Passed(results) {
		return exitError{code: verify.ExitFailed, err: fmt.Errorf("the gates did not pass within %s: do not go on to the next server", g.wait)}
	}
	return nil
}

// failing names the checks of a round that failed.
func failing(results []verify.Result) string {
	var names []string
	for _, r := range results {
		if r.Status == verify.Fail {
			names = append(names, r.Check+" ("+r.Detail+")")
		}
	}
	return strings.Join(names, "; ")
}

// gateFlags are the options of the gate command.
type gateFlags struct {
	node           string
	wait, interval time.Duration
}

func (g *gateFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&g.node, "node", "", "gate: the server the last step changed, which must be a Ready node again")
	fs.DurationVar(&g.wait, "wait", 30*time.Minute, "gate: how long to wait for the gates to pass")
	fs.DurationVar(&g.interval, "interval", 15*time.Second, "gate: time between two rounds")
}

// checkOptions are the options of verify and gate for the deployed stack
// s: its namespace, mode and cluster. mqtt reads the MQTT password.
func checkOptions(ctx context.Context, s auto.Stack, workdir string, v verifyFlags, mqtt bool) (verify.Options, error) {
	outputs, err := s.Outputs(ctx)
	if err != nil {
		return verify.Options{}, cannot(fmt.Errorf("read the outputs of stack %s: %w", s.Name(), err))
	}
	ns, ok := outputs["namespace"].Value.(string)
	if !ok || ns == "" {
		return verify.Options{}, cannot(fmt.Errorf("stack %s in %s is not deployed (it has no namespace output): run up first, or give the -workdir it was deployed from", s.Name(), workdir))
	}
	config, err := s.GetAllConfig(ctx)
	if err != nil {
		return verify.Options{}, cannot(err)
	}
	kube, source, err := kubeConfig(v.kubeconfig, v.context, configValue(config, "kubeContext"), outputs)
	if err != nil {
		return verify.Options{}, cannot(err)
	}
	o := verify.Options{
		Config:      kube,
		Namespace:   ns,
		KRaftVoters: kraftVoters(outputs),
		Certificate: configValue(config, "certificate") == "true",
		AlertRules:  alertRules(configValue(config, "monitoring")),
		Prometheus:  prometheus(configValue(config, "monitoring")),
		MQTTUser:    v.mqttUser,
		Timeout:     v.timeout,
		Log:         io.Discard,
	}
	if mqtt {
		if o.MQTTPassword, err = mqttPassword(v.mqttPasswordFile); err != nil {
			return verify.Options{}, cannot(err)
		}
	}
	if v.verbose {
		o.Log = os.Stderr
	}
	fmt.Fprintf(os.Stderr, "platform: stack %s, namespace %s, cluster %s (%s)\n", s.Name(), ns, kube.Host, source)
	return o, nil
}

// kubeConfig finds the stack's cluster: an explicit -kubeconfig file first;
// else the stack's secret "kubeconfig" output (a cluster the stack built,
// such as dev3), kept in memory only; else the kubeconfig the provider of an
// existing cluster uses ($KUBECONFIG or ~/.kube/config) with the stack's
// kubeContext. -context overrides the context in every case.
func kubeConfig(file, kubeContext, stackContext string, outputs auto.OutputMap) (*rest.Config, string, error) {
	if kubeContext == "" {
		kubeContext = stackContext
	}
	overrides := &clientcmd.ConfigOverrides{CurrentContext: kubeContext}
	var cc clientcmd.ClientConfig
	var source string
	switch raw, fromStack := outputs["kubeconfig"].Value.(string); {
	case file != "":
		cc = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(&clientcmd.ClientConfigLoadingRules{ExplicitPath: file}, overrides)
		source = "kubeconfig " + file
	case fromStack && raw != "":
		c, err := clientcmd.Load([]byte(raw))
		if err != nil {
			return nil, "", fmt.Errorf(`the stack's "kubeconfig" output: %w`, err)
		}
		cc = clientcmd.NewNonInteractiveClientConfig(*c, kubeContext, overrides, nil)
		source = `the stack's "kubeconfig" output`
	default:
		cc = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(clientcmd.NewDefaultClientConfigLoadingRules(), overrides)
		source = "$KUBECONFIG or ~/.kube/config"
	}
	if kubeContext != "" {
		source += ", context " + kubeContext
	}
	rc, err := cc.ClientConfig()
	if err != nil {
		return nil, "", fmt.Errorf("kubeconfig (%s): %w", source, err)
	}
	return rc, source, nil
}

// configValue is a key's value in the stack's settings, or its declared
// default.
func configValue(config auto.ConfigMap, name string) string {
	if v, ok := config[stacks.Project+":"+name]; ok {
		return v.Value
	}
	for _, k := range stacks.Keys {
		if k.Name == name {
			return k.Default
		}
	}
	return ""
}

// alertRules is the stack's PrometheusRule under its monitoring mode.
func alertRules(mode string) string {
	if mode == stacks.AddonNone {
		return ""
	}
	return monitoring.RulesName
}

// prometheus is the Prometheus the program installs; nil for the
// cluster's own ("existing") or none.
func prometheus(mode string) *verify.PrometheusService {
	if mode != stacks.AddonInstall {
		return nil
	}
	return &verify.PrometheusService{Namespace: monitoring.Namespace, Name: monitoring.ReleaseName + "-prometheus", Port: "9090"}
}

// mqttPassword reads the password from a file, else $APK8S_MQTT_PASSWORD:
// never from the command line, where every user of the machine can read it.
func mqttPassword(file string) (string, error) {
	if file == "" {
		return os.Getenv("APK8S_MQTT_PASSWORD"), nil
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("-mqtt-password-file: %w", err)
	}
	p := strings.TrimRight(string(raw), "\r\n")
	if p == "" {
		return "", errors.New("-mqtt-password-file: the file is empty")
	}
	return p, nil
}

// kraftVoters is the controller quorum of a stack in KRaft mode, 0 for a
// stack in the book's ZooKeeper mode (or from before kafkaMode).
func kraftVoters(outputs auto.OutputMap) int {
	if mode, _ := outputs["kafkaMode"].Value.(string); mode != kafka.ModeKRaft {
		return 0
	}
	n, _ := outputs["kafkaControllerVoters"].Value.(float64)
	return int(n)
}
