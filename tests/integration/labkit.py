"""Helpers for the lab tests: playbook runs, docker on the nodes, MCP calls through the
gateway, and a bounded load client. Traffic goes only to the lab's own node containers."""

import hashlib
import hmac
import ipaddress
import json
import os
import re
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
LAB_INVENTORY = ROOT / "inventory" / "lab"
INVENTORY = LAB_INVENTORY / "hosts.yml"
STATE = ROOT / ".lab"
# the controller state of the lab inventory (lambda_swarm_state_dir in group_vars/all/profile.yml)
CONTROLLER_STATE = STATE / "state"
ARTIFACTS = CONTROLLER_STATE / "artifacts"
BACKUPS = CONTROLLER_STATE / "backups"


def lab_up():
    return INVENTORY.is_file()


def hosts():
    data = yaml.safe_load(INVENTORY.read_text())["all"]["children"]["lab_nodes"]["children"]
    out = {}
    for group in ("managers", "workers"):
        out.update({name: dict(h or {}, group=group) for name, h in (data[group].get("hosts") or {}).items()})
    return out


def mcp_servers():
    """The lab's MCP server registry (group_vars/all/stack.yml)."""
    return yaml.safe_load((LAB_INVENTORY / "group_vars" / "all" / "stack.yml").read_text())["mcp_servers"]


def private_network():
    """The lab's private subnet (the swarm's, swarm_private_networks), as lab/up.sh wrote it."""
    return ipaddress.ip_network(yaml.safe_load(INVENTORY.read_text())["all"]["vars"]["lab_private_network"])


def private_address(node):
    """The node's address on the lab's private network (the one its swarm must advertise)."""
    proc = docker("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", node)
    assert proc.returncode == 0, proc.stderr
    subnet = private_network()
    found = [a for a in proc.stdout.split() if ipaddress.ip_address(a) in subnet]
    assert found, "%s has no address in the private network %s: %s" % (node, subnet, proc.stdout)
    return found[0]


def network_of(address):
    """The name of the lab network (docker network) whose subnet holds ``address``."""
    proc = docker("network", "ls", "-q", "--filter", "label=io.sophia.lambda_swarm.lab")
    for net in proc.stdout.split():
        info = json.loads(docker("network", "inspect", net).stdout)[0]
        for config in info["IPAM"]["Config"] or []:
            if ipaddress.ip_address(address) in ipaddress.ip_network(config["Subnet"]):
                return info["Name"]
    raise AssertionError("no lab network holds %s" % address)


def swarm_node_entries():
    """Every node entry a manager's `docker node inspect` lists (stale ones too):
    [(hostname, state, Status.Addr, ManagerStatus.Addr without the port, or None)]."""
    manager = first_manager()
    ids = on_node(manager, "node", "ls", "-q").stdout.split()
    proc = on_node(manager, "node", "inspect", *ids)
    assert proc.returncode == 0, proc.stderr
    return [
        (
            node["Description"]["Hostname"],
            node["Status"]["State"],
            node["Status"]["Addr"],
            node["ManagerStatus"]["Addr"].rsplit(":", 1)[0] if node.get("ManagerStatus") else None,
        )
        for node in json.loads(proc.stdout)
    ]


def assert_swarm_on_private_addresses():
    """One entry per node, and each advertises the node's private address (a manager's raft
    address too), never its public ansible_host: a Lambda host's public address must not carry
    the swarm. A manager's Status.Addr may read 0.0.0.0 (an engine quirk); its raft address
    is then the one that counts."""
    entries = swarm_node_entries()
    names = [e[0] for e in entries]
    assert sorted(names) == sorted(set(names)), "stale node entries: %s" % entries
    for name, state, addr, raft in entries:
        want = private_address(name)
        assert addr == want or (raft is not None and addr == "0.0.0.0"), (
            "%s (%s) advertises %s, not its private address %s" % (name, state, addr, want)
        )
        assert raft in (None, want), "%s: raft address %s, not its private address %s" % (name, raft, want)
        assert hosts()[name]["ansible_host"] not in (addr, raft), name


