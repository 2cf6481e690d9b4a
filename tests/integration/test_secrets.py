"""The secrets role on the lab after site.yml: no change on a re-run, values byte for byte
inside containers, rotation under load through the gateway with zero failed calls (old
versions removed once unused, the previous one kept for rollback; a gateway token's old
value accepted until it is retired), sources from the
environment, clear errors, and no value anywhere in -vvv output or engine logs.

Needs a running lab on which site.yml ran (`make lab-test` does both)."""

import base64
import json
import os
import secrets as pysecrets
import subprocess
import sys

import labkit as lk
import pytest
import yaml

pytestmark = pytest.mark.skipif(not lk.lab_up(), reason="no lab: run `make lab` first")

KEY_FILE = lk.STATE / "secrets" / "signer_key"
TOKEN_FILE = lk.STATE / "gateway" / "token"  # secrets_list entry lab_gateway_token
SEEN_VALUES = []  # every value the tests put into the swarm, for the leak test
# the -vvv output of a rotation the rotation test ran (stdout + stderr), for the leak test: one
# rotation fewer in the suite; the leak test runs its own when that test did not run or failed
VERBOSE_ROTATION = []


def signer_key_versions():
    proc = lk.on_node(
        lk.first_manager(),
        "secret",
        "ls",
        "--filter",
        "label=io.sophia.lambda_swarm.secret=signer_key",
        "--format",
        "{{.Name}}",
    )
    assert proc.returncode == 0, proc.stderr
    return sorted(proc.stdout.split())


def no_failed_call(load, what):
    assert load.calls > 50, load.calls
    assert load.failures == [], "%d of %d calls %s failed: %s" % (
        len(load.failures), load.calls, what, load.failures[:5],
    )  # fmt: skip


