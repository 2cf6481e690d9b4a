# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to sophia.lambda_swarm: Prometheus text exposition for node exporter's textfile
collector, from what the engine API, mcp_health and nvidia-smi return. Pure functions; the
role's collector script (roles/monitoring/files/lambda_swarm_textfile.py) fetches the data."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple, Union

PREFIX = "lambda_swarm_"
# the label the stack role puts on each service: the replicas the inventory declares
DECLARED_LABEL = "io.sophia.lambda_swarm.replicas"
# labels the engine puts on a Swarm task's container
TASK_ID_LABEL = "com.docker.swarm.task.id"
TASK_NAME_LABEL = "com.docker.swarm.task.name"
SERVICE_LABEL = "com.docker.swarm.service.name"
STACK_LABEL = "com.docker.stack.namespace"
# swarmkit (genericresource.EnvFormat) hands a task its generic resources in the environment
# variable strings.ToUpper("DOCKER_RESOURCE_" + kind) = "<value>[,<value>...]"
RESOURCE_ENV_PREFIX = "DOCKER_RESOURCE_"
# the holder labels every GPU series carries (empty when no task holds the GPU)
HOLDER_LABELS = ("service", "task", "stack")

# nvidia-smi --query-gpu fields for telemetry, in this order
GPU_FIELDS = (
    "index",
    "uuid",
    "name",
    "utilization.gpu",
    "memory.used",
    "memory.total",
    "temperature.gpu",
    "power.draw",
)
GPU_QUERY_ARGS = ["--query-gpu=" + ",".join(GPU_FIELDS), "--format=csv,noheader,nounits"]

HELP = {
    "node_info": ("gauge", "Always 1; its node label names the host this node exporter runs on."),
    "container_cpu_seconds_total": ("counter", "CPU time a container used, from the engine's stats API."),
    "container_memory_bytes": ("gauge", "Memory a container uses (without page cache)."),
    "container_memory_limit_bytes": ("gauge", "Memory limit of a container (host memory if none)."),
    "node_ready": ("gauge", "1 when the swarm node is ready, 0 otherwise."),
    "node_manager_reachable": ("gauge", "1 when a manager is reachable in the raft, 0 otherwise."),
    "managers_total": ("gauge", "Managers the swarm has."),
    "managers_reachable": ("gauge", "Managers reachable in the raft."),
    "service_replicas_declared": ("gauge", "Replicas the inventory declares for a service."),
    "service_replicas_desired": ("gauge", "Replicas the service's spec asks for now."),
    "service_replicas_running": ("gauge", "Tasks of the service that run."),
    "mcp_up": ("gauge", "1 when the MCP server completed its era's handshake and listed its tools."),
    "mcp_latency_seconds": ("gauge", "Time the last MCP health check took."),
    "mcp_tools": ("gauge", "Tools the MCP server listed."),
    "gpu_utilization_ratio": ("gauge", "GPU utilisation, 0 to 1."),
    "gpu_memory_used_bytes": ("gauge", "GPU memory in use."),
    "gpu_memory_total_bytes": ("gauge", "GPU memory in total."),
    "gpu_temperature_celsius": ("gauge", "GPU temperature."),
    "gpu_power_watts": ("gauge", "GPU power draw."),
    "gpu_assigned": (
        "gauge",
        "1 when a Swarm task holds the GPU (labels service, task, stack), 0 when free.",
    ),
    "textfile_collector_success": ("gauge", "1 when the collector's last run succeeded."),
    "textfile_collector_timestamp_seconds": ("gauge", "When the collector last ran (Unix time)."),
}


def _escape(value: Any) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: Union[int, float]) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    return repr(float(value))


def render(samples: Iterable[Tuple[str, Optional[Mapping[str, Any]], Optional[Union[int, float]]]]) -> str:
    """Text exposition of [(name, {label: value}, number)]: HELP and TYPE once per metric,
    samples in a stable order (the same input gives the same bytes)."""
    by_name = {}
    for name, labels, value in samples:
        if value is None:
            continue
        by_name.setdefault(name, []).append((sorted((labels or {}).items()), value))
    lines = []
    for name in sorted(by_name):
        kind, text = HELP.get(name, ("gauge", name))
        lines.append("# HELP %s%s %s" % (PREFIX, name, text))
        lines.append("# TYPE %s%s %s" % (PREFIX, name, kind))
        for labels, value in sorted(by_name[name], key=lambda s: s[0]):
            label_text = ",".join('%s="%s"' % (k, _escape(v)) for k, v in labels)
            lines.append(
                "%s%s%s %s" % (PREFIX, name, "{%s}" % label_text if label_text else "", _number(value))
            )
    return "\n".join(lines) + "\n" if lines else ""


