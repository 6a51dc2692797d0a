# Assay: `make run` serves everything locally; `make test` runs the whole suite.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test test-fast lint format bench clean infra package deploy checkov provider-schema

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/assay serve

lint: install
	$(BIN)/ruff check shared functions tests bench scripts
	$(BIN)/ruff format --check shared functions tests bench scripts
	$(BIN)/mypy shared

format: install
	$(BIN)/ruff check --fix shared functions tests bench
	$(BIN)/ruff format shared functions tests bench

test: lint checkov
	$(BIN)/python -m pytest

test-fast: install
	$(BIN)/python -m pytest -m "not emulator"

bench: install
	$(BIN)/python -m bench

# Deployment (docs/deploy.md). `make infra` rewrites infra/generated.tf from the routing table.
infra: install
	$(BIN)/python -m assay.deploy.tfgen

package: install
	$(BIN)/python -m assay.deploy.package

# make deploy PROJECT=p REGION=r [DRY_RUN=1] [DEPLOY_ARGS="--proxy openai=https://api.openai.com"]
deploy: package
	$(BIN)/python -m assay.deploy.gcloud --project="$(PROJECT)" --region="$(REGION)" \
		$(if $(DRY_RUN),--dry-run) $(DEPLOY_ARGS)

# checkov pins its own dependencies: it lives in its own venv (tests/infra/test_checkov.py).
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-stamp
CHECKOV_VERSION := 3.3.30

$(CHECKOV_STAMP):
	test -x $(CHECKOV_VENV)/bin/python || $(PY) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install -q 'checkov==$(CHECKOV_VERSION)'
	touch $(CHECKOV_STAMP)

checkov: $(CHECKOV_STAMP)

# Refresh tests/infra/provider_schema.json after adding a resource type to infra/ (needs npm).
provider-schema: install
	$(BIN)/python scripts/provider_schema.py

clean:
	rm -rf .assay dist build *.egg-info shared/*.egg-info
