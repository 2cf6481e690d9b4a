"""_mcp_validate_shell: words, logical lines, start commands and bash -n."""

import shutil

import pytest
from ansible_collections.sophia.lambda_swarm.plugins.module_utils import _mcp_validate_scripts as sc
from ansible_collections.sophia.lambda_swarm.plugins.module_utils import _mcp_validate_shell as sh


@pytest.mark.parametrize(
    ("line", "words"),
    [
        (
            "docker compose -f x.yml up 2>&1 | tee log",
            ["docker", "compose", "-f", "x.yml", "up", ">&", "1", "|", "tee", "log"],
        ),
        ("echo 'a b' c#d # comment", ["echo", "a b", "c#d"]),
        ('a="x\\"y" b', ['a=x"y', "b"]),
        ("x && y; z", ["x", "&&", "y", ";", "z"]),
        ('echo "unclosed word', ["echo", "unclosed", "word"]),
    ],
)
def test_split_words(line, words):
    assert sh.split_words(line) == words


def test_simple_commands_keep_redirect_targets():
    assert sh.simple_commands(sh.split_words("cat > a.yml << EOF && docker compose -f a.yml up")) == [
        (["cat"], ["a.yml"]),
        (["docker", "compose", "-f", "a.yml", "up"], []),
    ]


@pytest.mark.parametrize(
    ("word", "value"), [("x.yml", "x.yml"), ("${1:-docker-compose.cloud.yml}", "docker-compose.cloud.yml"),
                        ("${FILE}", None), ("$DIR/x.yml", None)]
)  # fmt: skip
def test_expand_word(word, value):
    assert sh.expand_word(word) == value


def test_logical_lines_join_continuations_and_skip_heredoc_bodies():
    text = "a \\\n  b\ncat > x << 'EOF'\ndocker compose -f body.yml up\nEOF\n# docker c\ndocker ps\n"
    assert list(sh.logical_lines(text)) == [(1, "a    b"), (3, "cat > x << 'EOF'"), (7, "docker ps")]
    assert list(sh.logical_lines(text, wanted=sc.PREFILTER)) == [(7, "docker ps")]


@pytest.mark.parametrize(
    ("argv", "claims"),
    [
        (["python", "-m", "pkg.server"], [("module", "pkg.server")]),
        (["python3.12", "-u", "-X", "dev", "-m", "srv"], [("module", "srv")]),
        (
            ["python", "-m", "uvicorn", "app.main:app", "--port", "8"],
            [("module", "uvicorn"), ("app", "app.main", "app", None)],
        ),
        (["uvicorn", "--app-dir", "src", "svc:app"], [("app", "svc", "app", "src")]),
        (
            ["gunicorn", "-k", "uvicorn.workers.UvicornWorker", "api:create_app()"],
            [("app", "api", "create_app", None)],
        ),
        (["tini", "--", "uv", "run", "--no-sync", "python", "main.py"], [("file", "main.py")]),
        (["/bin/sh", "-c", 'exec python -m "$SERVER_MODULE"'], []),
        (["sh", "-c", "cd /app && exec python -m api.server"], [("module", "api.server")]),
        (["notes-server", "--port", "1"], [("script", "notes-server")]),
        (["python", "-c", "print(1)"], []),
    ],
)
def test_start_claims(argv, claims):
    assert sh.start_claims(argv) == claims


def test_bash_n_reads_and_never_runs(tmp_path):
    if shutil.which("bash") is None:
        pytest.skip("no bash here")
    marker = tmp_path / "ran"
    errors = sh.bash_syntax(
        [("ok.sh", "echo fine\n"), ("bad.sh", f"touch {marker}\nif true; then\n  echo 'x\nfi\n")]
    )
    assert list(errors) == ["bad.sh"] and errors["bad.sh"][0] == 3
    assert not marker.exists()


def test_without_bash_there_is_no_result(monkeypatch):
    monkeypatch.setattr(sh.shutil, "which", lambda _name: None)
    assert sh.bash_syntax([("a.sh", "echo\n")]) is None
