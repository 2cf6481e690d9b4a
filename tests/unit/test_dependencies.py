"""Every collection the collection uses is declared: an install with only the declared
dependencies must be able to run every role and playbook. Reads every task file, playbook,
template and plugin for fully qualified names (modules, lookups, filters, tests, imports)
and compares their collections with galaxy.yml, requirements.yml and the tested versions."""

import json
import re
from pathlib import Path

import ansible.release
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SELF = "sophia.lambda_swarm"
BUILTIN = {"ansible.builtin", "ansible.legacy"}
NAME = r"([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)\.[a-z][a-z0-9_]*\b"
# a module (or action) as the key of a task, in task files and playbooks
TASK_KEY_RE = re.compile(r"^\s*(?:-\s+)?" + NAME + r":", re.MULTILINE)
# Jinja anywhere: lookup('x.y.z'), query('x.y.z'), a filter `| x.y.z`, a test `is x.y.z`
JINJA_RE = re.compile(r"""(?:lookup\(\s*['"]|query\(\s*['"]|\|\s*|\bis\s+(?:not\s+)?)""" + NAME)
# Python: imports from collections, doc fragments
PY_RE = re.compile(r"ansible_collections\." + NAME + r"|^\s+-\s+" + NAME + r"\s*$", re.MULTILINE)
TASK_DIRS = ("tasks", "handlers")
# what the `ansible` package pinned in requirements.txt brings (the versions the tests run)
SITE = Path(yaml.__file__).resolve().parents[1] / "ansible_collections"


def _files():
    for top in ("roles", "playbooks", "plugins", "molecule", "site.yml"):
        path = ROOT / top
        files = [path] if path.is_file() else sorted(path.rglob("*"))
        for file in files:
            if file.is_file() and file.suffix in {".yml", ".yaml", ".j2", ".py"}:
                yield file


def _is_task_file(file: Path) -> bool:
    rel = file.relative_to(ROOT).parts
    return file.suffix in {".yml", ".yaml"} and (
        rel[0] in ("playbooks", "molecule", "site.yml") or (rel[0] == "roles" and rel[2] in TASK_DIRS)
    )


def _used() -> dict:
    used = {}
    for file in _files():
        text = file.read_text(encoding="utf-8", errors="replace")
        patterns = (
            [PY_RE] if file.suffix == ".py" else [JINJA_RE] + ([TASK_KEY_RE] if _is_task_file(file) else [])
        )
        for pattern in patterns:
            for match in pattern.finditer(text):
                groups = [g for g in match.groups() if g]
                name = "%s.%s" % tuple(groups[:2])
                if name in BUILTIN or name == SELF:
                    continue
                line = text.count("\n", 0, match.start()) + 1
                used.setdefault(name, "%s:%d" % (file.relative_to(ROOT), line))
    return used


def _galaxy() -> dict:
    return yaml.safe_load((ROOT / "galaxy.yml").read_text(encoding="utf-8"))


def test_the_scanner_finds_the_collections_in_use():
    used = _used()
    # the roles use all four today; a scanner that finds none has broken
    assert {"community.docker", "community.general", "ansible.posix", "community.crypto"} <= set(used)


def test_every_used_collection_is_declared_in_galaxy_yml():
    declared = set(_galaxy().get("dependencies") or {})
    missing = {name: where for name, where in _used().items() if name not in declared}
    assert not missing, "galaxy.yml dependencies lack %s (used at %s)" % (
        sorted(missing),
        ", ".join(missing.values()),
    )


def test_requirements_yml_names_the_same_collections_and_ranges():
    wanted = _galaxy()["dependencies"]
    listed = yaml.safe_load((ROOT / "requirements.yml").read_text(encoding="utf-8"))["collections"]
    assert {c["name"]: c["version"] for c in listed} == wanted


def _version(text: str) -> tuple:
    parts = [int(part) for part in re.findall(r"\d+", text)[:3]]
    return tuple(parts + [0] * (3 - len(parts)))


def _satisfies(version: tuple, spec: str) -> bool:
    for clause in spec.split(","):
        op, bound = re.match(r"\s*(>=|<=|==|!=|>|<)?\s*(\S+)", clause).groups()
        bound = _version(bound)
        ok = {
            ">=": version >= bound,
            "<=": version <= bound,
            ">": version > bound,
            "<": version < bound,
            "!=": version != bound,
        }.get(op or "==", version == bound)
        if not ok:
            return False
    return True


@pytest.mark.parametrize("name", sorted(_galaxy()["dependencies"]))
def test_declared_ranges_admit_the_tested_versions(name):
    manifest = SITE / name.replace(".", "/") / "MANIFEST.json"
    if not manifest.is_file():
        pytest.skip("%s is not installed beside PyYAML (%s)" % (name, SITE))
    version = json.loads(manifest.read_text())["collection_info"]["version"]
    spec = _galaxy()["dependencies"][name]
    assert _satisfies(_version(version), spec), "%s %s (tested) is outside galaxy.yml's %s" % (
        name,
        version,
        spec,
    )


def test_requires_ansible_admits_the_tested_core():
    spec = yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text())["requires_ansible"]
    assert _satisfies(_version(ansible.release.__version__), spec)
    # and names no older core than the roles say they need
    for meta in sorted((ROOT / "roles").glob("*/meta/main.yml")):
        minimum = yaml.safe_load(meta.read_text())["galaxy_info"]["min_ansible_version"]
        assert _satisfies(_version(minimum), spec), f"{meta.relative_to(ROOT)}: {minimum} vs {spec}"


def test_license_file_matches_galaxy_yml():
    assert _galaxy()["license"] == ["GPL-3.0-or-later"]
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "GNU GENERAL PUBLIC LICENSE" in text and "Version 3" in text


def test_no_placeholder_urls():
    for key, value in _galaxy().items():
        if isinstance(value, str):
            assert "example.invalid" not in value and "example.com" not in value, key
