"""The monitoring stack on the lab after site.yml: Prometheus (from the controller, on the
first manager's published port) has every target up, found through the swarm; the textfile
collectors report every node, the containers and every MCP server; scaling an MCP service to
zero fires ServiceBelowDeclaredReplicas in Prometheus and Alertmanager, and scaling it back
resolves it.

Needs a running lab on which site.yml ran (`make lab-test` does both)."""

import base64
import json
import time
import urllib.parse
import urllib.request

import labkit as lk
import pytest

pytestmark = pytest.mark.skipif(not lk.lab_up(), reason="no lab: run `make lab` first")

ALERT = "ServiceBelowDeclaredReplicas"


def prometheus(path, **query):
    url = "http://%s:9090%s" % (lk.hosts()[lk.first_manager()]["ansible_host"], path)
    if query:
        url += "?" + urllib.parse.urlencode(query)
    with urllib.request.urlopen(url, timeout=10) as reply:
        return json.loads(reply.read().decode())["data"]


def series(expr):
    return prometheus("/api/v1/query", query=expr)["result"]


def firing(service):
    return [
        a
        for a in prometheus("/api/v1/alerts")["alerts"]
        if a["labels"].get("alertname") == ALERT
        and a["labels"].get("service") == service
        and a["state"] == "firing"
    ]


def alertmanager_alerts():
    """Alertmanager's active alerts, asked inside its own container (it publishes no port)."""
    for node in lk.hosts():
        cid = lk.on_node(
            node, "ps", "-q", "--filter", "label=com.docker.swarm.service.name=monitoring_alertmanager"
        )
        if cid.stdout.strip():
            out = lk.on_node(
                node, "exec", cid.stdout.split()[0], "curl", "-fs", "http://127.0.0.1:9093/api/v2/alerts"
            )
            assert out.returncode == 0, out.stderr
            return json.loads(out.stdout)
    raise AssertionError("no running alertmanager task")


def targets_by_job():
    jobs = {}
    for target in prometheus("/api/v1/targets", state="active")["activeTargets"]:
        jobs.setdefault(target["labels"]["job"], []).append(target)
    return jobs


def test_every_target_is_up_and_found_through_the_swarm():
    nodes = len(lk.hosts())

    def settled():
        # earlier tests replace nodes: their tasks and DNS records take a while to follow
        jobs = targets_by_job()
        every = [t for ts in jobs.values() for t in ts]
        return len(jobs.get("node", [])) == nodes and all(t["health"] == "up" for t in every)

    lk.wait_for(settled, 300, "a node exporter target on every node, every target up", interval=5)
    jobs = targets_by_job()
    assert len(jobs["node"]) == nodes and len(jobs["engine"]) == nodes, {k: len(v) for k, v in jobs.items()}
    assert len(jobs["alertmanager"]) == 1 and len(jobs["prometheus"]) == 1
    # discovered, not configured: DNS for the stack's services, the swarm's API for the engines
    assert {t["discoveredLabels"].get("__meta_dockerswarm_node_hostname") for t in jobs["engine"]} == set(
        lk.hosts()
    )
    config = prometheus("/api/v1/status/config")["yaml"]
    assert "tasks.monitoring_node-exporter" in config and "dockerswarm_sd_configs" in config
    assert not any(h["ansible_host"] in config for h in lk.hosts().values()), "a node address is hard-coded"
    assert not any(lk.private_address(n) in config for n in lk.hosts()), "a node address is hard-coded"
    # the engines are scraped at their swarm (private) addresses, through the peers' firewall rules
    scraped = {urllib.parse.urlsplit(t["scrapeUrl"]).hostname for t in jobs["engine"]}
    assert scraped == {lk.private_address(n) for n in lk.hosts()}, scraped


def in_task(service, *command):
    """Run a command in a running task container of a monitoring service."""
    tasks = lk.service_tasks(service)
    assert tasks, "no running task of %s" % service
    node, cid = tasks[0]
    return lk.on_node(node, "exec", cid, *command, timeout=30)


def http_code(service, url, method="GET"):
    proc = in_task(
        service,
        "curl",
        "-s",
        "--path-as-is",
        "-o",
        "/dev/null",
        "-m",
        "5",
        "-w",
        "%{http_code}",
        "-X",
        method,
        url,
    )
    return proc.stdout.strip() or "curl exit %d" % proc.returncode