def container_samples(
    containers: Iterable[Mapping[str, Any]], stats: Mapping[str, Any]
) -> List[Tuple[str, Dict[str, Any], Union[int, float]]]:
    """Per-container CPU and memory. ``containers``: GET /containers/json; ``stats``: {id:
    GET /containers/<id>/stats?stream=false&one-shot=true}."""
    out = []
    for container in containers:
        data = stats.get(container["Id"])
        if not data:
            continue
        config_labels = container.get("Labels") or {}
        labels = {
            "name": (container.get("Names") or ["/" + container["Id"][:12]])[0].lstrip("/"),
            "service": config_labels.get("com.docker.swarm.service.name", ""),
            "stack": config_labels.get("com.docker.stack.namespace", ""),
        }
        usage = (data.get("cpu_stats") or {}).get("cpu_usage") or {}
        if "total_usage" in usage:
            out.append(("container_cpu_seconds_total", labels, usage["total_usage"] / 1e9))
        memory = data.get("memory_stats") or {}
        if "usage" in memory:
            detail = memory.get("stats") or {}
            # cgroup v2 reports inactive_file, v1 total_inactive_file / cache
            cache = detail.get("inactive_file", detail.get("total_inactive_file", detail.get("cache", 0)))
            out.append(("container_memory_bytes", labels, max(0, memory["usage"] - cache)))
        if "limit" in memory:
            out.append(("container_memory_limit_bytes", labels, memory["limit"]))
    return out


def swarm_samples(
    nodes: Iterable[Mapping[str, Any]],
    services: Iterable[Mapping[str, Any]],
    tasks: Iterable[Mapping[str, Any]],
) -> List[Tuple[str, Dict[str, Any], Union[int, float]]]:
    """Nodes, managers and service replicas. ``nodes``/``services``/``tasks``: GET /nodes,
    /services, /tasks of a manager."""
    out = []
    managers = reachable = 0
    for node in nodes:
        host = (node.get("Description") or {}).get("Hostname") or node["ID"][:12]
        role = (node.get("Spec") or {}).get("Role", "worker")
        ready = (node.get("Status") or {}).get("State") == "ready"
        out.append(("node_ready", {"node": host, "role": role}, ready))
        if role == "manager":
            managers += 1
            ok = (node.get("ManagerStatus") or {}).get("Reachability") == "reachable"
            reachable += 1 if ok else 0
            out.append(("node_manager_reachable", {"node": host}, ok))
    out.append(("managers_total", {}, managers))
    out.append(("managers_reachable", {}, reachable))
    running = {}
    for task in tasks:
        if (task.get("Status") or {}).get("State") == "running" and task.get("DesiredState") == "running":
            running[task.get("ServiceID")] = running.get(task.get("ServiceID"), 0) + 1
    for service in services:
        spec = service.get("Spec") or {}
        name = spec.get("Name") or service["ID"][:12]
        labels = {"service": name, "stack": (spec.get("Labels") or {}).get("com.docker.stack.namespace", "")}
        replicated = (spec.get("Mode") or {}).get("Replicated")
        declared = (spec.get("Labels") or {}).get(DECLARED_LABEL)
        if declared is not None and str(declared).isdigit():
            out.append(("service_replicas_declared", labels, int(declared)))
        if replicated is not None:
            out.append(("service_replicas_desired", labels, int(replicated.get("Replicas", 1))))
        out.append(("service_replicas_running", labels, running.get(service["ID"], 0)))
    return out


def mcp_samples(results: Iterable[Mapping[str, Any]]) -> List[Tuple[str, Dict[str, Any], Union[int, float]]]:
    """mcp_health results (check_all's first value)."""
    out = []
    for result in results:
        labels = {"server": result["name"], "era": result.get("era") or ""}
        out.append(("mcp_up", {"server": result["name"]}, bool(result.get("ok"))))
        if result.get("ok"):
            out.append(("mcp_latency_seconds", labels, (result.get("latency_ms") or 0) / 1000.0))
            out.append(("mcp_tools", labels, result.get("tool_count") or 0))
    return out


