# vaxbook: every target creates .venv on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BUF := node_modules/.bin/buf
# Sorted, so the descriptor set lists the files in the same order everywhere.
PROTOS := $(sort $(shell find protos -name '*.proto'))

.PHONY: run test lint generate bench check-generated clean

run: $(VENV)/.installed
	$(VENV)/bin/vaxbook up

test: $(VENV)/.installed
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed $(BUF)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(BUF) lint
	$(BUF) format --diff --exit-code
	@if git rev-parse --verify -q main >/dev/null; then \
		$(BUF) breaking --against '.git#branch=main'; fi
	$(MAKE) --no-print-directory check-generated

# The descriptor set keeps the protos' comments, which the gateway's OpenAPI
# document reads; the Python modules carry none.
generate: $(VENV)/.installed
	rm -rf generated/vaxbook
	$(PY) -m grpc_tools.protoc -Iprotos -Ithird_party \
		--python_out=generated --pyi_out=generated --grpc_python_out=generated \
		--plugin=protoc-gen-mypy_grpc=$(VENV)/bin/protoc-gen-mypy_grpc \
		--mypy_grpc_out=generated \
		--descriptor_set_out=generated/vaxbook_descriptors.binpb \
		--include_imports --include_source_info $(PROTOS)
	find generated/vaxbook -type d -exec touch {}/__init__.py \;

# Fails when generated/ does not match what the protos produce.
check-generated: $(VENV)/.installed
	@tmp=$$(mktemp -d) && cp -r generated "$$tmp/before" && \
	$(MAKE) --no-print-directory generate >/dev/null 2>&1 && \
	if diff -r "$$tmp/before" generated >/dev/null; then \
		echo "generated/ is fresh"; rm -rf "$$tmp"; \
	else \
		diff -r "$$tmp/before" generated | head -20; rm -rf "$$tmp"; \
		echo "generated/ is stale: run 'make generate' and commit it"; exit 1; \
	fi

bench: $(VENV)/.installed
	$(PY) -m bench.run

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

$(BUF): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

clean:
	rm -rf $(VENV) node_modules .pytest_cache bench/results.json
