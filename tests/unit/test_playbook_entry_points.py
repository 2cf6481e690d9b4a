"""Swarm membership, node labels and availability, and image builds belong to the roles
(issue "one home for each behaviour"): a playbook under playbooks/ reaches them through a
role entry point, not by calling community.docker.docker_swarm, docker_node or docker_image*
itself.

The walk is checked on roles/, where those calls live."""

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


def _direct_calls(folder):
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

    for path in sorted((ROOT / folder).rglob("*.yml")):
        walk(yaml.safe_load(path.read_text(encoding="utf-8")), path.relative_to(ROOT).as_posix())
    return {path: dict(counts) for path, counts in found.items()}


def test_no_playbook_calls_a_role_owned_module():
    found = _direct_calls("playbooks")
    assert not found, (
        "these playbooks call role-owned modules directly: %s; use the role's entry point instead "
        "(roles/swarm: join, leave, node, new_cluster, availability; roles/stack: images), "
        "or the call belongs in a role" % found
    )


def test_the_walk_finds_the_calls_where_they_live():
    found = _direct_calls("roles")
    assert found.get("roles/swarm/tasks/join.yml", {}).get("community.docker.docker_swarm") == 2
    assert found.get("roles/swarm/tasks/node.yml", {}).get("community.docker.docker_node") == 1
