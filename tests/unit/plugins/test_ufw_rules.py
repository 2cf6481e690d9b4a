"""ufw_rules: which rules ufw lacks (read from its own user.rules records), and the module that
adds only those, driven with a stand-in ufw that records its calls and appends the record the
real ufw writes (`### tuple ### allow tcp 2377 0.0.0.0/0 any 10.0.0.12 in comment=...`)."""

import stat

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.sophia.lambda_swarm.plugins.filter.firewall import (
    ufw_rules_differ,
    ufw_rules_for_filter,
)
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._firewall import (
    FirewallError,
    ufw_allow_argv,
    ufw_missing_rules,
    ufw_rules_have,
)
from ansible_collections.sophia.lambda_swarm.plugins.modules import ufw_rules
from module_harness import Exit, Fail

pytestmark = pytest.mark.usefixtures("ansible_exits")

# as ufw 0.36 (Debian 12) writes them
USER_RULES = """*filter
:ufw-user-input - [0:0]
### RULES ###

### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in comment=737368
-A ufw-user-input -p tcp --dport 22 -j ACCEPT

### tuple ### allow tcp 2377 0.0.0.0/0 any 10.0.0.12 in comment=737761726d
-A ufw-user-input -p tcp --dport 2377 -s 10.0.0.12 -j ACCEPT

### tuple ### deny tcp 9090 0.0.0.0/0 any 10.0.0.13 in
### tuple ### allow udp 4789 0.0.0.0/0 any 10.8.0.0/16 in
### tuple ### allow tcp 8080 0.0.0.0/0 any 10.0.0.14 out
### END RULES ###
"""
USER6_RULES = "### tuple ### allow tcp 443 ::/0 any 2001:db8::5 in\n"


def test_records_are_read_as_proto_port_source_inbound_allows_only():
    assert ufw_rules_have(USER_RULES) == {
        ("tcp", "22", "0.0.0.0/0"),
        ("tcp", "2377", "10.0.0.12"),
        ("udp", "4789", "10.8.0.0/16"),
    }
    assert ufw_rules_have("") == set()


@pytest.mark.parametrize(
    ("rule", "missing"),
    [
        ({"port": 2377, "proto": "tcp", "src": "10.0.0.12"}, False),
        ({"port": 2377, "proto": "tcp", "src": "10.0.0.12/32"}, False),  # ufw drops a host's /32
        ({"port": 2377, "proto": "udp", "src": "10.0.0.12"}, True),
        ({"port": 7946, "proto": "tcp", "src": "10.0.0.12"}, True),
        ({"port": 4789, "proto": "udp", "src": "10.8.3.1/16"}, False),  # a network as its CIDR
        ({"port": 22, "src": "any"}, False),
        ({"port": 22, "src": "10.0.0.12"}, True),  # "any" is not this source
        ({"port": 9090, "src": "10.0.0.13"}, True),  # a deny is not an allow
        ({"port": 443, "src": "2001:db8::5"}, False),  # IPv6 sources: user6.rules
        ({"port": 443, "src": "2001:db8::6"}, True),
    ],
)
def test_a_rule_is_missing_only_when_ufw_has_no_allow_record_of_it(rule, missing):
    got = ufw_missing_rules([rule], ufw_rules_have(USER_RULES), ufw_rules_have(USER6_RULES))
    assert bool(got) is missing


def test_missing_rules_keep_their_order_once_each_with_their_comment():
    wanted = [
        {"port": 7946, "proto": "udp", "src": "10.0.0.13", "comment": "swarm gossip"},
        {"port": 2377, "proto": "tcp", "src": "10.0.0.12"},
        {"port": 7946, "proto": "tcp", "src": "10.0.0.13"},
        {"port": 7946, "proto": "udp", "src": "10.0.0.13", "comment": "again"},
    ]
    assert ufw_missing_rules(wanted, ufw_rules_have(USER_RULES), set()) == [
        ("udp", "7946", "10.0.0.13", "swarm gossip"),
        ("tcp", "7946", "10.0.0.13", ""),
    ]


