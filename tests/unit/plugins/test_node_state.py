"""node_state: its verdicts (``ok``: a write task would change nothing) must agree with the
modules whose work they predict. Each lineinfile and blockinfile case below runs the real
ansible.builtin module in check mode on the same file and compares its ``changed``; the
module itself is driven on real files, with stand-in dpkg-query and systemctl that print what
Debian 12's print."""

import hashlib
import json
import os

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible.modules import blockinfile, lineinfile
from ansible_collections.sophia.lambda_swarm.plugins.module_utils import _node_state as ns
from ansible_collections.sophia.lambda_swarm.plugins.modules import node_state
from module_harness import EngineHandler, Exit, Fail, unix_http_server

pytestmark = pytest.mark.usefixtures("ansible_exits")

MARKER = "# {mark} sophia.lambda_swarm DOCKER-USER"
AFTER_RULES = "*filter\n:ufw-after-input - [0:0]\nCOMMIT\n"
BLOCK = "*filter\n:DOCKER-USER - [0:0]\n-A DOCKER-USER -j RETURN\nCOMMIT"


def real_changed(module, args):
    with pytest.raises(Exit) as done, patch_module_args({**args, "_ansible_check_mode": True}):
        module.main()
    return done.value.args[0]["changed"]


def verdict(path, **spec):
    return ns.file_state({"path": str(path), **spec})["ok"]


@pytest.mark.parametrize(
    "text, line",
    [
        ('DAEMON_OPTS="-F 1"\n', 'DAEMON_OPTS="-F 1"'),
        ('DAEMON_OPTS="-F 1"\n', 'DAEMON_OPTS="-F 1 -x"'),
        ('# x\nDAEMON_OPTS="-F 1 -x"\nDAEMON_OPTS="-F 1"\n', 'DAEMON_OPTS="-F 1 -x"'),  # last match counts
        ('DAEMON_OPTS="-F 1"\nDAEMON_OPTS="-F 1 -x"\n', 'DAEMON_OPTS="-F 1 -x"'),
        ("# nothing here\n", 'DAEMON_OPTS="-F 1"'),
        ('DAEMON_OPTS="-F 1"', 'DAEMON_OPTS="-F 1"'),  # no final newline
        ("", 'DAEMON_OPTS="-F 1"'),
        ('DAEMON_OPTS="-F 1"\r\n', 'DAEMON_OPTS="-F 1"'),  # CRLF
        ('# a\x0cb\nDAEMON_OPTS="-F 1"\n', 'DAEMON_OPTS="-F 1"'),  # a form feed is no line end
    ],
)
def test_line_verdict_agrees_with_lineinfile(tmp_path, text, line):
    path = tmp_path / "chrony"
    path.write_text(text)
    path.chmod(0o644)
    changed = real_changed(
        lineinfile, {"path": str(path), "regexp": "^DAEMON_OPTS=", "line": line, "mode": "0644"}
    )
    assert verdict(path, line=line, regexp="^DAEMON_OPTS=", mode="0644") is (not changed)


@pytest.mark.parametrize(
    "text, block",
    [
        (AFTER_RULES, BLOCK),  # not there yet
        (AFTER_RULES + ns.block_text(BLOCK, MARKER), BLOCK),  # there
        (AFTER_RULES + ns.block_text(BLOCK + "\n", MARKER), BLOCK + "\n"),  # a block ending in a newline
        (AFTER_RULES + ns.block_text(BLOCK, MARKER), BLOCK.replace("RETURN", "DROP")),  # another block
        (AFTER_RULES + ns.block_text(BLOCK, MARKER).rstrip("\n"), BLOCK),  # no final newline
        (ns.block_text(BLOCK, MARKER) + AFTER_RULES, BLOCK),  # elsewhere in the file
        (AFTER_RULES + ns.block_text(BLOCK, MARKER)[:-30], BLOCK),  # cut short
        (
            AFTER_RULES + ns.block_text(BLOCK, MARKER) + MARKER.replace("{mark}", "END") + "\n",
            BLOCK,
        ),  # stray END
        (AFTER_RULES + ns.block_text(BLOCK, MARKER).replace("\n", "\r\n"), BLOCK),  # CRLF
    ],
)
def test_block_verdict_agrees_with_blockinfile(tmp_path, text, block):
    path = tmp_path / "after.rules"
    path.write_text(text)
    path.chmod(0o640)
    args = {"path": str(path), "block": block, "marker": MARKER, "insertafter": "EOF", "mode": "0640"}
    assert verdict(path, block=block, marker=MARKER, mode="0640") is (not real_changed(blockinfile, args))


