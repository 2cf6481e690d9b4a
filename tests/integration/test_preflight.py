"""site.yml refuses a broken project or a missing vault variable in preflight, before any
task on any node, naming the file and line (or the variable and where to set it); and
health.yml checks every server of the deployed stack with no extra variables.

Needs a running lab on which site.yml ran (`make lab-test` does both)."""

import json
import re
import shutil
import subprocess

import labkit as lk
import pytest

pytestmark = pytest.mark.skipif(not lk.lab_up(), reason="no lab: run `make lab` first")


def node_tasks(stdout):
    """Task result lines of lab nodes (ok/changed/failed/skipping: [lswarm-...])."""
    return re.findall(r"^(?:ok|changed|failed|fatal|skipping): \[(lswarm-[^\]\s]+)", stdout, re.MULTILINE)


def test_a_broken_build_path_stops_site_in_preflight():
    target = lk.ROOT / ".cache" / "projects" / "broken-copy"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(
        lk.ROOT / "examples" / "mcp-project", target, ignore=shutil.ignore_patterns("__pycache__")
    )
    dockerfile = target / "backend" / "mcp_servers" / "ai_memory" / "Dockerfile"
    lines = dockerfile.read_text().splitlines(keepends=True)
    line = next(i for i, text in enumerate(lines, 1) if text.startswith("COPY backend/core/"))
    lines[line - 1] = lines[line - 1].replace("backend/core/", "backend/kore/", 1)
    dockerfile.write_text("".join(lines))
    proc, recap = lk.playbook("../site.yml", "-e", f"stack_project_dir={target}", timeout=300)
    assert proc.returncode != 0
    assert f"backend/mcp_servers/ai_memory/Dockerfile:{line}" in proc.stdout, proc.stdout[-3000:]
    assert "backend/kore" in proc.stdout
    assert set(recap) == {"localhost"}, recap
    assert not node_tasks(proc.stdout), node_tasks(proc.stdout)


def test_a_missing_vault_variable_is_named_before_any_host_changes():
    secrets = [
        {"name": "signer_key", "source": "value", "value": "x" * 20},
        {"name": "signer_api_token", "source": "vault", "value": "{{ vault_warehouse_password }}"},
    ]
    proc, recap = lk.playbook("../site.yml", "-e", json.dumps({"secrets_list": secrets}), timeout=300)
    assert proc.returncode != 0
    assert "secrets_list[1] (signer_api_token) value needs vault_warehouse_password" in proc.stdout, (
        proc.stdout[-3000:]
    )
    assert "vault.yml" in proc.stdout  # where to set it
    assert set(recap) == {"localhost"}, recap
    assert not node_tasks(proc.stdout)


def test_a_bad_gateway_client_is_named_before_any_host_changes():
    clients = [
        {"name": "lab-tests", "secret": "lab_gateway_token"},
        {"name": "assistant", "token": 'short"; }', "servers": ["text_tools"]},
    ]
    proc, recap = lk.playbook(
        "../site.yml", "-e", json.dumps({"stack_gateway_clients": clients}), timeout=300
    )
    assert proc.returncode != 0
    assert (
        "stack_gateway_clients[1].token (client assistant): a token is 32 to 200 characters" in proc.stdout
    ), proc.stdout[-3000:]
    assert lk.gateway_token() not in proc.stdout
    assert set(recap) == {"localhost"}, recap
    assert not node_tasks(proc.stdout)


def test_health_playbook_checks_the_deployed_stack_by_default():
    proc, _ = lk.playbook("health.yml", timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:]
    report = json.loads((lk.ARTIFACTS / "health-check.json").read_text())
    names = {r["name"]: r for r in report["results"]}
    expected = {s["name"] for s in lk.mcp_servers()}
    assert set(names) == expected and all(r["ok"] for r in names.values()), names
    # expect_tools of the registry travelled with the targets
    assert {"remember", "recall", "forget", "list_keys"} <= set(names["ai_memory"]["tools"])
    assert {"reverse", "add"} <= set(names["js_tools"]["tools"])


def test_teardown_of_a_worker_without_the_confirmation_changes_nothing():
    """The confirmation guards every destructive play, not only the one on managers[0]:
    `-l <worker>` skips that one, and the worker's own plays must refuse too."""
    worker = next(name for name, h in lk.hosts().items() if h["group"] == "workers")
    volumes = lk.on_node(worker, "volume", "ls", "-q").stdout
    proc, recap = lk.playbook(
        "teardown.yml",
        "-l",
        worker,
        "-e",
        "teardown_volumes=true",
        "-e",
        "teardown_leave_swarm=true",
        timeout=300,
    )
    assert proc.returncode != 0
    assert "Confirm with -e teardown_confirm=mcp; nothing was changed." in " ".join(proc.stdout.split())
    assert recap and all(r["changed"] == 0 for r in recap.values()), recap
    assert lk.on_node(worker, "volume", "ls", "-q").stdout == volumes
    state = lk.on_node(worker, "info", "--format", "{{.Swarm.LocalNodeState}}").stdout.strip()
    assert state == "active"


