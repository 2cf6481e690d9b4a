"""The pulumi_esc lookup, run by Ansible against a stand-in `esc` on the PATH.

Pulumi's service cannot be reached here, so `esc` is a test double that answers like the
real CLI: `esc env open <org>/<project>/<env> --format json` prints the environment's
evaluated values as one JSON object (the shape Pulumi documents for `esc env open` and for
evaluated environments: plain values, nested objects, and the reserved
`environmentVariables`); an unknown environment exits 1 with an error on stderr. The
stand-in is in this file; nothing here talks to Pulumi.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
VALUES = {
    "db": {"host": "db.internal", "password": "pässwörd\nline2"},
    "environmentVariables": {"MCP_NOTES_TOKEN": "tok-123"},
    "hosts": ["m1", "m2"],
}
STAND_IN = """#!/usr/bin/env python3
import json, sys
args = sys.argv[1:]
assert args[:2] == ["env", "open"] and "--format" in args and args[args.index("--format") + 1] == "json", args
if args[2] == "acme/mcp/prod":
    print(json.dumps(%s, indent=2))
else:
    sys.stderr.write("Error: [404] Not found: environment %%s not found\\n" %% args[2])
    sys.exit(1)
""" % json.dumps(VALUES)


@pytest.fixture()
def esc_path(tmp_path):
    esc = tmp_path / "esc"
    esc.write_text(STAND_IN)
    esc.chmod(0o755)
    return str(tmp_path)


def lookup(expr, esc_path, token="pul-test-token"):
    env = {**os.environ, "PATH": esc_path + os.pathsep + os.environ["PATH"], "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
           "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1", "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json"}  # fmt: skip
    env.pop("PULUMI_ACCESS_TOKEN", None)
    if token:
        env["PULUMI_ACCESS_TOKEN"] = token
    proc = subprocess.run([str(Path(sys.executable).parent / "ansible"), "localhost", "-i", "localhost,", "-c", "local",
                           "-m", "ansible.builtin.debug",
                           "-a", "msg={{ %s }}" % expr], cwd=ROOT, capture_output=True, text=True, env=env, timeout=120,
                          check=False)  # fmt: skip
    return json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]


def test_whole_environment(esc_path):
    assert lookup("lookup('sophia.lambda_swarm.pulumi_esc', 'acme/mcp/prod')", esc_path)["msg"] == VALUES


def test_one_path_byte_for_byte(esc_path):
    result = lookup("lookup('sophia.lambda_swarm.pulumi_esc', 'acme/mcp/prod', path='db.password')", esc_path)
    assert result["msg"] == "pässwörd\nline2"
    result = lookup(
        "lookup('sophia.lambda_swarm.pulumi_esc', 'acme/mcp/prod', path='environmentVariables.MCP_NOTES_TOKEN')",
        esc_path,
    )
    assert result["msg"] == "tok-123"


def test_no_token(esc_path):
    result = lookup("lookup('sophia.lambda_swarm.pulumi_esc', 'acme/mcp/prod')", esc_path, token=None)
    assert result["failed"] and "PULUMI_ACCESS_TOKEN is not set" in result["msg"]


def test_no_such_environment(esc_path):
    result = lookup("lookup('sophia.lambda_swarm.pulumi_esc', 'acme/mcp/nope')", esc_path)
    assert result["failed"]
    assert "esc env open acme/mcp/nope failed" in result["msg"] and "esc env ls" in result["msg"]


def test_path_missing(esc_path):
    result = lookup("lookup('sophia.lambda_swarm.pulumi_esc', 'acme/mcp/prod', path='db.user')", esc_path)
    assert result["failed"] and "no db.user in the environment" in result["msg"]


def test_not_a_reference(esc_path):
    result = lookup("lookup('sophia.lambda_swarm.pulumi_esc', 'prod')", esc_path)
    assert result["failed"] and "not an environment reference" in result["msg"]
