"""Prometheus text of the monitoring role's textfile collectors (module_utils/_metrics.py).

GPU sample (samples/nvidia_smi_telemetry.csv): rows 0 and 1 carry the values of a public
recording of nvidia-smi on a GTX 1080 Ti and a GTX 1060 (aristocratos/bpytop issue 26),
rearranged into this collector's field order without units; the UUIDs are made up; row 2
is constructed to show a power reading nvidia-smi cannot give ([N/A]). No GPU machine was
lent to this work: replace it with a recording from a Lambda host when one is."""

from pathlib import Path

import pytest
from ansible_collections.sophia.lambda_swarm.plugins.module_utils import _metrics as m

SAMPLES = Path(__file__).parent / "samples"


def lines(samples):
    return [line for line in m.render(samples).splitlines() if not line.startswith("#")]


def test_render_is_stable_escapes_labels_and_types_once():
    samples = [
        ("mcp_up", {"server": "b"}, True),
        ("mcp_up", {"server": 'a"\\\n'}, False),
        ("managers_total", {}, 3),
        ("gpu_power_watts", {"gpu": "0"}, None),  # unknown: left out
    ]
    text = m.render(samples)
    assert text == m.render(list(reversed(samples)))
    assert text.count("# TYPE lambda_swarm_mcp_up gauge") == 1
    assert 'lambda_swarm_mcp_up{server="a\\"\\\\\\n"} 0' in text
    assert "lambda_swarm_managers_total 3" in text
    assert "gpu_power" not in text
    assert m.render([]) == ""


def test_containers_cpu_and_memory_without_page_cache():
    containers = [
        {
            "Id": "c1" * 32,
            "Names": ["/mcp_text_tools.1.abc"],
            "Labels": {
                "com.docker.swarm.service.name": "mcp_text_tools",
                "com.docker.stack.namespace": "mcp",
            },
        },
        {"Id": "c2" * 32, "Names": ["/gone"], "Labels": {}},  # no stats: it stopped meanwhile
    ]
    stats = {
        "c1" * 32: {
            "cpu_stats": {"cpu_usage": {"total_usage": 2_500_000_000}},
            "memory_stats": {
                "usage": 50_000_000,
                "limit": 268_435_456,
                "stats": {"inactive_file": 10_000_000},
            },
        }
    }
    out = lines(m.container_samples(containers, stats))
    labels = 'name="mcp_text_tools.1.abc",service="mcp_text_tools",stack="mcp"'
    assert out == [
        "lambda_swarm_container_cpu_seconds_total{%s} 2.5" % labels,
        "lambda_swarm_container_memory_bytes{%s} 40000000" % labels,
        "lambda_swarm_container_memory_limit_bytes{%s} 268435456" % labels,
    ]


def test_swarm_nodes_managers_and_replicas():
    nodes = [
        {"ID": "n1", "Description": {"Hostname": "m1"}, "Spec": {"Role": "manager"},
         "Status": {"State": "ready"}, "ManagerStatus": {"Reachability": "reachable"}},
        {"ID": "n2", "Description": {"Hostname": "m2"}, "Spec": {"Role": "manager"},
         "Status": {"State": "down"}, "ManagerStatus": {"Reachability": "unreachable"}},
        {"ID": "n3", "Description": {"Hostname": "w1"}, "Spec": {"Role": "worker"}, "Status": {"State": "ready"}},
    ]  # fmt: skip
    stack = {"com.docker.stack.namespace": "mcp"}
    services = [
        {"ID": "s1", "Spec": {"Name": "mcp_text_tools", "Mode": {"Replicated": {"Replicas": 0}},
                              "Labels": dict(stack, **{m.DECLARED_LABEL: "2"})}},
        {"ID": "s2", "Spec": {"Name": "mcp_gateway", "Mode": {"Global": {}}, "Labels": stack}},
    ]  # fmt: skip
    tasks = [
        {"ServiceID": "s2", "DesiredState": "running", "Status": {"State": "running"}},
        {"ServiceID": "s2", "DesiredState": "running", "Status": {"State": "starting"}},
        {"ServiceID": "s1", "DesiredState": "shutdown", "Status": {"State": "running"}},
    ]
    out = lines(m.swarm_samples(nodes, services, tasks))
    assert "lambda_swarm_managers_total 2" in out
    assert "lambda_swarm_managers_reachable 1" in out
    assert 'lambda_swarm_node_ready{node="m2",role="manager"} 0' in out
    assert 'lambda_swarm_node_manager_reachable{node="m1"} 1' in out
    assert 'lambda_swarm_node_ready{node="w1",role="worker"} 1' in out
    assert 'lambda_swarm_service_replicas_declared{service="mcp_text_tools",stack="mcp"} 2' in out
    assert 'lambda_swarm_service_replicas_desired{service="mcp_text_tools",stack="mcp"} 0' in out
    assert 'lambda_swarm_service_replicas_running{service="mcp_text_tools",stack="mcp"} 0' in out
    # a global service: running tasks only (no declared or desired count)
    assert 'lambda_swarm_service_replicas_running{service="mcp_gateway",stack="mcp"} 1' in out
    assert not any("desired" in line and "mcp_gateway" in line for line in out)


