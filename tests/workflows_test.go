package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	yamlv3 "gopkg.in/yaml.v3"
)

// The delivery workflows, read as GitHub reads them (YAML 1.2, where the
// key `on` is a string and not a boolean).

type workflowFile struct {
	Name        string            `yaml:"name"`
	On          map[string]any    `yaml:"on"`
	Permissions any               `yaml:"permissions"`
	Concurrency any               `yaml:"concurrency"`
	Env         map[string]string `yaml:"env"`
	Jobs        map[string]wfJob  `yaml:"jobs"`
}

type wfJob struct {
	Name        string            `yaml:"name"`
	Needs       any               `yaml:"needs"`
	If          string            `yaml:"if"`
	Permissions any               `yaml:"permissions"`
	Environment any               `yaml:"environment"`
	Concurrency *wfConcurrency    `yaml:"concurrency"`
	Strategy    map[string]any    `yaml:"strategy"`
	Env         map[string]string `yaml:"env"`
	Steps       []wfStep          `yaml:"steps"`
	Outputs     map[string]string `yaml:"outputs"`
	raw         string            // the job as YAML, to search for secrets
}

type wfConcurrency struct {
	Group            string `yaml:"group"`
	CancelInProgress any    `yaml:"cancel-in-progress"`
}

type wfStep struct {
	ID   string            `yaml:"id"`
	Name string            `yaml:"name"`
	If   string            `yaml:"if"`
	Uses string            `yaml:"uses"`
	Run  string            `yaml:"run"`
	With map[string]any    `yaml:"with"`
	Env  map[string]string `yaml:"env"`
	// ContinueOnError lets the job go on as if the step had passed.
	ContinueOnError bool `yaml:"continue-on-error"`
}

// action is the repository a step uses, without its ref.
func (s wfStep) action() string {
	a, _, _ := strings.Cut(s.Uses, "@")
	return a
}

// input is a `with:` value as text ("true" for the boolean true).
func (s wfStep) input(name string) string {
	v, ok := s.With[name]
	if !ok {
		return ""
	}
	if str, isString := v.(string); isString {
		return str
	}
	b, err := yamlv3.Marshal(v)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// pulumiAction is the action that installs and runs the Pulumi CLI.
const pulumiAction = "pulumi/actions"

// pulumiActionInputs are the inputs of pulumi/actions v7 (its action.yml).
var pulumiActionInputs = []string{
	"command", "stack-name", "pulumi-version", "pulumi-version-file", "work-dir",
	"comment-on-pr", "comment-on-pr-number", "comment-on-summary", "github-token",
	"cloud-url", "secrets-provider", "parallel", "message", "config-map",
	"expect-no-changes", "diff", "replace", "exclude", "exclude-dependents", "target",
	"target-dependents", "refresh", "upsert", "remove", "edit-pr-comment", "color",
	"exclude-protected", "plan", "suppress-outputs", "suppress-progress",
	"always-include-summary", "continue-on-error", "log-verbosity", "log-flow", "debug",
}

// stackGroup is the concurrency group every job that changes a stack joins.
const stackGroup = "pulumi-stack-${{ matrix.stack }}"

func loadWorkflows(t *testing.T) map[string]*workflowFile {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot, ".github", "workflows", "*.y*ml"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "no workflow under .github/workflows")
	out := map[string]*workflowFile{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		var w workflowFile
		require.NoError(t, yamlv3.Unmarshal(raw, &w), f)
		var jobs struct {
			Jobs map[string]any `yaml:"jobs"`
		}
		require.NoError(t, yamlv3.Unmarshal(raw, &jobs), f)
		for id, j := range w.Jobs {
			b, err := yamlv3.Marshal(jobs.Jobs[id])
			require.NoError(t, err)
			j.raw = string(b)
			w.Jobs[id] = j
		}
		out[filepath.Base(f)] = &w
	}
	return out
}

func wfGet(t *testing.T, all map[string]*workflowFile, file string) *workflowFile {
	t.Helper()
	w, ok := all[file]
	require.True(t, ok, "missing .github/workflows/%s", file)
	return w
}

