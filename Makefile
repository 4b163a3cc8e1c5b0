# Vantage — see README.md. Every target works on a fresh machine with Go 1.26
# and the Debian packages the README names.

GO        ?= go
BIN       := bin/vantage
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
PKGS      := ./...

.PHONY: run test audit load build bench-scan fmt lint vet fmt-check generate generate-check fuzz clean

## run: build and serve on http://localhost:8080 with the embedded SQLite store (./data/vantage.db)
run: build
	./$(BIN) serve

## test: formatting, vet, and every test with the race detector
##       (network-lab tests need root, iproute2, nftables; VANTAGE_NETLAB=1 makes them mandatory)
##       -p 1: the lab tests of several packages share the root namespace's
##       interfaces and the two CPUs; one package at a time keeps them honest.
test: generate-check fmt-check vet
	$(GO) test -race -count=1 -p 1 -timeout 15m $(PKGS)

AUDIT := web/testdata/audit

## audit: the Nu HTML Checker and axe-core (pinned in $(AUDIT)/package.json) on
##        every kind of page; needs java, npm and chromium
audit: $(AUDIT)/node_modules/.installed
	VANTAGE_AUDIT=1 VANTAGE_BROWSER=1 \
	VNU_JAR=$(CURDIR)/$(AUDIT)/node_modules/vnu-jar/build/dist/vnu.jar \
	AXE_JS=$(CURDIR)/$(AUDIT)/node_modules/axe-core/axe.min.js \
	$(GO) test -count=1 -run '^TestAudit$$' -v ./web/

$(AUDIT)/node_modules/.installed: $(AUDIT)/package.json $(AUDIT)/package-lock.json
	npm ci --prefix $(AUDIT) --no-audit --no-fund
	touch $@

## generate: regenerate the templ components (the generated code is committed)
generate:
	$(GO) tool templ generate

## generate-check: fail when generating would change a committed file
generate-check:
	@$(GO) tool templ generate >/dev/null 2>&1
	@if ! git diff --quiet -- templates || [ -n "$$(git ls-files --others --exclude-standard -- templates)" ]; then \
		echo "go tool templ generate changed templates/: run make generate and commit"; \
		git diff --stat -- templates; git ls-files --others --exclude-standard -- templates; exit 1; fi

## build: the vantage binary in bin/
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/vantage

## bench-scan: vantage vs nmap -sT on the network lab (needs root, nftables, nmap)
bench-scan: build
	$(GO) run ./internal/netlab/cmd/benchscan -vantage ./$(BIN) $(BENCHFLAGS)

## load: bounded load test of the real service on loopback + a lab (root, wrk); not part of make test
load: build
	$(GO) run ./internal/netlab/cmd/loadtest -vantage ./$(BIN)

## fmt: rewrite Go files with gofmt
fmt:
	gofmt -w $$(git ls-files '*.go')

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

## lint: gofmt and go vet
lint: fmt-check vet

## fuzz: run the port-set parser fuzzer for a while (FUZZTIME=60s)
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime $${FUZZTIME:-60s} ./internal/ports/

clean:
	rm -rf bin
