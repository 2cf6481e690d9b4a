"""plugins/module_utils/_monitoring.py: config names by content, the targets' summary."""

import hashlib

import pytest
from ansible_collections.sophia.lambda_swarm.plugins.module_utils import _monitoring as mo


def test_config_names_are_the_key_and_the_contents_hash():
    files = {"prometheus": "prometheus.yml", "rules": "r.yml"}
    out = mo.config_names(files, ["a: 1", "groups: []"])
    assert out == {
        "prometheus": {
            "file": "prometheus.yml",
            "name": "prometheus_" + hashlib.sha256(b"a: 1").hexdigest()[:10],
        },
        "rules": {"file": "r.yml", "name": "rules_" + hashlib.sha256(b"groups: []").hexdigest()[:10]},
    }


@pytest.mark.parametrize(("one", "two", "same"), [("x", "x", True), ("x", "y", False), ("x", "x\n", False)])
def test_config_name_changes_with_the_content_only(one, two, same):
    names = [mo.config_names({"k": "f"}, [text])["k"]["name"] for text in (one, two)]
    assert (names[0] == names[1]) is same


def test_config_names_want_one_content_per_file():
    with pytest.raises(ValueError, match="2 files but 1 contents"):
        mo.config_names({"a": "a", "b": "b"}, ["x"])


@pytest.mark.parametrize(
    ("targets", "want"),
    [
        ([], ""),
        (None, ""),
        (
            [{"labels": {"job": "node"}}, {"labels": {"job": "engine"}}, {"labels": {"job": "node"}}],
            "engine 1, node 2",
        ),
        ([{"labels": {}}], "? 1"),
    ],
)
def test_target_summary(targets, want):
    assert mo.target_summary(targets) == want
