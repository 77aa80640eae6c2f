# stripesync — run `make help` for the targets.

GO      ?= go
# Every target builds, tests and scans with the toolchain go.mod names
# (fetched from the module proxy when the machine's Go is older), the release
# govulncheck finds clean; GOTOOLCHAIN=local make … keeps the machine's own.
GOTOOLCHAIN ?= auto
export GOTOOLCHAIN
PKGS    ?= ./...
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# The Postgres tests run against this database; they skip when it is unset
# (CI sets STRIPESYNC_REQUIRE_PG=1, which turns a skip into a failure).
STRIPESYNC_TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable
export STRIPESYNC_TEST_DATABASE_URL

.PHONY: help build test test-short test-pg golden bench bench-events bench-pay demo vet staticcheck fmt-check tidy-check vulncheck lint

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: ## build bin/stripesync
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o bin/stripesync ./cmd/stripesync

test: ## run every test, with the race detector, on SQLite and Postgres
	$(GO) test -race -count=1 -timeout 20m $(PKGS)

test-short: ## the quick tests only
	$(GO) test -short -count=1 $(PKGS)

test-pg: ## every test, with a skipped Postgres test counted as a failure
	STRIPESYNC_REQUIRE_PG=1 $(GO) test -count=1 -timeout 20m $(PKGS)

golden: ## rewrite every golden file (e-mails, error bodies, SOAP answers, the receipt PDF) from the current code; review the diff
	$(GO) test -count=1 -run 'Golden' ./receipts/ ./httpapi/ ./crm/ -update

bench: ## run the benchmarks quoted in the README (slow: minutes), bench-events aside
	$(GO) test -run '^$$' -bench . -skip 'BenchmarkEvents' -benchtime 1x -timeout 60m ./sync/ ./cmd/stripesync/ ./store/

bench-pay: ## the pay page render and Checkout → Invoice__c Paid through the binary, SQLite and Postgres (about a minute; STRIPESYNC_BENCH_PAGE_* / _CHECKOUT* knobs)
	$(GO) test -run '^$$' -bench 'BenchmarkPayPage|BenchmarkCheckoutToCRMPaid' -benchtime 1x -timeout 15m ./cmd/stripesync/

bench-events: ## the event worker through the binary: volume, slow Stripe, outage, unknown ids (long; STRIPESYNC_BENCH_* knobs)
	$(GO) test -run '^$$' -bench 'BenchmarkEvents' -benchtime 1x -timeout 120m ./cmd/stripesync/

demo: ## run the demo (emulators + sample data) once
	$(GO) run ./cmd/stripesync demo --once

vet: ## go vet
	$(GO) vet $(PKGS)

staticcheck: ## staticcheck, pinned in go.mod as a go tool
	$(GO) tool staticcheck $(PKGS)

tidy-check: ## fail if go mod tidy would change go.mod or go.sum
	$(GO) mod tidy -diff

vulncheck: ## govulncheck with the vulnerability database from the module proxy (.ci/vulncheck)
	bash .ci/vulncheck

fmt-check: ## fail if gofmt would change a file
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)

lint: vet staticcheck fmt-check tidy-check ## vet, staticcheck, formatting and a tidy go.mod
