package tests

import (
	"fmt"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A job's steps as the runner decides them: each step's `if:` (success()
// when it has none) is evaluated against the outcomes and outputs of the
// steps before it, a failed step fails the job unless it continues on
// error, and steps that did not run are skipped. Enough of GitHub's
// expression language for the conditions the workflows use: status
// functions, steps.<id>.outcome|conclusion|outputs.<name>, string
// literals, ==, !=, !, &&, || and parentheses.

// jobRun is one simulated run of a job.
type jobRun struct {
	ran    []string // the steps that ran, by name (or id)
	failed bool     // the job's result
}

// simulateJob runs j's steps where fail names the steps that fail when
// they run and outputs the outputs a step sets when it runs.
func simulateJob(t *testing.T, j wfJob, fail map[string]bool, outputs map[string]map[string]string) jobRun {
	t.Helper()
	var run jobRun
	outcome := map[string]string{}    // step id -> success|failure|skipped
	conclusion := map[string]string{} // after continue-on-error
	set := map[string]map[string]string{}
	for _, s := range j.Steps {
		label := stepLabel(s)
		cond := s.If
		if cond == "" {
			cond = "success()"
		}
		ok, err := evalCondition(cond, run.failed, outcome, conclusion, set)
		require.NoError(t, err, "step %q: if: %s", label, cond)
		o := "skipped"
		if ok {
			run.ran = append(run.ran, label)
			o = "success"
			if fail[label] {
				o = "failure"
			}
			if o == "success" && s.ID != "" {
				set[s.ID] = outputs[label]
			}
		}
		c := o
		if o == "failure" && s.ContinueOnError {
			c = "success"
		}
		if c == "failure" {
			run.failed = true
		}
		if s.ID != "" {
			outcome[s.ID], conclusion[s.ID] = o, c
		}
	}
	return run
}

func stepLabel(s wfStep) string {
	if s.Name != "" {
		return s.Name
	}
	if s.ID != "" {
		return s.ID
	}
	return s.Uses + s.Run
}

// evalCondition evaluates an `if:` of a step.
func evalCondition(cond string, failed bool, outcome, conclusion map[string]string, outputs map[string]map[string]string) (bool, error) {
	cond = strings.TrimSpace(cond)
	if strings.HasPrefix(cond, "${{") && strings.HasSuffix(cond, "}}") {
		cond = strings.TrimSpace(cond[3 : len(cond)-2])
	}
	p := &exprParser{toks: exprTokens(cond), lookup: func(ref string) (string, error) {
		parts := strings.Split(ref, ".")
		if len(parts) < 3 || parts[0] != "steps" {
			return "", fmt.Errorf("unknown reference %q", ref)
		}
		switch {
		case len(parts) == 3 && parts[2] == "outcome":
			return outcome[parts[1]], nil
		case len(parts) == 3 && parts[2] == "conclusion":
			return conclusion[parts[1]], nil
		case len(parts) == 4 && parts[2] == "outputs":
			return outputs[parts[1]][parts[3]], nil
		}
		return "", fmt.Errorf("unknown reference %q", ref)
	}, status: map[string]bool{"always": true, "success": !failed, "failure": failed, "cancelled": false}}
	v, err := p.or()
	if err == nil && p.pos != len(p.toks) {
		err = fmt.Errorf("unexpected %q", p.toks[p.pos])
	}
	return truthy(v), err
}

func truthy(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		return x != ""
	}
	return false
}

func exprTokens(s string) []string {
	var toks []string
	for i := 0; i < len(s); {
		c := rune(s[i])
		switch {
		case unicode.IsSpace(c):
			i++
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return append(toks, s[i:])
			}
			toks = append(toks, s[i:i+j+2])
			i += j + 2
		case strings.HasPrefix(s[i:], "==") || strings.HasPrefix(s[i:], "!=") || strings.HasPrefix(s[i:], "&&") || strings.HasPrefix(s[i:], "||"):
			toks = append(toks, s[i:i+2])
			i += 2
		case strings.ContainsRune("!()", c):
			toks = append(toks, string(c))
			i++
		default:
			j := i
			for j < len(s) && (unicode.IsLetter(rune(s[j])) || unicode.IsDigit(rune(s[j])) || strings.ContainsRune("._-", rune(s[j]))) {
				j++
			}
			if j == i {
				return append(toks, s[i:])
			}
			toks = append(toks, s[i:j])
			i = j
		}
	}
	return toks
}

