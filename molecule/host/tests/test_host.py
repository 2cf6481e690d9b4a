"""What a user relies on after role `host`: the libraries and kernel settings are there."""

import pytest


@pytest.mark.parametrize(
    "package",
    ["ca-certificates", "curl", "gnupg", "python3-docker", "python3-jsondiff", "python3-yaml"],
)
def test_base_package_installed(host, package):
    assert host.package(package).is_installed


def test_docker_sdk_importable_by_system_python(host):
    # community.docker modules run under the target's python3.
    out = host.check_output("python3 -c 'import docker, jsondiff, yaml; print(docker.__version__)'")
    assert out.split(".")[0].isdigit()


def test_ip_forward_is_on_and_persisted(host):
    assert host.sysctl("net.ipv4.ip_forward") == 1
    conf = host.file("/etc/sysctl.d/90-lambda-swarm.conf")
    assert conf.exists
    assert "net.ipv4.ip_forward=1" in conf.content_string.replace(" ", "")


def test_node_is_a_systemd_host(host):
    # The scenario must run on a node that boots like a host, or it proves nothing.
    assert host.check_output("cat /proc/1/comm") == "systemd"
