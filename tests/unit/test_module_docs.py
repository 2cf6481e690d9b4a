"""Every module takes its shared attribute values from one doc fragment
(plugins/doc_fragments/attributes.py) and states only where it differs."""

import ast
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted((ROOT / "plugins" / "modules").glob("*.py"))


def _fragment():
    tree = ast.parse((ROOT / "plugins" / "doc_fragments" / "attributes.py").read_text())
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef))
    out = {}
    for node in cls.body:
        if isinstance(node, ast.Assign):
            out[node.targets[0].id] = yaml.safe_load(node.value.value)["attributes"]
    return out


def _doc(path):
    tree = ast.parse(path.read_text())
    text = next(
        n.value.value for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == "DOCUMENTATION"
    )
    return yaml.safe_load(text)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.stem)
def test_module_uses_the_attributes_fragment_and_restates_no_shared_value(path):
    doc = _doc(path)
    fragments = doc.get("extends_documentation_fragment") or []
    assert "ansible.builtin.action_common_attributes" in fragments  # the descriptions
    assert "sophia.lambda_swarm.attributes" in fragments
    shared = {}
    for name, attrs in _fragment().items():
        wanted = "sophia.lambda_swarm.attributes" + ("" if name == "DOCUMENTATION" else "." + name.lower())
        if wanted in fragments:
            shared.update(attrs)
    for key, value in (doc.get("attributes") or {}).items():
        for field, setting in value.items():
            assert shared.get(key, {}).get(field) != setting, "%s: attributes.%s.%s restates the fragment" % (
                path.name,
                key,
                field,
            )


def test_a_module_util_that_serves_one_plugin_carries_its_name():
    """The naming rule of plugins/module_utils: a file one plugin alone imports is named after
    that plugin (the module, lookup or inventory plugin, or a filter the file defines), e.g.
    _stack_converge.py for stack_converge; a file several import is named after its subject."""
    plugins = [
        p for p in (ROOT / "plugins").glob("*/*.py") if p.parent.name not in ("module_utils", "doc_fragments")
    ]
    for util in sorted((ROOT / "plugins" / "module_utils").glob("_*.py")):
        marker = "module_utils.%s import" % util.stem
        marker2 = "module_utils import %s" % util.stem
        users = [p for p in plugins if marker in p.read_text() or marker2 in p.read_text()]
        if len(users) != 1:
            continue
        user = users[0]
        names = {user.stem} | set(
            re.findall(r'"(\w+)":', user.read_text()) if user.parent.name == "filter" else []
        )
        assert util.stem[1:] in names, "%s serves only %s: name it _%s.py" % (util.name, user, user.stem)