@pytest.mark.parametrize(
    "text",
    [
        AFTER_RULES + ns.block_text(BLOCK, MARKER) * 2,  # twice
        AFTER_RULES + ns.block_text("old\n", MARKER) + ns.block_text(BLOCK, MARKER),  # a stale block first
    ],
)
def test_block_verdict_leaves_two_blocks_to_blockinfile(tmp_path, text):
    """blockinfile calls these unchanged (it works between the last markers); the verdict says
    "differs" (never the other way round): the task runs and changes nothing."""
    path = tmp_path / "after.rules"
    path.write_text(text)
    path.chmod(0o640)
    args = {"path": str(path), "block": BLOCK, "marker": MARKER, "insertafter": "EOF", "mode": "0640"}
    assert real_changed(blockinfile, args) is False
    assert verdict(path, block=BLOCK, marker=MARKER, mode="0640") is False


def test_attributes_content_and_missing_files(tmp_path):
    path = tmp_path / "modules.conf"
    assert verdict(path, content="overlay\n") is False  # missing
    path.write_text("overlay\n")
    path.chmod(0o600)
    assert verdict(path, content="overlay\n", mode="0644") is False  # mode differs
    path.chmod(0o644)
    assert verdict(path, content="overlay\n", mode="0644") is True
    assert verdict(path, content="overlay\n", mode=420) is False  # not an octal string: left to the task
    assert verdict(path, content="overlay\nbr_netfilter\n", mode="0644") is False
    digest = hashlib.sha256(b"overlay\n").hexdigest()
    assert verdict(path, checksum=digest.upper(), mode="0644") is True
    assert verdict(path, checksum=hashlib.sha256(b"other\n").hexdigest()) is False
    assert verdict(path, content="overlay\n", mode="u=rw,go=r") is False  # symbolic: left to the task
    uid = os.getuid()
    assert verdict(path, content="overlay\n", owner=str(uid)) is True
    assert verdict(path, content="overlay\n", owner="nobody-at-all") is False
    assert verdict(tmp_path, read=True) is False  # a directory is no file
    tmp_path.chmod(0o755)
    assert verdict(tmp_path, directory=True, mode="0755") is True
    assert verdict(tmp_path, directory=True, mode="0700") is False
    assert verdict(path, directory=True) is False  # a file is no directory
    link = tmp_path / "link.conf"
    link.symlink_to(path)
    assert verdict(link, content="overlay\n") is False  # a link: left to the write task


def test_sysctl_verdicts():
    wanted = {"net.ipv4.ip_forward": 1, "net.ipv4.ip_local_port_range": "32768 60999"}
    live = {"net.ipv4.ip_forward": "1", "net.ipv4.ip_local_port_range": "32768\t60999"}
    text = "# managed\nnet.ipv4.ip_forward = 1\nnet/ipv4/ip_local_port_range=32768   60999\n"
    assert ns.sysctls_to_set(wanted, live, text) == []
    assert ns.sysctls_to_set(wanted, {**live, "net.ipv4.ip_forward": "0"}, text) == ["net.ipv4.ip_forward"]
    assert ns.sysctls_to_set(wanted, {**live, "net.ipv4.ip_forward": None}, text) == ["net.ipv4.ip_forward"]
    later = text + "net.ipv4.ip_forward=0\n"  # the last setting of a key wins
    assert ns.sysctls_to_set(wanted, live, later) == ["net.ipv4.ip_forward"]
    assert ns.sysctls_to_set(wanted, live, "; net.ipv4.ip_forward = 1\n") == list(wanted)


def test_packages_and_units_parsing():
    out = "chrony\tinstall ok installed\t4.3-2+deb12u1\nufw\tdeinstall ok config-files\t0.36.2-1\n"
    installed = ns.parse_dpkg(out)
    assert installed == {"chrony": "4.3-2+deb12u1"}
    assert ns.packages_missing(["chrony", "ufw", "curl=7.88*", "./x.deb"], installed) == [
        "ufw",
        "curl=7.88*",
        "./x.deb",
    ]
    show = (
        "Id=chrony.service\nLoadState=loaded\nActiveState=active\nUnitFileState=enabled\n\n"
        "Id=nope.service\nLoadState=not-found\nActiveState=inactive\nUnitFileState=\n"
    )
    units = ns.parse_systemctl_show(show, ["chrony", "nope"])
    assert units == {
        "chrony": {"exists": True, "active": True, "enabled": True},
        "nope": {"exists": False, "active": False, "enabled": False},
    }
    assert ns.parse_systemctl_show("", ["x"]) == {"x": {"exists": False, "active": False, "enabled": False}}