type exprParser struct {
	toks   []string
	pos    int
	lookup func(string) (string, error)
	status map[string]bool
}

func (p *exprParser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func (p *exprParser) or() (any, error) {
	l, err := p.and()
	for err == nil && p.peek() == "||" {
		p.pos++
		var r any
		r, err = p.and()
		l = truthy(l) || truthy(r)
	}
	return l, err
}

func (p *exprParser) and() (any, error) {
	l, err := p.cmp()
	for err == nil && p.peek() == "&&" {
		p.pos++
		var r any
		r, err = p.cmp()
		l = truthy(l) && truthy(r)
	}
	return l, err
}

func (p *exprParser) cmp() (any, error) {
	l, err := p.unary()
	if err != nil || (p.peek() != "==" && p.peek() != "!=") {
		return l, err
	}
	op := p.peek()
	p.pos++
	r, err := p.unary()
	eq := fmt.Sprint(l) == fmt.Sprint(r)
	return eq == (op == "=="), err
}

func (p *exprParser) unary() (any, error) {
	tok := p.peek()
	p.pos++
	switch {
	case tok == "!":
		v, err := p.unary()
		return !truthy(v), err
	case tok == "(":
		v, err := p.or()
		if p.peek() != ")" {
			return nil, fmt.Errorf("missing )")
		}
		p.pos++
		return v, err
	case strings.HasPrefix(tok, "'"):
		return strings.Trim(tok, "'"), nil
	case p.peek() == "(":
		status, ok := p.status[tok]
		if !ok {
			return nil, fmt.Errorf("unknown function %s()", tok)
		}
		p.pos++
		if p.peek() != ")" {
			return nil, fmt.Errorf("%s takes no arguments", tok)
		}
		p.pos++
		return status, nil
	case tok == "true" || tok == "false":
		return tok == "true", nil
	case tok != "":
		return p.lookup(tok)
	}
	return nil, fmt.Errorf("unexpected end")
}

// TestConditionEvaluator: the simulator reads conditions as GitHub does.
func TestConditionEvaluator(t *testing.T) {
	t.Parallel()
	outcome := map[string]string{"a": "failure"}
	conclusion := map[string]string{"a": "success"}
	outputs := map[string]map[string]string{"s": {"exists": "true"}}
	for cond, want := range map[string]bool{
		"success()":                                               true,
		"failure()":                                               false,
		"always()":                                                true,
		"${{ !cancelled() }}":                                     true,
		"steps.s.outputs.exists == 'true'":                        true,
		"steps.s.outputs.exists != 'true'":                        false,
		"steps.s.outputs.other == 'true'":                         false,
		"steps.a.outcome == 'success'":                            false,
		"steps.a.conclusion == 'success'":                         true,
		"!(steps.a.outcome == 'failure')":                         false,
		"failure() || steps.s.outputs.exists":                     true,
		"${{ !cancelled() && steps.s.outputs.exists == 'true' }}": true,
		"${{ !cancelled() && steps.a.outcome == 'success' }}":     false,
	} {
		got, err := evalCondition(cond, false, outcome, conclusion, outputs)
		require.NoError(t, err, cond)
		assert.Equal(t, want, got, cond)
	}
	_, err := evalCondition("github.event_name == 'schedule'", false, nil, nil, nil)
	assert.Error(t, err, "a reference the simulator does not know is an error, not false")
}

// TestWorkflowTeardownTearsDownWithoutTheTunnel: the destroy job destroys
// whether or not the tunnel opens (a control plane gone, its published key
// gone, an API server that does not answer), says which way it went, and
// ends red only when something is left; a guard that refuses stops it
// before any destroy.
func TestWorkflowTeardownTearsDownWithoutTheTunnel(t *testing.T) {
	t.Parallel()
	destroy := wfJobOf(t, wfGet(t, loadWorkflows(t), "teardown.yml"), "destroy")
	stepName := func(match func(wfStep) bool) string {
		i := wfStepIndex(destroy, match)
		require.GreaterOrEqual(t, i, 0)
		return stepLabel(destroy.Steps[i])
	}
	open, closing := stepName(tunnel("open")), stepName(tunnel("close"))
	destroyStep, guard := stepName(runsDestroy), stepName(runsGuard)
	way := stepName(func(s wfStep) bool { return strings.Contains(s.Run, "PULUMI_K8S_DELETE_UNREACHABLE") })
	empty := stepName(func(s wfStep) bool { return strings.Contains(s.Run, "state-after.json") })
	billable := stepName(func(s wfStep) bool { return strings.Contains(s.Run, "still at Scaleway") })
	outputs := map[string]map[string]string{stepName(func(s wfStep) bool { return s.ID == "stack" }): {"exists": "true"}}
	reached := map[string]map[string]string{open: {"reached": "true"}}
	for k, v := range outputs {
		reached[k] = v
	}

	for _, tt := range []struct {
		name    string
		fail    []string
		outputs map[string]map[string]string
		ran     []string
		notRan  []string
		red     bool
	}{
		{"through the tunnel", nil, reached, []string{open, way, destroyStep, empty, billable, closing}, nil, false},
		{"the tunnel does not open", []string{open}, outputs, []string{open, way, destroyStep, empty, billable, closing}, nil, false},
		{"the tunnel does not open and a server stays", []string{open, billable}, outputs, []string{destroyStep, empty, billable, closing}, nil, true},
		{"the destroy fails", []string{destroyStep}, reached, []string{destroyStep, empty, billable, closing}, nil, true},
		{"the guard refuses", []string{guard}, outputs, []string{guard, closing}, []string{open, destroyStep}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fail := map[string]bool{}
			for _, f := range tt.fail {
				fail[f] = true
			}
			run := simulateJob(t, destroy, fail, tt.outputs)
			for _, s := range tt.ran {
				assert.Contains(t, run.ran, s)
			}
			for _, s := range tt.notRan {
				assert.NotContains(t, run.ran, s)
			}
			assert.Equal(t, tt.red, run.failed, "the job's result")
		})
	}
	assert.Equal(t, "true", destroy.Env["PULUMI_K8S_DELETE_UNREACHABLE"], "the objects of a cluster that does not answer go with the servers")
	i := wfStepIndex(destroy, func(s wfStep) bool { return stepLabel(s) == way })
	assert.Equal(t, "${{ steps.tunnel.outputs.reached }}", destroy.Steps[i].Env["REACHED"], "the way is the tunnel's verdict")
}

