# carecall: two commands matter. `make demo` runs it; `make test` runs every test.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | sha256sum | cut -c1-12)

.PHONY: demo test lint typecheck unit install bench bench-crypto bench-audit bench-phi bench-policy bench-calls bench-campaigns lock clean

$(STAMP): requirements.lock pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip
	@$(PY) -m pip install --quiet -c requirements.lock -e '.[test]'
	@rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

## Install everything and run carecall with a synthetic demo practice (SQLite, local keys).
demo: $(STAMP)
	$(VENV)/bin/carecall demo

## Install everything and run the whole test suite (lint, types, tests on SQLite and,
## when CARECALL_TEST_DATABASE_URL is set, PostgreSQL).
test: $(STAMP)
	@bash scripts/system-deps.sh
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest -n 2 --dist loadgroup

unit: $(STAMP)
	$(VENV)/bin/pytest -n 2 -x -q

bench: bench-crypto bench-audit bench-phi bench-policy bench-calls bench-campaigns
bench-crypto: $(STAMP)
	$(PY) bench/crypto.py
bench-audit: $(STAMP)
	$(PY) bench/audit.py
bench-phi: $(STAMP)
	bash bench/phi/run.sh
## Plan a 100,000-contact campaign on PostgreSQL (CARECALL_BENCH_PG, default local server).
bench-campaigns: $(STAMP)
	$(PY) bench/campaigns.py
bench-policy: $(STAMP)
	$(PY) bench/policy.py
## Simulated Twilio calls against `carecall serve` (add PG=postgresql://... for PostgreSQL, WORKERS=N for several server processes).
bench-calls: $(STAMP)
	$(PY) bench/calls/run.py $(if $(PG),--pg $(PG)) $(if $(WORKERS),--workers $(WORKERS))

## Regenerate the pinned versions after changing dependencies in pyproject.toml.
lock:
	$(PY) -m pip freeze --exclude-editable | grep -v '^carecall' > requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
