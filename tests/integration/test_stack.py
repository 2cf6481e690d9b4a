"""The stack on the lab after site.yml: every server healthy through the gateway, a second
run changes nothing, a note is remembered and recalled, a new version deploys under load with
zero failed calls, a broken one rolls back and the role says why, and the note survives a
redeploy and a restart of the node that holds its volume.

Needs a running lab on which site.yml ran (`make lab-test` does both)."""

import json
import re
import shutil
import socket
import ssl
import tarfile
import time
import uuid
import warnings

import labkit as lk
import pytest
import yaml

pytestmark = pytest.mark.skipif(not lk.lab_up(), reason="no lab: run `make lab` first")

ARTIFACTS = lk.ARTIFACTS
PROJECT = lk.ROOT / "examples" / "mcp-project"


def project_copy(name, edit):
    """A copy of the example project under .cache with one file edited."""
    target = lk.ROOT / ".cache" / "projects" / name
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(PROJECT, target, ignore=shutil.ignore_patterns("__pycache__"))
    server = target / "backend" / "mcp_servers" / "text_tools" / "server.py"
    server.write_text(edit(server.read_text()))
    return target


def image_of(service):
    return lk.service_spec(service)["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"]


def word_count_is_three(result):
    assert result["content"][0]["text"] == "3", result


def test_site_left_every_server_healthy_through_the_gateway():
    report = json.loads((ARTIFACTS / "health-report.json").read_text())
    assert report["via"] == "gateway"
    names = {r["name"]: r for r in report["results"]}
    assert set(names) == {s["name"] for s in lk.mcp_servers()}
    assert all(r["ok"] for r in names.values()), names
    assert names["text_tools"]["era"] != names["ai_memory"]["era"]  # both protocol eras answer
    compose = (ARTIFACTS / "docker-compose.cloud.yml").read_text()
    assert "@sha256:" in compose and "endpoint_mode: dnsrr" in compose


def test_a_server_that_is_not_python_answers_through_the_gateway():
    """js_tools: Node.js from its own Dockerfile (no module, no Python), in the stack like the
    others: healthy with its tools in the report, and a tools/call in a session works."""
    report = json.loads((ARTIFACTS / "health-report.json").read_text())
    js = next(r for r in report["results"] if r["name"] == "js_tools")
    assert js["ok"] and js["era"] == "2025-11-25" and js["server_name"] == "js_tools", js
    assert {"reverse", "add"} <= set(js["tools"]), js
    assert lk.session_tool_text("js_tools", "reverse", {"text": "grüße"}) == "eßürg"
    assert lk.session_tool_text("js_tools", "add", {"numbers": [1, 2, 3.5]}) == "6.5"


# what a used checkout holds that must never ship: state, keys, vault, caches
NEVER_SHIPPED = re.compile(
    r"(^|/)(\.lab|\.cache|\.collections|\.venv|\.ansible|\.pytest_cache|\.ruff_cache|\.lambda_swarm|"
    r"artifacts|backups|__pycache__)(/|$)|inventory/lab/hosts\.yml$|vault\.yml$|\.key$|\.pyc$|\.tar\.gz$"
)


def test_the_tarball_of_the_used_checkout_holds_no_state():
    """Built after the lab ran (keys, vault, reports, caches all present in the checkout)."""
    assert (lk.STATE / "ca").is_dir() and (lk.LAB_INVENTORY / "group_vars" / "all" / "vault.yml").is_file()
    tarball = lk.build_tarball(lk.ROOT / ".cache" / "dist")
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
    assert "roles/stack/tasks/main.yml" in names and "LICENSE" in names
    shipped = [n for n in names if NEVER_SHIPPED.search(n)]
    assert not shipped, shipped


