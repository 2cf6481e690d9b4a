"""The controller's state folder: one rule, never inside an installed collection."""

import os
from concurrent.futures import ThreadPoolExecutor

import pytest
from ansible.errors import AnsibleLookupError
from ansible_collections.sophia.lambda_swarm.plugins.lookup.gateway_token import LookupModule
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._state import (
    StateDirError,
    default_state_dir,
    read_or_make_token,
    state_path,
)


def test_beside_an_inventory_directory(tmp_path):
    inv = tmp_path / "inventory" / "prod"
    inv.mkdir(parents=True)
    assert default_state_dir([str(inv)], "/elsewhere") == str(inv / ".lambda_swarm")


def test_beside_an_inventory_file(tmp_path):
    hosts = tmp_path / "hosts.yml"
    hosts.write_text("all: {}\n")
    assert default_state_dir([str(hosts)], "/elsewhere") == str(tmp_path / ".lambda_swarm")


def test_relative_source_is_taken_from_the_current_directory(tmp_path):
    (tmp_path / "inv").mkdir()
    assert default_state_dir(["inv"], str(tmp_path)) == str(tmp_path / "inv" / ".lambda_swarm")


def test_a_host_list_falls_back_to_the_current_directory(tmp_path):
    assert default_state_dir(["10.0.0.1,10.0.0.2,"], str(tmp_path)) == str(tmp_path / ".lambda_swarm")
    assert default_state_dir([], str(tmp_path)) == str(tmp_path / ".lambda_swarm")


@pytest.mark.parametrize(
    ("explicit", "parts", "expected"),
    [
        ("/srv/state", (), "/srv/state"),
        ("/srv/state", ("ca",), "/srv/state/ca"),
        ("/srv/state/", ("backups", "x"), "/srv/state/backups/x"),
        ("rel/state", ("reports",), "/cwd/rel/state/reports"),
    ],
)
def test_explicit_folder(explicit, parts, expected):
    assert state_path(explicit, ["/ignored"], "/cwd", *parts) == expected


def test_refuses_a_folder_inside_an_installed_collection(tmp_path):
    with pytest.raises(StateDirError, match=r"inside an installed collection.*lambda_swarm_state_dir"):
        state_path("/home/u/.ansible/collections/ansible_collections/sophia/lambda_swarm/x", [], "/")


def test_refuses_a_link_that_resolves_into_a_collection(tmp_path):
    real = tmp_path / "ansible_collections" / "sophia" / "lambda_swarm"
    real.mkdir(parents=True)
    link = tmp_path / "state"
    os.symlink(real, link)
    with pytest.raises(StateDirError):
        state_path(str(link), [], "/")


def test_check_token_made_once_private_and_kept(tmp_path):
    path = tmp_path / "state" / "gateway" / "check-token"
    with ThreadPoolExecutor(8) as pool:
        tokens = set(pool.map(lambda _i: read_or_make_token(str(path)), range(32)))
    assert len(tokens) == 1  # every concurrent caller reads the first token
    token = tokens.pop()
    assert len(token) == 64 and int(token, 16) >= 0
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert oct(path.parent.stat().st_mode & 0o777) == "0o700"
    assert read_or_make_token(str(path)) == token
    assert [p.name for p in path.parent.iterdir()] == ["check-token"]  # no temporary file left
    path.write_text("\n")  # an emptied file: a new token
    new = read_or_make_token(str(path))
    assert new != token and len(new) == 64


def test_gateway_token_lookup(tmp_path, monkeypatch):
    lookup = LookupModule()
    state = tmp_path / "st"
    first = lookup.run([], {"lambda_swarm_state_dir": str(state)})
    assert first == lookup.run([], {"lambda_swarm_state_dir": str(state)})
    assert (state / "gateway" / "check-token").read_text().strip() == first[0]
    assert lookup.run([], {"stack_gateway_check_token": "v" * 40, "lambda_swarm_state_dir": str(state)}) == [
        "v" * 40
    ]
    inv = tmp_path / "inv"
    inv.mkdir()
    monkeypatch.chdir(tmp_path)
    assert (
        lookup.run([], {"ansible_inventory_sources": [str(inv)]})[0]
        == (inv / ".lambda_swarm" / "gateway" / "check-token").read_text().strip()
    )
    with pytest.raises(AnsibleLookupError, match="installed collection"):
        lookup.run([], {"lambda_swarm_state_dir": str(tmp_path / "ansible_collections" / "x")})
