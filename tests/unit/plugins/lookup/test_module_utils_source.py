"""plugins/lookup/module_utils_source.py: the collection's own module_utils, byte for byte,
found through the import system (so it works from an installed tarball), nothing else."""

from pathlib import Path

import pytest
from ansible.errors import AnsibleLookupError
from ansible_collections.sophia.lambda_swarm.plugins.lookup import module_utils_source as mus

UTILS = Path(__file__).resolve().parents[4] / "plugins" / "module_utils"


@pytest.mark.parametrize("term", ["_mcp_health.py", "_mcp_health", "_metrics.py", "_docker_api"])
def test_gives_the_file_byte_for_byte(term):
    name = term if term.endswith(".py") else term + ".py"
    assert mus.source(term) == (UTILS / name).read_text(encoding="utf-8")


def test_the_lookup_returns_one_text_per_term():
    lookup = mus.LookupModule()
    out = lookup.run(["_metrics", "_mcp_health.py"], variables={})
    assert out == [(UTILS / "_metrics.py").read_text(), (UTILS / "_mcp_health.py").read_text()]


@pytest.mark.parametrize(
    ("term", "match"),
    [
        ("../modules/mcp_health.py", "is not a module_utils file"),
        ("/etc/passwd", "is not a module_utils file"),
        ("mcp_health", "is not a module_utils file"),  # public names are not module_utils here
        ("_mcp_health.pyc", "is not a module_utils file"),
        ("_no_such_file", "has no plugins/module_utils/_no_such_file.py"),
        (3, "is not a module_utils file"),
    ],
)
def test_refuses_anything_else(term, match):
    with pytest.raises(AnsibleLookupError, match=match):
        mus.source(term)
