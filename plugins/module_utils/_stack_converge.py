# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to sophia.lambda_swarm: whether a stack's services run their desired replicas of
their current spec, from the Engine API's /services and /tasks. Pure functions.

A task Swarm cannot place for want of generic resources (GPUs announced as
``node-generic-resources``) stays ``pending`` with ``no suitable node (insufficient resources
on N nodes)``; from /nodes and the running tasks this module says how many of that kind each
node has free, so the wait ends with "pending: no node has N free <KIND>" instead of a
timeout.
"""

from __future__ import absolute_import, annotations, division, print_function

__metaclass__ = type

import calendar
import re
import time
from typing import Any, Dict, Iterable, List, Mapping, Sequence

FAILED_UPDATE = ("rollback_started", "rollback_paused", "rollback_completed")
TERMINAL_BAD = ("failed", "rejected", "orphaned")
# a service none of whose tasks runs, with this many failed tasks of its current spec, is
# crash-looping: fail now rather than at the timeout
CRASH_LOOP = 3
# Swarm's scheduler, when no node has the generic resources a task reserves
INSUFFICIENT = re.compile(r"insufficient resources on \d+ node", re.IGNORECASE)
# a task its node was given but has not begun to prepare: after STUCK_AFTER seconds, the
# node's engine no longer works its assignments (seen on 20.10 after a restore: every task
# given to one worker stayed `assigned` while the node was `ready`); a slow pull is
# `preparing`, not this
STUCK_STATES = ("assigned", "accepted")
STUCK_AFTER = 90
# task states in which a task holds the generic resources assigned to it
HOLDING = ("assigned", "accepted", "preparing", "ready", "starting", "running")
# moby/moby issue 34864: after `docker swarm init --force-new-cluster` (seen on the survivor),
# a node's network agent can stay out of the swarm while its engine is in it. Every task given
# to that node that attaches to an overlay network is then rejected with this error, again
# and again, until the node's engine restarts. It is the node's fault, not the spec's: it
# never counts toward CRASH_LOOP; OUT_OF_SWARM_AFTER such rejections on one node within one
# wait name the node (stack_converge's out_of_swarm) so the caller restarts its engine.
OUT_OF_SWARM = re.compile(r"swarm scoped network when swarm is not active", re.IGNORECASE)
OUT_OF_SWARM_AFTER = 2


def parse_time(text: str | None) -> float:
    """Docker's RFC 3339 time (nanoseconds allowed) as epoch seconds; 0 if absent."""
    if not text or text.startswith("0001-"):
        return 0.0
    match = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$", text)
    if not match:
        return 0.0
    base = calendar.timegm(time.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S"))
    fraction = float("0" + match.group(2)) if match.group(2) else 0.0
    offset = 0
    if match.group(3) != "Z":
        sign = 1 if match.group(3)[0] == "+" else -1
        hours, minutes = match.group(3)[1:].split(":")
        offset = sign * (int(hours) * 3600 + int(minutes) * 60)
    return base + fraction - offset


def _container_spec(spec: Mapping[str, Any] | None) -> dict[str, Any]:
    return ((spec or {}).get("TaskTemplate") or {}).get("ContainerSpec") or {}


def _runs_spec(task: Mapping[str, Any], container_spec: Mapping[str, Any]) -> bool:
    """Whether a task was made from this container spec (the service's current one)."""
    return ((task.get("Spec") or {}).get("ContainerSpec") or {}) == container_spec


def _paused(
    update: Mapping[str, Any],
    tasks: Sequence[Mapping[str, Any]],
    current: Mapping[str, Any],
    every_slot: bool,
) -> dict[str, Any]:
    """The verdict on a paused update. Failed when the task the pause names ("... of task
    <id>"; not found counts) failed with an error while running the current spec: a real
    failure of the new version. Done when every slot runs the current spec anyway (the
    restarts use it): the pause is stale. Otherwise (paused by a task of the old spec, such as
    a restore's services whose images are gone, or by one the orchestrator ended without an
    error) the restarts bring the current spec: wait."""
    if every_slot:
        return {"done": True, "reason": "update paused, but every task runs the current spec"}
    match = re.search(r"task ([0-9a-z]{25})", update.get("Message") or "")
    task = next((t for t in tasks if match and t.get("ID") == match.group(1)), None)
    if task is None or (_runs_spec(task, current) and (task.get("Status") or {}).get("Err")):
        return {"failed": True, "reason": "update paused: %s" % (update.get("Message") or "no message")}
    return {"reason": "update paused by a task that is not a failure of the current spec; waiting"}


def service_state(
    service: Mapping[str, Any],
    tasks: Sequence[Mapping[str, Any]],
    since: float = 0.0,
    free: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """{name, mode, desired, running, state, done, failed, reason} for one service.

    ``tasks``: this service's tasks. A task counts when it runs (healthy, for containers
    with a healthcheck: Swarm reports them running only then) with the service's current
    container spec. ``since``: epoch seconds of this deploy; a rollback that started before
    it belongs to an earlier run and is not this run's failure. ``free``: node_free() of the
    cluster; with it, a task pending because no node has the generic resources it reserves
    fails the service with how many each node has free.
    """
    spec = service.get("Spec") or {}
    name = spec.get("Name", service.get("ID", "?"))
    mode = spec.get("Mode") or {}
    current = _container_spec(spec)
    update = service.get("UpdateStatus") or {}
    update_state = update.get("State") or ""
    started = parse_time(update.get("StartedAt"))
    out = {"name": name, "update": update_state, "failed": False, "done": False, "reason": ""}

    if "ReplicatedJob" in mode or "GlobalJob" in mode:
        job = mode.get("ReplicatedJob") or {}
        wanted = (
            int(job.get("TotalCompletions") or job.get("MaxConcurrent") or 1)
            if "ReplicatedJob" in mode
            else None
        )
        complete = [t for t in tasks if (t.get("Status") or {}).get("State") == "complete"]
        failed = [
            t for t in tasks if (t.get("Status") or {}).get("State") in TERMINAL_BAD and not _out_of_swarm(t)
        ]
        out.update(mode="job", desired=wanted, running=len(complete))
        if wanted is None:
            wanted = len([t for t in tasks if t.get("DesiredState") == "complete"]) or 1
            out["desired"] = wanted
        out["done"] = len(complete) >= wanted
        if (
            not out["done"]
            and failed
            and not [
                t
                for t in tasks
                if t.get("DesiredState") in ("running", "complete")
                and (t.get("Status") or {}).get("State") not in TERMINAL_BAD
            ]
        ):
            out.update(failed=True, reason="job tasks failed: %s" % task_errors(failed))
        return out

    live = [t for t in tasks if t.get("DesiredState") in ("running", "ready")]
    running = [
        t for t in live if (t.get("Status") or {}).get("State") == "running" and _runs_spec(t, current)
    ]
    if "Global" in mode:
        # one task per eligible node: the nodes the orchestrator placed live tasks on
        desired = len(set(t.get("NodeID") for t in live))
        out["mode"] = "global"
    else:
        desired = int((mode.get("Replicated") or {}).get("Replicas", 1))
        out["mode"] = "replicated"
    out.update(desired=desired, running=len(running))
    if update_state in FAILED_UPDATE and started >= since:
        out.update(
            failed=True, reason="update %s: %s" % (update_state, update.get("Message") or "no message")
        )
    elif update_state == "paused":
        out.update(_paused(update, tasks, current, len(running) >= desired and len(live) <= desired))
    elif update_state in ("updating", "rollback_started"):
        out["reason"] = "updating"
    else:
        out["done"] = len(running) >= desired and len(live) <= desired
        if not out["done"]:
            out["reason"] = "%d of %d running the current spec" % (len(running), desired)
            current_failed = [
                t
                for t in tasks
                if (t.get("Status") or {}).get("State") in (*TERMINAL_BAD, "shutdown")
                and (t.get("Status") or {}).get("Err")
                and parse_time((t.get("Status") or {}).get("Timestamp")) >= since
                and _runs_spec(t, current)
                and not _out_of_swarm(t)
            ]
            pending = [t for t in live if (t.get("Status") or {}).get("Err")]
            short = shortage(live, free) if free is not None else None
            if short:
                out.update(failed=True, reason=short["reason"], pending_resources=short)
            elif not running and len(current_failed) >= CRASH_LOOP:
                out.update(
                    failed=True,
                    reason="tasks of the current spec keep failing: %s" % task_errors(current_failed),
                )
            elif pending:
                out["reason"] += "; %s" % task_errors(pending, limit=2)
    return out


def _out_of_swarm(task: Mapping[str, Any]) -> bool:
    """Whether a task was rejected because its node's network agent is out of the swarm."""
    status = task.get("Status") or {}
    return status.get("State") == "rejected" and bool(OUT_OF_SWARM.search(status.get("Err") or ""))


def out_of_swarm_nodes(
    tasks: Iterable[Mapping[str, Any]], after: float, count: int = OUT_OF_SWARM_AFTER
) -> List[Dict[str, Any]]:
    """[{id, rejected, error}] of the nodes that rejected ``count`` or more tasks at or after
    ``after`` (epoch seconds) because their network agent is out of the swarm (OUT_OF_SWARM),
    sorted by node ID; ``id`` is the node's ID. Rejections before ``after`` are not counted:
    they may predate the restart that cured the node."""
    by_node: Dict[str, List[Mapping[str, Any]]] = {}
    for task in tasks:
        status = task.get("Status") or {}
        if _out_of_swarm(task) and task.get("NodeID") and parse_time(status.get("Timestamp")) >= after:
            by_node.setdefault(task["NodeID"], []).append(task)
    return [
        {"id": node, "rejected": len(rejected), "error": (rejected[0].get("Status") or {}).get("Err")}
        for node, rejected in sorted(by_node.items())
        if len(rejected) >= count
    ]


def stuck_tasks(
    tasks: Iterable[Mapping[str, Any]], now: float, after: float = STUCK_AFTER
) -> List[Dict[str, Any]]:
    """[{id, node, state, seconds}] of the tasks that should run but have stayed `assigned`
    or `accepted` (given to a node that has not begun to prepare them) for ``after``
    seconds or more, oldest first; ``node`` is the node's ID."""
    out = []
    for task in tasks:
        status = task.get("Status") or {}
        since = parse_time(status.get("Timestamp"))
        waiting = task.get("DesiredState") == "running" and status.get("State") in STUCK_STATES
        if waiting and since and now - since >= after:
            out.append(
                {
                    "id": (task.get("ID") or "?")[:12],
                    "node": task.get("NodeID") or "",
                    "state": status.get("State"),
                    "seconds": int(now - since),
                }
            )
    return sorted(out, key=lambda t: -t["seconds"])


def stuck_report(stuck: Sequence[Mapping[str, Any]], hostnames: Mapping[str, str]) -> str:
    """One sentence on the stuck tasks, per node (by hostname when known), with the fix."""
    by_node: Dict[str, List[Mapping[str, Any]]] = {}
    for task in stuck:
        by_node.setdefault(hostnames.get(task["node"]) or task["node"][:12] or "no node", []).append(task)
    parts = [
        "%s (%d task(s), the oldest %s for %d s)" % (node, len(tasks), tasks[0]["state"], tasks[0]["seconds"])
        for node, tasks in sorted(by_node.items())
    ]
    return (
        "tasks given to a node that has not started them: %s; that node's engine no longer works "
        "its tasks: restart it (systemctl restart docker there, or playbooks/remediate.yml -l NODE)"
        % "; ".join(parts)
    )


def task_errors(tasks: Iterable[Mapping[str, Any]], limit: int = 5) -> str:
    """The newest failing tasks' errors, one line each."""
    bad = [
        t
        for t in tasks
        if (t.get("Status") or {}).get("Err") or (t.get("Status") or {}).get("State") in TERMINAL_BAD
    ]
    bad.sort(key=lambda t: parse_time((t.get("Status") or {}).get("Timestamp")), reverse=True)
    lines = []
    for task in bad[:limit]:
        status = task.get("Status") or {}
        lines.append(
            "%s on %s: %s %s"
            % (
                (task.get("ID") or "?")[:12],
                (task.get("NodeID") or "no node")[:12],
                status.get("State"),
                status.get("Err") or status.get("Message") or "",
            )
        )
    return "; ".join(lines) or "no task error recorded"


def stack_state(
    services: Iterable[Mapping[str, Any]],
    tasks: Iterable[Mapping[str, Any]],
    since: float = 0.0,
    free: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Every service's state, sorted by name, and the overall verdict. ``free``: as for
    service_state."""
    by_service = {}
    for task in tasks:
        by_service.setdefault(task.get("ServiceID"), []).append(task)
    states = [service_state(s, by_service.get(s.get("ID"), []), since, free) for s in services]
    states.sort(key=lambda s: s["name"])
    return {
        "services": states,
        "done": all(s["done"] for s in states),
        "failed": [s for s in states if s["failed"]],
    }


def surplus_services(state: Mapping[str, Any]) -> list[str]:
    """From stack_state(): the replicated services running more tasks of their current spec
    than their replicas while no update or rollback is going on."""
    return [
        s["name"]
        for s in state.get("services") or []
        if s.get("mode") == "replicated"
        and not s.get("failed")
        and s.get("reason") != "updating"
        and (s.get("running") or 0) > (s.get("desired") or 0)
    ]


def waiting_for_resources(tasks: Iterable[Mapping[str, Any]]) -> bool:
    """Whether a task is pending because no node has the resources it reserves."""
    return any(_resource_pending(t) for t in tasks)


def _resource_pending(task: Mapping[str, Any]) -> bool:
    status = task.get("Status") or {}
    return (
        task.get("DesiredState") in ("running", "ready")
        and status.get("State") == "pending"
        and bool(INSUFFICIENT.search("%s %s" % (status.get("Err") or "", status.get("Message") or "")))
    )


def count_generic(entries: Iterable[Mapping[str, Any]] | None) -> dict[str, int]:
    """``GenericResources`` of the Engine API as counts per kind: a named resource (one GPU
    announced by its UUID) counts one, a discrete one its value."""
    counts: dict[str, int] = {}
    for entry in entries or ():
        named = entry.get("NamedResourceSpec")
        discrete = entry.get("DiscreteResourceSpec")
        if named and named.get("Kind"):
            counts[named["Kind"]] = counts.get(named["Kind"], 0) + 1
        elif discrete and discrete.get("Kind"):
            counts[discrete["Kind"]] = counts.get(discrete["Kind"], 0) + int(discrete.get("Value") or 0)
    return counts


def task_reserves(task: Mapping[str, Any]) -> dict[str, int]:
    """The generic resources a task reserves (its spec's Resources.Reservations)."""
    reservations = (((task.get("Spec") or {}).get("Resources") or {}).get("Reservations")) or {}
    return count_generic(reservations.get("GenericResources"))


def node_free(nodes: Iterable[Mapping[str, Any]], tasks: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per schedulable node (ready, availability active), sorted by name: ``{"node", "id",
    "announced", "free"}``, free being the announced generic resources minus what the
    node's running tasks (``tasks``: all the cluster's, any stack) reserve."""
    held: dict[str, dict[str, int]] = {}
    for task in tasks:
        if task.get("DesiredState") not in ("running", "ready"):
            continue
        if (task.get("Status") or {}).get("State") not in HOLDING or not task.get("NodeID"):
            continue
        node = held.setdefault(task["NodeID"], {})
        for kind, count in task_reserves(task).items():
            node[kind] = node.get(kind, 0) + count
    out = []
    for node in nodes:
        if (node.get("Status") or {}).get("State") != "ready":
            continue
        if (node.get("Spec") or {}).get("Availability", "active") != "active":
            continue
        description = node.get("Description") or {}
        announced = count_generic((description.get("Resources") or {}).get("GenericResources"))
        used = held.get(node.get("ID"), {})
        out.append(
            {
                "node": description.get("Hostname") or node.get("ID", "?")[:12],
                "id": node.get("ID"),
                "announced": announced,
                "free": dict((kind, max(0, n - used.get(kind, 0))) for kind, n in announced.items()),
            }
        )
    out.sort(key=lambda n: n["node"])
    return out


def shortage(tasks: Iterable[Mapping[str, Any]], free: list[dict[str, Any]]) -> dict[str, Any] | None:
    """For a service's live tasks: the first kind its pending task reserves more of than any
    node has free, ``{"kind", "wanted", "free": {node: n}, "reason"}``; None when no task
    waits for resources, or when some node has enough (the scheduler has not caught up)."""
    for task in tasks:
        if not _resource_pending(task):
            continue
        for kind, wanted in sorted(task_reserves(task).items()):
            counts = dict((n["node"], n["free"].get(kind, 0)) for n in free)
            if all(count < wanted for count in counts.values()):
                listed = ", ".join("%s: %d free" % item for item in counts.items()) or "no schedulable node"
                return {
                    "kind": kind,
                    "wanted": wanted,
                    "free": counts,
                    "reason": "pending: no node has %d free %s (%s)" % (wanted, kind, listed),
                }
    return None


# Swarm's constraint enforcer before swarmkit pull request 3082 (moby/moby issue 44378,
# docker/for-linux issue 1201) tests a task's assigned generic resources the wrong way round:
# on any update of a node (a task attaching to an overlay network is one, a label change
# another) it rejects a running GPU task there with "assigned node no longer meets
# constraints". The enforcer runs in the leading manager, so the managers' engines are what
# count. Engines from 23.0 carry the fix; Debian 12's docker.io 20.10 does not.
GPU_ENGINE_MINIMUM = (23, 0)


def _engine_version(text: str) -> tuple[int, ...]:
    found = re.match(r"^\s*v?(\d+)\.(\d+)", text or "")
    return (int(found.group(1)), int(found.group(2))) if found else ()


def gpu_nodes(nodes: Iterable[Mapping[str, Any]], kind: str) -> dict[str, list[str]]:
    """From ``docker node inspect`` objects: ``announcing`` (hosts that announce generic
    resources of ``kind``), ``kinds`` (every kind any node announces) and ``old_managers``
    (when some node announces ``kind``: the managers whose engine is older than
    GPU_ENGINE_MINIMUM, as "host (engine X)")."""
    announcing, kinds, managers = [], set(), []
    for node in nodes:
        description = node.get("Description") or {}
        host = description.get("Hostname") or node.get("ID") or "?"
        announced = count_generic((description.get("Resources") or {}).get("GenericResources"))
        kinds.update(announced)
        if announced.get(kind):
            announcing.append(host)
        if (node.get("Spec") or {}).get("Role") == "manager":
            engine = (description.get("Engine") or {}).get("EngineVersion") or ""
            version = _engine_version(engine)
            if version and version < GPU_ENGINE_MINIMUM:
                managers.append("%s (engine %s)" % (host, engine))
    return {"announcing": sorted(announcing), "kinds": sorted(kinds),
            "old_managers": sorted(managers) if announcing else []}  # fmt: skip
