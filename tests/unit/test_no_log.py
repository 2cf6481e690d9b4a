"""Every task whose result can carry a join token, a key or a credential has no_log: a -v
run, AWX or ARA must never record them. Walks every task file and playbook (blocks,
rescue and always included) for the modules below."""

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
# modules whose results (or arguments) can hold a join token, a secret value or a credential
SECRET_BEARING = {
    "community.docker.docker_swarm",  # swarm_facts.JoinTokens
    "community.docker.docker_swarm_info",  # swarm_facts.JoinTokens
    "community.docker.docker_secret",  # data
    "community.docker.docker_login",  # password
    "sophia.lambda_swarm.swarm_secrets",  # values
}
BLOCK_KEYS = ("block", "rescue", "always")


def _task_files():
    for top in ("roles", "playbooks", "molecule"):
        for path in sorted((ROOT / top).rglob("*.yml")):
            rel = path.relative_to(ROOT).parts
            if top == "roles" and rel[2] not in ("tasks", "handlers"):
                continue
            yield path
    yield ROOT / "site.yml"


def _tasks(items, inherited=False):
    for item in items or []:
        if not isinstance(item, dict):
            continue
        hidden = inherited or bool(item.get("no_log"))
        if "tasks" in item or "pre_tasks" in item or "post_tasks" in item or "handlers" in item:
            for key in ("pre_tasks", "tasks", "post_tasks", "handlers"):
                yield from _tasks(item.get(key), hidden)
            continue
        if any(key in item for key in BLOCK_KEYS):
            for key in BLOCK_KEYS:
                yield from _tasks(item.get(key), hidden)
            continue
        yield item, hidden


def _secret_tasks():
    found = []
    for path in _task_files():
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(data, list):
            continue
        for task, hidden in _tasks(data):
            modules = SECRET_BEARING & set(task)
            if modules:
                found.append((path.relative_to(ROOT), task.get("name", "?"), sorted(modules)[0], hidden))
    return found


def test_the_walk_finds_the_swarm_tasks():
    modules = {m for _p, _n, m, _h in _secret_tasks()}
    assert {"community.docker.docker_swarm", "sophia.lambda_swarm.swarm_secrets"} <= modules


@pytest.mark.parametrize(
    ("path", "name", "module", "hidden"),
    _secret_tasks(),
    ids=lambda v: str(v) if isinstance(v, (str, Path)) else "",
)
def test_secret_bearing_task_has_no_log(path, name, module, hidden):
    assert hidden, (
        f"{path}: task '{name}' ({module}) needs no_log: true (its result can carry a token or key)"
    )