func wfJobOf(t *testing.T, w *workflowFile, id string) wfJob {
	t.Helper()
	j, ok := w.Jobs[id]
	require.True(t, ok, "workflow %q has no job %q", w.Name, id)
	return j
}

// wfStepIndex is the index of the first step that matches, or -1.
func wfStepIndex(j wfJob, match func(wfStep) bool) int {
	return slices.IndexFunc(j.Steps, match)
}

func usesPulumi(command string) func(wfStep) bool {
	return func(s wfStep) bool { return s.action() == pulumiAction && s.input("command") == command }
}

func runsGuard(s wfStep) bool {
	return strings.Contains(s.Run, "go run ./cmd/stackguard -stack ")
}

// destroyCommand is a `pulumi destroy` command line in a run: script.
var destroyCommand = regexp.MustCompile(`(?m)^\s*pulumi\s+destroy\b`)

func runsDestroy(s wfStep) bool {
	return destroyCommand.MatchString(s.Run) || usesPulumi("destroy")(s)
}

// wfPermissions reads a permissions block: "read-all"/"write-all"/"" or a map.
func wfPermissions(t *testing.T, p any) (all string, scopes map[string]string) {
	t.Helper()
	switch p := p.(type) {
	case nil:
		return "", nil
	case string:
		return p, nil
	case map[string]any:
		scopes = map[string]string{}
		for k, v := range p {
			s, ok := v.(string)
			require.True(t, ok, "permission %s: %v", k, v)
			scopes[k] = s
		}
		return "", scopes
	}
	t.Fatalf("permissions: unexpected %T", p)
	return "", nil
}

func TestWorkflowsAreLeastPrivilege(t *testing.T) {
	t.Parallel()
	// The only write scope any job may hold, and where.
	allowedWrites := map[string]map[string]bool{
		"pull-request.yml/preview": {"pull-requests": true},
		// The Connect image goes to the repository's own registry.
		"connect-image.yml/publish": {"packages": true},
	}
	for file, w := range loadWorkflows(t) {
		t.Run(file, func(t *testing.T) {
			assert.NotEmpty(t, w.Name)
			assert.NotContains(t, w.On, "pull_request_target", "pull_request_target runs with secrets on a fork's say-so")

			all, scopes := wfPermissions(t, w.Permissions)
			require.True(t, all == "" && scopes != nil, "workflow-level permissions must be an explicit map (read-only)")
			for scope, level := range scopes {
				assert.Contains(t, []string{"read", "none"}, level, "workflow-level %s: %s", scope, level)
			}
			for k, v := range w.Env {
				assert.NotContains(t, v, "secrets.", "workflow-level env %s exposes a secret to every job", k)
			}
			for id, j := range w.Jobs {
				all, scopes := wfPermissions(t, j.Permissions)
				assert.Empty(t, all, "job %s: no read-all/write-all", id)
				for scope, level := range scopes {
					if level == "write" {
						assert.True(t, allowedWrites[file+"/"+id][scope], "job %s may not write %s", id, scope)
					}
				}
			}
		})
	}
}

// TestWorkflowsLeaveNoScriptInjection: expressions reach run: scripts only
// through env, so a crafted stack name or branch is data, never code.
func TestWorkflowsLeaveNoScriptInjection(t *testing.T) {
	t.Parallel()
	pinned := regexp.MustCompile(`^[\w.-]+/[\w.-]+@[0-9a-f]{40}$`)
	for file, w := range loadWorkflows(t) {
		for id, j := range w.Jobs {
			for i, s := range j.Steps {
				where := file + "/" + id + "/" + s.Name
				assert.NotContains(t, s.Run, "${{", "%s step %d: pass expressions through env", where, i)
				if s.Uses != "" {
					assert.Regexp(t, pinned, s.Uses, "%s: pin actions to a commit", where)
				}
				if s.action() == "actions/checkout" {
					assert.Equal(t, "false", s.input("persist-credentials"), "%s: keep the token out of .git/config", where)
				}
				if s.action() == "actions/setup-go" {
					assert.Equal(t, "go.mod", s.input("go-version-file"), where)
				}
			}
		}
	}
}

