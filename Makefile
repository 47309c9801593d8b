# chronolog: the two commands a newcomer needs are `make run` and `make test`.
# Every target depends on `venv` and can be run again safely.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: venv run test lint system-deps bench clean mutate

venv: $(STAMP)

$(STAMP): pyproject.toml tools/ensure-venv.sh
	tools/ensure-venv.sh "$(PYTHON)" "$(VENV)"
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

## run: a collector (store in ./var) and an agent tailing /var/log/*.log, journald and a demo log
run: venv
	$(BIN)/python tools/run_local.py

## test: lint, type-check and the whole suite (installs the Debian packages tests need, as root)
test: venv system-deps lint
	$(BIN)/python -m pytest

## mutate: mutation testing of one module, not part of `make test` (tools/mutate.py), e.g.
##   make mutate MODULE=collector/store/seqset.py [TESTS="tests/collector/test_seqset.py"]
mutate: venv
	$(BIN)/python tools/mutate.py $(MODULE) $(TESTS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy

system-deps:
	tools/system-deps.sh tests/system-packages.txt

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
