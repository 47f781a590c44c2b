package cluster

import (
	_ "embed"
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

//go:embed k3s-tokens.sh
var tokensScript string

// TokensScript is the remote command that writes a server's tokens drop-in
// (AgentTokenPath), read from stdin (never from the command line, which any
// process on the node can see); the bootstrap waits for it. A server whose
// datastore k3s started with a token of its own is rotated to the
// program's (k3s-tokens.sh).
func TokensScript() string { return tokensScript }

// TokensConfig is the k3s config drop-in that TokensScript reads from
// stdin: the server token (every server's, and what a restore needs) and
// the agent token. A secret.
func TokensConfig(server, agent string) (string, error) {
	b, err := yaml.Marshal(K3sConfig{Token: server, AgentToken: agent})
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
