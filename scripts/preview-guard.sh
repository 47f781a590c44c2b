#!/usr/bin/env bash
# Refuses the pull request's preview unless the GitHub environment that
# holds its secrets (`preview`) makes each run wait for a reviewer who is
# not the one who started it: a required-reviewers rule with at least one
# reviewer and "Prevent self-review" on. A preview holds the state
# passphrase and so the stack's admin kubeconfig (docs/delivery.md).
#
# It checks the settings as GitHub's REST API reports them
# (GET /repos/{repo}/environments/{name}); it cannot stop a branch that
# edits this check out of its own workflow file. It catches the rule
# switched off or never set: then no preview runs at all.
#
# Environment: GITHUB_REPOSITORY, GH_TOKEN (the job's token, with
# actions: read), PREVIEW_ENVIRONMENT (default preview).
set -euo pipefail
env=${PREVIEW_ENVIRONMENT:-preview}

fail() {
  echo "::error::preview-guard: $*" >&2
  exit 1
}

json=$(gh api "repos/${GITHUB_REPOSITORY:?}/environments/$env") ||
  fail "cannot read the environment '$env' of $GITHUB_REPOSITORY (does it exist, and may the job read it: permissions actions: read?)"
rule=$(jq -c '[.protection_rules[]? | select(.type == "required_reviewers")][0] // empty' <<< "$json")
[ -n "$rule" ] ||
  fail "the environment '$env' has no required reviewers: every writer of the repository would get its secrets (Settings > Environments > $env > Required reviewers)"
[ "$(jq '.reviewers | length' <<< "$rule")" -gt 0 ] ||
  fail "the environment '$env' requires reviewers but names none"
[ "$(jq -r '.prevent_self_review' <<< "$rule")" = true ] ||
  fail "the environment '$env' lets the author of a run approve it: turn on \"Prevent self-review\" (Settings > Environments > $env)"
echo "preview-guard: environment '$env' waits for a reviewer other than the one who started the run"