def first_manager():
    return next(name for name, h in hosts().items() if h["group"] == "managers")


def gateway_host():
    """The address the lab's clients reach the gateway at (the first manager's)."""
    return hosts()[first_manager()]["ansible_host"]


def gateway_url(server, host=None):
    """A server's route through the gateway on ``host`` (an address; default the first manager's)."""
    return "https://%s:443/%s/mcp" % (host or gateway_host(), server)


def node_gpus(node):
    """The stand-in GPUs lab/up.sh gave a node (/etc/lab-gpus.json: model, uuids...), or None."""
    proc = docker("exec", node, "cat", "/etc/lab-gpus.json")
    return json.loads(proc.stdout) if proc.returncode == 0 else None


def gpu_labels(node):
    """The GPU labels the swarm role gives a node: its stand-in GPUs' count and model."""
    gpus = node_gpus(node)
    return {"gpu.count": str(len(gpus["uuids"])), "gpu.model": gpus["model"]} if gpus else {
        "gpu.count": "0", "gpu.model": "none"}  # fmt: skip


def docker(*args, timeout=60, input_text=None):
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=False, input=input_text
    )


def on_node(node, *args, timeout=60):
    """docker CLI inside a node (the node's own engine)."""
    return docker("exec", node, "docker", *args, timeout=timeout)


# Every playbook run of the lab tests, timed: (test, playbook and arguments, seconds, exit status);
# conftest.py prints them at the end of the session, so a slow run shows where the time went.
PLAYBOOK_TIMES = []


def _timed(label, run):
    started = time.monotonic()
    proc = run()
    test = os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0].rsplit("/", 1)[-1]
    PLAYBOOK_TIMES.append((test, label, time.monotonic() - started, proc.returncode))
    # LAB_PLAYBOOK_LOGS=DIR keeps each run's output (with ANSIBLE_CALLBACKS_ENABLED=
    # ansible.posix.profile_tasks, where its time went)
    logs = os.environ.get("LAB_PLAYBOOK_LOGS")
    if logs:
        Path(logs).mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", "%02d-%s-%s" % (len(PLAYBOOK_TIMES), test, label))[:150]
        (Path(logs) / (name + ".log")).write_text(proc.stdout + proc.stderr)
    return proc


def playbook(name, *extra, timeout=900, env=None, inventory=None):
    """Run playbooks/<name> on the lab; (process, recap {host: {ok, changed, failed...}}).
    ``env``: more environment variables for ansible-playbook; ``inventory``: another than the
    lab's (a test's copy of it)."""
    inventory = inventory or LAB_INVENTORY
    proc = _timed(" ".join((name, *extra))[:120], lambda: subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), str(ROOT / "playbooks" / name), *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False,
        env={**checkout_env(), "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0", **(env or {})},
    ))  # fmt: skip
    return proc, _recap(proc.stdout)


def checkout_env():
    """This environment for Ansible run from the checkout: its ansible.cfg, the vault and the
    callbacks the caller chose, and none of the ANSIBLE_* paths a runner (Molecule) exported."""
    kept = ("ANSIBLE_VAULT_IDENTITY_LIST", "ANSIBLE_CALLBACKS_ENABLED")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_") or k in kept}
    env["ANSIBLE_CONFIG"] = str(ROOT / "ansible.cfg")
    return env