def test_mcp_results():
    results = [
        {"name": "signer", "ok": True, "era": "2026-07-28", "latency_ms": 18.0, "tool_count": 2},
        {"name": "text_tools", "ok": False, "era": None, "latency_ms": None, "tool_count": None},
    ]
    out = lines(m.mcp_samples(results))
    assert 'lambda_swarm_mcp_up{server="signer"} 1' in out
    assert 'lambda_swarm_mcp_up{server="text_tools"} 0' in out
    assert 'lambda_swarm_mcp_latency_seconds{era="2026-07-28",server="signer"} 0.018' in out
    assert 'lambda_swarm_mcp_tools{era="2026-07-28",server="signer"} 2' in out
    assert not any("latency" in line and "text_tools" in line for line in out)


def test_gpu_telemetry_from_nvidia_smi():
    out = lines(m.gpu_samples((SAMPLES / "nvidia_smi_telemetry.csv").read_text()))
    # no holders given: the holder labels are there, empty, and gpu_assigned is left out
    first = (
        'gpu="0",model="GeForce GTX 1080 Ti",service="",stack="",task="",'
        'uuid="GPU-00000000-0000-0000-0000-000000000000"'
    )
    assert "lambda_swarm_gpu_utilization_ratio{%s} 0.36" % first in out
    assert "lambda_swarm_gpu_memory_used_bytes{%s} %d" % (first, 2856 * 1024 * 1024) in out
    assert "lambda_swarm_gpu_memory_total_bytes{%s} %d" % (first, 11175 * 1024 * 1024) in out
    assert "lambda_swarm_gpu_temperature_celsius{%s} 60.0" % first in out
    assert "lambda_swarm_gpu_power_watts{%s} 106.56" % first in out
    assert len([line for line in out if "gpu_power_watts" in line]) == 2  # [N/A] is left out
    assert len([line for line in out if "temperature" in line]) == 3
    assert not any("gpu_assigned" in line for line in out)


def test_gpu_line_of_the_wrong_shape_is_an_error():
    with pytest.raises(ValueError, match="8 expected"):
        m.gpu_samples("0, GPU-1, A10, 12")
    assert m.gpu_samples("\n") == []


UUIDS = ["GPU-00000000-0000-0000-0000-00000000000%d" % i for i in range(3)]


def inspected(name, service, task_id, env, running=True, slot=1, stack="mcp"):
    """GET /containers/<id>/json of a Swarm task's container, the fields gpu_holders reads."""
    return {
        "Id": (name.encode().hex() * 64)[:64],
        "Name": "/%s.%d.%s" % (service, slot, task_id),
        "State": {"Status": "running" if running else "exited", "Running": running},
        "Config": {
            "Env": ["PATH=/usr/local/bin:/usr/bin:/bin", *env],
            "Labels": {
                "com.docker.swarm.service.name": service,
                "com.docker.swarm.task.name": "%s.%d.%s" % (service, slot, task_id),
                "com.docker.swarm.task.id": task_id,
                "com.docker.stack.namespace": stack,
            },
        },
    }