def stand_in_tools(tmp_path, monkeypatch, scripts):
    """Shell scripts (name -> text) first on PATH, in place of the host's tools."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in scripts.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    monkeypatch.setenv("PATH", "%s:%s" % (bin_dir, os.environ["PATH"]))


def test_the_module_reads_everything_in_one_run(tmp_path, monkeypatch):
    stand_in_tools(tmp_path, monkeypatch, {
        "dpkg-query": "#!/bin/sh\nprintf 'chrony\\tinstall ok installed\\t4.3\\n'\n"
        "echo 'dpkg-query: no packages found matching ufw' >&2\nexit 1\n",
        "systemctl": "#!/bin/sh\n"
        "printf 'Id=chrony.service\\nLoadState=loaded\\nActiveState=failed\\nUnitFileState=enabled\\n'\n",
    })  # fmt: skip
    conf = tmp_path / "ufw.conf"
    conf.write_text("ENABLED=yes\n")
    sysctl_file = tmp_path / "90-swarm.conf"
    sysctl_file.write_text("vm.overcommit_memory = 1\n")
    args = {
        "packages": ["chrony", "ufw"],
        "services": ["chrony"],
        "files": [
            {"path": str(conf), "read": True},
            {"path": str(tmp_path / "none"), "content": "x"},
            {"path": str(tmp_path / "unread"), "read": True},
        ],
        "sysctls": {"vm.overcommit_memory": 1, "no.such.key": 1},
        "sysctl_file": str(sysctl_file),
        "_ansible_check_mode": True,
    }
    with pytest.raises(Exit) as done, patch_module_args(args):
        node_state.main()
    result = done.value.args[0]
    assert result["changed"] is False
    assert result["packages"] == {"chrony": "4.3", "ufw": None} and result["packages_missing"] == ["ufw"]
    assert result["services"]["chrony"] == {"exists": True, "active": False, "enabled": True}
    assert result["files"][str(conf)]["content"] == "ENABLED=yes\n" and result["files"][str(conf)]["ok"]
    assert result["files"][str(tmp_path / "none")] == {"exists": False, "isdir": False, "ok": False}
    assert result["files"][str(tmp_path / "unread")] == {
        "exists": False,
        "isdir": False,
        "content": None,
        "ok": False,
    }
    assert result["sysctls"]["no.such.key"] is None
    assert "no.such.key" in result["sysctls_to_set"]
    # the paths to write, as given and in order: the ones whose write task has something to do
    assert result["files_differ"] == [str(tmp_path / "none"), str(tmp_path / "unread")]


def test_files_differ_keeps_the_order_and_each_path_once():
    files = {"/b": {"ok": False}, "/a": {"ok": True}, "/c": {"ok": False}}
    assert ns.files_differ(["/c", "/a", "/b", "/c"], files) == ["/c", "/b"]
    assert ns.files_differ(["/a"], files) == []
    assert ns.files_differ([], {}) == []


# `ip -j -4 addr show dev docker0` (its IPv4 part) as iproute2 6.1 (Debian 12) printed it on this machine
IP_DOCKER0 = (
    '[{"ifindex":5,"ifname":"docker0","flags":["NO-CARRIER","BROADCAST","MULTICAST","UP"],"mtu":1500,'
    '"qdisc":"noqueue","operstate":"DOWN","group":"default","addr_info":[{"family":"inet","local":"172.17.0.1",'
    '"prefixlen":16,"broadcast":"172.17.255.255","scope":"global","label":"docker0",'
    '"valid_life_time":4294967295,"preferred_life_time":4294967295}]}]'
)


def test_interface_networks_from_iproute2():
    assert ns.interface_state(0, IP_DOCKER0, "") == {"exists": True, "networks": ["172.17.0.0/16"]}
    # two addresses, one network twice, and a host address: each network once, in order
    two = json.dumps([{"ifname": "br", "addr_info": [
        {"family": "inet", "local": "10.0.1.7", "prefixlen": 24},
        {"family": "inet", "local": "10.0.1.9", "prefixlen": 24},
        {"family": "inet", "local": "192.168.5.5", "prefixlen": 32},
    ]}])  # fmt: skip
    assert ns.interface_state(0, two, "")["networks"] == ["10.0.1.0/24", "192.168.5.5/32"]
    # a global IPv6 address counts, a link-local one does not
    six = json.dumps([{"ifname": "br", "addr_info": [
        {"family": "inet6", "local": "fe80::42:acff:fe12:1", "prefixlen": 64, "scope": "link"},
        {"family": "inet6", "local": "fd00:dead:beef::1", "prefixlen": 64, "scope": "global"},
    ]}])  # fmt: skip
    assert ns.interface_state(0, six, "")["networks"] == ["fd00:dead:beef::/64"]
    # an interface without an IPv4 address exists with no network
    assert ns.interface_state(0, '[{"ifname":"br","addr_info":[]}]', "") == {"exists": True, "networks": []}
    # iproute2's answer for an unknown name (rc 1), and what it cannot tell
    assert ns.interface_state(1, "", 'Device "docker_gwbridge" does not exist.\n') == {
        "exists": False,
        "networks": [],
    }
    assert ns.interface_state(255, "", "Cannot open netlink socket") == {"exists": None, "networks": []}
    assert ns.interface_state(0, "not json", "") == {"exists": None, "networks": []}
    assert ns.interface_state(0, '[{"addr_info":[{"family":"inet","local":"x","prefixlen":8}]}]', "") == {
        "exists": None,
        "networks": [],
    }


def test_the_module_reads_interfaces_with_ip(tmp_path, monkeypatch):
    # a stand-in ip that answers as iproute2 does: docker0 known, any other name unknown
    stand_in_tools(tmp_path, monkeypatch, {
        "ip": "#!/bin/sh\nfor a; do last=$a; done\n"
        "if [ \"$last\" = docker0 ]; then printf '%%s' '%s'; exit 0; fi\n"
        'echo "Device \\"$last\\" does not exist." >&2; exit 1\n' % IP_DOCKER0,
    })  # fmt: skip
    with pytest.raises(Exit) as done, patch_module_args({"interfaces": ["docker0", "docker_gwbridge"]}):
        node_state.main()
    assert done.value.args[0]["interfaces"] == {
        "docker0": {"exists": True, "networks": ["172.17.0.0/16"]},
        "docker_gwbridge": {"exists": False, "networks": []},
    }


# GET /info of a Debian 12 engine (docker.io 20.10) that is a swarm manager, cut to the keys the
# swarm role reads
INFO = {
    "ServerVersion": "20.10.24+dfsg1",
    "Swarm": {
        "NodeID": "4v6k3zj0fy2y5hh2b4kkuzs5c",
        "NodeAddr": "172.31.240.11",
        "LocalNodeState": "active",
        "ControlAvailable": True,
        "RemoteManagers": [{"NodeID": "4v6k3zj0fy2y5hh2b4kkuzs5c", "Addr": "172.31.240.11:2377"}],
        "Cluster": {"ID": "p5lm3ciqgk4y3k0j1eb0qg8gx"},
    },
}


class InfoHandler(EngineHandler):
    def do_GET(self):
        found = self.path.split("?")[0].endswith("/info")
        self.send_json(200 if found else 404, INFO if found else {"message": "page not found"})


def test_the_module_reads_the_engine_s_info_over_its_socket(tmp_path):
    path = str(tmp_path / "docker.sock")
    args = {"docker_info": True, "docker_socket": path}
    with unix_http_server(path, InfoHandler), pytest.raises(Exit) as done, patch_module_args(args):
        node_state.main()
    out = done.value.args[0]
    assert out["docker_info"]["Swarm"]["LocalNodeState"] == "active" and out["changed"] is False
    # without the option, no read of the engine
    with pytest.raises(Exit) as done, patch_module_args({}):
        node_state.main()
    assert "docker_info" not in done.value.args[0]


def test_an_engine_that_does_not_answer_fails_naming_the_socket(tmp_path):
    path = str(tmp_path / "absent.sock")
    with pytest.raises(Fail) as failed, patch_module_args({"docker_info": True, "docker_socket": path}):
        node_state.main()
    assert path in failed.value.args[0]["msg"] and "start it" in failed.value.args[0]["msg"]