def test_prometheus_runs_unprivileged_and_reads_the_engine_through_a_read_only_proxy():
    """No published service holds the Docker socket and Prometheus is not root: the node list
    comes from engine-api, which answers GET /nodes and refuses any write or other path with
    403, on a network that only Prometheus shares with it."""
    names = lk.on_node(
        lk.first_manager(), "service", "ls", "--filter", "label=com.docker.stack.namespace=monitoring",
        "--format", "{{.Name}}",
    ).stdout.split()  # fmt: skip
    assert "monitoring_engine-api" in names and "monitoring_prometheus" in names, names
    for name in names:
        spec = lk.service_spec(name)
        container = spec["Spec"]["TaskTemplate"]["ContainerSpec"]
        sockets = [m for m in container.get("Mounts", []) if m.get("Source") == "/var/run/docker.sock"]
        published = spec["Spec"].get("EndpointSpec", {}).get("Ports", [])
        if name == "monitoring_engine-api":
            assert sockets and not published and container.get("ReadOnly") is True, spec["Spec"]
        else:
            assert not sockets, "%s mounts the Docker socket" % name
    for service in ("monitoring_prometheus", "monitoring_alertmanager"):
        assert lk.service_spec(service)["Spec"]["TaskTemplate"]["ContainerSpec"]["User"] == "prometheus"
        assert in_task(service, "id", "-u").stdout.strip() == "990", service
    api = "http://engine-api:2375"
    assert http_code("monitoring_prometheus", api + "/v1.41/nodes") == "200"
    assert http_code("monitoring_prometheus", api + "/_ping") == "200"
    refused = {
        ("POST", "/v1.41/containers/create"), ("GET", "/v1.41/containers/json"), ("GET", "/v1.41/secrets"),
        ("DELETE", "/v1.41/nodes/x"), ("POST", "/v1.41/nodes/x/update"), ("GET", "/v1.41/nodes/../secrets"),
        ("GET", "/v1.41/services"), ("POST", "/v1.41/swarm/leave"),
    }  # fmt: skip
    codes = {(m, path): http_code("monitoring_prometheus", api + path, m) for m, path in refused}
    assert set(codes.values()) == {"403"}, codes
    # node exporter (on the monitoring network, not on engine-api) cannot even resolve it
    assert http_code("monitoring_node-exporter", api + "/v1.41/nodes") == "000", "reached"  # no answer at all


def test_alertmanager_receiver_credentials_are_a_secret():
    """The lab's receiver carries a credential: it reaches Alertmanager as a Docker secret
    (mode 0400, uid 990), never a Docker config, and its files are 0600."""
    credential = (lk.STATE / "secrets" / "alert_hook_token").read_text().strip()
    manager = lk.first_manager()
    for config in lk.on_node(manager, "config", "ls", "-q").stdout.split():
        data = json.loads(lk.on_node(manager, "config", "inspect", config).stdout)[0]["Spec"]["Data"]
        assert credential not in base64.b64decode(data).decode(errors="replace"), "in config %s" % config
    mounted = lk.service_spec("monitoring_alertmanager")["Spec"]["TaskTemplate"]["ContainerSpec"]["Secrets"]
    assert [(s["SecretName"].rsplit("_", 1)[0], s["File"]["Mode"], s["File"]["UID"]) for s in mounted] == [
        ("monitoring_alertmanager", 0o400, "990")
    ], mounted
    status = json.loads(
        in_task("monitoring_alertmanager", "curl", "-fs", "http://127.0.0.1:9093/api/v2/status").stdout
    )
    assert "lab-hook" in status["config"]["original"] and credential not in status["config"]["original"]
    on_manager = lk.docker(
        "exec", manager, "stat", "-c", "%a", "/var/lib/sophia-lambda-swarm/monitoring/stack/alertmanager.yml"
    )
    assert on_manager.stdout.strip() == "600", on_manager.stdout + on_manager.stderr
    controller = lk.ARTIFACTS / "monitoring" / "alertmanager.yml"
    assert oct(controller.stat().st_mode & 0o777) == "0o600"


