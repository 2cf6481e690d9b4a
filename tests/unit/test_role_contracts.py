"""Every role keeps its contract with users: prefixed variables, an argument spec that
matches its defaults, and a README that documents every variable."""

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLES = sorted(p.name for p in (ROOT / "roles").iterdir() if (p / "tasks" / "main.yml").is_file())


def _load(path: Path):
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def _defaults(role: str) -> dict:
    path = ROOT / "roles" / role / "defaults" / "main.yml"
    return _load(path) if path.is_file() else {}


def _spec_options(role: str) -> dict:
    spec = _load(ROOT / "roles" / role / "meta" / "argument_specs.yml")
    return spec["argument_specs"]["main"].get("options", {})


def test_there_are_roles():
    assert {"preflight", "host"} <= set(ROLES)


@pytest.mark.parametrize("role", ROLES)
def test_every_default_is_prefixed(role):
    bad = [name for name in _defaults(role) if not name.startswith(f"{role}_")]
    assert not bad, f"roles/{role}/defaults/main.yml: rename {bad} to start with '{role}_'"


@pytest.mark.parametrize("role", ROLES)
def test_argument_spec_keys_equal_defaults(role):
    defaults, options = _defaults(role), _spec_options(role)
    with_default = {k for k, v in options.items() if "default" in v}
    assert set(defaults) == with_default, (
        f"roles/{role}: defaults/main.yml and meta/argument_specs.yml disagree: "
        f"only in defaults {sorted(set(defaults) - with_default)}, "
        f"only in the spec {sorted(with_default - set(defaults))}"
    )


@pytest.mark.parametrize("role", ROLES)
def test_argument_spec_defaults_equal_defaults(role):
    defaults, options = _defaults(role), _spec_options(role)
    for name, value in defaults.items():
        assert options[name]["default"] == value, f"roles/{role}: default of {name} differs in the spec"


@pytest.mark.parametrize("role", ROLES)
def test_readme_documents_every_variable(role):
    readme = (ROOT / "roles" / role / "README.md").read_text(encoding="utf-8")
    missing = [name for name in _spec_options(role) if f"`{name}`" not in readme]
    assert not missing, f"roles/{role}/README.md does not document {missing}"


def _entry_point_uses():
    """(file, role, tasks_from) of every include_role/import_role with tasks_from in the
    playbooks, the roles and the Molecule scenarios."""
    files = [
        *ROOT.glob("*.yml"),
        *(ROOT / "playbooks").rglob("*.yml"),
        *(ROOT / "roles").rglob("tasks/*.yml"),
    ]
    uses = []

    def walk(node, path):
        if isinstance(node, dict):
            for key in (
                "ansible.builtin.include_role",
                "ansible.builtin.import_role",
                "include_role",
                "import_role",
            ):
                args = node.get(key)
                if isinstance(args, dict) and args.get("tasks_from"):
                    uses.append((path, args["name"].split(".")[-1], args["tasks_from"]))
            for value in node.values():
                walk(value, path)
        elif isinstance(node, list):
            for value in node:
                walk(value, path)

    for path in files:
        walk(_load(path), path)
    return uses


def test_every_entry_point_a_playbook_or_role_uses_has_an_argument_spec():
    uses = _entry_point_uses()
    assert uses, "no tasks_from found: the walk is broken"
    for path, role, entry in uses:
        specs = _load(ROOT / "roles" / role / "meta" / "argument_specs.yml")["argument_specs"]
        assert entry in specs, (
            "%s: %s tasks_from %s has no entry point %r in roles/%s/meta/argument_specs.yml"
            % (
                path.relative_to(ROOT),
                role,
                entry,
                entry,
                role,
            )
        )
        assert (ROOT / "roles" / role / "tasks" / ("%s.yml" % entry)).is_file()


@pytest.mark.parametrize("role", ROLES)
def test_readme_documents_every_entry_point(role):
    specs = _load(ROOT / "roles" / role / "meta" / "argument_specs.yml")["argument_specs"]
    readme = (ROOT / "roles" / role / "README.md").read_text(encoding="utf-8")
    for entry in specs:
        if entry != "main":
            assert "tasks_from: %s" % entry in readme, "roles/%s/README.md: entry point %s undocumented" % (
                role,
                entry,
            )
