package tests

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/apk8s/apk8s-platform/stacks"
)

// day2Row is one row of the day-2 table: a key in backticks and what `up`
// does to a running stack.
var day2Row = regexp.MustCompile("^\\| `([^`]+)` \\| (.*) \\|$")

// day2Rows reads the day-2 table: what each row says, by key, and the keys
// named more than once.
func day2Rows(t *testing.T, text string) (rows map[string]string, twice []string) {
	t.Helper()
	rows = map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		m := day2Row.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			continue
		}
		if _, seen := rows[m[1]]; seen {
			twice = append(twice, m[1])
		}
		rows[m[1]] = strings.TrimSpace(m[2])
	}
	return rows, twice
}

// TestDay2TableCoversEveryKey: docs/day-2.md has exactly one row, with a
// say, for every config key, and no row for a key that does not exist.
func TestDay2TableCoversEveryKey(t *testing.T) {
	t.Parallel()
	text, err := os.ReadFile("../docs/day-2.md")
	require.NoError(t, err)
	rows, twice := day2Rows(t, string(text))
	assert.Empty(t, twice, "keys with more than one row")
	declared := map[string]bool{}
	for _, k := range stacks.Keys {
		declared[k.Name] = true
		say, ok := rows[k.Name]
		if assert.True(t, ok, "docs/day-2.md has no row for the key %s: add `| `%s` | what up does to a running stack |`", k.Name, k.Name) {
			assert.NotEmpty(t, say, k.Name)
		}
	}
	for key := range rows {
		assert.True(t, declared[key], "docs/day-2.md has a row for %s, which is no config key", key)
	}
}

// TestDay2RowsParse: the parser takes a row, leaves other lines alone,
// and notices a key named twice (what the coverage test stands on).
func TestDay2RowsParse(t *testing.T) {
	t.Parallel()
	rows, twice := day2Rows(t, "| key | what |\n|---|---|\n| `a` | in place |\ntext `b` here\n| `c` | refused |\n| `a` | again |\n")
	assert.Equal(t, map[string]string{"a": "again", "c": "refused"}, rows)
	assert.Equal(t, []string{"a"}, twice)
}