def token_versions():
    """The Docker secrets that hold versions of the lab client's gateway token."""
    proc = lk.on_node(
        lk.first_manager(), "secret", "ls", "--filter", "label=io.sophia.lambda_swarm.secret=lab_gateway_token",
        "--format", "{{.Name}}",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return sorted(proc.stdout.split())


def signer_uses():
    refs = lk.service_spec("mcp_signer")["Spec"]["TaskTemplate"]["ContainerSpec"]["Secrets"]
    return {r["File"]["Name"]: r["SecretName"] for r in refs}


def vault_values():
    proc = subprocess.run(
        [str(lk.Path(sys.executable).parent / "ansible-vault"), "view", str(lk.LAB_INVENTORY / "group_vars" / "all" / "vault.yml")],
        cwd=lk.ROOT, capture_output=True, text=True, check=True,
        env=lk.checkout_env(),
    )  # fmt: skip
    return [str(v) for v in yaml.safe_load(proc.stdout).values()]


def new_key():
    value = "rotated %s\nzweite Zeile: ünïcödé ✓ %s\n" % (pysecrets.token_hex(12), pysecrets.token_hex(4))
    KEY_FILE.write_text(value, encoding="utf-8")
    SEEN_VALUES.append(value)
    return value.encode("utf-8")


def test_rerun_changes_nothing():
    proc, recap = lk.playbook("secrets.yml")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert recap and all(r["changed"] == 0 for r in recap.values()), recap


def test_values_arrive_byte_for_byte_as_files_never_as_environment():
    expected = KEY_FILE.read_bytes()
    SEEN_VALUES.append(expected.decode("utf-8"))
    assert b"\n" in expected and any(b > 127 for b in expected)  # newlines and non-ASCII
    tasks = lk.service_tasks("mcp_signer")
    assert tasks, "no signer task runs"
    for node, cid in tasks:
        out = subprocess.run(
            ["docker", "exec", node, "docker", "exec", cid, "cat", "/run/secrets/signer_key"],
            capture_output=True,
            check=False,
        )
        assert out.returncode == 0, out.stderr
        assert out.stdout == expected, "signer_key differs inside %s on %s" % (cid, node)
        env = lk.on_node(node, "inspect", "--format", "{{json .Config.Env}}", cid)
        assert expected.decode().splitlines()[0] not in env.stdout


def test_rotation_under_load_zero_failed_calls_and_old_versions_collected():
    """The signer's key and the lab client's gateway token rotate in one run while a load
    calls with the old token: no call fails, as the auth service accepts the old token's
    value beside the new one. Callers then move to the new token and a second run rotates
    the key again and retires the old token: still no failed call, and the old token gets
    401 from then on."""
    first = signer_uses()["signer_key"]
    old_token = lk.gateway_token()
    SEEN_VALUES.append(old_token)  # retired below, in the run the leak test reads
    load = lk.Load("signer", "verify", {"message": "m", "signature": "0" * 64}, token=old_token)
    load.start()
    try:
        key2 = new_key()
        new_token = pysecrets.token_hex(32)
        TOKEN_FILE.write_text(new_token)
        SEEN_VALUES.append(new_token)
        proc, _ = lk.playbook("rotate_secrets.yml", "-e", "secret=signer_key,lab_gateway_token")
        assert proc.returncode == 0, proc.stdout[-3000:]
        second = signer_uses()["signer_key"]
        assert second != first and "new version %s" % second in proc.stdout
        assert "lab_gateway_token: new version lab_gateway_token_" in proc.stdout
        assert lk.tool_text("signer", "sign", {"message": "hello"}) == lk.hmac_hex(key2, "hello")
        assert first in signer_key_versions(), "the previous version is kept for rollback"
        assert len(token_versions()) == 2, "the auth service mounts the old token's version too"
    finally:
        load.stop()
    no_failed_call(load, "with the old token")
    assert lk.call_tool("signer", "sign", {"message": "x"}, token=old_token)  # both work

    load = lk.Load("signer", "verify", {"message": "m", "signature": "0" * 64}, token=new_token)
    load.start()
    try:
        key3 = new_key()
        # -vvv: the leak test below reads this run's output (a rotation and a retirement)
        proc, _ = lk.playbook(
            "rotate_secrets.yml", "-e", "secret=signer_key", "-e", "retire=lab_gateway_token", "-vvv"
        )
        assert proc.returncode == 0, proc.stdout[-3000:]
        VERBOSE_ROTATION.append(proc.stdout + proc.stderr)
        third = signer_uses()["signer_key"]
        assert lk.tool_text("signer", "sign", {"message": "hello"}) == lk.hmac_hex(key3, "hello")
    finally:
        load.stop()
    no_failed_call(load, "with the new token")
    status, headers = lk.gateway_status("signer", {"Authorization": "Bearer " + old_token})
    assert status == 401 and headers.get("WWW-Authenticate", "").startswith("Bearer"), status
    assert len(token_versions()) == 1, "the retired token's version is removed"
    versions = signer_key_versions()
    assert third in versions and second in versions and first not in versions, versions


def test_rotating_an_unknown_secret_is_refused():
    proc, _ = lk.playbook("rotate_secrets.yml", "-e", "secret=nope")
    assert proc.returncode != 0 and "declared in secrets_list" in proc.stdout


def test_environment_source_and_a_missing_variable(tmp_path):
    listed = yaml.safe_load((lk.LAB_INVENTORY / "group_vars" / "all" / "secrets.yml").read_text())[
        "secrets_list"
    ]
    extra = tmp_path / "extra.yml"
    extra.write_text(
        yaml.safe_dump(
            {"secrets_list": [*listed, {"name": "lab_env_token", "source": "env", "env": "LAB_ENV_TOKEN"}]}
        )
    )
    os.environ.pop("LAB_ENV_TOKEN", None)
    before = lk.on_node(lk.first_manager(), "secret", "ls", "-q").stdout
    proc, _ = lk.playbook("secrets.yml", "-e", "@%s" % extra)
    assert proc.returncode != 0 and "LAB_ENV_TOKEN is not set on the controller" in proc.stdout
    assert lk.on_node(lk.first_manager(), "secret", "ls", "-q").stdout == before, (
        "a failed run changed secrets"
    )
    value = "env-%s" % pysecrets.token_hex(8)
    SEEN_VALUES.append(value)
    os.environ["LAB_ENV_TOKEN"] = value
    try:
        proc, _recap = lk.playbook("secrets.yml", "-e", "@%s" % extra)
    finally:
        os.environ.pop("LAB_ENV_TOKEN", None)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "lab_env_token_" in proc.stdout
    made = lk.on_node(
        lk.first_manager(),
        "secret",
        "ls",
        "--filter",
        "label=io.sophia.lambda_swarm.secret=lab_env_token",
        "-q",
    ).stdout.split()
    assert len(made) == 1
    lk.on_node(lk.first_manager(), "secret", "rm", *made)


def test_no_value_leaks_into_verbose_output_or_engine_logs():
    if VERBOSE_ROTATION:
        # the rotation test's second run, with -vvv: a new signer key and a retired token
        haystack = VERBOSE_ROTATION[-1]
        assert "new version signer_key_" in haystack, haystack[-3000:]
    else:
        new_key()
        proc, _ = lk.playbook("rotate_secrets.yml", "-e", "secret=signer_key", "-vvv")
        assert proc.returncode == 0, proc.stdout[-3000:]
        haystack = proc.stdout + proc.stderr
    for node in lk.hosts():
        logs = lk.docker(
            "exec",
            node,
            "journalctl",
            "-u",
            "docker",
            "-u",
            "containerd",
            "--no-pager",
            "-o",
            "cat",
            timeout=120,
        )
        haystack += logs.stdout
    molecule_logs = lk.ROOT / ".cache" / "molecule-logs"
    if molecule_logs.is_dir():
        haystack += "".join(p.read_text(errors="replace") for p in molecule_logs.rglob("*.log"))
    values = [*vault_values(), *SEEN_VALUES]
    needles = set()
    for value in values:
        needles.add(value)
        needles.add(base64.b64encode(value.encode()).decode())
        needles.update(line for line in value.splitlines() if len(line.strip()) >= 8)
        needles.add(json.dumps(value)[1:-1])  # as it would appear inside JSON
    hits = sorted(n for n in needles if n and n in haystack)
    assert len(haystack) > 10000, "too little output collected to prove anything"
    assert hits == [], "secret values found in output/logs: %d" % len(hits)
