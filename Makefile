# ucarp-go: a userland CARP failover daemon, drop-in for ucarp 1.5.2.
#
#   make            build bin/ucarp and bin/ucarpctl
#   make demo       (root) a VIP failing over between hosts in network namespaces
#   make test       (root) every test: unit, end-to-end, interop with Debian's ucarp, lint
#   make bench      benchmarks
#   make bench-scale (root) config mode with 1, 16 and 256 groups: docs/SCALE.md
#   make bench-floor (root) idle CPU of one group beside the floor of a program waking once a second
#   make install    PREFIX=/usr DESTDIR= BINDIR=$(PREFIX)/sbin CTLBINDIR=$(PREFIX)/bin

GO          ?= go
PREFIX      ?= /usr
DESTDIR     ?=
BINDIR      ?= $(PREFIX)/sbin
# ucarpctl is for users too (reading the status needs no root).
CTLBINDIR   ?= $(PREFIX)/bin
MANDIR      ?= $(PREFIX)/share/man
LIBEXECDIR  ?= $(PREFIX)/libexec
UNITDIR     ?= /lib/systemd/system
DOCDIR      ?= $(PREFIX)/share/doc/ucarp-go
# A version that Debian, RPM and humans accept: the tag, or the next
# release with the commit (0.1.0~git1a2b3c4).
BASE_VERSION := 0.1.0
VERSION     ?= $(shell git describe --tags --exact-match 2>/dev/null | sed 's/^v//' || true)
ifeq ($(VERSION),)
VERSION     := $(BASE_VERSION)~git$(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
endif
ARCH        ?= $(shell $(GO) env GOARCH)
LDFLAGS     := -s -w -X main.version=$(VERSION)
# The daemon is built without cgo: no libc mapped (make build: static, no
# ld.so either), 1.3 to 1.8 MiB less RSS (docs/PERF.md, Memory). Nothing of
# ours uses cgo; what changes is that a --control-group name is looked up
# in /etc/group alone and a --metrics-listen host name in /etc/hosts and
# DNS alone (Go's own resolver), not through NSS modules. ucarpctl keeps
# cgo: "ucarpctl pair" resolves host names as ssh does, and it does not
# stay running.
DAEMON_CGO  := CGO_ENABLED=0
# Packages get a hardened binary (PIE, full RELRO), as Debian asks of
# daemons. ucarpctl: through the external linker. The daemon, without cgo:
# Go's internal linker makes the PIE (RELRO, -bindnow for BIND_NOW; no
# NEEDED library, only ld.so to relocate it).
PKG_LDFLAGS := $(LDFLAGS) -linkmode=external -extldflags '-Wl,-z,relro,-z,now'
PKG_DAEMON_LDFLAGS := $(LDFLAGS) -bindnow
# Go's internal linker makes a PIE on these architectures only; elsewhere
# (i386, armhf, riscv64, s390x...) the packaged daemon keeps cgo and the
# external linker, as ucarpctl.
ifeq ($(filter $(ARCH),amd64 arm64 ppc64le loong64),)
PKG_DAEMON_CGO     :=
PKG_DAEMON_LDFLAGS := $(PKG_LDFLAGS)
else
PKG_DAEMON_CGO     := $(DAEMON_CGO)
endif
GOBIN       := $(shell $(GO) env GOPATH)/bin
STATICCHECK := $(GOBIN)/staticcheck
STRINGER    := $(GOBIN)/stringer
NFPM        := $(GOBIN)/nfpm
FUZZTIME    ?= 30s

# Debian packages the tests need, installed only when missing: ucarp is the
# interop peer (never overwrite /usr/sbin/ucarp with ours) and brings
# ifupdown; iproute2 builds the lab; util-linux (setpriv, unshare, nsenter);
# debootstrap, lintian, rpm, man-db and systemd check the packages;
# prometheus brings promtool, which checks the metrics; chromium renders the
# status page (e2e TestStatusPageScreenshot); keepalived and frr (vrrpd) are
# the VRRPv3 interop peers; nftables builds the lab's multicast-dropping
# bridge (unicast peers).
DEB_DEPS ?= ucarp ifupdown iproute2 util-linux debootstrap lintian rpm man-db systemd prometheus chromium keepalived frr nftables

.PHONY: all build demo test unit lint deps fuzz bench bench-scale bench-floor clean install uninstall man deb rpm

all: build

build:
	$(DAEMON_CGO) $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/ucarp ./cmd/ucarp
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/ucarpctl ./cmd/ucarpctl

demo: build
	@if [ "$$(id -u)" != 0 ]; then \
		echo "make demo needs root to create network namespaces: sudo make demo"; exit 1; fi
	$(GO) run ./internal/demo -ucarp bin/ucarp -ucarpctl bin/ucarpctl

# Everything CI runs: .ci/run is "make test".
test: deps lint unit

# The race detector covers the tests' own goroutines and the daemon's loop,
# reader and script runner in cmd/ucarp; the end-to-end tests run the daemon
# built normally.
unit:
	$(GO) test -count=1 -race -timeout 30m ./...
	# -race turns cgo on; the daemon ships without it: its user and group
	# lookups (--control-group) are tested as built, too.
	$(DAEMON_CGO) $(GO) test -count=1 ./control/ ./cmd/ucarp/

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

# The String methods of carp's enumerations (go generate ./carp/...).
$(STRINGER):
	$(GO) install golang.org/x/tools/cmd/stringer@v0.52.0

# Lint once per OS, for Linux and for FreeBSD on amd64 and arm64; compile
# the FreeBSD tests (-exec=true builds them without running them). The
# generated files must be what go generate makes of the sources: it runs
# in a copy, so that lint never writes to the tree.
lint: $(STATICCHECK) $(STRINGER)
	@unformatted=$$(gofmt -l .); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	cp go.mod go.sum "$$tmp" && cp -R carp "$$tmp/carp" && \
	(cd "$$tmp" && PATH="$(GOBIN):$$PATH" $(GO) generate ./carp/...) || exit 1; \
	diff -r -u carp "$$tmp/carp" || { echo "generated files are stale: go generate ./carp/..."; exit 1; }
	$(GO) vet ./...
	$(STATICCHECK) ./...
	for arch in amd64 arm64; do \
		GOOS=freebsd GOARCH=$$arch $(GO) build ./... && \
		GOOS=freebsd GOARCH=$$arch $(GO) vet ./... && \
		GOOS=freebsd GOARCH=$$arch $(STATICCHECK) ./... && \
		GOOS=freebsd GOARCH=$$arch $(GO) test -count=1 -exec=true ./... >/dev/null || exit 1; \
	done
	for f in packaging/freebsd/ucarp packaging/sysv/ucarp packaging/libexec/ucarp-instance \
		packaging/debian/if-up.d/ucarp packaging/debian/if-down.d/ucarp packaging/debian/vip-up \
		packaging/debian/vip-down packaging/scripts/* scripts/*.sh; do sh -n $$f || exit 1; done

# Longer fuzzing than the seed runs of make test.
fuzz:
	for t in FuzzPacket FuzzHeader FuzzValidator FuzzMachine; do \
		$(GO) test ./carp -run XXX -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) || exit 1; done
	for t in FuzzRoutingMessages FuzzBPFRecords FuzzLinkEvent; do \
		$(GO) test ./platform -run XXX -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) || exit 1; done
	$(GO) test ./cmd/ucarp -run XXX -fuzz '^FuzzCommandLine$$' -fuzztime $(FUZZTIME)
	$(GO) test ./config -run XXX -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME)
	$(GO) test ./vip -run XXX -fuzz '^FuzzParseClaim$$' -fuzztime $(FUZZTIME)

# Benchmarks: the protocol package, then (as root) the lab benchmark that
# runs ours, Debian's ucarp and keepalived side by side and writes
# docs/BENCHMARKS.md and the timelines docs/timeline-*.svg, then the idle
# cost of 1, 16 and 256 groups (bench-scale: docs/SCALE.md). About 65 minutes
# with BENCH_RUNS=10 and BENCH_SOAK=5m (the fast failover's soak per contender).
BENCH_DEPS ?= ucarp keepalived util-linux stress-ng
BENCH_RUNS ?= 10
BENCH_SOAK ?= 5m
bench: build
	$(GO) test -run XXX -bench . -benchmem ./carp
	@if [ "$$(id -u)" != 0 ]; then echo "the lab benchmark needs root: sudo make bench"; exit 1; fi
	$(MAKE) deps DEB_DEPS="$(BENCH_DEPS)"
	$(GO) run ./internal/labbench -ucarp bin/ucarp -runs $(BENCH_RUNS) -soak $(BENCH_SOAK) -out docs/BENCHMARKS.md
	$(GO) run ./internal/scalebench -ucarp bin/ucarp -out docs/SCALE.md

# Config mode at scale (issue 13): two hosts, one process each with 1, 16
# and 256 groups, CPU, RSS, advert jitter on the wire, and a reload of the
# 256-group file; writes docs/SCALE.md. About 3 minutes. Not part of make test.
bench-scale: build
	@if [ "$$(id -u)" != 0 ]; then echo "the scale benchmark needs root: sudo make bench-scale"; exit 1; fi
	$(GO) run ./internal/scalebench -ucarp bin/ucarp -out docs/SCALE.md

# The idle floor (docs/PERF.md "The floor, measured in the tree"): what waking
# once a second costs here, beside ucarp's and our idle cost, over the same
# windows. REF=path adds another build of ours (main's, say) beside it.
bench-floor: build
	@if [ "$$(id -u)" != 0 ]; then echo "the idle floor benchmark needs root: sudo make bench-floor"; exit 1; fi
	$(GO) run ./internal/idlefloor -ucarp bin/ucarp $(if $(REF),-ref $(REF))

# Packages: dist/ucarp-go_VERSION-1_ARCH.deb and dist/ucarp-go-VERSION-1.ARCH.rpm,
# built with nfpm from packaging/nfpm.yaml.
$(NFPM):
	$(GO) install github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2

man: build/ucarp.8.gz build/ucarp.conf.5.gz build/ucarpctl.1.gz

build/ucarp.8.gz: packaging/ucarp.8
	mkdir -p build
	gzip -9n < $< > $@

build/ucarp.conf.5.gz: packaging/ucarp.conf.5
	mkdir -p build
	gzip -9n < $< > $@

build/ucarpctl.1.gz: packaging/ucarpctl.1
	mkdir -p build
	gzip -9n < $< > $@

build/README.md.gz: README.md
	mkdir -p build
	gzip -9n < $< > $@

build/changelog.Debian.gz: packaging/debian/changelog.in
	mkdir -p build
	sed -e 's/@VERSION@/$(VERSION)/' -e "s/@DATE@/$$(date -R -d @$$(git log -1 --format=%ct 2>/dev/null || date +%s))/" $< | gzip -9n > $@

deb rpm: man build/README.md.gz build/changelog.Debian.gz $(NFPM)
	$(PKG_DAEMON_CGO) $(GO) build -trimpath -buildmode=pie -ldflags "$(PKG_DAEMON_LDFLAGS)" -o bin/ucarp ./cmd/ucarp
	$(GO) build -trimpath -buildmode=pie -ldflags "$(PKG_LDFLAGS)" -o bin/ucarpctl ./cmd/ucarpctl
	mkdir -p dist
	VERSION='$(VERSION)' ARCH='$(ARCH)' $(NFPM) package -f packaging/nfpm.yaml -p $@ -t dist/

install: build man
	install -D -m 0755 bin/ucarp $(DESTDIR)$(BINDIR)/ucarp
	install -D -m 0755 bin/ucarpctl $(DESTDIR)$(CTLBINDIR)/ucarpctl
	install -D -m 0644 build/ucarp.8.gz $(DESTDIR)$(MANDIR)/man8/ucarp.8.gz
	install -D -m 0644 build/ucarp.conf.5.gz $(DESTDIR)$(MANDIR)/man5/ucarp.conf.5.gz
	install -D -m 0644 build/ucarpctl.1.gz $(DESTDIR)$(MANDIR)/man1/ucarpctl.1.gz
	install -D -m 0755 packaging/libexec/ucarp-instance $(DESTDIR)$(LIBEXECDIR)/ucarp-go/ucarp-instance
	install -D -m 0644 packaging/systemd/ucarp@.service $(DESTDIR)$(UNITDIR)/ucarp@.service
	install -D -m 0644 packaging/systemd/ucarp.service $(DESTDIR)$(UNITDIR)/ucarp.service
	install -D -m 0644 packaging/systemd/ucarp-go.service $(DESTDIR)$(UNITDIR)/ucarp-go.service
	install -D -m 0644 packaging/examples/ucarp-go.conf $(DESTDIR)$(DOCDIR)/examples/ucarp-go.conf

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/ucarp $(DESTDIR)$(CTLBINDIR)/ucarpctl $(DESTDIR)$(MANDIR)/man8/ucarp.8.gz \
		$(DESTDIR)$(MANDIR)/man5/ucarp.conf.5.gz $(DESTDIR)$(MANDIR)/man1/ucarpctl.1.gz \
		$(DESTDIR)$(LIBEXECDIR)/ucarp-go/ucarp-instance \
		$(DESTDIR)$(UNITDIR)/ucarp@.service $(DESTDIR)$(UNITDIR)/ucarp.service \
		$(DESTDIR)$(UNITDIR)/ucarp-go.service $(DESTDIR)$(DOCDIR)/examples/ucarp-go.conf

clean:
	rm -rf bin build dist
