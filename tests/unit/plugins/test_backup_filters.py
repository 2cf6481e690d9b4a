import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.sophia.lambda_swarm.plugins.filter.backup import (
    backup_checksums,
    backup_retention,
    backup_swarm_source,
)

ROOT = "/s/backups"


def test_checksums_cover_every_file_but_the_manifest_sorted():
    files = [
        {"path": "/b/.x.partial/volumes/w1/mcp_a.tar.gz", "checksum": "aa"},
        {"path": "/b/.x.partial/manifest.json", "checksum": "mm"},
        {"path": "/b/.x.partial/swarm.tar.gz.gpg", "checksum": "ss"},
    ]
    assert backup_checksums(files, "/b/.x.partial") == {
        "swarm.tar.gz.gpg": "ss",
        "volumes/w1/mcp_a.tar.gz": "aa",
    }
    assert list(backup_checksums(files, "/b/.x.partial")) == ["swarm.tar.gz.gpg", "volumes/w1/mcp_a.tar.gz"]


def test_checksums_refuse_a_file_outside_or_without_a_checksum():
    with pytest.raises(AnsibleFilterError, match="not under"):
        backup_checksums([{"path": "/elsewhere/f", "checksum": "x"}], "/b/x")
    with pytest.raises(AnsibleFilterError, match="no checksum"):
        backup_checksums([{"path": "/b/x/f"}], "/b/x")


def p(name):
    return "%s/%s" % (ROOT, name)


def test_retention_counts_only_complete_backups():
    folders = [p("20261201T000000Z"), p("20261202T000000Z"), p("20261203T000000Z"), p("20261203T120000Z")]
    # the 12:00 one is the backup just made; 12-02 has no manifest (a run that failed)
    complete = [p("20261201T000000Z"), p("20261203T000000Z"), p("20261203T120000Z")]
    plan = backup_retention(folders, complete, 2, "20261203T120000Z")
    assert plan["keep"] == [p("20261203T120000Z"), p("20261203T000000Z")]
    assert plan["remove"] == [p("20261201T000000Z"), p("20261202T000000Z")]
    assert plan["kept_ids"] == ["20261203T120000Z", "20261203T000000Z"]


def test_an_incomplete_backup_never_pushes_a_good_one_out():
    folders = [p("20261201T000000Z")] + [p(".2026120%dT000000Z.partial" % d) for d in (2, 3, 4)]
    folders.append(p("20261205T000000Z"))
    complete = [p("20261201T000000Z"), p("20261205T000000Z")]
    plan = backup_retention(folders, complete, 2, "20261205T000000Z")
    assert plan["keep"] == [p("20261205T000000Z"), p("20261201T000000Z")]
    assert sorted(plan["remove"]) == sorted(p(".2026120%dT000000Z.partial" % d) for d in (2, 3, 4))


def test_retention_leaves_newer_leftovers_other_names_and_a_partial_with_a_manifest_alone():
    folders = [
        p("20261205T000000Z"),
        p(".20261206T000000Z.partial"),
        p("notes"),
        p(".20261204T000000Z.partial"),
    ]
    complete = [p("20261205T000000Z"), p(".20261204T000000Z.partial")]
    plan = backup_retention(folders, complete, 7, "20261205T000000Z")
    # a partial folder is never a complete backup, even with a manifest (the rename did not happen)
    assert plan == {"keep": [p("20261205T000000Z")], "remove": [p(".20261204T000000Z.partial")],
                    "kept_ids": ["20261205T000000Z"]}  # fmt: skip


@pytest.mark.parametrize("keep", [0, -1, "x", None])
def test_retention_refuses_a_keep_below_one(keep):
    with pytest.raises(AnsibleFilterError, match="backup_keep"):
        backup_retention([], [], keep, "20261205T000000Z")


# backup_swarm_source: the filter reads node names from hostvars, the choice is
# module_utils/_backup.py's (tested there table by table)
def _manager(hostname, leader=None, reach="reachable"):
    status = {"Reachability": reach}
    if leader is not None:
        status["Leader"] = leader
    return {"Description": {"Hostname": hostname}, "Spec": {"Role": "manager"}, "ManagerStatus": status}


NODES = [_manager("node-1", leader=True), _manager("node-2"), _manager("node-3")]
HOSTVARS = {
    "m1": {"ansible_facts": {"nodename": "node-1"}},
    "m2": {"ansible_facts": {"nodename": "node-2"}},
    "m3": {"ansible_facts": {"nodename": "node-3"}},
    "nofacts": {"ansible_facts": {}},
    "node-3": {},
}


@pytest.mark.parametrize(
    ("hosts", "wanted", "manager"),
    [
        (["m1", "m2", "m3"], "", "m2"),
        # the wanted inventory name is matched by its node name
        (["m1", "m2", "m3"], "m3", "m3"),
        # a wanted name that is no inventory host is taken as a node name
        (["m1", "m2", "m3"], "node-2", "m2"),
        # a wanted host without facts counts by its inventory name (no node is called that)
        (["m1", "m2", "m3"], "nofacts", ""),
        # a play host without facts counts by its inventory name
        (["m1", "node-3"], "", "node-3"),
        (["m1"], "", ""),
    ],
)
def test_swarm_source_reads_node_names_from_hostvars(hosts, wanted, manager):
    assert backup_swarm_source(NODES, hosts, HOSTVARS, wanted)["manager"] == manager


def test_swarm_source_returns_the_node_name_and_the_margin():
    assert backup_swarm_source(NODES, ["m1", "m2", "m3"], HOSTVARS) == {
        "manager": "m2",
        "hostname": "node-2",
        "margin_ok": True,
    }


def test_swarm_source_refuses_what_is_not_a_node_list():
    with pytest.raises(AnsibleFilterError, match="docker_node_info"):
        backup_swarm_source({"nodes": NODES}, ["m1"], HOSTVARS)
