"""_mcp_validate_index: the walk, ignore files and the scope."""

import pytest
from ansible_collections.sophia.lambda_swarm.plugins.module_utils import _mcp_validate_index as ix


def tree(root, files):
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.mark.parametrize(
    ("rel", "is_dir", "rules", "ignored"),
    [
        (".env", False, ".env\n", True),
        ("a/.env", False, ".env\n", True),
        ("a/.env", False, "/.env\n", False),
        ("build/x.py", False, "build/\n", True),
        ("build", False, "build/\n", False),
        ("keep.log", False, "*.log\n!keep.log\n", False),
        ("docs/a/b.md", False, "docs/**\n", True),
        ("src/gen/x.py", False, "src/gen\n", True),
    ],
)
def test_ignore_rules(rel, is_dir, rules, ignored):
    assert ix.ignored(rel, is_dir, ix.read_ignore_file(rules)) is ignored


def test_scope_by_name_gitignore_dockerignore_and_options(tmp_path):
    tree(tmp_path, {
        "app/server.py": "", "vendor/lib/x.py": "", "backups/old.sh": "", "templates/c.yml": "",
        "docker-compose.yml.backup": "", "deploy.example.sh": "", "gen/out.py": "", "docs/a.sh": "",
        ".github/workflows/ci.yml": "", ".gitignore": "gen/\n", ".dockerignore": "docs\n.github\n",
        "node_modules/m/index.js": "",
    })  # fmt: skip
    project = ix.Project(str(tmp_path))
    assert "node_modules/m/index.js" not in project.file_set  # not even walked
    assert "vendor/lib/x.py" in project.file_set  # exists, so references to it resolve
    out = {f for f in project.files if not project.in_scope(f)}
    assert out == {"vendor/lib/x.py", "backups/old.sh", "templates/c.yml", "docker-compose.yml.backup",
                   "deploy.example.sh", "gen/out.py", "docs/a.sh"}  # fmt: skip
    assert project.matching(["*.py"]) == ["app/server.py"]
    wider = ix.Project(str(tmp_path), include=["vendor"], exclude=["app"])
    assert wider.matching(["*.py"]) == ["vendor/lib/x.py"]


def test_missing_hint_names_the_template_of_a_gitignored_file(tmp_path):
    tree(tmp_path, {".gitignore": ".env\n", ".env.example": "A=1\n", "docker-compose.yml": ""})
    project = ix.Project(str(tmp_path))
    assert project.missing_hint(".env") == ".env is gitignored: each checkout creates it (from .env.example)"
    assert project.missing_hint("docker-compose.yaml") == "did you mean docker-compose.yml?"
