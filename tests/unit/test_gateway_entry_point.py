"""The auth service's entry point (roles/stack/files/gateway/gateway.sh, `gateway auth`): the
token map it writes from the secrets it mounts. Token files as real sources leave them: a
trailing newline (a file written with echo), blanks around the value, CRLF; a bad value is
skipped naming its client, never its value. nginx is a stand-in that exits (only the map is
under test)."""

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "roles" / "stack" / "files" / "gateway" / "gateway.sh"


def run_auth(tmp_path, files):
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    for name, value in files.items():
        (secrets / name).write_text(value)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "nginx").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "nginx").chmod(0o755)
    env = dict(os.environ, PATH="%s:/usr/bin:/bin" % bin_dir, GATEWAY_SECRETS=str(secrets),
               GATEWAY_MAP=str(tmp_path / "clients.map"), GATEWAY_CONF=str(tmp_path / "none.conf"))  # fmt: skip
    proc = subprocess.run(
        ["bash", str(SCRIPT), "auth"], env=env, capture_output=True, text=True, timeout=30, check=False
    )
    return proc, (tmp_path / "clients.map").read_text()


def test_the_map_holds_every_token_file_trimmed_and_escaped_and_skips_a_bad_one(tmp_path):
    current, previous = "a.b+c" + "1" * 35, "2" * 40
    proc, text = run_auth(
        tmp_path,
        {
            "gateway_clients.map": '"~^(?i:bearer) +%s$" lambda_swarm;\n' % ("f" * 40),
            "gateway_token.app": current + "\n",  # echo's newline
            "gateway_token_previous.app": "  %s\r\n" % previous,  # blanks and CRLF
            "gateway_token.bad": "short\n",
            "gateway_token_previous.gateway_token.x": "3" * 40,  # a client whose name holds the prefix
        },
    )
    assert proc.returncode == 0, proc.stderr
    lines = text.splitlines()
    assert lines[0] == '"~^(?i:bearer) +%s$" lambda_swarm;' % ("f" * 40)
    assert '"~^(?i:bearer) +a\\.b\\+c%s$" app;' % ("1" * 35) in lines
    assert '"~^(?i:bearer) +%s$" app;' % previous in lines
    assert '"~^(?i:bearer) +%s$" gateway_token.x;' % ("3" * 40) in lines
    assert not [line for line in lines if line.endswith(" bad;")]
    assert "gateway_token.bad (client bad) holds no token" in proc.stderr and "short" not in proc.stderr
    assert "4 tokens accepted" in proc.stdout