def _cell(text: str) -> Optional[str]:
    text = text.strip()
    return None if text in ("", "[N/A]", "N/A", "[Not Supported]", "[Unknown Error]") else text


def resource_env_name(kind: str) -> str:
    """The environment variable a task gets its ``kind`` generic resources in."""
    return (RESOURCE_ENV_PREFIX + kind).upper()


def gpu_holders(inspected: Iterable[Mapping[str, Any]], kind: str) -> Dict[str, Dict[str, str]]:
    """Which task holds which GPU: {uuid: {"service", "task", "stack", "container"}}.
    ``inspected``: GET /containers/<id>/json of this node's containers (only running ones
    count); ``kind``: the generic resource kind the node announces its GPUs as (dockerd's
    node-generic-resources, e.g. NVIDIA-GPU). ``task`` is the task's name without its ID
    (mcp_vision.1), ``container`` the container's name."""
    variable = resource_env_name(kind)
    holders = {}
    # sorted: should two containers ever name the same GPU, the same one wins every run
    for container in sorted(inspected, key=lambda c: (c.get("Name") or "", c.get("Id") or "")):
        if not (container.get("State") or {}).get("Running"):
            continue
        config = container.get("Config") or {}
        value = None
        for entry in config.get("Env") or []:
            key, sep, rest = entry.partition("=")
            if sep and key == variable:
                value = rest
        if not value:
            continue
        labels = config.get("Labels") or {}
        container_name = (container.get("Name") or (container.get("Id") or "")[:12]).lstrip("/")
        task = labels.get(TASK_NAME_LABEL) or container_name
        task_id = labels.get(TASK_ID_LABEL) or ""
        if task_id and task.endswith("." + task_id):
            task = task[: -len(task_id) - 1]  # <service>.<slot>.<task id> -> <service>.<slot>
        holder = {
            "service": labels.get(SERVICE_LABEL, ""),
            "task": task,
            "stack": labels.get(STACK_LABEL, ""),
            "container": container_name,
        }
        for uuid in (part.strip() for part in value.split(",")):
            if uuid and uuid not in holders:
                holders[uuid] = holder
    return holders


def gpu_samples(
    csv_text: str, holders: Optional[Mapping[str, Mapping[str, Any]]] = None
) -> List[Tuple[str, Dict[str, Any], Union[int, float]]]:
    """``nvidia-smi`` with GPU_QUERY_ARGS: one gauge set per GPU. Cells nvidia-smi cannot
    report ([N/A], [Not Supported]) are left out, not made zero. Every series carries the
    holder labels service, task and stack (empty for a GPU no task holds); ``holders``:
    gpu_holders(). With ``holders`` None (unknown: the engine could not be read) the labels
    are empty and gpu_assigned is left out rather than reported 0."""
    out = []
    for line in csv_text.splitlines():
        if not line.strip():
            continue
        cells = [_cell(c) for c in line.split(",")]
        if len(cells) != len(GPU_FIELDS):
            raise ValueError(
                "unexpected nvidia-smi line (%d fields, %d expected): %s"
                % (len(cells), len(GPU_FIELDS), line)
            )
        index, uuid, name, util, used, total, temp, power = cells
        holder = (holders or {}).get(uuid or "") or {}
        held = dict((k, holder.get(k) or "") for k in HOLDER_LABELS)
        labels = dict(held, gpu=index, uuid=uuid or "", model=name or "")
        if holders is not None:
            out.append(("gpu_assigned", dict(held, gpu=index, uuid=uuid or ""), bool(holder)))
        if util is not None:
            out.append(("gpu_utilization_ratio", labels, float(util) / 100.0))
        if used is not None:
            out.append(("gpu_memory_used_bytes", labels, int(float(used) * 1024 * 1024)))
        if total is not None:
            out.append(("gpu_memory_total_bytes", labels, int(float(total) * 1024 * 1024)))
        if temp is not None:
            out.append(("gpu_temperature_celsius", labels, float(temp)))
        if power is not None:
            out.append(("gpu_power_watts", labels, float(power)))
    return out
