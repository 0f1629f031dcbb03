# nascar-pipeline: the two commands a new user needs, and a few for operators.
#   make demo  - set up and run the race job for the demo's upcoming race on embedded defaults
#   make test  - set up, start what the tests need, lint, and run the whole suite
#   make test-fast - the tests that need no server and no MCMC fit (minutes; for your loop)
#   make lint  - ruff: lint and formatting check
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: demo test test-fast lint format dev setup system-deps bench clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip wheel
	$(BIN)/pip install -q -c constraints.txt -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/nascar-pipeline demo

system-deps:
	bash scripts/install-system-deps.sh

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# --durations: the slowest tests in every run's log, to keep the suite within its budget
test: $(STAMP) system-deps lint
	$(BIN)/python -m pytest -ra --durations=25 $(PYTEST_ARGS)

test-fast: $(STAMP) lint
	$(BIN)/python -m pytest -ra -m "not slow and not services and not browser" $(PYTEST_ARGS)

dev: $(STAMP)
	$(BIN)/nascar-pipeline dev

bench: $(STAMP)
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf .nascar-pipeline artifacts .pytest_cache
