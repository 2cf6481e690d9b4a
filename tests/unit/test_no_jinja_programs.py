"""Jinja moves data; it does not compute (issue "one home for each behaviour"): a task file
with `{% %}` blocks holds a program, which belongs in a filter plugin over a pure function in
plugins/module_utils, with a unit test. A `{% if %}` that only picks a message becomes a
conditional expression.

KNOWN lists the `{%` still allowed per YAML file under roles/ and playbooks/: a new block
fails this test, and so does a block that was removed without its count being lowered here,
so the list only shrinks. Templates (*.j2) are not counted."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# file -> count of `{%` still to move into filters (empty: every program is a filter now; keep
# it so: a file may be listed here only with fewer blocks than it had, never added)
KNOWN: dict = {}


def _yaml_files():
    for top in ("roles", "playbooks"):
        for path in sorted((ROOT / top).rglob("*")):
            if path.is_file() and path.suffix in (".yml", ".yaml"):
                yield path


def _count(text: str) -> int:
    return text.count("{%")


def _blocks():
    found = {}
    for path in _yaml_files():
        count = _count(path.read_text(encoding="utf-8"))
        if count:
            found[path.relative_to(ROOT).as_posix()] = count
    return found


def test_the_count_sees_every_kind_of_block():
    assert _count('a: "{% if x %}1{% else %}2{% endif %}"\nb: >-\n  {%- set y = [] -%}{{ y }}\n') == 4
    assert _count('a: "{{ x }} {# note #}"\n') == 0


def test_the_walk_reads_the_roles_and_the_playbooks():
    files = [path.relative_to(ROOT).as_posix() for path in _yaml_files()]
    assert "roles/stack/tasks/main.yml" in files and "playbooks/validate.yml" in files, files[:10]


def test_no_task_file_holds_a_jinja_program_beyond_the_known_ones():
    for path, count in _blocks().items():
        known = KNOWN.get(path, 0)
        assert count <= known, (
            "%s has %d `{%%` (KNOWN: %d): move the program into a filter plugin over a pure function in "
            "plugins/module_utils (a message picked by {%% if %%} becomes a conditional expression)"
            % (path, count, known)
        )


def test_the_known_list_shrinks_with_the_work():
    found = _blocks()
    for path, count in KNOWN.items():
        assert found.get(path, 0) == count, "%s has now %d `{%%`, KNOWN says %d: update KNOWN in %s" % (
            path,
            found.get(path, 0),
            count,
            Path(__file__).name,
        )
