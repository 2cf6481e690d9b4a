"""After roles host and docker on a bare node: the engine runs with the role's daemon.json
keys, an operator's keys survive, live-restore is gone, the host is firewalled."""

import json


def daemon_json(host):
    return json.loads(host.file("/etc/docker/daemon.json").content_string)


def test_engine_runs_and_starts_at_boot(host):
    docker = host.service("docker")
    assert docker.is_running and docker.is_enabled
    assert host.check_output("docker info --format '{{.Driver}}'") == "overlay2"


def test_role_keys_are_set(host):
    config = daemon_json(host)
    assert config["log-driver"] == "json-file"
    assert config["log-opts"] == {"max-size": "50m", "max-file": "5"}
    assert config["metrics-addr"] == "0.0.0.0:9323"
    assert config["default-address-pools"] == [{"base": "10.200.0.0/16", "size": 24}]
    assert config["node-generic-resources"] == ["NVIDIA-GPU=GPU-molecule-0"]
    assert "default-runtime" not in config  # no real GPU here


def test_foreign_keys_survive_and_live_restore_is_gone(host):
    config = daemon_json(host)
    assert config["debug"] is True and config["labels"] == ["owner=ops"]
    assert "live-restore" not in config


def test_engine_applied_the_file(host):
    resources = host.check_output("docker info --format '{{json .GenericResources}}'")
    assert "GPU-molecule-0" in resources
    assert host.check_output("docker info --format '{{.Debug}}'") == "true"
    assert "engine_daemon" in host.check_output("curl -s http://127.0.0.1:9323/metrics")


def test_user_in_docker_group(host):
    assert "docker" in host.user("ubuntu").groups


def test_firewall_denies_by_default_and_keeps_ssh(host):
    status = host.check_output("ufw status verbose")
    assert "Status: active" in status
    assert "deny (incoming)" in status
    assert "22/tcp" in status


def test_docker_published_ports_obey_the_firewall(host):
    """ufw loaded the DOCKER-USER rules before Docker started, and Docker kept them (ahead of
    its own RETURN), with the jump from FORWARD."""
    rules = host.check_output("iptables -S DOCKER-USER").splitlines()
    assert "-A DOCKER-USER -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN" in rules
    assert "-A DOCKER-USER -p tcp -m conntrack --ctorigdstport 443 --ctdir ORIGINAL -j RETURN" in rules
    drop = rules.index("-A DOCKER-USER -o docker_gwbridge -j DROP")
    assert "-A DOCKER-USER -j RETURN" not in rules[:drop]  # Docker's own RETURN, if any, comes after
    assert "-A FORWARD -j DOCKER-USER" in host.check_output("iptables -S FORWARD")


def test_kernel_sysctls_and_modules(host):
    assert host.sysctl("net.ipv4.ip_forward") == 1
    assert "br_netfilter" in host.file("/etc/modules-load.d/lambda-swarm.conf").content_string


def test_time_sync_does_not_touch_the_shared_clock(host):
    assert host.service("chrony").is_running
    assert "-x" in host.file("/etc/default/chrony").content_string