// TestWorkflowPulumiCLIMatchesSDK: CI runs the Pulumi CLI of the SDK version
// go.mod requires, with inputs pulumi/actions v7 really has.
func TestWorkflowPulumiCLIMatchesSDK(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "go.mod"))
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^\s*github\.com/pulumi/pulumi/sdk/v3 v(\S+)`).FindSubmatch(raw)
	require.NotNil(t, m, "go.mod requires no Pulumi SDK")
	sdk := string(m[1])

	uses := 0
	for file, w := range loadWorkflows(t) {
		for id, j := range w.Jobs {
			for _, s := range j.Steps {
				if s.action() != pulumiAction {
					continue
				}
				uses++
				assert.Equal(t, "${{ env.PULUMI_VERSION }}", s.input("pulumi-version"), "%s/%s", file, id)
				assert.Equal(t, sdk, w.Env["PULUMI_VERSION"], "%s: PULUMI_VERSION", file)
				for name := range s.With {
					assert.Contains(t, pulumiActionInputs, name, "%s/%s: pulumi/actions has no input %q", file, id, name)
				}
			}
		}
	}
	assert.GreaterOrEqual(t, uses, 3, "preview, up and the teardown's CLI install")
}

func TestWorkflowPullRequestPreviews(t *testing.T) {
	t.Parallel()
	w := wfGet(t, loadWorkflows(t), "pull-request.yml")
	require.Contains(t, w.On, "pull_request")
	assert.Len(t, w.On, 1, "pull requests only")

	test := wfJobOf(t, w, "test")
	assert.GreaterOrEqual(t, wfStepIndex(test, func(s wfStep) bool { return s.Run == "make test" }), 0, "unit tests")
	assert.GreaterOrEqual(t, wfStepIndex(test, func(s wfStep) bool { return s.Run == "make lint" }), 0, "lint")

	preview := wfJobOf(t, w, "preview")
	assert.ElementsMatch(t, []any{"test", "stacks", "reviewers"}, preview.Needs, "preview after the tests, for the affected stacks, behind the reviewer check")
	assert.Contains(t, preview.If, "github.event.pull_request.head.repo.full_name == github.repository",
		"no preview (and no secret) for a fork's code")
	_, scopes := wfPermissions(t, preview.Permissions)
	assert.Equal(t, map[string]string{"contents": "read", "pull-requests": "write"}, scopes)
	assert.Equal(t, "${{ fromJSON(needs.stacks.outputs.stacks) }}", preview.Strategy["matrix"].(map[string]any)["stack"])

	i := wfStepIndex(preview, usesPulumi("preview"))
	require.GreaterOrEqual(t, i, 0, "a pulumi/actions preview step")
	s := preview.Steps[i]
	for input, want := range map[string]string{
		"stack-name":      "${{ matrix.stack }}",
		"work-dir":        ".",
		"diff":            "true",
		"comment-on-pr":   "true",
		"edit-pr-comment": "true",
		"cloud-url":       "${{ vars.PULUMI_BACKEND_URL }}",
	} {
		assert.Equal(t, want, s.input(input), "preview input %s", input)
	}

	// Secrets reach the preview job only; the jobs that run for forks see none.
	for id, j := range w.Jobs {
		if id == "preview" {
			assert.Contains(t, j.raw, "secrets.SCW_SECRET_KEY")
			continue
		}
		assert.NotContains(t, j.raw, "secrets.", "job %s runs for forks too", id)
	}
}

func TestWorkflowUpOnMerge(t *testing.T) {
	t.Parallel()
	w := wfGet(t, loadWorkflows(t), "up.yml")
	push, ok := w.On["push"].(map[string]any)
	require.True(t, ok, "up runs on push")
	assert.Equal(t, []any{"main"}, push["branches"])

	up := wfJobOf(t, w, "up")
	assert.Equal(t, "test", up.Needs)
	assert.Equal(t, []any{"dev3"}, up.Strategy["matrix"].(map[string]any)["stack"])
	assert.Equal(t, "up", up.Environment, "the credentials and the team's protection rules live in the environment")
	require.NotNil(t, up.Concurrency)
	assert.Equal(t, stackGroup, up.Concurrency.Group)
	assert.Equal(t, false, up.Concurrency.CancelInProgress, "never cancel a running up")

	i := wfStepIndex(up, usesPulumi("up"))
	require.GreaterOrEqual(t, i, 0, "a pulumi/actions up step")
	assert.Equal(t, "${{ matrix.stack }}", up.Steps[i].input("stack-name"))
}

func TestWorkflowTeardownIsGuarded(t *testing.T) {
	t.Parallel()
	w := wfGet(t, loadWorkflows(t), "teardown.yml")

	dispatch, ok := w.On["workflow_dispatch"].(map[string]any)
	require.True(t, ok, "teardown on demand")
	input := dispatch["inputs"].(map[string]any)["stack"].(map[string]any)
	assert.Equal(t, true, input["required"])
	schedule, ok := w.On["schedule"].([]any)
	require.True(t, ok, "teardown on a schedule")
	require.NotEmpty(t, schedule)
	assert.NotEmpty(t, schedule[0].(map[string]any)["cron"])

	sel := wfJobOf(t, w, "select")
	i := wfStepIndex(sel, func(s wfStep) bool { return s.ID == "select" })
	require.GreaterOrEqual(t, i, 0)
	assert.Contains(t, sel.Steps[i].Run, `go run ./cmd/stackguard -stack "$REQUESTED"`, "on demand: the requested stack is guarded")
	assert.Contains(t, sel.Steps[i].Run, "go run ./cmd/stackguard -list", "on schedule: only the disposable stacks")
	assert.Equal(t, "${{ inputs.stack }}", sel.Steps[i].Env["REQUESTED"])

	destroy := wfJobOf(t, w, "destroy")
	assert.Equal(t, "select", destroy.Needs)
	assert.Equal(t, "${{ fromJSON(needs.select.outputs.stacks) }}", destroy.Strategy["matrix"].(map[string]any)["stack"])
	require.NotNil(t, destroy.Concurrency)
	assert.Equal(t, stackGroup, destroy.Concurrency.Group, "the same group as up: never both at once")
	assert.Equal(t, false, destroy.Concurrency.CancelInProgress, "never cancel a running destroy")
	assert.Equal(t, "${{ matrix.stack }}", destroy.Env["STACK"])
	assert.Equal(t, "true", destroy.Env["PULUMI_K8S_DELETE_UNREACHABLE"], "a cluster that is gone must not block the destroy")

	guard := wfStepIndex(destroy, runsGuard)
	first := wfStepIndex(destroy, runsDestroy)
	require.GreaterOrEqual(t, guard, 0, "the destroy job runs stackguard")
	require.GreaterOrEqual(t, first, 0, "the destroy job destroys")
	assert.Less(t, guard, first, "stackguard runs before any destroy")
	assert.Empty(t, destroy.Steps[guard].If, "the guard always runs")
	assert.Contains(t, destroy.Steps[guard].Run, `-stack "$STACK"`)

	for i, s := range destroy.Steps {
		if runsDestroy(s) {
			assert.Greater(t, i, guard)
			for _, flag := range []string{`--stack "$STACK"`, "--yes", "--skip-preview", "--continue-on-error"} {
				assert.Contains(t, s.Run, flag)
			}
		}
	}
	for file, other := range loadWorkflows(t) {
		if file == "teardown.yml" {
			continue
		}
		for id, j := range other.Jobs {
			assert.Equal(t, -1, wfStepIndex(j, runsDestroy), "%s/%s: destroys belong to the guarded teardown", file, id)
		}
	}
}

// TestWorkflowAffectedStacks runs the pull request's "affected stacks" script
// against real commits: a stack file affects its stack, documentation none,
// anything else every stack CI holds.
func TestWorkflowAffectedStacks(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"bash", "git"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found", tool)
		}
	}
	stacks := wfJobOf(t, wfGet(t, loadWorkflows(t), "pull-request.yml"), "stacks")
	i := wfStepIndex(stacks, func(s wfStep) bool { return s.ID == "affected" })
	require.GreaterOrEqual(t, i, 0)
	script := stacks.Steps[i].Run
	assert.Equal(t, "${{ steps.affected.outputs.stacks }}", stacks.Outputs["stacks"])

	tests := []struct {
		name     string
		ciStacks string
		changed  []string
		want     string
	}{
		{"the dev3 stack file", "dev3", []string{"Pulumi.dev3.yaml"}, `["dev3"]`},
		{"a stack CI does not hold", "dev3", []string{"Pulumi.local.yaml"}, `[]`},
		{"that stack, when CI holds it", "dev3 local", []string{"Pulumi.local.yaml"}, `["local"]`},
		{"program code", "dev3 local", []string{"components/kafka/kafka.go"}, `["dev3","local"]`},
		{"the project file", "dev3", []string{"Pulumi.yaml"}, `["dev3"]`},
		{"go.sum", "dev3", []string{"go.sum"}, `["dev3"]`},
		{"documentation only", "dev3", []string{"README.md", "docs/delivery.md"}, `[]`},
		{"documentation and a stack file", "dev3 local", []string{"docs/delivery.md", "Pulumi.dev3.yaml"}, `["dev3"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo := t.TempDir()
			git := func(args ...string) {
				t.Helper()
				cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"}, args...)...)
				cmd.Dir = repo
				out, err := cmd.CombinedOutput()
				require.NoError(t, err, "git %v: %s", args, out)
			}
			write := func(name, body string) {
				p := filepath.Join(repo, name)
				require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
				require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
			}
			git("init", "-q")
			write("base.txt", "base\n")
			git("add", "-A")
			git("commit", "-q", "-m", "main")
			for _, f := range tt.changed {
				write(f, "changed\n")
			}
			git("add", "-A")
			git("commit", "-q", "-m", "the pull request")

			output := filepath.Join(t.TempDir(), "output")
			cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script)
			cmd.Dir = repo
			cmd.Env = append(os.Environ(),
				"CI_STACKS="+tt.ciStacks,
				"GITHUB_OUTPUT="+output,
				"GITHUB_STEP_SUMMARY="+filepath.Join(t.TempDir(), "summary"),
			)
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s", out)
			got, err := os.ReadFile(output)
			require.NoError(t, err)
			assert.Equal(t, "stacks="+tt.want+"\n", string(got))
		})
	}

	t.Run("a bad name in CI_STACKS", func(t *testing.T) {
		repo := t.TempDir()
		cmd := exec.Command("bash", "-c", "git init -q && git -c user.name=t -c user.email=t@example.com -c commit.gpgsign=false commit -q --allow-empty -m a && git -c user.name=t -c user.email=t@example.com -c commit.gpgsign=false commit -q --allow-empty -m b")
		cmd.Dir = repo
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		cmd = exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "CI_STACKS=dev3 $(touch pwned) *", "GITHUB_OUTPUT="+filepath.Join(repo, "out"), "GITHUB_STEP_SUMMARY=/dev/null")
		out, err = cmd.CombinedOutput()
		assert.Error(t, err)
		assert.Contains(t, string(out), "not a plain stack name")
		assert.NoFileExists(t, filepath.Join(repo, "pwned"))
	})
}

// secretVars are the names of the variables a step sees that hold secrets:
// set from ${{ secrets.* }} in the workflow's, the job's or the step's env.
func secretVars(w *workflowFile, j wfJob, s wfStep) []string {
	var names []string
	for _, env := range []map[string]string{w.Env, j.Env, s.Env} {
		for k, v := range env {
			if strings.Contains(v, "secrets.") {
				names = append(names, k)
			}
		}
	}
	return names
}

// environments are the GitHub environments a job may run in: a name, a
// {name, url} map, or the names an expression picks (cond && 'a' || 'b').
func environments(t *testing.T, env any) []string {
	t.Helper()
	if m, ok := env.(map[string]any); ok {
		env = m["name"]
	}
	switch env := env.(type) {
	case nil:
		return nil
	case string:
		if !strings.HasPrefix(env, "${{") {
			return []string{env}
		}
		var names []string
		for _, m := range regexp.MustCompile(`(?:&&|\|\|)\s*'([^']+)'`).FindAllStringSubmatch(env, -1) {
			names = append(names, m[1])
		}
		require.NotEmpty(t, names, "environment %q names none literally", env)
		return names
	}
	t.Fatalf("environment: unexpected %T", env)
	return nil
}

// TestWorkflowSecretsOnlyInEnvironments: a job that can read a secret runs
// in an environment, whose branch policy and reviewers are settings of the
// repository that no branch can edit away.
func TestWorkflowSecretsOnlyInEnvironments(t *testing.T) {
	t.Parallel()
	withSecrets := 0
	for file, w := range loadWorkflows(t) {
		for id, j := range w.Jobs {
			if !strings.Contains(j.raw, "secrets.") {
				continue
			}
			withSecrets++
			assert.NotEmpty(t, environments(t, j.Environment), "%s/%s reads secrets outside an environment", file, id)
		}
	}
	assert.Equal(t, 3, withSecrets, "preview, up and destroy read secrets")
}

