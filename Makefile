# sophia.lambda_swarm: the two commands are `make lab` and `make test`.
# Every target installs what it needs itself (venv, Docker engine, base image).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
# the lab's vault password, for the lab's runs only (ansible.cfg names no vault password)
export ANSIBLE_VAULT_IDENTITY_LIST ?= lab@$(CURDIR)/lab/vault-pass.sh
STAGE := tools/stage.sh
export STAGE_TIMES ?= $(CURDIR)/.cache/stage-times.tsv

LAB_MANAGERS ?= 3
LAB_WORKERS ?= 1
# docker runs the host scenario's tests too (molecule/docker/molecule.yml)
SCENARIOS ?= docker
SCENARIO ?= host
COLLECTION_LINK := .collections/ansible_collections/sophia/lambda_swarm

.PHONY: help venv host-deps collection-link engine image lab lab-up lab-down lab-test test lint \
	unit rules mcp-venvs functional sanity molecule molecule-all checks lab-converge lab-verify lab-molecule bench \
	clean times

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(VENV)/.stamp: requirements.txt
	@echo "creating $(VENV) from requirements.txt"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt
	@touch $@

venv: $(VENV)/.stamp ## the controller virtualenv (.venv)

collection-link: ## make sophia.lambda_swarm resolve to this checkout
	@mkdir -p $(dir $(COLLECTION_LINK)) .cache
	@ln -sfn ../../.. $(COLLECTION_LINK)

host-deps: ## Debian packages the controller needs (debootstrap, ssh, shellcheck)
	@bash tools/host-deps.sh

engine: host-deps ## ensure a Docker engine answers on this machine
	@bash lab/engine.sh

image: engine ## build (or reuse) the cached lab node base image
	@$(STAGE) image bash -c 'bash lab/image.sh >/dev/null'

lab-up: venv collection-link image ## bring up LAB_MANAGERS + LAB_WORKERS nodes (default 3 + 1)
	@bash lab/up.sh $(LAB_MANAGERS) $(LAB_WORKERS)

lab: lab-up ## bring up the lab and run site.yml against it
	@$(STAGE) site ansible-playbook -i inventory/lab site.yml
	@$(STAGE) smoke ansible-playbook -i inventory/lab playbooks/smoke.yml
	@echo
	@echo "Lab ready: $(LAB_MANAGERS) manager(s) + $(LAB_WORKERS) worker(s), site.yml applied, a note remembered and recalled."
	@echo "  gateway:    https://$$(awk '/-m1:/ {gsub(/[{},]/, ""); print $$3}' inventory/lab/hosts.yml)/<server>/mcp (CA: .lab/ca/ca.crt)"
	@echo "  report:     .lab/state/artifacts/health-report.json, .lab/state/artifacts/docker-compose.cloud.yml"
	@echo "  token:      .lab/gateway/token (the gateway's bearer token for client lab-tests)"
	@echo "  vault:      export ANSIBLE_VAULT_IDENTITY_LIST=lab@lab/vault-pass.sh (for ansible-playbook by hand)"
	@echo "  inventory:  inventory/lab/hosts.yml (SSH as ubuntu, key .lab/ssh/id_ed25519)"
	@echo "  try:        ansible -i inventory/lab all -m ping"
	@echo "  tear down:  make lab-down"

lab-down: ## remove the lab (containers, volumes, network, key); keeps the cached image
	@bash lab/down.sh

lint: venv collection-link host-deps ## yamllint, ansible-lint (production profile), ruff, shellcheck
	@$(STAGE) yamllint yamllint --strict .
	@$(STAGE) ansible-lint ansible-lint --profile production --strict
	@$(STAGE) ruff bash -c 'ruff check . && ruff format --check .'
	@$(STAGE) shellcheck bash -c 'git ls-files -co --exclude-standard "*.sh" .ci/run | xargs shellcheck'

unit: venv collection-link ## pytest on module_utils, plugins and role contracts
	@$(STAGE) unit pytest -q tests/unit

rules: ## promtool check + test of the monitoring role's alert rules (promtool from Debian's package)
	@$(STAGE) rules bash tools/promtool.sh

mcp-venvs: ## the mcp SDK 2.x and 1.x environments the functional tests run servers from
	@$(STAGE) mcp-venvs bash tools/mcp-venvs.sh

functional: venv collection-link mcp-venvs ## modules against real servers on 127.0.0.1 (mcp_health)
	@$(STAGE) functional pytest -q tests/functional

sanity: venv host-deps ## ansible-test sanity on a copy under ansible_collections/sophia/lambda_swarm
	@$(STAGE) sanity bash tools/sanity.sh

