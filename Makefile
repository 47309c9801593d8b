# chronolog: the two commands a newcomer needs are `make run` and `make test`.
# Every target depends on `venv` and can be run again safely.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Most tests wait on real processes, so more workers than cores still shortens the run.
TEST_WORKERS ?= 3

.PHONY: venv run test lint system-deps bench clean package wheels lock mutate console-screenshots

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
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

## package: the Debian 12 package, dist/chronolog_VERSION-1_amd64.deb (packaging/build.py; docs/install.md)
package: venv
	$(BIN)/python packaging/build.py

## wheels: chronolog and every dependency the lock pins, as wheels in dist/wheels (offline pip install)
wheels: venv
	rm -rf dist/wheels
	$(BIN)/python -m pip download --quiet --no-deps --only-binary :all: --require-hashes \
		-r packaging/requirements.lock -d dist/wheels
	$(BIN)/python -m pip wheel --quiet --no-deps --no-build-isolation -w dist/wheels .

## lock: pin the bundled Python dependencies again, with hashes (after a change to pyproject.toml)
lock: venv
	$(BIN)/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe --no-emit-find-links \
		--no-emit-index-url --no-emit-trusted-host -o packaging/requirements.lock pyproject.toml

## mutate: mutation testing of one module, not part of `make test` (tools/mutate.py), e.g.
##   make mutate MODULE=collector/store/seqset.py [TESTS="tests/collector/test_seqset.py"]
mutate: venv
	$(BIN)/python tools/mutate.py $(MODULE) $(TESTS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy

## console-screenshots: docs/console/*.png, from the console's browser tests
console-screenshots: venv system-deps
	CHRONOLOG_SCREENSHOTS=docs/console $(BIN)/python -m pytest tests/e2e/test_console.py \
		tests/e2e/test_console_incident.py

system-deps:
	tools/system-deps.sh tests/system-packages.txt

clean:
	rm -rf $(VENV) var build dist .pytest_cache .mypy_cache .ruff_cache
