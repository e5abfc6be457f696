# Two commands for a fresh clone: `make run` and `make test`. Both build .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PORT ?= 8000
HOST ?= 127.0.0.1
WORKERS ?= 2
# pytest-xdist processes for `make test` (each has its own test database); 0 runs in one process
TEST_WORKERS ?= 2

.PHONY: run test lint format migrate openapi bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)  ## the service on the embedded PostgreSQL (or DATABASE_URL), port $(PORT)
	$(BIN)/uvicorn app.main:app --host $(HOST) --port $(PORT) --workers $(WORKERS)

test: $(STAMP)  ## the whole suite (embedded PostgreSQL unless TEST_DATABASE_URL is set)
	@scripts/ensure-test-tools
	$(BIN)/pytest -n $(TEST_WORKERS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy app

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

migrate: $(STAMP)
	$(BIN)/alembic upgrade head

openapi: $(STAMP)  ## regenerate the committed contract
	$(BIN)/python -m app.openapi_export

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .data .pytest_cache .mypy_cache .ruff_cache