// TestWorkflowEnvironmentsAreSeparate: a preview (any branch of the
// repository, with approval) never holds the credentials of up or destroy
// (default branch only); the evening teardown has its own environment,
// without reviewers, which only the schedule picks.
func TestWorkflowEnvironmentsAreSeparate(t *testing.T) {
	t.Parallel()
	all := loadWorkflows(t)
	preview := environments(t, wfJobOf(t, wfGet(t, all, "pull-request.yml"), "preview").Environment)
	up := environments(t, wfJobOf(t, wfGet(t, all, "up.yml"), "up").Environment)
	destroy := wfJobOf(t, wfGet(t, all, "teardown.yml"), "destroy")
	teardown := environments(t, destroy.Environment)

	assert.Equal(t, []string{"preview"}, preview)
	assert.Equal(t, []string{"up"}, up)
	assert.ElementsMatch(t, []string{"teardown-scheduled", "teardown"}, teardown)
	for _, p := range preview {
		assert.NotContains(t, up, p, "preview and up share an environment")
		assert.NotContains(t, teardown, p, "preview and teardown share an environment")
	}
	for _, u := range up {
		assert.NotContains(t, teardown, u, "up and teardown share an environment")
	}
	assert.Equal(t, "${{ github.event_name == 'schedule' && 'teardown-scheduled' || 'teardown' }}", destroy.Environment,
		"only the schedule runs without a reviewer")
}

