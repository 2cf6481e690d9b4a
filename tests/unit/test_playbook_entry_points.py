"""Swarm membership, node labels and availability, and image builds belong to the roles
(issue "one home for each behaviour"): a playbook under playbooks/ reaches them through a
role entry point, not by calling community.docker.docker_swarm, docker_node or docker_image*
itself.

Not all of the day-2 playbooks are there yet. KNOWN lists today's direct calls, counted per
file: a new direct call fails this test, and so does a call that was moved into a role
without its line being removed here, so the list only shrinks."""

import collections
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
OWNED = {
    "community.docker.docker_swarm",
    "community.docker.docker_node",
    "community.docker.docker_image",
    "community.docker.docker_image_build",
    "community.docker.docker_image_push",
}
# file -> module -> count of direct calls still to move into role entry points
KNOWN = {
    "playbooks/recover_quorum.yml": {"community.docker.docker_swarm": 1},
    "playbooks/remediate.yml": {"community.docker.docker_swarm": 1, "community.docker.docker_node": 1},
    "playbooks/restore.yml": {"community.docker.docker_swarm": 4},
    "playbooks/teardown.yml": {"community.docker.docker_swarm": 1},
}


def _direct_calls():
    found = collections.defaultdict(collections.Counter)

    def walk(node, path):
        if isinstance(node, dict):
            for key in node:
                name = str(key) if "." in str(key) else "community.docker." + str(key)
                if name in OWNED:
                    found[path][name] += 1
            for value in node.values():
                walk(value, path)
        elif isinstance(node, list):
            for value in node:
                walk(value, path)

    for path in sorted((ROOT / "playbooks").rglob("*.yml")):
        walk(yaml.safe_load(path.read_text(encoding="utf-8")), path.relative_to(ROOT).as_posix())
    return {path: dict(counts) for path, counts in found.items()}


def test_no_playbook_calls_a_role_owned_module_beyond_the_known_ones():
    found = _direct_calls()
    assert found, "no direct call found at all: the walk is broken or the list is done (empty KNOWN)"
    for path, counts in found.items():
        for module, count in counts.items():
            known = KNOWN.get(path, {}).get(module, 0)
            assert count <= known, (
                "%s calls %s directly (%d time(s)): use the role's entry point instead "
                "(roles/swarm, roles/stack), or the call belongs in a role" % (path, module, count)
            )


def test_the_known_list_shrinks_with_the_work():
    found = _direct_calls()
    for path, counts in KNOWN.items():
        for module, count in counts.items():
            assert found.get(path, {}).get(module, 0) == count, (
                "%s: %s is now called %d time(s), KNOWN says %d: update KNOWN in %s"
                % (path, module, found.get(path, {}).get(module, 0), count, Path(__file__).name)
            )
