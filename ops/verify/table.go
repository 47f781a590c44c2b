package verify

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// Exit statuses of `platform verify`.
const (
	ExitPassed = 0 // every check passed or was skipped
	ExitFailed = 1 // at least one check failed
	ExitCannot = 2 // nothing was checked: not deployed, cluster unreachable, bad arguments
)

// Render prints the results as a table and a closing count line.
func Render(w io.Writer, results []Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tRESULT\tDETAIL")
	count := map[Status]int{}
	for _, r := range results {
		count[r.Status]++
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Check, r.Status, r.Detail)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%d of %d checks passed, %d failed, %d skipped\n", count[Pass], len(results), count[Fail], count[Skip])
	return err
}

// ExitCode is ExitFailed when any check failed, else ExitPassed. No
// results at all is a failure too: nothing was verified.
func ExitCode(results []Result) int {
	if len(results) == 0 {
		return ExitFailed
	}
	for _, r := range results {
		if r.Status == Fail {
			return ExitFailed
		}
	}
	return ExitPassed
}
