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