@pytest.mark.parametrize(
    ("rule", "named"),
    [
        ({"port": 0, "proto": "tcp"}, "rules[0]"),
        ({"port": 70000, "proto": "tcp"}, "rules[0]"),
        ({"port": 53, "proto": "icmp"}, "rules[0]"),
        ({"port": 53, "src": "10.0.0.300"}, "rules[0].src"),
        ({"port": 53, "src": "eth0"}, "rules[0].src"),
    ],
)
def test_a_bad_rule_is_named_with_the_fix(rule, named):
    with pytest.raises(FirewallError, match=r"^%s" % named.replace("[", r"\[").replace("]", r"\]")) as err:
        ufw_missing_rules([rule], set(), set())
    assert "e.g." in str(err.value) or "1-65535" in str(err.value)


def test_the_command_is_ufws_own_syntax():
    assert ufw_allow_argv("/usr/sbin/ufw", "tcp", "2377", "10.0.0.12", "swarm management") == [
        "/usr/sbin/ufw", "allow", "proto", "tcp", "from", "10.0.0.12", "to", "any", "port", "2377",
        "comment", "swarm management",
    ]  # fmt: skip
    assert "comment" not in ufw_allow_argv("ufw", "udp", "53", "any")


# --- the module, with a stand-in ufw --------------------------------------------------


STANDIN_UFW = """#!/bin/sh
# stand-in ufw: records its arguments; "allow proto P from S to any port N" appends ufw's record
echo "$@" >>%(dir)s/calls
[ "$4" = "from" ] && [ "$5" = "10.0.0.99" ] && { echo "ERROR: Bad source address" >&2; exit 1; }
echo "### tuple ### allow $3 $9 0.0.0.0/0 any $5 in" >>%(dir)s/user.rules
"""


def standin(tmp_path, monkeypatch):
    ufw = tmp_path / "ufw"
    ufw.write_text(STANDIN_UFW % {"dir": tmp_path})
    ufw.chmod(ufw.stat().st_mode | stat.S_IEXEC)
    (tmp_path / "user.rules").write_text(USER_RULES)
    monkeypatch.setenv("PATH", "%s:/usr/bin:/bin" % tmp_path)
    return tmp_path


def run(args, check_mode=False):
    with patch_module_args({**args, "_ansible_check_mode": check_mode, "_ansible_diff": True}):
        ufw_rules.main()


RULES = [
    {"port": 2377, "proto": "tcp", "src": "10.0.0.12", "comment": "swarm management"},
    {"port": 2377, "proto": "tcp", "src": "10.0.0.13", "comment": "swarm management"},
    {"port": 7946, "proto": "udp", "src": "10.0.0.13"},
]


def test_check_mode_reports_the_rules_then_apply_adds_them_then_nothing_changes(tmp_path, monkeypatch):
    root = standin(tmp_path, monkeypatch)
    args = {"rules": RULES, "rules_dir": str(root)}
    with pytest.raises(Exit) as check:
        run(args, check_mode=True)
    assert check.value.args[0]["changed"] is True
    assert check.value.args[0]["added"] == ["tcp 2377 10.0.0.13", "udp 7946 10.0.0.13"]
    assert not (root / "calls").exists(), "check mode ran ufw"

    with pytest.raises(Exit) as apply:
        run(args)
    assert apply.value.args[0]["added"] == ["tcp 2377 10.0.0.13", "udp 7946 10.0.0.13"]
    assert apply.value.args[0]["diff"]["after"] == "allow tcp 2377 10.0.0.13\nallow udp 7946 10.0.0.13\n"
    assert (root / "calls").read_text().splitlines() == [
        "allow proto tcp from 10.0.0.13 to any port 2377 comment swarm management",
        "allow proto udp from 10.0.0.13 to any port 7946",
    ]

    with pytest.raises(Exit) as again:
        run(args)
    assert again.value.args[0]["changed"] is False and again.value.args[0]["added"] == []
    assert len((root / "calls").read_text().splitlines()) == 2