def test_second_run_of_site_changes_nothing():
    """The second run is a user's: the collection built into a tarball from this (used)
    checkout, installed into a collections path of its own, run as sophia.lambda_swarm.site
    from a folder outside the checkout, with a copy of the lab inventory, no ansible.cfg (so
    no fact cache either). It changes nothing, on the nodes or in the installed collection."""
    tmp = lk.ROOT / ".cache" / "user"
    shutil.rmtree(tmp, ignore_errors=True)
    tarball = lk.build_tarball(tmp / "dist")
    collections = tmp / "collections"
    lk.run_tool(
        "ansible-galaxy",
        "collection",
        "install",
        "--force",
        "--no-deps",
        "-p",
        str(collections),
        str(tarball),
    )
    assert (
        collections / "ansible_collections" / "sophia" / "lambda_swarm" / "playbooks" / "site.yml"
    ).is_file()
    installed = collections / "ansible_collections" / "sophia" / "lambda_swarm"
    before = lk.tree_digest(installed)
    inventory = tmp / "work" / "inventory"
    shutil.copytree(lk.LAB_INVENTORY, inventory)
    proc, recap = lk.user_playbook(inventory, "sophia.lambda_swarm.site", collections, cwd=tmp / "work")
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert recap and all(r["changed"] == 0 for r in recap.values()), recap
    assert lk.tree_digest(installed) == before, "the run wrote into the installed collection"
    check_token = (lk.CONTROLLER_STATE / "gateway" / "check-token").read_text().strip()
    for token in (check_token, lk.gateway_token()):
        assert token not in proc.stdout, "a gateway token is in the run's output"


def test_gateway_answers_only_callers_with_a_known_bearer_token():
    """stack_gateway_auth=bearer (the default): no token, a wrong one, the right one with
    another case, or one with something after it: 401 with a Bearer challenge; the lab
    client's token and the collection's check token: the server answers; a client limited
    to one server: 403 from the others."""
    token = lk.gateway_token()
    check_token = (lk.CONTROLLER_STATE / "gateway" / "check-token").read_text().strip()
    initialize = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}).encode()
    base = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": "2025-06-18"}  # fmt: skip
    refused = {
        "none": {},
        "wrong": {"Authorization": "Bearer " + "0" * 64},
        "case": {"Authorization": "Bearer " + token.upper()},
        "suffix": {"Authorization": "Bearer %s x" % token},
        "basic": {"Authorization": "Basic " + token},
    }
    for why, extra in refused.items():
        for server in ("ai_memory", "text_tools"):
            status, headers = lk.gateway_status(server, dict(base, **extra), initialize)
            assert status == 401, (why, server, status)
            assert headers.get("WWW-Authenticate", "").startswith("Bearer"), (why, headers)
    for accepted in (token, check_token):
        status, headers = lk.gateway_status(
            "ai_memory", dict(base, Authorization="bearer " + accepted), initialize
        )
        assert status == 200, status
        assert "WWW-Authenticate" not in headers
    # lab-limited may call text_tools only: 403 elsewhere, and no challenge (its token is good)
    limited = (lk.STATE / "gateway" / "token-limited").read_text().strip()
    status, _ = lk.gateway_status("text_tools", dict(base, Authorization="Bearer " + limited), initialize)
    assert status == 200, status
    status, headers = lk.gateway_status(
        "ai_memory", dict(base, Authorization="Bearer " + limited), initialize
    )
    assert status == 403 and "WWW-Authenticate" not in headers, (status, headers)
    # the gateway, which faces the internet, holds no token: its auth service does
    mounted = lk.service_spec("mcp_gateway")["Spec"]["TaskTemplate"]["ContainerSpec"].get("Secrets") or []
    assert sorted(r["File"]["Name"] for r in mounted) == ["gateway.crt", "gateway.key"], mounted


def test_note_remembered_then_recalled_through_the_gateway():
    key = "note-%s" % uuid.uuid4().hex[:8]
    assert (
        lk.tool_text("ai_memory", "remember", {"key": key, "text": "grüße from the test"})
        == "remembered %s" % key
    )
    assert lk.tool_text("ai_memory", "recall", {"key": key}) == "grüße from the test"
    assert key in json.dumps(lk.call_tool("ai_memory", "list_keys", {}))


