"""_mcp_validate_python: versions, syntax with the project's Python in mind, pyproject,
requirements and module names."""

import sys

import pytest
from ansible_collections.sophia.lambda_swarm.plugins.module_utils import _mcp_validate_index as ix
from ansible_collections.sophia.lambda_swarm.plugins.module_utils import _mcp_validate_python as py


@pytest.mark.parametrize(
    ("spec", "floor"),
    [(">=3.12", (3, 12)), ("~=3.10", (3, 10)), (">=3.9,<4", (3, 9)), (">3.11", (3, 12)), ("==3.12.*", (3, 12)),
     ("", None), ("<4", None)],
)  # fmt: skip
def test_requires_python_floor(spec, floor):
    assert py.requires_python_floor(spec) == floor


@pytest.mark.parametrize(
    ("image", "version"),
    [("python:3.12-slim", (3, 12)), ("docker.io/library/python:3.11", (3, 11)), ("reg:5000/python:3.13-alpine", (3, 13)),
     ("pypy:3.10", None), ("${BASE}", None), ("python:latest", None)],
)  # fmt: skip
def test_from_python_version(image, version):
    assert py.from_python_version(image) == version


PEP701 = "x = f\"{'\\n'.join([])}\"\n"


def test_syntax_errors_and_the_newer_grammar():
    assert py.check_syntax("a = 1\n", "a.py", None) is None
    code, line, message = py.check_syntax("def f(:\n", "a.py", (3, 11))
    assert (code, line) == ("python-syntax", 1) and "invalid syntax" in message
    if sys.version_info < (3, 12):
        assert py.check_syntax(PEP701, "a.py", (3, 11))[0] == "python-syntax"
        assert py.check_syntax(PEP701, "a.py", (3, 12))[0] == "python-syntax-unchecked"
    else:
        assert py.check_syntax(PEP701, "a.py", (3, 12)) is None


def _sources():
    good = [("pkg/m%03d.py" % i, "def f(x):\n    return [x] * %d\n" % i) for i in range(80)]
    bad = [
        ("pkg/broken.py", "def f(:\n"),
        ("pkg/outside.py", "return 1\n"),  # a compiler error, not a parser one
        ("pkg/nul.py", "a = 1\0\n"),
        ("pkg/surrogate.py", "s = '\udcff'\nif x\n"),  # undecodable bytes kept as surrogates
    ]
    return good[:40] + bad + good[40:]


def test_python_check_in_children_matches_compile_here():
    sources = _sources()
    check = py.PythonCheck(sources, workers=2)
    assert len(check.procs) == 2  # over the inline threshold: two children
    errors = check.results()
    expected = {rel: py.compile_error(text, rel) for rel, text in sources if py.compile_error(text, rel)}
    assert errors == expected
    assert sorted(errors) == ["pkg/broken.py", "pkg/nul.py", "pkg/outside.py", "pkg/surrogate.py"]
    assert errors["pkg/outside.py"][:3] == ["syntax", "'return' outside function", 1]
    assert errors["pkg/nul.py"][0] in ("value", "syntax")  # the message differs across Python versions


def test_python_check_compiles_here_without_children(monkeypatch):
    sources = _sources()
    assert py.PythonCheck(sources[:10]).procs == []  # under the threshold
    assert sorted(py.PythonCheck(sources[:44]).results()) == ["pkg/broken.py", "pkg/nul.py", "pkg/outside.py",
                                                              "pkg/surrogate.py"]  # fmt: skip
    monkeypatch.setattr(py.sys, "executable", "/nonexistent/python3")
    check = py.PythonCheck(sources, workers=2)  # no interpreter to start: every file here
    assert check.procs == []
    assert sorted(check.results()) == ["pkg/broken.py", "pkg/nul.py", "pkg/outside.py", "pkg/surrogate.py"]