def run_tool(tool, *args, cwd=None, timeout=300):
    """An Ansible command-line tool of this venv; fails the test with its output."""
    proc = subprocess.run(
        [str(Path(sys.executable).parent / tool), *args],
        cwd=cwd or ROOT, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, "%s %s: %s%s" % (
        tool,
        " ".join(args),
        proc.stdout[-2000:],
        proc.stderr[-2000:],
    )
    return proc


def build_tarball(dest):
    """The collection's tarball, built from this checkout as it is (a used one)."""
    dest.mkdir(parents=True, exist_ok=True)
    run_tool("ansible-galaxy", "collection", "build", "--force", "--output-path", str(dest), str(ROOT))
    (tarball,) = dest.glob("sophia-lambda_swarm-*.tar.gz")
    return tarball


def tree_digest(root):
    """{relative path: sha256} of every file under root."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _recap(stdout):
    recap = {}
    for line in stdout.split("PLAY RECAP")[-1].splitlines():
        m = re.match(r"^(\S+)\s+:\s+(ok=.*)$", line)
        if m:
            recap[m.group(1)] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))}
    return recap


def user_playbook(inventory, playbook, collections, cwd, timeout=900):
    """ansible-playbook as a user runs it: from cwd (outside the checkout), the collection
    from `collections` only, no ansible.cfg of the checkout (so no fact cache)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(
        ANSIBLE_COLLECTIONS_PATH=str(collections),
        ANSIBLE_CONFIG=str(cwd / "none.cfg"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_VAULT_IDENTITY_LIST="lab@%s" % (ROOT / "lab" / "vault-pass.sh"),
        # what a user's own ansible.cfg commonly sets for speed (no fact cache: that is the point)
        ANSIBLE_FORKS="20",
        ANSIBLE_PIPELINING="1",
        ANSIBLE_SSH_ARGS="-o ControlMaster=auto -o ControlPersist=120s",
    )
    (cwd / "none.cfg").write_text("[defaults]\n")
    proc = _timed("%s (installed tarball)" % playbook, lambda: subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), playbook],
        cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False, env=env,
    ))  # fmt: skip
    return proc, _recap(proc.stdout)


def gateway_context():
    """A TLS client context that trusts the lab's CA (the gateway's certificate)."""
    return ssl.create_default_context(cafile=str(STATE / "ca" / "ca.crt"))


def gateway_token():
    """The token of the lab's gateway client lab-tests (made by lab/secrets.sh)."""
    return (STATE / "gateway" / "token").read_text().strip()


def gateway_status(server, headers=None, body=b"{}", timeout=10, host=None):
    """(HTTP status, headers) of one POST to a server's route through the gateway (on the
    manager at address ``host``; default the first)."""
    request = urllib.request.Request(
        gateway_url(server, host), data=body, headers=dict(headers or {}), method="POST"
    )
    try:
        with urllib.request.urlopen(request, context=gateway_context(), timeout=timeout) as reply:
            return reply.status, dict(reply.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers)


def call_tool(server, tool, arguments, timeout=10, token=None):
    """tools/call through the gateway (stateless request) as lab-tests (or with `token`);
    returns the result dict."""
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": tool, "arguments": arguments},
    }
    request = urllib.request.Request(
        gateway_url(server),
        data=json.dumps(body).encode(),
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": "2025-06-18",
            "Authorization": "Bearer %s" % (token or gateway_token()),
        },
        method="POST",
    )
    with urllib.request.urlopen(request, context=gateway_context(), timeout=timeout) as reply:
        message = json.loads(reply.read().decode())
    if "error" in message:
        raise RuntimeError("%s/%s: %s" % (server, tool, message["error"]))
    result = message["result"]
    if result.get("isError"):
        raise RuntimeError("%s/%s: tool error %s" % (server, tool, result.get("content")))
    return result


def tool_text(server, tool, arguments):
    return call_tool(server, tool, arguments)["content"][0]["text"]


def _post(url, body, headers, timeout):
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
            "Authorization": "Bearer %s" % gateway_token(),
            **headers,
        },
        method="POST",
    )
    with urllib.request.urlopen(request, context=gateway_context(), timeout=timeout) as reply:
        raw = reply.read().decode()
        return reply.headers, json.loads(raw) if raw else None


