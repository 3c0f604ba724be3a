# Mercato: `make up` runs the platform, `make test` runs the tests.
# Both create or update the local virtualenv first.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed
ARGS   ?=

.PHONY: up test lint unit system chaos bench clean help chromium faketime screenshots kubectl k8s-validate

help:
	@echo "make up [ARGS=...]   install, then run the whole platform (mercato up)"
	@echo "make test            install, then lint and run the whole test suite"
	@echo "make unit            fast tests only (no processes started)"
	@echo "make chaos           checkout under load with services SIGKILLed (minutes)"
	@echo "make bench           run the benchmarks under benchmarks/"
	@echo "make screenshots     run the browser tests and save their screenshots in docs/screenshots/"
	@echo "make clean           remove the virtualenv and the default data dir"

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

up: $(STAMP)
	$(BIN)/mercato up $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/lint-imports

# The browser tests drive Debian's Chromium; it is installed here when missing (never a
# browser download by a test tool).
CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
chromium:
	@test -x $(CHROMIUM) || { echo "installing Debian's chromium for the browser tests"; \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# F11 (docs/chaos.md) skews a service's clock with Debian's libfaketime, installed here when
# missing.
FAKETIME ?= /usr/bin/faketime
faketime:
	@test -x $(FAKETIME) || { echo "installing Debian's faketime for the clock-skew fault"; \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq faketime; }

# deploy/k8s (docs/kubernetes.md): each overlay rendered by kubectl's kustomize and validated
# offline against the schemas kubernetes-validate ships; Debian's kubernetes-client is
# installed when kubectl is missing.
KUBECTL ?= kubectl
K8S_VERSION ?= 1.32.0
kubectl:
	@command -v $(KUBECTL) >/dev/null || { echo "installing Debian's kubernetes-client for deploy/k8s"; \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kubernetes-client; }

k8s-validate: $(STAMP) kubectl
	for o in deploy/k8s/overlays/*/; do echo "== $$o"; \
	  $(KUBECTL) kustomize $$o | $(BIN)/kubernetes-validate --strict --quiet -k $(K8S_VERSION) - || exit 1; done

# tests/chaos takes minutes: `make chaos` runs it. The browser tests run in a pytest of
# their own: Playwright's sync API keeps an event loop running in the test thread, which
# pytest-asyncio's tests cannot share.
test: lint chromium faketime k8s-validate
	$(BIN)/pytest -q --durations=60 --ignore=tests/chaos --ignore=tests/browser $(ARGS)
	$(BIN)/pytest -q tests/browser $(ARGS)

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit $(ARGS)

chaos: $(STAMP) faketime
	$(BIN)/pytest -q tests/chaos $(ARGS)

bench: $(STAMP)
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

screenshots: $(STAMP) chromium
	MERCATO_SCREENSHOTS=$(CURDIR)/docs/screenshots $(BIN)/pytest -q tests/browser $(ARGS)

clean:
	rm -rf $(VENV) .mercato
