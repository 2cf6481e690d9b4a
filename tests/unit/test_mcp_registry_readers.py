"""The user's mcp_servers has one reader rule, the stack's filter mcp_registry (issue "one
home for each behaviour"): wherever a run reads the registry first, preflight before any host
changes or playbooks/validate.yml, a bad entry fails with the message the stack role would
give, naming the entry, the key and the fix. Both playbooks run on the controller only, so
these tests run them for real against a generated inventory of unreachable hosts."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._stack import RegistryError, normalize

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "mcp_validate"
SERVER = {"name": "notes", "path": "backend/mcp_servers/notes", "module": "backend.mcp_servers.notes.server",
          "port": 8101}  # fmt: skip
SECRETS = [{"name": "notes_token", "value": "x"}]
BAD = [
    ({**SERVER, "replica": 2}, "did you mean replicas?"),
    ({**SERVER, "port": 80}, "port is missing or not in 1024-65535"),
    ({**SERVER, "volumes": ["/srv/notes:/data"]}, "is not NAME:/container/path"),
    ({**SERVER, "secrets": ["notes_tokn"]}, "which secrets_list does not declare"),
    ({**SERVER, "image": "registry.example/notes:1"}, "path is set together with image"),
]
IDS = ["unknown-key", "port", "bind-mount", "undeclared-secret", "path-and-image"]


def _stack_message(servers):
    with pytest.raises(RegistryError) as exc:
        normalize(servers, [s["name"] for s in SECRETS])
    return str(exc.value)


def _run(*args):
    return subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"},
        check=False,
    )


def _inventory(tmp_path: Path) -> Path:
    # hosts on a closed loopback port: if anything tried to reach them it would show
    managers = {"m1": {"ansible_host": "127.0.0.1", "ansible_port": 1}}
    workers = {"w1": {"ansible_host": "127.0.0.2", "ansible_port": 1}}
    data = {"all": {"children": {"managers": {"hosts": managers}, "workers": {"hosts": workers}}}}
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump(data))
    return path


def _extra(tmp_path: Path, servers) -> str:
    path = tmp_path / "extra.json"
    path.write_text(json.dumps({"mcp_servers": servers, "secrets_list": SECRETS,
                                "secrets_version_key": "k" * 32, "lambda_swarm_state_dir": str(tmp_path / "state")}))  # fmt: skip
    return "@%s" % path


@pytest.mark.parametrize(("entry", "problem"), BAD, ids=IDS)
def test_preflight_refuses_a_bad_entry_with_the_stacks_message(tmp_path, entry, problem):
    message = _stack_message([SERVER | {"name": "other", "port": 8102}, entry])
    assert problem in message and message.startswith("mcp_servers[1] (notes): ")
    # no project to validate: the registry is checked all the same
    proc = _run("-i", str(_inventory(tmp_path)), "playbooks/preflight.yml", "-e", "preflight_project_dir=",
                "-e", _extra(tmp_path, [SERVER | {"name": "other", "port": 8102}, entry]))  # fmt: skip
    assert proc.returncode != 0
    assert message in " ".join(proc.stdout.split()), proc.stdout[-3000:]
    assert "UNREACHABLE" not in proc.stdout


@pytest.mark.parametrize(("entry", "problem"), BAD, ids=IDS)
def test_validate_playbook_refuses_a_bad_entry_with_the_stacks_message(tmp_path, entry, problem):
    message = _stack_message([entry])
    proc = _run("-i", str(_inventory(tmp_path)), "playbooks/validate.yml", "-e", f"mcp_project_dir={FIXTURES / 'clean'}",
                "-e", f"mcp_validate_report_dir={tmp_path}", "-e", _extra(tmp_path, [entry]))  # fmt: skip
    assert proc.returncode != 0
    assert message in " ".join(proc.stdout.split()), proc.stdout[-3000:]
    assert not (tmp_path / "mcp-validate.json").exists()  # refused before the validation ran


def test_a_good_registry_passes_preflight_and_validate(tmp_path):
    proc = _run("-i", str(_inventory(tmp_path)), "playbooks/preflight.yml", "-e", "preflight_project_dir=",
                "-e", _extra(tmp_path, [SERVER | {"secrets": ["notes_token"]}]))  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:]
    # an entry deployed from an image: nothing of it in the project to validate
    image = {"name": "notes", "image": "registry.example/notes:1", "port": 8101}
    proc = _run("-i", str(_inventory(tmp_path)), "playbooks/validate.yml", "-e", f"mcp_project_dir={FIXTURES / 'clean'}",
                "-e", f"mcp_validate_report_dir={tmp_path}", "-e", _extra(tmp_path, [image]))  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "no findings" in proc.stdout
