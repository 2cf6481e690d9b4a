"""The controller's state folder: one rule, never inside an installed collection."""

import os

import pytest
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._state import (
    StateDirError,
    default_state_dir,
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
