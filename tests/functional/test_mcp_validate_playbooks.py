"""mcp_validate through Ansible: the action plugin on the controller, the module on a target
(remote_src), the validate playbook's reports, and site.yml refusing to touch any host when
the project does not validate."""

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "mcp_validate"
BIN = Path(sys.executable).parent
ENV = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}
JSON_ENV = {**ENV, "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1", "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json"}


def run(*args, env=ENV):
    return subprocess.run(
        [*args], cwd=ROOT, capture_output=True, text=True, timeout=180, env=env, check=False
    )


def adhoc(module_args: dict, *extra):
    proc = run(str(BIN / "ansible"), "localhost", *extra, "-m", "sophia.lambda_swarm.mcp_validate",
               "-a", json.dumps(module_args), env=JSON_ENV)  # fmt: skip
    return proc, json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]


def test_clean_project_from_the_command_line():
    proc, result = adhoc({"project_dir": str(FIXTURES / "clean")})
    assert proc.returncode == 0, proc.stdout
    assert result["changed"] is False and result["findings"] == []


def test_broken_project_fails_with_findings_returned():
    proc, result = adhoc({"project_dir": str(FIXTURES / "broken")})
    assert proc.returncode == 2
    assert result["summary"]["by_severity"]["error"] == 13
    assert result["msg"].startswith("13 finding(s) at or above 'error'")
    assert "docker-compose.yml:3: build-context-missing" in result["msg"]


def test_fail_on_warning_counts_warnings():
    proc, result = adhoc({"project_dir": str(FIXTURES / "broken"), "fail_on": "warning"})
    assert proc.returncode == 2 and result["msg"].startswith("16 finding(s) at or above 'warning'")


def test_remote_src_runs_the_module_on_the_target(tmp_path):
    # localhost over the local connection is the "target" here; the module runs there.
    sarif = tmp_path / "out.sarif"
    proc, result = adhoc({"project_dir": str(FIXTURES / "broken"), "remote_src": True, "sarif_path": str(sarif)},
                         "-e", f"ansible_python_interpreter={sys.executable}")  # fmt: skip
    assert proc.returncode == 2
    assert result["invocation"]["module_args"]["remote_src"] is True  # proof it went through the module
    assert result["summary"]["by_severity"]["error"] == 13
    assert json.loads(sarif.read_text())["version"] == "2.1.0"


def test_missing_project_dir_is_a_clear_error():
    proc, result = adhoc({"project_dir": "/nonexistent/project"})
    assert proc.returncode == 2
    assert "project_dir /nonexistent/project is not a directory" in result["msg"]


def test_validate_playbook_writes_both_reports(tmp_path):
    # no server registry: the lab inventory's (the example project's) does not describe this fixture
    proc = run(str(BIN / "ansible-playbook"), "playbooks/validate.yml", "-e", f"mcp_project_dir={FIXTURES / 'clean'}",
               "-e", f"mcp_validate_report_dir={tmp_path}", "-e", '{"mcp_servers": []}')  # fmt: skip
    assert proc.returncode == 0, proc.stdout
    assert "no findings" in proc.stdout
    assert json.loads((tmp_path / "mcp-validate.json").read_text())["findings"] == []
    assert json.loads((tmp_path / "mcp-validate.sarif").read_text())["runs"][0]["results"] == []


def test_validate_playbook_prints_the_table_once_and_no_result_dump(tmp_path):
    proc = run(str(BIN / "ansible-playbook"), "playbooks/validate.yml", "-e", f"mcp_project_dir={FIXTURES / 'broken'}",
               "-e", f"mcp_validate_report_dir={tmp_path}", "-e", '{"mcp_servers": []}')  # fmt: skip
    assert proc.returncode == 2
    assert proc.stdout.count("docker-compose.yml:3  service ai_memory builds") == 1, proc.stdout
    assert "13 finding(s) at or above 'error'" in proc.stdout
    assert '"findings"' not in proc.stdout and "findings:" not in proc.stdout  # no result dump
    assert f"Reports: {tmp_path}/mcp-validate.json" in " ".join(proc.stdout.split())
    assert json.loads((tmp_path / "mcp-validate.json").read_text())["summary"]["by_severity"]["error"] == 13


def test_validate_playbook_checks_the_example_with_the_lab_registry(tmp_path):
    # the lab inventory's registry describes examples/mcp-project: built from the root, no error
    proc = run(str(BIN / "ansible-playbook"), "playbooks/validate.yml", "-i", "inventory/lab",
               "-e", f"mcp_project_dir={ROOT / 'examples' / 'mcp-project'}",
               "-e", f"mcp_validate_report_dir={tmp_path}")  # fmt: skip
    assert proc.returncode == 0, proc.stdout
    report = json.loads((tmp_path / "mcp-validate.json").read_text())
    assert report["summary"]["by_severity"]["error"] == 0
    assert {s["name"] for s in report["servers"] if s["source"] == "declared"} >= {"ai_memory", "signer"}


def _inventory(tmp_path: Path) -> Path:
    # Hosts on a closed loopback port: if anything tried to reach them it would show.
    hosts = {
        "m1": {"ansible_host": "127.0.0.1", "ansible_port": 1},
        "w1": {"ansible_host": "127.0.0.2", "ansible_port": 1},  # preflight wants one address a node
    }
    data = {
        "all": {
            "children": {
                "managers": {"hosts": {"m1": hosts["m1"]}},
                "workers": {"hosts": {"w1": hosts["w1"]}},
            }
        }
    }
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_site_refuses_to_touch_hosts_when_the_project_is_broken(tmp_path):
    proc = run(str(BIN / "ansible-playbook"), "-i", str(_inventory(tmp_path)), "site.yml",
               "-e", f"preflight_project_dir={FIXTURES / 'broken'}", "-e", f"preflight_report_dir={tmp_path}")  # fmt: skip
    assert proc.returncode == 2
    assert "13 finding(s) at or above 'error'" in proc.stdout
    assert "UNREACHABLE" not in proc.stdout and "Reach every node" not in proc.stdout
    recap = proc.stdout.split("PLAY RECAP")[1]
    assert "m1" not in recap and "w1" not in recap
    assert (tmp_path / "mcp-validate.sarif").is_file()


def test_preflight_passes_a_clean_project(tmp_path):
    proc = run(str(BIN / "ansible-playbook"), "-i", str(_inventory(tmp_path)), "playbooks/preflight.yml",
               "-e", f"preflight_project_dir={FIXTURES / 'clean'}", "-e", f"preflight_report_dir={tmp_path}")  # fmt: skip
    assert proc.returncode == 0, proc.stdout
    assert "no findings" in proc.stdout
