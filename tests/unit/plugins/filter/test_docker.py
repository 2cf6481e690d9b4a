"""docker_daemon_config_differs: the docker role skips docker_daemon_config where this filter
says the module would change nothing. Each case runs the real module in check mode on the
same file and compares its ``changed`` (or its failure) with the filter's answer."""

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.community.docker.plugins.modules.docker_login import DockerFileStore
from ansible_collections.sophia.lambda_swarm.plugins.filter.docker import (
    docker_daemon_config_differs,
    docker_login_differs,
)
from ansible_collections.sophia.lambda_swarm.plugins.modules import docker_daemon_config
from module_harness import Exit, Fail

pytestmark = pytest.mark.usefixtures("ansible_exits")

SETTINGS = {
    "log-driver": "json-file",
    "log-opts": {"max-size": "10m", "max-file": "3"},
    "metrics-addr": None,
    "default-address-pools": [{"base": "10.200.0.0/16", "size": 24}],
}
SAME = (
    '{"default-address-pools": [{"base": "10.200.0.0/16", "size": 24}], "log-driver": "json-file",'
    ' "log-opts": {"max-file": "3", "max-size": "10m"}}'
)


@pytest.mark.parametrize(
    "text, settings, remove",
    [
        (None, SETTINGS, []),  # no file yet
        (SAME, SETTINGS, []),  # the same keys, another layout
        (SAME.replace("}}", '}, "data-root": "/srv/docker"}'), SETTINGS, []),  # a key of the operator's
        (SAME.replace('"10m"', '"20m"'), SETTINGS, []),  # a value of the role's changed
        (SAME.replace("}}", '}, "metrics-addr": "0.0.0.0:9323"}'), SETTINGS, []),  # None removes it
        (SAME.replace("}}", '}, "live-restore": true}'), SETTINGS, []),  # never left on
        (SAME.replace("}}", '}, "live-restore": false}'), SETTINGS, []),
        (SAME.replace("}}", '}, "bip": "10.9.0.1/24"}'), SETTINGS, ["bip"]),  # a key to remove
        (SAME, SETTINGS, ["bip"]),
        ("", SETTINGS, []),  # empty: parsed as {}, written
        ("{not json", SETTINGS, []),  # the module fails: the filter lets it run
        ("[1, 2]", SETTINGS, []),
    ],
)
def test_the_filter_agrees_with_the_module(tmp_path, text, settings, remove):
    path = tmp_path / "daemon.json"
    if text is not None:
        path.write_text(text)
    args = {"path": str(path), "settings": settings, "remove": remove, "validate": False}
    module_would_act = None  # main() always ends in exit_json or fail_json
    with patch_module_args({**args, "_ansible_check_mode": True}):
        try:
            docker_daemon_config.main()
        except Exit as done:
            module_would_act = done.args[0]["changed"]
        except Fail:
            module_would_act = True  # it fails and names the problem: it must run
    assert module_would_act is not None
    assert docker_daemon_config_differs(text, settings, remove) is module_would_act


REG = "172.31.240.11:5000"
AUTH = "dXNlcjpzM2NyZXQ="  # base64 of user:s3cret


@pytest.mark.parametrize(
    "text, differs",
    [
        (None, True),  # no file
        ("", True),
        ("{not json", True),
        ("[1]", True),
        ('{"auths": {}}', True),
        ('{"auths": {"%s": {"auth": "%s"}}}' % (REG, AUTH), False),  # what docker_login writes
        ('{\n  "auths": {\n    "%s": {\n      "auth": "%s"\n    }\n  }\n}' % (REG, AUTH), False),
        ('{"auths": {"%s": {"auth": "%s"}, "other:5000": {"auth": "eA=="}}}' % (REG, AUTH), False),
        ('{"auths": {"%s": {"auth": "dXNlcjpvbGQ="}}}' % REG, True),  # an older password
        ('{"auths": {"other:5000": {"auth": "%s"}}}' % AUTH, True),  # another registry
        ('{"auths": {"%s": "x"}}' % REG, True),
        (
            '{"auths": {"%s": {"auth": "%s"}}, "credsStore": "pass"}' % (REG, AUTH),
            True,
        ),  # a helper keeps them
        ('{"auths": {"%s": {"auth": "%s"}}, "credHelpers": {"%s": "pass"}}' % (REG, AUTH, REG), True),
        ('{"auths": {"%s": {"auth": "%s"}}, "credHelpers": {"o:1": "pass"}}' % (REG, AUTH), False),
        ('{"auths": ["%s"]}' % REG, True),  # not the shape docker writes
        ('{"auths": {"%s": {"auth": "%s"}}, "credHelpers": 1}' % (REG, AUTH), True),
    ],
)
def test_docker_login_differs(text, differs):
    assert docker_login_differs(text, REG, "user", "s3cret") is differs


def test_docker_login_differs_agrees_with_what_docker_login_stores(tmp_path):
    """The module's own file store writes the entry the filter then accepts."""
    path = tmp_path / "config.json"
    DockerFileStore(str(path)).store(REG, "lambda-swarm", "p@ss:wörd")
    assert docker_login_differs(path.read_text(), REG, "lambda-swarm", "p@ss:wörd") is False
    assert docker_login_differs(path.read_text(), REG, "lambda-swarm", "other") is True
