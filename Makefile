# ucarp-go: a userland CARP daemon, drop-in for ucarp 1.5.2.
GO      ?= go

.PHONY: all test unit
all: unit

test: unit

unit:
	$(GO) vet ./...
	$(GO) test -count=1 ./...
