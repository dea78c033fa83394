# regie — the two commands a new user needs are `make run` and `make test`.
GO      ?= go
BIN     := bin/regie
PKGS    := ./...

.PHONY: run build test unit walkthrough bench vet clean

## run: build and start the demo on http://localhost:8080 (data in ./data)
run: build
	./$(BIN) serve --demo

## build: one static binary in bin/regie
build:
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN) ./cmd/regie

## test: vet, every Go test with the race detector, then the README walk-through
## against a freshly started demo server
test: vet unit walkthrough

vet:
	$(GO) vet $(PKGS)
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }

unit:
	$(GO) test -race -count=1 $(PKGS)

walkthrough: build
	examples/run-demo-walkthrough.sh ./$(BIN) bolt
	examples/run-demo-walkthrough.sh ./$(BIN) redis

## bench: the benchmarks, 6 runs each for medians (see docs/benchmarks.md)
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 6 $(PKGS)

clean:
	rm -rf bin