def test_new_version_under_load_zero_failed_calls_then_broken_version_rolls_back():
    before = image_of("mcp_text_tools")
    # servers whose Dockerfiles copy none of text_tools' files (signer's standard one copies
    # the whole project, so it is rebuilt too)
    untouched = {service: image_of(service) for service in ("mcp_ai_memory", "mcp_js_tools")}
    load = lk.Load("text_tools", "word_count", {"text": "a b c"}, check=word_count_is_three)
    load.start()
    started = time.monotonic()
    try:
        v2 = project_copy(
            "v2", lambda s: s.replace('"""Number of words in the text."""', '"""Number of words (v2)."""')
        )
        # what a real checkout holds and no image may carry
        (v2 / ".env").write_text("API_KEY=never-in-an-image\n")
        (v2 / ".git").mkdir()
        (v2 / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
        # a file removed from the project (no server needs its README) leaves the build context
        # too: the context is made afresh, not copied over the last one
        (v2 / "README.md").unlink()
        proc, _ = lk.playbook("stack.yml", "-e", "stack_project_dir=%s" % v2)
        assert proc.returncode == 0, proc.stdout[-3000:]
        after = image_of("mcp_text_tools")
        assert after != before, "text_tools was not updated"
        assert {service: image_of(service) for service in untouched} == untouched, (
            "a change to text_tools rolled others"
        )
        updated_in = time.monotonic() - started
        # signer is built with the collection's standard Dockerfile (COPY . /app)
        listing = lk.on_node(
            lk.first_manager(),
            "run",
            "--rm",
            "--entrypoint",
            "sh",
            image_of("mcp_signer"),
            "-c",
            "ls -a /app; echo ---; ls /app/backend/mcp_servers",
        )
        top, servers = listing.stdout.split("---")
        assert "backend" in top.split() and "signer" in servers.split(), listing.stdout + listing.stderr
        assert "README.md" not in top.split(), "a file deleted from the project is still in the image"
        assert ".env" not in top.split() and ".git" not in top.split(), listing.stdout

        broken = project_copy(
            "broken",
            lambda s: s.replace(
                'if __name__ == "__main__":',
                'raise SystemExit("text_tools: broken on purpose (rollback test)")\n\n\nif __name__ == "__main__":',
            ),
        )
        proc, _ = lk.playbook("stack.yml", "-e", "stack_project_dir=%s" % broken)
        assert proc.returncode != 0, "a broken version must fail the role"
        assert "mcp_text_tools" in proc.stdout and "rollback" in proc.stdout, proc.stdout[-3000:]
        lk.wait_for(
            lambda: (
                lk.service_spec("mcp_text_tools").get("UpdateStatus", {}).get("State") == "rollback_completed"
            ),
            180,
            "the rollback of text_tools",
        )
        assert image_of("mcp_text_tools") == after, "the rollback did not return to the last good version"
        time.sleep(3)
    finally:
        load.stop()
    lk.report_case(
        "rolling update under load",
        recovered=True,
        seconds=updated_in,
        calls=load.calls,
        calls_failed=len(load.failures),
        data_lost=False,
        broken_version_rolled_back=True,
    )
    assert load.calls > 50, "the load client made too few calls: %d" % load.calls
    assert load.failures == [], "%d of %d calls failed: %s" % (
        len(load.failures),
        load.calls,
        load.failures[:5],
    )
    # back to the project as site.yml deployed it
    proc, _ = lk.playbook("stack.yml")
    assert proc.returncode == 0, proc.stdout[-3000:]


def test_note_survives_redeploy_and_a_restart_of_its_node():
    key = "durable-%s" % uuid.uuid4().hex[:8]
    lk.tool_text("ai_memory", "remember", {"key": key, "text": "still here"})
    # redeploy: a forced update replaces the task
    out = lk.on_node(lk.first_manager(), "service", "update", "--force", "--detach", "mcp_ai_memory")
    assert out.returncode == 0, out.stderr
    lk.wait_for(
        lambda: lk.tool_text("ai_memory", "recall", {"key": key}) == "still here",
        120,
        "recall after redeploy",
    )
    # restart the node that holds the volume (label mcp.data=true)
    data_node = next(
        n for n, h in lk.hosts().items() if (h.get("swarm_node_labels") or {}).get("mcp.data") == "true"
    )
    assert lk.docker("restart", data_node, timeout=120).returncode == 0
    started = time.monotonic()
    lk.wait_for(
        lambda: lk.tool_text("ai_memory", "recall", {"key": key}) == "still here",
        240,
        "recall after node restart",
    )
    lk.report_case(
        "node holding the ai_memory volume restarts",
        recovered=True,
        seconds=time.monotonic() - started,
        calls=0,
        calls_failed=0,
        data_lost=lk.tool_text("ai_memory", "recall", {"key": key}) != "still here",
    )


def test_the_registry_wants_credentials_and_refuses_to_delete_an_image():
    """Asked from a node (the registry answers peers only): without credentials a pull, a
    push's first step and a catalog read get 401; with the lab's (made once in the state
    folder) a pull works and deletion is still off (405)."""
    compose = yaml.safe_load((ARTIFACTS / "docker-compose.cloud.yml").read_text())
    registry, rest = compose["services"]["ai_memory"]["image"].split("/", 1)
    repo, digest = rest.split("@")
    manifest = "https://%s/v2/%s/manifests/%s" % (registry, repo, digest)
    node = next(name for name, h in lk.hosts().items() if h["group"] == "workers")
    password = (lk.CONTROLLER_STATE / "registry" / "password").read_text().strip()
    assert oct((lk.CONTROLLER_STATE / "registry" / "password").stat().st_mode & 0o777) == "0o600"

    def status(url, *args):
        proc = lk.docker(
            "exec", node, "curl", "-sS", "-m", "10", "-o", "/dev/null", "-w", "%{http_code}", *args, url
        )
        return proc.stdout.strip()

    accept = "application/vnd.docker.distribution.manifest.v2+json,application/vnd.oci.image.manifest.v1+json"
    anonymous = {
        "pull": status(manifest, "-I", "-H", "Accept: " + accept),
        "push": status("https://%s/v2/%s/blobs/uploads/" % (registry, repo), "-X", "POST"),
        "catalog": status("https://%s/v2/_catalog" % registry),
        "delete": status(manifest, "-X", "DELETE"),
        "wrong password": status("https://%s/v2/_catalog" % registry, "-u", "lambda-swarm:wrong"),
    }
    assert set(anonymous.values()) == {"401"}, anonymous
    # the credentials travel in a curl config on stdin, not in the node's process list
    login = ["-K", "-"]
    proc = lk.docker(
        "exec", "-i", node, "curl", "-sS", "-m", "10", "-o", "/dev/null", "-w", "%{http_code}", *login,
        "-I", "-H", "Accept: " + accept, manifest, input_text='user = "lambda-swarm:%s"\n' % password,
    )  # fmt: skip
    assert proc.stdout.strip() == "200", proc.stdout + proc.stderr
    proc = lk.docker(
        "exec", "-i", node, "curl", "-sS", "-m", "10", "-o", "/dev/null", "-w", "%{http_code}", *login,
        "-X", "DELETE", manifest, input_text='user = "lambda-swarm:%s"\n' % password,
    )  # fmt: skip
    assert proc.stdout.strip() == "405", proc.stdout + proc.stderr


def _handshake(**settings):
    """A TLS handshake with the gateway, the client limited as `settings` say; (version,
    cipher) or the ssl.SSLError the server's refusal raised."""
    context = lk.gateway_context()
    with warnings.catch_warnings():  # TLS 1.0 and 1.1 are deprecated: offering them is the point
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = settings.get("minimum", ssl.TLSVersion.TLSv1)
        context.maximum_version = settings.get("maximum", ssl.TLSVersion.TLSv1_3)
    # SECLEVEL 0: this client offers what OpenSSL's defaults would refuse on its own side,
    # so a failure is the gateway's refusal, not the client's
    context.set_ciphers(settings.get("ciphers", "ALL") + ":@SECLEVEL=0")
    host = lk.gateway_host()
    try:
        with (
            socket.create_connection((host, 443), timeout=10) as raw,
            context.wrap_socket(raw, server_hostname=host) as tls,
        ):
            return tls.version(), tls.cipher()[0]
    except ssl.SSLError as exc:
        return exc


def test_gateway_refuses_old_tls_and_suites_without_forward_secrecy():
    """TLS 1.0 and 1.1 and TLS 1.2 suites with RSA key exchange (no forward secrecy) or CBC
    are refused by the gateway (a protocol or handshake alert from the server); TLS 1.2 with
    ECDHE and TLS 1.3 are served. The same client settings complete TLS 1.0, TLS 1.1 and RSA
    key exchange against an `openssl s_server` that allows them (checked on this machine's
    OpenSSL 3), so each refusal is the gateway's."""
    for old in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
        refused = _handshake(minimum=old, maximum=old)
        assert isinstance(refused, ssl.SSLError), (old, refused)
        assert "ALERT_PROTOCOL_VERSION" in str(refused), (old, refused)  # the server's alert
    for suites in ("AES128-GCM-SHA256:AES256-SHA256", "ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES128-SHA"):
        refused = _handshake(maximum=ssl.TLSVersion.TLSv1_2, ciphers=suites)
        assert isinstance(refused, ssl.SSLError), (suites, refused)
        assert "HANDSHAKE_FAILURE" in str(refused), (suites, refused)
    version, cipher = _handshake(maximum=ssl.TLSVersion.TLSv1_2)
    assert version == "TLSv1.2" and cipher.startswith("ECDHE-"), cipher
    assert "GCM" in cipher or "CHACHA" in cipher, cipher
    assert _handshake()[0] == "TLSv1.3"
