# ucarp-go: a userland CARP daemon, drop-in for ucarp 1.5.2.
GO      ?= go

.PHONY: all test unit
all: unit

test: unit

unit:
	$(GO) vet ./...
	$(GO) test -count=1 ./...

# Debian packages the tests need; installed only when missing.
DEB_DEPS ?= ucarp
.PHONY: deps
deps:
	@missing=""; for p in $(DEB_DEPS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y -q --no-install-recommends $$missing || \
		{ apt-get update -q && apt-get install -y -q --no-install-recommends $$missing; }; \
	fi