def session_tool_text(server, tool, arguments, timeout=10):
    """tools/call through the gateway in a 2025-11-25 session (initialize, initialized, call),
    for servers that answer only inside a session (the Node.js js_tools)."""
    url = gateway_url(server)
    init = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "lab", "version": "1"},
        },
    }
    headers, _ = _post(url, init, {}, timeout)
    session = {"Mcp-Session-Id": headers["Mcp-Session-Id"], "MCP-Protocol-Version": "2025-11-25"}
    _post(url, {"jsonrpc": "2.0", "method": "notifications/initialized"}, session, timeout)
    call = {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "tools/call",
        "params": {"name": tool, "arguments": arguments},
    }
    _, message = _post(url, call, session, timeout)
    if "error" in message or message["result"].get("isError"):
        raise RuntimeError("%s/%s: %s" % (server, tool, message))
    return message["result"]["content"][0]["text"]


class Load(threading.Thread):
    """Calls one tool through the gateway until stopped (or max_seconds / max_calls), one
    call at a time per worker with `pause` seconds between a worker's calls; counts failures
    with their reasons. Each call is a new MCP session on a new TLS connection (initialize,
    then the tool), so a task the gateway routes to while it is gone fails a call. Two
    workers with a 0.1 s pause sample the service about every 60 ms and leave the two cores
    to the rollout they watch (unpaused, the load took a core and doubled every rollout)."""

    def __init__(self, server, tool, arguments, workers=2, max_seconds=600, max_calls=20000, check=None,
                 pause=0.1, token=None):  # fmt: skip
        super().__init__(daemon=True)
        self.server, self.tool, self.arguments, self.check = server, tool, arguments, check
        self.token = token  # the bearer token it calls with (None: the lab client's, read per call)
        self.workers, self.max_seconds, self.max_calls, self.pause = workers, max_seconds, max_calls, pause
        self.calls = 0
        self.failures = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    def _work(self):
        deadline = time.monotonic() + self.max_seconds
        while not self.stopping.is_set() and time.monotonic() < deadline:
            with self.lock:
                if self.calls >= self.max_calls:
                    return
                self.calls += 1
            try:
                result = call_tool(self.server, self.tool, self.arguments, token=self.token)
                if self.check:
                    self.check(result)
            except (
                OSError,
                RuntimeError,
                ValueError,
                KeyError,
                AssertionError,
                urllib.error.URLError,
            ) as exc:
                with self.lock:
                    self.failures.append("%s: %s" % (type(exc).__name__, exc))
            self.stopping.wait(self.pause)

    def run(self):
        threads = [threading.Thread(target=self._work, daemon=True) for _ in range(self.workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def stop(self):
        self.stopping.set()
        self.join(timeout=30)
        return self


def service_tasks(service):
    """[(node, container id)] of the running tasks of a stack service."""
    out = []
    for node, info in hosts().items():
        ps = on_node(node, "ps", "-q", "--filter", "label=com.docker.swarm.service.name=%s" % service)
        out += [(node, cid) for cid in ps.stdout.split()]
        del info
    return out


def service_spec(service):
    proc = on_node(first_manager(), "service", "inspect", service)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)[0]


def wait_for(predicate, seconds, what, interval=2):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except (OSError, RuntimeError, urllib.error.URLError, ValueError):
            pass
        time.sleep(interval)
    raise AssertionError("timed out after %ds waiting for %s" % (seconds, what))


def hmac_hex(key: bytes, message: str) -> str:
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


FAULT_REPORT = ROOT / "artifacts" / "fault-report.json"


def report_case(case, recovered, seconds, calls, calls_failed, data_lost, **extra):
    """Append one line to artifacts/fault-report.json (the fault suite's report) and print it."""
    line = {
        "case": case,
        "recovered": "yes" if recovered else "no",
        "seconds_to_recover": round(seconds, 1),
        "calls": calls,
        "calls_failed": calls_failed,
        "data_lost": data_lost,
        **extra,
    }
    FAULT_REPORT.parent.mkdir(exist_ok=True)
    with FAULT_REPORT.open("a") as handle:
        handle.write(json.dumps(line) + "\n")
    print(json.dumps(line))
    return line
