"""Every lab node as the roles left it, read through testinfra hosts (SSH with the lab
inventory's own connection settings, as `molecule verify -s cluster` gives them): the engine
and the clock running and enabled, the firewall on with incoming traffic denied by default,
the engine's keys in daemon.json, SSH by key only.

Needs a running lab on which site.yml ran (`make lab-test` does both)."""

import json

import labkit as lk
import pytest
import testinfra

pytestmark = pytest.mark.skipif(not lk.lab_up(), reason="no lab (make lab-test)")

NODES = sorted(lk.hosts()) if lk.lab_up() else []


@pytest.fixture(scope="module", params=NODES)
def node(request):
    return testinfra.get_host(f"ansible://{request.param}", ansible_inventory=str(lk.LAB_INVENTORY))


def test_engine_and_clock_run_and_start_at_boot(node):
    for unit in ("docker", "chrony"):
        service = node.service(unit)
        assert service.is_running and service.is_enabled, unit


def test_firewall_is_on_and_denies_incoming_by_default(node):
    status = node.check_output("ufw status verbose")
    assert "Status: active" in status and "deny (incoming)" in status, status


def test_engine_keys_and_no_live_restore(node):
    config = json.loads(node.file("/etc/docker/daemon.json").content_string)
    assert config["log-driver"] == "json-file" and "live-restore" not in config, config
    assert node.check_output("docker info --format '{{.Swarm.LocalNodeState}}'") == "active"
