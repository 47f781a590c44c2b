package stacks

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// configKeys are the names of every config key the run was given. The SDK
// builds one map of them for the context, whichever way the program runs:
// from PULUMI_CONFIG under the Pulumi CLI, from the engine's run request in
// the Automation API's inline mode (cmd/platform, the e2e tests), from
// RunInfo.Config under mocks. It offers lookups by name only, so the names
// are read from that map, read-only. Should a later SDK move it, this
// fails loudly rather than letting typos through.
func configKeys(ctx *pulumi.Context) ([]string, error) {
	v := reflect.ValueOf(ctx).Elem().FieldByName("state")
	if v.Kind() == reflect.Pointer && !v.IsNil() {
		v = v.Elem().FieldByName("info").FieldByName("Config")
	}
	if v.Kind() != reflect.Map || v.Type().Key().Kind() != reflect.String {
		return nil, errors.New("cannot list the stack's config keys with this Pulumi SDK (pulumi.Context has no state.info.Config map): stacks.configKeys needs an update")
	}
	keys := make([]string, 0, v.Len())
	for _, k := range v.MapKeys() {
		keys = append(keys, k.String())
	}
	sort.Strings(keys)
	return keys, nil
}

// unknownKeys reports each key of this project's namespace that the
// program does not declare, with the declared key closest to it. Pulumi
// itself passes undeclared keys through silently.
func (r *reader) unknownKeys(keys []string) {
	for _, key := range keys {
		name, ok := strings.CutPrefix(key, Project+":")
		if _, known := declared(name); !ok || known {
			continue
		}
		v, _ := r.get(key)
		value := fmt.Sprintf("%q", v)
		if r.isSecret(key) {
			value = "[secret]"
		}
		hint := "see Pulumi.yaml for the keys"
		if near := closestKey(name); near != "" {
			hint = "did you mean " + fullKey(near) + "?"
		}
		r.problems = append(r.problems, fmt.Sprintf("%s = %s is not a key of this program: %s (pulumi config rm %s)",
			key, value, hint, name))
	}
}

// closestKey is the declared key nearest to name by edit distance (case
// ignored), if it is near enough to be a typo: at most a third of its
// letters, at least two.
func closestKey(name string) string {
	best, bestDist := "", max(2, len(name)/3)+1
	for _, k := range Keys {
		if d := editDistance(strings.ToLower(name), strings.ToLower(k.Name)); d < bestDist {
			best, bestDist = k.Name, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
