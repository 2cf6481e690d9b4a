"""The monitoring stack on the lab after site.yml: Prometheus (from the controller, on the
first manager's published port) has every target up, found through the swarm; the textfile
collectors report every node, the containers and every MCP server; scaling an MCP service to
zero fires ServiceBelowDeclaredReplicas in Prometheus and Alertmanager, and scaling it back
resolves it.

Needs a running lab on which site.yml ran (`make lab-test` does both)."""

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
