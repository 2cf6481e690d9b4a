"""_mcp_validate_image: what an image holds, and start commands judged against it."""

import pytest
from ansible_collections.sophia.lambda_swarm.plugins.module_utils import _mcp_validate_image as im
from ansible_collections.sophia.lambda_swarm.plugins.module_utils import _mcp_validate_index as ix
from ansible_collections.sophia.lambda_swarm.plugins.module_utils import _mcp_validate_python as py
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._mcp_validate_shell import start_claims


def build(tmp_path, files, dockerfile="Dockerfile", context=""):
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    project = ix.Project(str(tmp_path))
    return im.build_image(project, dockerfile, context), py.ModuleIndex(project)


def claims_of(image, argv, modules):
    return [
        (f["code"], f["hint"])
        for f in im.check_claims(image, start_claims(argv), "Dockerfile", 9, "CMD", modules)
    ]


def test_workdir_copies_and_lookup(tmp_path):
    image, _m = build(tmp_path, {
        "Dockerfile": "FROM python:3.12-slim\nWORKDIR /app\nCOPY src/ ./pkg/\nCOPY run.py .\nENV PYTHONPATH=/opt/lib\n",
        "src/__init__.py": "", "src/main.py": "app = 1\n", "run.py": "",
    })  # fmt: skip
    assert image.workdir == "/app" and image.python == (3, 12) and image.pythonpath == ["/opt/lib"]
    assert image.lookup("/app/pkg/main.py") == "file" and image.lookup("/app/run.py") == "file"
    assert image.lookup("/app/pkg") == "dir" and image.lookup("/app/other.py") is None
    assert image.find_module("pkg.main") == ("image", "src/main.py")
    assert "pkg.main" in image.modules()


def test_multi_stage_copy_and_installed_project(tmp_path):
    image, modules = build(tmp_path, {
        "Dockerfile": "FROM python:3.11 AS b\nWORKDIR /src\nCOPY . .\nRUN pip install --prefix=/i .\n"
                      "FROM python:3.11-slim\nCOPY --from=b /i /usr/local\nCOPY --from=b /src/conf /etc/conf\n"
                      "RUN pip install -r /etc/conf/req.txt httpx==0.27\nCMD [\"svc-run\"]\n",
        "pyproject.toml": '[project]\nname = "svc"\ndependencies = ["anyio"]\n[project.scripts]\nsvc-run = "svc.cli:main"\n',
        "svc/__init__.py": "", "svc/cli.py": "def main():\n    pass\n", "conf/req.txt": "rich\n",
    })  # fmt: skip
    assert image.lookup("/etc/conf/req.txt") == "file" and image.lookup("/usr/local/lib") == "unknown"
    assert {"anyio", "httpx", "rich"} <= image.dists
    assert image.find_module("svc.cli") == ("image", "svc/cli.py")
    assert claims_of(image, image.cmd[1], modules) == []
    assert claims_of(image, ["svc-rnu"], modules) == [
        ("console-script-missing", "did you mean svc-run? (declared in [project.scripts])")
    ]


def test_run_steps_that_move_files_make_them_opaque(tmp_path):
    image, modules = build(tmp_path, {
        "Dockerfile": "FROM x\nWORKDIR /app\nRUN git clone https://x/gen.git /app/gen && python -m grpc_tools.protoc --python_out=/app/pb x.proto\n",
    })  # fmt: skip
    assert image.find_module("gen.server") == ("image", None)
    assert claims_of(image, ["python", "-m", "pb.api_pb2"], modules) == []


@pytest.mark.parametrize(
    ("argv", "codes"),
    [
        (["python", "-m", "uvicorn", "server:app"], []),
        (["python", "-m", "uvicorn", "servr:app"], ["module-unresolved"]),
        (["uvicorn", "server:application"], ["module-attribute-missing"]),
        (["python", "server.py"], []),
        (["python", "main.py"], ["start-file-missing"]),
        (["python", "-m", "http.server"], []),
        (["python", "-m", "some_third_party_tool"], []),
        (["python", "/usr/local/bin/entry.py"], []),  # the base image's business
        (["python", "-m", "helper"], ["module-unresolved"]),  # in the context, not copied
    ],
)
def test_start_commands(tmp_path, argv, codes):
    image, modules = build(tmp_path, {
        "Dockerfile": "FROM python:3.12\nWORKDIR /srv\nCOPY svc/server.py svc/requirements.txt ./\n"
                      "RUN pip install -r requirements.txt\n",
        "svc/server.py": "app = None\n", "svc/requirements.txt": "uvicorn\n", "svc/helper.py": "",
    })  # fmt: skip
    assert [c for c, _h in claims_of(image, argv, modules)] == codes


def test_an_unknown_workdir_falls_back_to_the_copies_and_the_project(tmp_path):
    image, modules = build(tmp_path, {
        "svc/Dockerfile": "FROM base\nCOPY . /app\nCMD python -m server\n", "svc/server.py": "",
        "backend/__init__.py": "", "backend/x.py": "",
    }, dockerfile="svc/Dockerfile", context="svc")  # fmt: skip
    assert image.workdir is None
    assert claims_of(image, image.cmd[1], modules) == []
    assert claims_of(image, ["python", "-m", "backend.x"], modules) == []  # the old, lenient model
