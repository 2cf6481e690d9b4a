"""Swarm membership, node labels and availability, and image builds belong to the roles
(issue "one home for each behaviour"): a playbook under playbooks/ reaches them through a
role entry point, not by calling community.docker.docker_swarm, docker_node or docker_image*
itself, nor by running the same through the docker CLI (`docker swarm join`, `docker node
update`, `docker build`...) in a command.

The walk is checked on roles/, where those calls live."""

import collections
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
OWNED = {
    "community.docker.docker_swarm",
    "community.docker.docker_node",
    "community.docker.docker_image",
    "community.docker.docker_image_build",
    "community.docker.docker_image_push",
}

# docker CLI commands that do the same (argv lists or command strings of command/shell tasks)
CLI = {
    ("swarm", "join"),
    ("swarm", "leave"),
    ("swarm", "init"),
    ("node", "update"),
    ("node", "promote"),
    ("node", "demote"),
    ("build",),
    ("push",),
    ("image", "build"),
    ("image", "push"),
    ("buildx", "build"),
}


def _cli_call(args):
    """The CLI command a command/shell task runs, as OWNED-like name, or None."""
    if isinstance(args, dict):
        args = args.get("argv") or args.get("cmd") or ""
    # words, also out of a templated argv ("{{ ['docker', 'node', 'demote'] + ids }}")
    text = args if isinstance(args, str) else " ".join(str(w) for w in args or [])
    words = re.findall(r"[A-Za-z0-9_.=/-]+", text)
    if "docker" not in words:
        return None
    rest = words[words.index("docker") + 1 :]
    for cmd in CLI:
        if tuple(rest[: len(cmd)]) == cmd:
            return "docker " + " ".join(cmd)
    return None


def _direct_calls(folder):
    found = collections.defaultdict(collections.Counter)

    def walk(node, path):
        if isinstance(node, dict):
            for key in node:
                name = str(key) if "." in str(key) else "community.docker." + str(key)
                if name in OWNED:
                    found[path][name] += 1
                if name.rsplit(".", 1)[-1] in ("command", "shell") and _cli_call(node[key]):
                    found[path][_cli_call(node[key])] += 1
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
    assert found.get("roles/swarm/tasks/join_forget.yml", {}).get("docker node demote") == 1


@pytest.mark.parametrize(
    "args, expected",
    [
        ({"argv": ["docker", "swarm", "join", "--token", "x"]}, "docker swarm join"),
        ("timeout 30 docker node update --label-add a=b n", "docker node update"),
        ({"cmd": "set -e; docker build -t x ."}, "docker build"),
        ({"argv": ["docker", "swarm", "update", "--snapshot-interval", "1"]}, None),
        ({"argv": ["docker", "node", "ls"]}, None),
        ("echo swarm join", None),
    ],
)
def test_cli_calls_are_recognized(args, expected):
    assert _cli_call(args) == expected