def test_python_check_falls_back_when_a_child_fails(monkeypatch):
    monkeypatch.setattr(py, "_COMPILE_DRIVER", "import sys; sys.exit(3)")
    check = py.PythonCheck(_sources(), workers=2)
    assert len(check.procs) == 2
    assert sorted(check.results()) == ["pkg/broken.py", "pkg/nul.py", "pkg/outside.py", "pkg/surrogate.py"]


def test_pyproject_packages_scripts_and_dependencies(tmp_path):
    (tmp_path / "svc" / "src" / "svc_pkg").mkdir(parents=True)
    (tmp_path / "svc" / "src" / "svc_pkg" / "__init__.py").write_text("")
    (tmp_path / "svc" / "pyproject.toml").write_text(
        '[project]\nname = "Svc-Server"\nrequires-python = ">=3.10"\ndependencies = ["mcp>=1", "PyYAML"]\n'
        '[project.scripts]\nsvc-server = "svc_pkg.main:run"\n'
    )
    info = py.pyproject_info(ix.Project(str(tmp_path)), "svc")
    assert info["name"] == "svc_server" and info["requires_python"] == (3, 10)
    assert info["packages"] == ["svc_pkg"] and info["roots"][0] == "svc/src"
    assert info["scripts"] == {"svc-server": "svc_pkg.main:run"} and info["dependencies"] == ["mcp", "pyyaml"]


def test_the_small_toml_reader_without_tomllib():
    data = py._read_toml_subset('[project]\nname = "x"\nrequires-python = ">=3.12"\ndependencies = [\n  "a",\n  "b>=1",\n]\n'
                                '[project.scripts]\nx-run = "x.cli:main"\n')  # fmt: skip
    assert data["project"]["name"] == "x" and data["project"]["dependencies"] == ["a", "b>=1"]
    assert data["project"]["scripts"] == {"x-run": "x.cli:main"}


def test_requirements_follow_includes(tmp_path):
    (tmp_path / "requirements.txt").write_text(
        "# deps\nmcp==2.3.0\n-r extra.txt\nuvicorn[standard]>=0.30 ; python_version>'3'\n"
    )
    (tmp_path / "extra.txt").write_text("python-dotenv\n--index-url https://x\n")
    assert py.requirement_names(ix.Project(str(tmp_path)), "requirements.txt") == {
        "mcp",
        "uvicorn",
        "python_dotenv",
    }


@pytest.mark.parametrize(
    ("module", "dists", "provided"),
    [("uvicorn", {"uvicorn"}, True), ("mcp_server_fetch", {"mcp_server_fetch"}, True), ("dotenv", {"python_dotenv"}, True),
     ("yaml", {"pyyaml"}, True), ("server", {"mcp"}, False)],
)  # fmt: skip
def test_provided_by(module, dists, provided):
    assert py.provided_by(module, dists) is provided


@pytest.mark.parametrize(
    ("wanted", "candidates", "close"),
    [("backend.mcp.ai_memory_mcp_server", ["backend.mcp_servers.ai_memory.server", "backend.core"],
      "backend.mcp_servers.ai_memory.server"),
     ("linkedin_intel", ["linear"], None), ("docker", ["v0dev"], None),
     ("mcp_server_stable_diffusion", ["mcp_server_stability", "tools"], "mcp_server_stability")],
)  # fmt: skip
def test_closest_module(wanted, candidates, close):
    assert py.closest_module(wanted, candidates) == close


def test_module_index_resolves_and_owns(tmp_path):
    (tmp_path / "pkg" / "sub").mkdir(parents=True)
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "sub" / "mod.py").write_text("app = 1\n")
    index = py.ModuleIndex(ix.Project(str(tmp_path)))
    assert index.resolve("pkg.sub.mod") == "pkg/sub/mod.py"
    assert index.resolve("pkg.sub") == "pkg/sub"  # a namespace package
    assert index.owns_top_level("pkg.gone") and not index.owns_top_level("json.tool")
    assert py.defines_name("app = 1\n", "app") and not py.defines_name("if x:\n    app = 1\n", "app")
