package cluster

import (
	"fmt"
	"path"
	"strings"

	"sigs.k8s.io/yaml"
)

// heredocEnd closes each file that a remote script writes; no file the
// program writes has a line equal to it (ReconcileScript checks).
const heredocEnd = "APK8S_EOF"

// ReconcileScript is the remote command that brings a running node to what
// its cloud-init would make of n today: it writes the bootstrap's files
// again (the k3s.env with the k3s version, the metadata firewall and its
// unit, the script) and runs the bootstrap, which installs the version
// when it differs. A new node's cloud-init is waited for first, and a
// failed one retried. Nothing secret is in it: the token files are left as
// they are.
func ReconcileScript(n Node) (string, error) {
	env, err := envFile(n.Env())
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("set -eu\numask 022\n")
	for _, f := range n.bootstrapFiles(env) {
		if err := writeFile(&b, f); err != nil {
			return "", err
		}
	}
	// cloud-init's exit status says whether its first run failed; the
	// bootstrap below is the retry either way.
	b.WriteString("cloud-init status --wait >/dev/null 2>&1 || true\n")
	b.WriteString("exec " + BootstrapPath + "\n")
	return b.String(), nil
}

// AgentTokenScript is the remote command that writes the agent token, read
// from stdin (never from the command line, which any process on the node
// can see), where the control plane's bootstrap waits for it.
func AgentTokenScript() string {
	dir, tmp := path.Dir(AgentTokenPath), path.Dir(AgentTokenPath)+"/."+path.Base(AgentTokenPath)
	return fmt.Sprintf("set -eu\numask 077\nmkdir -p %s\ncat > %s\nmv -f %s %s\n", dir, tmp, tmp, AgentTokenPath)
}

// AgentTokenConfig is the k3s config drop-in that AgentTokenScript reads
// from stdin: a secret.
func AgentTokenConfig(token string) (string, error) {
	b, err := yaml.Marshal(K3sConfig{AgentToken: token})
	return string(b), err
}

// writeFile appends the shell that writes f in one step (a reader never
// sees half a file).
func writeFile(b *strings.Builder, f WriteFile) error {
	content := f.Content
	if !strings.HasSuffix(content, "\n") {
		content += "\n"
	}
	for _, line := range strings.Split(content, "\n") {
		if line == heredocEnd {
			return fmt.Errorf("%s has a line %q that ends the heredoc", f.Path, heredocEnd)
		}
	}
	tmp := f.Path + ".apk8s-new"
	fmt.Fprintf(b, "mkdir -p %s\ncat > %s <<'%s'\n%s%s\nchmod %s %s\nmv -f %s %s\n",
		path.Dir(f.Path), tmp, heredocEnd, content, heredocEnd, f.Permissions, tmp, tmp, f.Path)
	return nil
}