// tunnel is the step that runs scripts/ci-tunnel.sh with one of modes.
func tunnel(modes ...string) func(wfStep) bool {
	return func(s wfStep) bool {
		for _, m := range modes {
			if strings.TrimSpace(s.Run) == "scripts/ci-tunnel.sh "+m {
				return true
			}
		}
		return false
	}
}

// reachesCluster: a step that talks to the stack's cluster (a pulumi/actions
// command, or a destroy).
func reachesCluster(s wfStep) bool {
	return (s.action() == pulumiAction && s.input("command") != "") || runsDestroy(s)
}

// TestWorkflowTunnelPairsUp: every job that reaches a cluster opens the
// WireGuard tunnel before and closes it after, also when a step failed or
// the run was cancelled; the private key is in the opening step only.
func TestWorkflowTunnelPairsUp(t *testing.T) {
	t.Parallel()
	all := loadWorkflows(t)
	want := map[string]string{"pull-request.yml/preview": "open", "up.yml/up": "open-when-ready", "teardown.yml/destroy": "open"}
	for key, mode := range want {
		file, id, _ := strings.Cut(key, "/")
		t.Run(key, func(t *testing.T) {
			j := wfJobOf(t, wfGet(t, all, file), id)
			open := wfStepIndex(j, tunnel(mode))
			require.GreaterOrEqual(t, open, 0, "%s opens the tunnel with %q", key, mode)
			closing := wfStepIndex(j, tunnel("close"))
			require.GreaterOrEqual(t, closing, 0, "%s closes the tunnel", key)
			assert.Equal(t, "always()", j.Steps[closing].If, "the tunnel is closed on failure and cancellation too")
			assert.Len(t, slices.DeleteFunc(slices.Clone(j.Steps), func(s wfStep) bool { return !tunnel("open", "open-when-ready", "close")(s) }), 2,
				"one opening, one closing")

			reaching := 0
			for i, s := range j.Steps {
				if reachesCluster(s) {
					reaching++
					assert.Greater(t, i, open, "%s: tunnel first", s.Name)
					assert.Less(t, i, closing, "%s: tunnel closed after", s.Name)
				}
				holds := s.Env["CI_WIREGUARD_PRIVATE_KEY"] != ""
				assert.Equal(t, i == open, holds, "%s: the WireGuard key is for the opening step alone", s.Name)
			}
			assert.Positive(t, reaching)
			assert.Equal(t, "${{ secrets.CI_WIREGUARD_PRIVATE_KEY }}", j.Steps[open].Env["CI_WIREGUARD_PRIVATE_KEY"])
			assert.Equal(t, "${{ matrix.stack }}", j.Env["STACK"])
		})
	}
	for file, w := range all {
		for id, j := range w.Jobs {
			if _, ok := want[file+"/"+id]; ok {
				continue
			}
			assert.Equal(t, -1, wfStepIndex(j, reachesCluster), "%s/%s reaches a cluster without the tunnel", file, id)
		}
	}
}

