# Vidlake: `make run` serves on embedded defaults; `make test` installs test dependencies and runs the suite.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
SYSTEM_STAMP := $(VENV)/.installed-system
RUNTIME_STAMP := $(VENV)/.installed-runtime
# Debian packages Vidlake itself uses at run time (libsrt: SRT ingest, through ctypes; fonts-noto-cjk:
# Chinese/Japanese/Korean text in edits and burned captions; chromium, xvfb, pulseaudio: web inputs).
RUNTIME_APT_PACKAGES := libsrt1.5-openssl fonts-noto-cjk chromium xvfb pulseaudio
# Debian packages the tests start for real (PostgreSQL, Redis, espeak-ng for speech, nginx-light as the
# load suite's baseline; Chromium is above).
APT_PACKAGES := $(RUNTIME_APT_PACKAGES) postgresql redis-server espeak-ng nginx-light

.PHONY: run test install install-test system-deps vendor lint typecheck bench clean

$(VENV)/bin/python:
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (Python >= 3.11)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# The player page's hls.js and mux-embed (QoE beacons), the console's @mux/upchunk, from npm (package.json / package-lock.json), copied next to the page's own scripts.
HLS_JS := src/vidlake/console/static/vendor/hls.min.js
$(HLS_JS): package.json $(wildcard package-lock.json)
	@command -v npm >/dev/null || { \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  echo "installing Debian's npm (for the player page's hls.js)"; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq npm >/dev/null; }
	if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; \
	else npm install --no-audit --no-fund --loglevel=error; fi
	mkdir -p $(@D)
	cp node_modules/hls.js/dist/hls.min.js $@
	cp node_modules/@mux/upchunk/dist/upchunk.js $(@D)/upchunk.js
	cp node_modules/mux-embed/dist/mux.js $(@D)/mux-embed.js

vendor: $(HLS_JS)

$(STAMP): $(VENV)/bin/python pyproject.toml $(HLS_JS)
	$(PIP) install -q -e .
	$(VENV)/bin/vidlake speech-model >/dev/null
	@# compile librosa's numba kernels once into NUMBA_CACHE_DIR (~45 s), not in the first beats analysis
	$(VENV)/bin/python -c "from vidlake.create.beats import warm; print(f'beat tracker ready ({warm():.0f} s)')"
	@touch $@

install: $(STAMP)

# Runtime Debian packages; skipped (with a warning: SRT ingest and CJK text stay off) when there is no root or sudo.
$(RUNTIME_STAMP): $(VENV)/bin/python Makefile
	@missing=""; \
	for p in $(RUNTIME_APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  echo "installing Debian packages:$$missing"; \
	  { $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; } \
	  || echo "warning: could not install$$missing; SRT ingest and CJK text will be off (see vidlake doctor)"; \
	fi
	@touch $@

run: $(STAMP) $(RUNTIME_STAMP)
	$(VENV)/bin/vidlake migrate
	$(VENV)/bin/vidlake serve

# Debian packages for the tests (APT_PACKAGES). Needs root or sudo.
$(SYSTEM_STAMP): $(VENV)/bin/python Makefile
	@missing=""; \
	for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  echo "installing Debian packages:$$missing"; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi
	@touch $@

system-deps: $(SYSTEM_STAMP)

$(TEST_STAMP): $(STAMP) pyproject.toml
	$(PIP) install -q -e '.[test]'
	@touch $@

install-test: $(TEST_STAMP) $(SYSTEM_STAMP) $(HLS_JS)

lint: $(TEST_STAMP)
	$(VENV)/bin/ruff check src tests bench

typecheck: $(TEST_STAMP)
	$(VENV)/bin/mypy

test: install-test
	$(VENV)/bin/pytest -q $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
