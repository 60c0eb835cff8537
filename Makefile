# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8501

.PHONY: run test bench bench-quick clean class

# The virtual environment is (re)built whenever the requirements change.
$(BIN)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

run: $(BIN)/.installed  ## start the dashboard on http://localhost:$(PORT)
	$(BIN)/python -m app.serve --server.port $(PORT)

# The browser tests first, alone (they time what a learner waits for); then the rest in two
# processes, a test file to each at a time: XLA never frees a compiled program, and one process
# compiling every test's models ran out of memory mappings (vm.max_map_count) and crashed.
test: $(BIN)/.installed  ## run every test (browser tests skip without chromium, unless CI=true)
	$(BIN)/python -m pytest tests/browser
	$(BIN)/python -m pytest tests --ignore=tests/browser -n 2 --dist loadfile

class: $(BIN)/.installed  ## a class bigger than one process: REPLICAS Streamlit processes behind nginx on $(PORT)
	$(BIN)/python -m deploy.class_server --port $(PORT) $(if $(REPLICAS),--replicas $(REPLICAS)) $(if $(HOSTS),--hosts $(HOSTS))

bench: $(BIN)/.installed  ## print speed and memory figures (not a test: see README)
	$(BIN)/python benchmarks/bench_engine.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/bench_memory.py
	$(BIN)/python benchmarks/bench_classroom.py
	$(BIN)/python benchmarks/bench_population.py
	$(BIN)/python benchmarks/bench_landscape.py

bench-quick: $(BIN)/.installed  ## the figures CI prints: a few minutes, not the full set
	$(BIN)/python benchmarks/bench_engine.py --quick
	$(BIN)/python benchmarks/bench_population.py --sequential 25

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts
