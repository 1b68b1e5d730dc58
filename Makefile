# Two commands set up a fresh machine: `make demo` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NODE_TOOLS := tools/bpmn-check
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Some machines set PYTHONDONTWRITEBYTECODE (this project's development machine does): every process
# would then compile the project's modules from source again. The recipes below keep bytecode.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: demo test bench lint format setup system-deps node-deps clean

## Python environment from the lock file (exact pins), plus the project itself. The packages are
## byte-compiled on all cores after pip (pip's own compile is serial: 31 s against 14 s on two cores);
## without bytecode, a machine that sets PYTHONDONTWRITEBYTECODE compiles pm4py from source in every
## process that imports it (5.0 s against 1.4 s).
## system-deps first: mysqlclient (the Airflow MySQL provider) builds against libmariadb-dev.
$(STAMP): requirements.lock pyproject.toml | system-deps
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11" >&2; exit 1; }
	[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --no-compile -r requirements.lock
	$(PY) -m compileall -q -j 0 $(VENV)/lib >/dev/null
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

## System packages: Debian's chromium for the BPMN and report checks in a real browser, graphviz
## (dot) for the process-map layout, and libmariadb-dev for mysqlclient (the Airflow MySQL provider).
system-deps:
	@if ! command -v chromium >/dev/null; then \
		echo "installing Debian's chromium (BPMN / report checks)"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; \
	fi
	@if ! command -v dot >/dev/null; then \
		echo "installing graphviz (dot lays out the process maps of the report and of mot serve)"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq graphviz >/dev/null; \
	fi
	@if ! pkg-config --exists libmariadb; then \
		echo "installing libmariadb-dev and pkg-config (mysqlclient, for the Airflow MySQL provider)"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq libmariadb-dev pkg-config >/dev/null; \
	fi

## Node tooling (bpmn-js, bpmn-moddle) from the npm registry, pinned by its lock file.
node-deps:
	@if [ -f $(NODE_TOOLS)/package-lock.json ]; then \
		[ -d $(NODE_TOOLS)/node_modules ] || npm ci --prefix $(NODE_TOOLS) --no-audit --no-fund --loglevel=error; \
	fi

setup: $(STAMP) system-deps node-deps

demo: setup
	$(VENV)/bin/mot demo --out out/demo

test: setup
	$(PY) -m pytest -q -n 2 --dist loadfile --no-loadscope-reorder

bench: setup
	$(PY) -m bench.run

lint: $(STAMP)
	$(VENV)/bin/ruff check mining mot_airflow dags tests bench
	$(VENV)/bin/ruff format --check mining mot_airflow dags tests bench
	$(VENV)/bin/lint-imports

format: $(STAMP)
	$(VENV)/bin/ruff format mining mot_airflow dags tests bench
	$(VENV)/bin/ruff check --fix mining dags tests

clean:
	rm -rf out .pytest_cache