def node_containers():
    # a 3-GPU node: mcp_vision.1 holds GPUs 0 and 2, mcp_embed.1 holds 1; neither the other
    # kind's variable nor the stopped container's claims anything
    return [
        inspected(
            "a", "mcp_vision", "taskaaaa", ["DOCKER_RESOURCE_NVIDIA-GPU=%s, %s" % (UUIDS[0], UUIDS[2])]
        ),
        inspected("b", "mcp_embed", "taskbbbb", ["DOCKER_RESOURCE_NVIDIA-GPU=" + UUIDS[1]]),
        inspected("c", "mcp_fpga", "taskcccc", ["DOCKER_RESOURCE_FPGA=%s" % UUIDS[1]]),
        inspected("d", "mcp_old", "taskdddd", ["DOCKER_RESOURCE_NVIDIA-GPU=" + UUIDS[2]], running=False),
        inspected("e", "mcp_text_tools", "taskeeee", []),
    ]


def test_gpu_holders_from_the_task_environment():
    holders = m.gpu_holders(node_containers(), "NVIDIA-GPU")
    vision = {
        "service": "mcp_vision",
        "task": "mcp_vision.1",
        "stack": "mcp",
        "container": "mcp_vision.1.taskaaaa",
    }
    assert holders == {
        UUIDS[0]: vision,
        UUIDS[1]: {
            "service": "mcp_embed",
            "task": "mcp_embed.1",
            "stack": "mcp",
            "container": "mcp_embed.1.taskbbbb",
        },
        UUIDS[2]: vision,
    }
    # the variable is the kind upper-cased (swarmkit's EnvFormat)
    assert m.resource_env_name("nvidia-gpu") == "DOCKER_RESOURCE_NVIDIA-GPU"
    assert m.gpu_holders(node_containers(), "nvidia-gpu") == holders
    assert m.gpu_holders(node_containers(), "FPGA") == {
        UUIDS[1]: {
            "service": "mcp_fpga",
            "task": "mcp_fpga.1",
            "stack": "mcp",
            "container": "mcp_fpga.1.taskcccc",
        }
    }
    assert m.gpu_holders([], "NVIDIA-GPU") == {}


def test_gpu_series_carry_their_holder_and_the_assigned_gauge():
    csv = (SAMPLES / "nvidia_smi_telemetry.csv").read_text()
    holders = m.gpu_holders(node_containers()[:1], "NVIDIA-GPU")  # GPU 1 is free
    samples = m.gpu_samples(csv, holders)
    # every series has the same label set; a free GPU's holder labels are empty
    for name, labels, _value in samples:
        keys = {"gpu", "uuid", "service", "task", "stack"}
        assert set(labels) == (keys if name == "gpu_assigned" else keys | {"model"})
        held = labels["uuid"] in (UUIDS[0], UUIDS[2])
        want = ("mcp_vision", "mcp_vision.1", "mcp") if held else ("", "", "")
        assert (labels["service"], labels["task"], labels["stack"]) == want
    out = lines(samples)
    assert (
        'lambda_swarm_gpu_assigned{gpu="0",service="mcp_vision",stack="mcp",task="mcp_vision.1",uuid="%s"} 1'
        % (UUIDS[0])
        in out
    )
    assert 'lambda_swarm_gpu_assigned{gpu="1",service="",stack="",task="",uuid="%s"} 0' % UUIDS[1] in out
    assert len([line for line in out if "gpu_assigned" in line]) == 3
    # an empty mapping (the engine read, no task holds a GPU): every GPU free
    free = lines(m.gpu_samples(csv, {}))
    assert len([line for line in free if "gpu_assigned" in line and line.endswith(" 0")]) == 3


def test_gpu_exposition_text_of_one_series():
    csv = "0, %s, NVIDIA A10, 50, 0, 23028, 38, [N/A]\n" % UUIDS[0]
    holders = m.gpu_holders(node_containers()[:1], "NVIDIA-GPU")
    text = m.render([s for s in m.gpu_samples(csv, holders) if s[0] == "gpu_utilization_ratio"])
    assert text == (
        "# HELP lambda_swarm_gpu_utilization_ratio GPU utilisation, 0 to 1.\n"
        "# TYPE lambda_swarm_gpu_utilization_ratio gauge\n"
        'lambda_swarm_gpu_utilization_ratio{gpu="0",model="NVIDIA A10",service="mcp_vision",stack="mcp",'
        'task="mcp_vision.1",uuid="%s"} 0.5\n' % UUIDS[0]
    )
    assigned = m.render([s for s in m.gpu_samples(csv, holders) if s[0] == "gpu_assigned"])
    assert assigned.startswith("# HELP lambda_swarm_gpu_assigned 1 when a Swarm task holds the GPU")
