# ucarp-go: a userland CARP failover daemon, drop-in for ucarp 1.5.2.
#
#   make            build bin/ucarp
#   make demo       (root) a VIP failing over between hosts in network namespaces
#   make test       (root) every test: unit, end-to-end, interop with Debian's ucarp, lint
#   make bench      benchmarks
#   make install    PREFIX=/usr DESTDIR= BINDIR=$(PREFIX)/sbin

GO          ?= go
PREFIX      ?= /usr
DESTDIR     ?=
BINDIR      ?= $(PREFIX)/sbin
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo 0.1.0)
LDFLAGS     := -s -w -X main.version=$(VERSION)
GOBIN       := $(shell $(GO) env GOPATH)/bin
STATICCHECK := $(GOBIN)/staticcheck
FUZZTIME    ?= 30s

# Debian packages the tests need, installed only when missing: ucarp is the
# interop peer (never overwrite /usr/sbin/ucarp with ours), iproute2 builds
# the lab, util-linux's setpriv runs the least-privilege test.
DEB_DEPS ?= ucarp iproute2 util-linux

.PHONY: all build demo test unit lint deps fuzz bench clean install uninstall

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/ucarp ./cmd/ucarp

demo: build
	@if [ "$$(id -u)" != 0 ]; then \
		echo "make demo needs root to create network namespaces: sudo make demo"; exit 1; fi
	$(GO) run ./internal/demo -ucarp bin/ucarp

# Everything CI runs: .ci/run is "make test".
test: deps lint unit

unit:
	$(GO) test -count=1 -timeout 30m ./...

deps:
	@missing=""; for p in $(DEB_DEPS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y -q --no-install-recommends $$missing || \
		{ apt-get update -q && apt-get install -y -q --no-install-recommends $$missing; }; \
	fi

$(STATICCHECK):
	$(GO) install honnef.co/go/tools/cmd/staticcheck@v0.8.2

# Lint once per OS, for Linux and for FreeBSD on amd64 and arm64; compile
# the FreeBSD tests (-exec=true builds them without running them).
lint: $(STATICCHECK)
	@unformatted=$$(gofmt -l .); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...
	for arch in amd64 arm64; do \
		GOOS=freebsd GOARCH=$$arch $(GO) build ./... && \
		GOOS=freebsd GOARCH=$$arch $(GO) vet ./... && \
		GOOS=freebsd GOARCH=$$arch $(STATICCHECK) ./... && \
		GOOS=freebsd GOARCH=$$arch $(GO) test -count=1 -exec=true ./... >/dev/null || exit 1; \
	done
	for f in packaging/freebsd/ucarp scripts/*.sh; do sh -n $$f || exit 1; done

# Longer fuzzing than the seed runs of make test.
fuzz:
	for t in FuzzPacket FuzzHeader FuzzValidator FuzzMachine; do \
		$(GO) test ./carp -run XXX -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) || exit 1; done
	$(GO) test ./platform -run XXX -fuzz '^FuzzRoutingMessages$$' -fuzztime $(FUZZTIME)

bench:
	$(GO) test -run XXX -bench . -benchmem ./carp

install: build
	install -D -m 0755 bin/ucarp $(DESTDIR)$(BINDIR)/ucarp

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/ucarp

clean:
	rm -rf bin dist