// TestWorkflowTunnelOnePeerAtATime: the node has one WireGuard peer and
// address for CI, so no two jobs may hold a stack's tunnel at once. Every
// job of every workflow that opens the tunnel opens it to its matrix stack
// only and joins that stack's group, which runs one job at a time and
// never cancels the one running (a preview queued behind an up waits; an
// up never loses its tunnel to a preview). The tunnel finds the control
// plane in the state, so the backend login comes first.
func TestWorkflowTunnelOnePeerAtATime(t *testing.T) {
	t.Parallel()
	openers := 0
	for file, w := range loadWorkflows(t) {
		for id, j := range w.Jobs {
			open := wfStepIndex(j, tunnel("open", "open-when-ready"))
			if open < 0 {
				continue
			}
			openers++
			where := file + "/" + id
			require.NotNil(t, j.Concurrency, "%s opens the tunnel outside any concurrency group", where)
			assert.Equal(t, stackGroup, j.Concurrency.Group, "%s: the stack's one group", where)
			assert.Equal(t, false, j.Concurrency.CancelInProgress, "%s: never cancels a job that holds the tunnel", where)
			assert.Equal(t, "${{ matrix.stack }}", j.Env["STACK"], "%s: the tunnel of the group's stack", where)
			assert.Empty(t, j.Steps[open].Env["STACK"], "%s: no other stack for the opening step", where)
			login := wfStepIndex(j, func(s wfStep) bool { return strings.Contains(s.Run, "pulumi login") })
			assert.True(t, login >= 0 && login < open, "%s: logged in to the backend before the tunnel reads the state", where)
			assert.Equal(t, "${{ vars.PULUMI_BACKEND_URL }}", j.Env["PULUMI_BACKEND_URL"], where)
		}
	}
	assert.Equal(t, 3, openers, "preview, up and destroy open the tunnel")
}
