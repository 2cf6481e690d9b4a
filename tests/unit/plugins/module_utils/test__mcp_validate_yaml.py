"""_mcp_validate_yaml: line numbers, merge keys, duplicates, and the alias bounds."""

import time

import pytest
from ansible_collections.sophia.lambda_swarm.plugins.module_utils import _mcp_validate_yaml as y


def bomb(levels: int = 9, width: int = 9) -> str:
    text = "a: &a [%s]\n" % ",".join(['"lol"'] * width)
    previous = "a"
    for name in "bcdefghijklmnop"[: levels - 1]:
        text += "%s: &%s [%s]\n" % (name, name, ",".join(["*" + previous] * width))
        previous = name
    return text


def test_lines_merge_keys_and_duplicates():
    data, duplicates = y.load_yaml_with_lines("x: &base\n  a: 1\ny:\n  <<: *base\n  b: 2\ny: 3\n")
    assert data.lines == {"x": 1, "y": 6}
    assert duplicates == [("y", 3, 6)]
    data, _dups = y.load_yaml_with_lines("s:\n  - one\n  - two\n")
    assert data["s"].lines == [2, 3]


@pytest.mark.parametrize("loader", ["fast", "pure"])
def test_an_alias_bomb_is_refused_in_milliseconds_with_its_line(loader, monkeypatch):
    if loader == "pure":
        monkeypatch.setattr(y, "_FAST_LOADER", None)
    text = bomb()
    assert len(text) < 500
    started = time.perf_counter()
    with pytest.raises(y.YamlLimitError) as caught:
        y.load_yaml_with_lines(text)
    assert time.perf_counter() - started < 0.5
    line, message = y.yaml_error_finding_parts(caught.value)
    assert line is not None and line > 1
    assert "refused" in message


@pytest.mark.parametrize("loader", ["fast", "pure"])
def test_too_many_aliases_are_refused_even_when_they_expand_little(loader, monkeypatch):
    if loader == "pure":
        monkeypatch.setattr(y, "_FAST_LOADER", None)
    text = "a: &a 1\n" + "".join("k%d: *a\n" % i for i in range(y.MAX_ALIASES + 1))
    with pytest.raises(y.YamlLimitError, match="more than 100 aliases"):
        y.load_yaml_with_lines(text)


def test_ordinary_anchors_pass():
    text = "x-common: &common\n  restart: always\nservices:\n" + "".join(
        "  s%d:\n    <<: *common\n    image: x:1\n" % i for i in range(50)
    )
    data, _dups = y.load_yaml_with_lines(text)
    assert data["services"]["s49"]["restart"] == "always"


def test_a_syntax_error_reports_where_the_quote_began():
    with pytest.raises(y.yaml.YAMLError) as caught:
        y.load_yaml_with_lines('a:\n  b: "open\n  c: 1\n')
    line, message = y.yaml_error_finding_parts(caught.value)
    assert line == 2 and "which starts here" in message