ABSENT_PLAY = """\
- name: The DOCKER-USER rules taken away (what teardown.yml runs on a host leaving the swarm)
  hosts: all
  become: true
  gather_facts: false
  tasks:
    - name: Entry point docker_user_absent
      ansible.builtin.include_role:
        name: sophia.lambda_swarm.host
        tasks_from: docker_user_absent
"""


def test_the_docker_user_rules_are_removed_cleanly(tmp_path):
    """Entry point host docker_user_absent: --check changes nothing on the node; then the
    collection's block leaves ufw's after.rules and the loaded DOCKER-USER chain is empty; a
    second run changes nothing. The node gets its rules back (after.rules, ufw reload)."""
    worker = sorted(name for name, h in lk.hosts().items() if h["group"] == "workers")[-1]

    def read():
        rules = lk.docker("exec", worker, "iptables", "-w", "5", "-S", "DOCKER-USER")
        after = lk.docker("exec", worker, "cat", "/etc/ufw/after.rules")
        assert rules.returncode == 0 and after.returncode == 0, rules.stderr + after.stderr
        return rules.stdout.splitlines(), after.stdout

    rules, after = read()
    assert "-A DOCKER-USER -o docker_gwbridge -j DROP" in rules and "sophia.lambda_swarm DOCKER-USER" in after
    play = tmp_path / "docker-user-absent.yml"
    play.write_text(ABSENT_PLAY)
    try:
        proc, recap = lk.playbook(str(play), "-l", worker, "--check", timeout=300)
        assert proc.returncode == 0 and recap[worker]["changed"] >= 1, proc.stdout[-2000:]
        assert read() == (rules, after), "--check changed the node"

        proc, recap = lk.playbook(str(play), "-l", worker, timeout=300)
        assert proc.returncode == 0 and recap[worker]["changed"] >= 1, proc.stdout[-2000:]
        now, now_after = read()
        assert now == ["-N DOCKER-USER"], now
        assert "sophia.lambda_swarm DOCKER-USER" not in now_after and "DOCKER-USER" not in now_after
        assert now_after.strip() and "COMMIT" in now_after  # ufw's own rules are still there

        proc, recap = lk.playbook(str(play), "-l", worker, timeout=300)
        assert proc.returncode == 0 and recap[worker]["changed"] == 0, recap
    finally:
        subprocess.run(
            ["docker", "exec", "-i", worker, "sh", "-c", "cat > /etc/ufw/after.rules"],
            input=after, text=True, timeout=60, check=True,
        )  # fmt: skip
        assert lk.docker("exec", worker, "ufw", "reload").returncode == 0
    # ufw's reload declares the chain afresh: Docker's own trailing RETURN, if it had one, is
    # not put back (an empty tail returns the same way)
    back, back_after = read()
    docker_return = "-A DOCKER-USER -j RETURN"
    assert back_after == after and [r for r in back if r != docker_return] == [
        r for r in rules if r != docker_return
    ], "the node did not get its DOCKER-USER rules back"


HOST_PLAY = """\
- name: The host role alone
  hosts: managers:workers
  become: true
  gather_facts: true
  roles:
    - role: sophia.lambda_swarm.host
"""


def test_a_limited_run_without_a_fact_cache_keeps_the_peers_private_addresses(tmp_path):
    """The host role on one node (-l) with no fact cache: it gathers the peers' network facts
    (entry point peer_facts), so its peer rules name their private addresses, exactly as
    site.yml wrote them (changed=0), never their public ansible_host."""
    worker = sorted(name for name, h in lk.hosts().items() if h["group"] == "workers")[-1]
    play = tmp_path / "host.yml"
    play.write_text(HOST_PLAY)
    proc, recap = lk.playbook(str(play), "-l", worker, timeout=600, env={"ANSIBLE_CACHE_PLUGIN": "memory"})
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "Gather the network facts of the peers this run lacks" in proc.stdout
    assert "No network facts from" not in proc.stdout
    assert recap[worker]["changed"] == 0, proc.stdout[-3000:]
    after = lk.docker("exec", worker, "cat", "/etc/ufw/after.rules").stdout
    block = after.split("sophia.lambda_swarm DOCKER-USER")[1]
    status = lk.docker("exec", worker, "ufw", "status").stdout
    for name, host in lk.hosts().items():
        if name == worker:
            continue
        assert lk.private_address(name) in block and lk.private_address(name) in status, name
        assert host["ansible_host"] not in block and host["ansible_host"] not in status, name
