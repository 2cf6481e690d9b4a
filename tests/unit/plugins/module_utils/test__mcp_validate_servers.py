"""_mcp_validate_servers: the registry against the project, image entries tolerated."""

from ansible_collections.sophia.lambda_swarm.plugins.module_utils import _mcp_validate as mv


def write(tmp_path, files):
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)


def test_registry_entries_are_judged_in_the_image_the_collection_builds(tmp_path):
    write(tmp_path, {
        "backend/__init__.py": "", "backend/svc/__init__.py": "", "backend/svc/server.py": "app = 1\n",
        "backend/svc/requirements.txt": "mcp\n", "backend/bare/server.py": "",
        "backend/own/Dockerfile": "FROM x\nWORKDIR /app\nCOPY backend/own/main.py .\n", "backend/own/main.py": "",
    })  # fmt: skip
    servers = [
        {"name": "svc", "path": "backend/svc", "module": "backend.svc.server", "port": 8001, "context": "."},
        {
            "name": "bare",
            "path": "backend/bare",
            "module": "backend.bare.server",
            "port": 8002,
            "context": ".",
        },
        {"name": "own", "path": "backend/own", "module": "backend.own.main", "port": 8003, "context": "."},
        {"name": "pre", "image": "registry:5000/pre:1", "port": 8004},
        {"name": "dup", "image": "registry:5000/dup:1", "port": 8004},
    ]
    result = mv.validate(str(tmp_path), servers=servers)
    got = sorted((f["code"], f["path"]) for f in result["findings"])
    assert got == [
        ("copy-source-missing", "servers[1] (bare)"),  # the standard Dockerfile needs requirements.txt
        (
            "module-unresolved",
            "servers[2] (own)",
        ),  # its own Dockerfile copies main.py to /app, not the package
        ("port-conflict", "servers[4] (dup)"),
    ]
    listed = {s["name"]: s for s in result["servers"]}
    assert (
        listed["svc"]["module_file"] == "backend/svc/server.py" and listed["svc"]["dockerfile"] == "standard"
    )
    assert listed["pre"]["image"] == "registry:5000/pre:1" and listed["pre"]["exists"] is None
    own = next(f for f in result["findings"] if f["path"] == "servers[2] (own)")
    assert "backend/own/main.py is in the build context" in own["hint"]