// secretUse is the one way a script may touch a secret variable: printf, a
// shell builtin (no process, no argv), writing it into a file.
func secretUse(name string) *regexp.Regexp {
	return regexp.MustCompile(`printf '[^']*' "\$\{?` + name + `(:\?)?\}?" > `)
}

// secretRefs finds the lines of script that use a variable of names and do
// not merely write it to a file.
func secretRefs(script string, names []string) []string {
	var bad []string
	for _, name := range names {
		ref := regexp.MustCompile(`\$\{?` + name + `\b`)
		for _, line := range strings.Split(script, "\n") {
			if ref.MatchString(line) && !secretUse(name).MatchString(line) {
				bad = append(bad, strings.TrimSpace(line))
			}
		}
	}
	return bad
}

// TestWorkflowSecretsNeverInArguments: a secret in a command's arguments is
// readable by every process of the runner (and lands in logs of failed
// commands): the scripts only write secrets to files, and commands read
// them from there (curl -H @file, wg private-key FILE).
func TestWorkflowSecretsNeverInArguments(t *testing.T) {
	t.Parallel()
	checked := 0
	for file, w := range loadWorkflows(t) {
		for id, j := range w.Jobs {
			for _, s := range j.Steps {
				where := file + "/" + id + "/" + s.Name
				assert.NotContains(t, s.Run, "secrets.", where)
				for name, v := range s.With {
					assert.NotContains(t, fmt.Sprint(v), "secrets.", "%s: input %s", where, name)
				}
				if names := secretVars(w, j, s); len(names) > 0 && s.Run != "" {
					checked++
					assert.Empty(t, secretRefs(s.Run, names), "%s: secrets in command lines", where)
				}
			}
		}
	}
	assert.Positive(t, checked)

	raw, err := os.ReadFile(filepath.Join(repoRoot, "scripts", "ci-tunnel.sh"))
	require.NoError(t, err)
	assert.Empty(t, secretRefs(string(raw), []string{"SCW_SECRET_KEY", "CI_WIREGUARD_PRIVATE_KEY"}), "scripts/ci-tunnel.sh")
	assert.Regexp(t, secretUse("SCW_SECRET_KEY"), string(raw))
	assert.Regexp(t, secretUse("CI_WIREGUARD_PRIVATE_KEY"), string(raw))
}

// TestSecretRefsCatchesArguments: the check above finds the forms a secret
// takes on a command line.
func TestSecretRefsCatchesArguments(t *testing.T) {
	t.Parallel()
	for _, line := range []string{
		`curl -H "X-Auth-Token: $SCW_SECRET_KEY" https://api.scaleway.com`,
		`wg set wg-ci private-key <(echo "${CI_WIREGUARD_PRIVATE_KEY}")`,
		`echo "$SCW_SECRET_KEY" | tee key`,
		`printf '%s' "$SCW_SECRET_KEY" | curl -d @- x`,
	} {
		assert.NotEmpty(t, secretRefs(line, []string{"SCW_SECRET_KEY", "CI_WIREGUARD_PRIVATE_KEY"}), line)
	}
	assert.Empty(t, secretRefs(`(umask 077 && printf 'X-Auth-Token: %s\n' "$SCW_SECRET_KEY" > "$auth")`, []string{"SCW_SECRET_KEY"}))
	assert.Empty(t, secretRefs(`echo "$SCW_SECRET_KEYS"`, []string{"SCW_SECRET_KEY"}), "another variable")
}
