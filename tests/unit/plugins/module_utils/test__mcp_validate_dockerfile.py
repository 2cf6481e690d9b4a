"""_mcp_validate_dockerfile: instructions, COPY parts, missing sources and the inferred context."""

import pytest
from ansible_collections.sophia.lambda_swarm.plugins.module_utils import _mcp_validate_dockerfile as df
from ansible_collections.sophia.lambda_swarm.plugins.module_utils import _mcp_validate_index as ix


def project(tmp_path, files):
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    return ix.Project(str(tmp_path))


def test_instructions_and_escape_directive():
    text = "# escape=`\nFROM x:1\nRUN a `\n    b\nCOPY a b\n"
    assert df.dockerfile_instructions(text) == [(2, "FROM", "x:1"), (3, "RUN", "a  b"), (5, "COPY", "a b")]


@pytest.mark.parametrize(
    ("args", "parts"),
    [("a b /dst/", ([], ["a", "b"], "/dst/")), ("--chown=1:1 a /d", (["--chown=1:1"], ["a"], "/d")),
     ('["a b", "/d"]', ([], ["a b"], "/d")), ("<<EOF /x", None), ("only", ([], [], None))],
)  # fmt: skip
def test_copy_parts(args, parts):
    assert df.copy_parts(args) == parts


@pytest.mark.parametrize(
    ("args", "argv"),
    [
        ('["python", "-m", "x"]', ["python", "-m", "x"]),
        ("python -m x", ["/bin/sh", "-c", "python -m x"]),
        ("", []),
    ],
)
def test_command_argv(args, argv):
    assert df.command_argv(args) == argv


def test_substitute():
    assert df.substitute("${A}/x/${B:-d}/$C", {"A": "a", "C": None}) == "a/x/d/$C"


def test_copy_findings_against_a_context_with_build_args_and_gitignored_files(tmp_path):
    p = project(tmp_path, {
        ".gitignore": ".env\n", ".env.example": "", "svc/app.py": "", "svc/requirements.txt": "",
        "svc/Dockerfile": "ARG SVC=svc\nFROM x:1\nCOPY ${SVC}/app.py ${SVC}/requirements.txt /app/\n"
                          "COPY svc/gone.py svc/also.py /app/\nCOPY .env /app/.env\nCOPY ../up /x\n",
    })  # fmt: skip
    found = df.copy_findings(p, "svc/Dockerfile", "")
    assert [(f["code"], f["line"], f["severity"]) for f in found] == [
        ("copy-source-missing", 4, "error"), ("copy-source-missing", 4, "error"),
        ("copy-source-missing", 5, "warning"), ("copy-source-missing", 6, "error"),
    ]  # fmt: skip
    assert "each checkout creates it (from .env.example)" in found[2]["hint"]


def test_inferred_context_is_where_the_copy_sources_exist(tmp_path):
    p = project(tmp_path, {
        "src/api/Dockerfile": "FROM x:1\nCOPY src/api/main.py src/shared/ /app/\n",
        "src/api/main.py": "", "src/shared/util.py": "",
        "own/Dockerfile": "FROM x:1\nCOPY main.py /app/\n", "own/main.py": "",
    })  # fmt: skip
    assert df.infer_context(p, "src/api/Dockerfile") == ""
    assert df.infer_context(p, "own/Dockerfile") == "own"