def test_a_rule_ufw_refuses_fails_naming_it_and_what_was_added(tmp_path, monkeypatch):
    root = standin(tmp_path, monkeypatch)
    rules = [
        {"port": 80, "src": "10.0.0.98"},
        {"port": 80, "src": "10.0.0.99"},
        {"port": 80, "src": "10.0.0.97"},
    ]
    with pytest.raises(Fail) as failed:
        run({"rules": rules, "rules_dir": str(root)})
    assert "tcp 80 from 10.0.0.99" in failed.value.args[0]["msg"]
    assert "Bad source address" in failed.value.args[0]["msg"]
    assert failed.value.args[0]["added"] == ["tcp 80 10.0.0.98"]


def test_a_bad_source_fails_before_ufw_runs(tmp_path, monkeypatch):
    root = standin(tmp_path, monkeypatch)
    with pytest.raises(Fail) as failed:
        run({"rules": [{"port": 80, "src": "not-an-address"}], "rules_dir": str(root)})
    assert failed.value.args[0]["msg"].startswith("rules[0].src")
    assert not (root / "calls").exists()


def test_rules_for_every_source_and_port_with_the_ports_own_comment():
    ports = [{"port": "2377", "proto": "tcp", "what": "management"}, {"port": 4789, "proto": "udp"}]
    assert ufw_rules_for_filter(["10.0.0.5", "10.0.0.6"], ports, "swarm") == [
        {"port": "2377", "proto": "tcp", "src": "10.0.0.5", "comment": "swarm management"},
        {"port": 4789, "proto": "udp", "src": "10.0.0.5", "comment": "swarm"},
        {"port": "2377", "proto": "tcp", "src": "10.0.0.6", "comment": "swarm management"},
        {"port": 4789, "proto": "udp", "src": "10.0.0.6", "comment": "swarm"},
    ]
    assert ufw_rules_for_filter(["any"], [{"port": 22}]) == [
        {"port": 22, "proto": "tcp", "src": "any", "comment": ""}
    ]
    assert ufw_rules_for_filter(None, ports) == []


@pytest.mark.parametrize(
    "rules, v4, v6",
    [
        (RULES[:1], USER_RULES, ""),  # recorded: nothing to add
        (RULES, USER_RULES, ""),  # two to add
        (RULES[:1], None, None),  # no record yet (ufw just installed)
        ([{"port": 443, "src": "2001:db8::5"}], USER_RULES, USER6_RULES),  # IPv6: user6.rules
        ([{"port": 443, "src": "2001:db8::5"}], USER_RULES, None),
        ([{"port": 22}], USER_RULES, ""),  # defaults as the module's: tcp from any
        ([{"port": 22, "src": "not-an-address"}], USER_RULES, ""),  # the module fails and names it
        ([{"port": "x"}], USER_RULES, ""),
        ([], "", ""),
    ],
)
def test_the_filter_agrees_with_the_module(tmp_path, monkeypatch, rules, v4, v6):
    """ufw_rules_differ is the module's check mode verdict on the same records: a role skips the
    module where the filter says it would add nothing."""
    root = standin(tmp_path, monkeypatch)
    for name, text in (("user.rules", v4), ("user6.rules", v6)):
        if text is None:
            (root / name).unlink(missing_ok=True)
        else:
            (root / name).write_text(text)
    module_would_act = None  # main() always ends in exit_json or fail_json
    try:
        run({"rules": rules, "rules_dir": str(root)}, check_mode=True)
    except Exit as done:
        module_would_act = done.args[0]["changed"]
    except Fail:
        module_would_act = True
    assert module_would_act is not None
    assert ufw_rules_differ(rules, v4, v6) is module_would_act