def test_collectors_report_nodes_containers_and_every_mcp_server():
    # earlier tests replace and reboot nodes: their node exporter tasks come back late
    lk.wait_for(
        lambda: {s["metric"]["node"] for s in series("lambda_swarm_node_info")} == set(lk.hosts()),
        300,
        "node_info from every node",
        interval=5,
    )

    def every_manager_sees_every_server_up():
        # each manager checks through its own gateway; a gateway on a manager that an earlier
        # test replaced knows its upstreams only once the overlay's DNS caught up
        up = {}
        for sample in series("lambda_swarm_mcp_up"):
            up.setdefault(sample["metric"]["server"], set()).add(sample["value"][1])
        expected = sorted(s["name"] for s in lk.mcp_servers() if s.get("replicas", 1) > 0)
        return sorted(up) == expected and all(v == {"1"} for v in up.values())

    lk.wait_for(
        every_manager_sees_every_server_up, 240, "every MCP server up through every gateway", interval=5
    )
    memory = series('lambda_swarm_container_memory_bytes{service="mcp_ai_memory"}')
    assert memory and float(memory[0]["value"][1]) > 1e6
    declared = series('lambda_swarm_service_replicas_declared{service="mcp_text_tools"}')
    assert declared and declared[0]["value"][1] == "2"

    # a collector fails while its node's engine cannot answer (the swarm collector while the
    # swarm has no leader, in the fault suite): wait until every one's last run succeeded
    def every_collector_succeeded():
        runs = series("lambda_swarm_textfile_collector_success")
        failing = sorted(
            "%s/%s" % (r["metric"].get("instance", "?"), r["metric"].get("collector", "?"))
            for r in runs
            if r["value"][1] != "1"
        )
        if failing:
            print("collectors not succeeding yet:", ", ".join(failing))
        return len(runs) > 0 and not failing

    lk.wait_for(every_collector_succeeded, 300, "every collector's last run succeeded", interval=5)


def test_scaling_a_service_to_zero_fires_an_alert_that_resolves():
    service = "mcp_text_tools"
    assert not firing(service)
    assert lk.on_node(lk.first_manager(), "service", "scale", "--detach", f"{service}=0").returncode == 0
    started = time.monotonic()
    try:
        lk.wait_for(lambda: firing(service), 240, f"{ALERT} firing for {service}", interval=5)
        fired = time.monotonic() - started
        lk.wait_for(
            lambda: any(
                a["labels"].get("alertname") == ALERT and a["labels"].get("service") == service
                for a in alertmanager_alerts()
            ),
            120,
            "the alert in Alertmanager",
            interval=5,
        )
    finally:
        assert lk.on_node(lk.first_manager(), "service", "scale", "--detach", f"{service}=2").returncode == 0
    restored = time.monotonic()
    lk.wait_for(lambda: not firing(service), 240, f"{ALERT} resolved", interval=5)
    print(json.dumps({"alert": ALERT, "fired_after_s": round(fired, 1),
                      "resolved_after_s": round(time.monotonic() - restored, 1)}))  # fmt: skip


PROBE = """
import json, socket, sys
out = {}
for target in sys.argv[1:]:
    host, port = target.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=3).close()
        out[target] = "open"
    except OSError as exc:
        out[target] = type(exc).__name__
print(json.dumps(out))
"""


def test_docker_published_ports_obey_the_firewall():
    """Prometheus (9090, published by Docker) answers the controller (host_admin_sources)
    and the peers, and no other source: a container the test starts on the lab network (the
    internet's stand-in) reaches the gateway's 443 and nothing Docker publishes besides."""
    manager = lk.first_manager()
    address = lk.hosts()[manager]["ansible_host"]
    node = lk.docker("inspect", manager)
    assert node.returncode == 0, node.stderr
    info = json.loads(node.stdout)[0]
    network = lk.network_of(address)  # the public network: the internet's stand-in
    outsider = lk.docker(
        "run", "--rm", "--network", network, "--entrypoint", "python3", info["Config"]["Image"],
        "-c", PROBE, "%s:9090" % address, "%s:443" % address, timeout=60,
    )  # fmt: skip
    assert outsider.returncode == 0, outsider.stderr
    reached = json.loads(outsider.stdout)
    assert reached == {"%s:9090" % address: "TimeoutError", "%s:443" % address: "open"}, reached
    # the peers are let through on the private network (the swarm's addresses)
    private = lk.private_address(manager)
    peer = next(name for name in lk.hosts() if name != manager)
    from_peer = lk.docker("exec", peer, "python3", "-c", PROBE, "%s:9090" % private, timeout=30)
    assert json.loads(from_peer.stdout) == {"%s:9090" % private: "open"}, from_peer.stdout + from_peer.stderr
    assert prometheus("/api/v1/status/buildinfo")["version"]  # the controller is let through
