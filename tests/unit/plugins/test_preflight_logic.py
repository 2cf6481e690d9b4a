"""Host checks of the preflight_check module: names, addresses, duplicates."""

import pytest
from ansible_collections.sophia.lambda_swarm.plugins.module_utils import _preflight_check as p


@pytest.mark.parametrize(
    ("name", "valid"),
    [("lswarm-m1", True), ("gpu-1.example.com", True), ("a" * 63, True), ("a" * 64, False),
     ("node_1", False), ("-node", False), ("node-", False), ("", False), ("m1\n", False),
     ("m1\n.example.com", False), (None, False)],
)  # fmt: skip
def test_host_names(name, valid):
    assert p.valid_hostname(name) is valid


def test_each_host_problem_is_named_with_its_fix():
    hosts = [
        {"name": "m1", "address": "10.0.0.1"},
        {"name": "m2", "address": "10.0.0.1"},
        {"name": "m_3", "address": "10.0.0.3"},
        {"name": "m4", "address": None},
        {"name": "m5", "address": "nowhere.invalid"},
    ]
    problems = p.check_hosts(hosts, resolve=lambda name: False)
    assert len(problems) == 4, problems
    assert "m1's" in problems[0] and "own address" in problems[0]
    assert "'m_3'" in problems[1] and "rename it" in problems[1]
    assert problems[2].startswith("host m4: ansible_host is not set")
    assert problems[3].startswith("host m5: ansible_host 'nowhere.invalid'")
    assert p.check_hosts(hosts[:1] + hosts[2:3], resolve=lambda name: True) == [problems[1]]
