# The commands a developer types every day; each is the command the README
# documents, nothing more. STACK is required where a stack is touched:
#
#   make test                  go test ./...
#   make lint                  gofmt, go vet, actionlint over the workflows
#   make mutate                mutation testing of components/ and stacks/
#   make preview STACK=dev3    pulumi preview --diff -s dev3
#   make up STACK=dev3         pulumi up -s dev3
#   make destroy STACK=dev3    stackguard, then pulumi destroy -s dev3
#   make verify STACK=local    the book's checks against the deployed stack
#                              (docs/verify.md; VERIFY_FLAGS="-mqtt-user sysop ...")

GO ?= go
PULUMI ?= pulumi

.PHONY: test lint mutate preview up destroy verify

test:
	$(GO) test ./...

lint:
	@files=$$(gofmt -l .); if [ -n "$$files" ]; then echo "gofmt -l: not formatted:" $$files; exit 1; fi
	$(GO) vet ./...
	scripts/lint-workflows.sh

# Mutation testing (.gremlins.yaml); slow, so never part of `make test` or CI.
# The tool is built from the module proxy into the Go cache on first use.
GREMLINS ?= $(GO) run github.com/go-gremlins/gremlins/cmd/gremlins@v0.6.0
# Vet is off for the mutants' test runs: a mutant is judged by the tests,
# and vet over every package costs each of them about a second.
mutate:
	GOFLAGS=-vet=off $(GREMLINS) unleash

preview:
	$(call need-stack)
	$(PULUMI) preview --diff -s $(STACK)

up:
	$(call need-stack)
	$(PULUMI) up -s $(STACK)

# The guard refuses any stack whose Pulumi.<stack>.yaml does not set
# apk8s-platform:disposable to true.
destroy:
	$(call need-stack)
	$(GO) run ./cmd/stackguard -stack $(STACK)
	PULUMI_K8S_DELETE_UNREACHABLE=true $(PULUMI) destroy -s $(STACK) --continue-on-error

# Runs against the stack's state where cmd/platform keeps it (its -workdir);
# PULUMI_CONFIG_PASSPHRASE must be the stack's.
verify:
	$(call need-stack)
	$(GO) run ./cmd/platform -stack $(STACK) $(VERIFY_FLAGS) verify

need-stack = $(if $(STACK),,$(error set the stack: make $@ STACK=dev3))