molecule: venv collection-link image ## one Molecule scenario: make molecule SCENARIO=host
	@docker volume rm -f lswarm-molecule-$(SCENARIO)-docker >/dev/null
	@LAB_NODE_IMAGE=$$(bash lab/image.sh 2>/dev/null) \
	 LAB_NODE_CAPS="[$$(grep -Ev '^\s*(#|$$)' lab/node-capabilities.txt | paste -sd, -)]" \
	 $(STAGE) molecule-$(SCENARIO) molecule test -s $(SCENARIO); \
	 rc=$$?; docker volume rm -f lswarm-molecule-$(SCENARIO)-docker >/dev/null; exit $$rc

# the cluster scenario drives the lab (lab/up.sh, lab/down.sh): no node image of Molecule's own;
# recursive (=), so a target's own LAB_WORKERS counts
MOLECULE_CLUSTER = env LAB_MANAGERS=$(LAB_MANAGERS) LAB_WORKERS=$(LAB_WORKERS) LAB_NODE_IMAGE=unused LAB_NODE_CAPS=[] molecule

molecule-all: ## every scenario in SCENARIOS
	@for s in $(SCENARIOS); do $(MAKE) --no-print-directory molecule SCENARIO=$$s; done

# One role's scenario (swarm, secrets, stack, monitoring) on the lab's nodes, kept when they run:
# prepare, converge, idempotence and that role's lab tests (molecule/<role>/molecule.yml)
lab-molecule: LAB_WORKERS = 2
lab-molecule: venv collection-link image ## one role's scenario on the lab's nodes: make lab-molecule SCENARIO=stack
	@$(STAGE) lab-molecule-$(SCENARIO) $(MOLECULE_CLUSTER) test -s $(SCENARIO)

lab-test: LAB_WORKERS = 2
lab-test: ## the lab end to end (3 + 2 nodes) through Molecule's cluster scenario
	@$(MAKE) --no-print-directory lab-converge
	@$(MAKE) --no-print-directory lab-verify

lab-converge: LAB_WORKERS = 2
lab-converge: venv collection-link image ## the cluster scenario's create and converge (site.yml on 3 + 2 nodes)
	@$(MOLECULE_CLUSTER) destroy -s cluster >/dev/null
	@$(STAGE) lab-up $(MOLECULE_CLUSTER) create -s cluster
	@rm -f artifacts/fault-report.json
	@ANSIBLE_CALLBACKS_ENABLED=ansible.posix.profile_tasks,ansible.posix.profile_roles \
	 $(STAGE) lab-site $(MOLECULE_CLUSTER) converge -s cluster
	@$(STAGE) lab-smoke ansible-playbook -i inventory/lab playbooks/smoke.yml

lab-verify: LAB_WORKERS = 2
lab-verify: venv collection-link ## the cluster scenario's verify, side_effect (restore) and destroy
	@$(STAGE) lab-pytest $(MOLECULE_CLUSTER) verify -s cluster || \
	 { echo "why each lab test failed (artifacts/lab-failures.txt):"; cat artifacts/lab-failures.txt 2>/dev/null; exit 1; }
	@rm -rf .lab/state/backups
	@$(STAGE) lab-restore $(MOLECULE_CLUSTER) side-effect -s cluster || \
	 { echo "why the restore failed (artifacts/lab-failures.txt):"; cat artifacts/lab-failures.txt 2>/dev/null; exit 1; }
	@$(STAGE) lab-down $(MOLECULE_CLUSTER) destroy -s cluster

# The checks that need no lab (lint, unit, rules, sanity, the one-node Molecule scenario) run
# beside the lab's bring-up and first converge, which wait on apt, image pulls and Swarm more than
# they compute. The functional tests time real servers against deadlines, so they run alone,
# before the lab exists (a lab up keeps its services, health checks and scrapes running).
checks: lint unit rules sanity molecule-all ## the checks that need no lab

test: ## everything CI runs: lint, unit, sanity, Molecule, the lab
	@mkdir -p .cache && : >$(STAGE_TIMES)
	@$(MAKE) --no-print-directory venv collection-link engine host-deps image
	@$(MAKE) --no-print-directory functional
	@bash tools/beside.sh .cache/checks.log -- $(MAKE) --no-print-directory checks \
	 -- $(MAKE) --no-print-directory lab-converge
	@$(MAKE) --no-print-directory lab-verify
	@$(MAKE) --no-print-directory times

times: ## print the stage times of the last make test
	@echo; echo "stage times (seconds):"; column -t -s $$'\t' $(STAGE_TIMES) || cat $(STAGE_TIMES)

bench: venv collection-link engine mcp-venvs ## benchmarks (JSON on stdout)
	@python bench/mcp_validate.py
	@python bench/mcp_health.py
	@python bench/lab_up.py

clean: lab-down ## remove generated files (venv, caches); keeps the base image
	rm -rf $(VENV) .cache .collections .lab
