# Gong — the two commands: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-server
comma := ,
# What serving needs: the server extra, plus the PostgreSQL and Redis drivers when the
# environment asks for them (or: pip install 'gong[postgres,redis]').
EXTRAS := server$(if $(findstring postgres,$(GONG_DATABASE_URL)),$(comma)postgres)$(if $(GONG_REDIS_URL),$(comma)redis)

.PHONY: install run test lint format messages bench bench-all clean help

help:
	@echo "make run     start Gong on http://127.0.0.1:8000 (SQLite in your data directory), with a demo robot"
	@echo "make test    install the dev dependencies and run the whole test suite"
	@echo "make lint    ruff and mypy --strict"
	@echo "make bench   the send-path benchmark; make bench-all for every benchmark (needs wrk)"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Gong needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP) $(RUN_STAMP)

$(RUN_STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[$(EXTRAS)]'
	@touch $(RUN_STAMP)

install: $(STAMP)

run: $(RUN_STAMP)
	$(BIN)/gong serve --demo

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

# Re-extract the translatable messages and merge them into every catalogue (src/gong/locale).
messages: $(STAMP)
	$(BIN)/python -m gong.i18n_extract

format: $(STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

bench: $(STAMP)
	$(BIN)/python bench/send.py

# Every benchmark of docs/performance.md (about ten minutes; PostgreSQL and Redis for the matrix).
bench-all: $(STAMP)
	$(BIN)/python bench/send.py --matrix
	$(BIN)/python bench/fanout.py
	$(BIN)/python bench/robots.py
	$(BIN)/python bench/web.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist
