package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPreviewGuard runs scripts/preview-guard.sh against a stub gh that
// answers GET /repos/{repo}/environments/preview as GitHub's API would:
// the preview goes ahead only behind required reviewers with "Prevent
// self-review" on, and the pull request workflow runs the guard, with no
// secret, before any preview.
func TestPreviewGuard(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"bash", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found", tool)
		}
	}
	const (
		reviewers = `{"type":"required_reviewers","prevent_self_review":%s,"reviewers":[{"type":"Team","reviewer":{"slug":"maintainers"}}]}`
		branches  = `{"type":"branch_policy"}`
	)
	rules := func(r ...string) string {
		out := `{"name":"preview","protection_rules":[`
		for i, x := range r {
			if i > 0 {
				out += ","
			}
			out += x
		}
		return out + `]}`
	}
	for _, tt := range []struct {
		name, answer, want string
		ok                 bool
	}{
		{"reviewers, self-review prevented", rules(branches, fmt.Sprintf(reviewers, "true")), "waits for a reviewer other than the one who started the run", true},
		{"reviewers, self-review allowed", rules(fmt.Sprintf(reviewers, "false")), `turn on "Prevent self-review"`, false},
		{"no reviewer rule", rules(branches), "has no required reviewers", false},
		{"a rule without reviewers", rules(`{"type":"required_reviewers","prevent_self_review":true,"reviewers":[]}`), "names none", false},
		{"no protection rules at all", `{"name":"preview"}`, "has no required reviewers", false},
		{"environment missing or unreadable", "", "cannot read the environment 'preview' of apk8s/apk8s-platform", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			bin := t.TempDir()
			stub := "#!/bin/bash\nprintf '%s\\n' \"$*\" >> \"$(dirname \"$0\")/gh.log\"\n" +
				"[ \"$*\" = 'api repos/apk8s/apk8s-platform/environments/preview' ] || exit 2\n" +
				"[ -n \"$ANSWER\" ] || { echo 'gh: Not Found (HTTP 404)' >&2; exit 1; }\nprintf '%s' \"$ANSWER\"\n"
			require.NoError(t, os.WriteFile(filepath.Join(bin, "gh"), []byte(stub), 0o755))
			cmd := exec.Command(filepath.Join(repoRoot, "scripts", "preview-guard.sh"))
			cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
				"GITHUB_REPOSITORY=apk8s/apk8s-platform", "GH_TOKEN=token", "ANSWER="+tt.answer)
			out, err := cmd.CombinedOutput()
			if tt.ok {
				require.NoError(t, err, "%s", out)
			} else {
				require.Error(t, err, "%s", out)
				assert.Contains(t, string(out), "::error::")
			}
			assert.Contains(t, string(out), tt.want)
		})
	}

	w := wfGet(t, loadWorkflows(t), "pull-request.yml")
	guard := wfJobOf(t, w, "reviewers")
	i := wfStepIndex(guard, func(s wfStep) bool { return s.Run == "scripts/preview-guard.sh" })
	require.GreaterOrEqual(t, i, 0, "the guard job runs the guard")
	assert.Equal(t, "${{ github.token }}", guard.Steps[i].Env["GH_TOKEN"])
	assert.Nil(t, guard.Environment, "the guard holds no environment's secrets")
	assert.NotContains(t, guard.raw, "secrets.")
	_, scopes := wfPermissions(t, guard.Permissions)
	assert.Equal(t, map[string]string{"contents": "read", "actions": "read"}, scopes)
	assert.Contains(t, wfJobOf(t, w, "preview").Needs, "reviewers", "no preview unless the guard passed")
	assert.Equal(t, wfJobOf(t, w, "preview").If, guard.If, "the guard runs wherever a preview would")
}
