# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to sophia.lambda_swarm: a quorum-safe plan that makes swarm membership equal to
the inventory. Pure functions, no Ansible import.

Raft keeps the swarm writable while a majority of managers is reachable. The plan changes
one node at a time, promotions before demotions, and refuses any step after which the
reachable managers would no longer be a majority of the managers.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from ansible.module_utils.parsing.convert_bool import boolean


class PlanRefused(Exception):
    pass


def normalize(raw_nodes: Iterable[Mapping[str, Any]]) -> List[Dict[str, Any]]:
    """Nodes as docker_node_info returns them (``docker node inspect``) -> small dicts."""
    nodes = []
    for raw in raw_nodes:
        spec = raw.get("Spec") or {}
        status = raw.get("Status") or {}
        manager = raw.get("ManagerStatus") or {}
        nodes.append(
            {
                "id": raw.get("ID"),
                "hostname": (raw.get("Description") or {}).get("Hostname"),
                "role": spec.get("Role", "worker"),
                "availability": spec.get("Availability", "active"),
                "state": status.get("State", "unknown"),
                "reachable": manager.get("Reachability") == "reachable" if manager else None,
                "leader": bool(manager.get("Leader")),
                "created": raw.get("CreatedAt") or "",
            }
        )
    return nodes


def live_by_hostname(raw_nodes: Iterable[Mapping[str, Any]]) -> Dict[Optional[str], Mapping[str, Any]]:
    """One raw node per hostname: a node that left and rejoined appears twice; the live
    entry is the one that is up, and of two that are up the newer one."""

    def rank(raw: Mapping[str, Any]) -> Tuple[bool, str]:
        return ((raw.get("Status") or {}).get("State") == "ready", raw.get("CreatedAt") or "")

    live = {}
    for raw in raw_nodes:
        name = (raw.get("Description") or {}).get("Hostname")
        if name not in live or rank(raw) > rank(live[name]):
            live[name] = raw
    return live


def has_quorum(managers: int, reachable: int) -> bool:
    return managers > 0 and reachable * 2 > managers


def _counts(nodes: Iterable[Mapping[str, Any]]) -> Tuple[int, int]:
    managers = [n for n in nodes if n["role"] == "manager"]
    return len(managers), len([n for n in managers if n["reachable"]])


def plan(
    nodes: Iterable[Mapping[str, Any]],
    managers: Iterable[str],
    workers: Iterable[str],
    unresolved: Sequence[str] = (),
) -> List[Dict[str, Any]]:
    """Ordered steps (dicts with ``action``: promote, demote, remove; ``hostname``, ``id``,
    ``why``) making the swarm's roles equal to the inventory groups ``managers`` and
    ``workers``. Raises PlanRefused with the reason when a step would lose quorum.
    ``unresolved``: inventory hosts whose node name is unknown; while there are any, no down
    node is removed (it could be one of them)."""
    managers, workers = set(managers), set(workers)
    state = [dict(n) for n in nodes]
    total, reachable = _counts(state)
    if total and not has_quorum(total, reachable):
        raise PlanRefused(
            "the swarm has lost quorum: %d of %d managers reachable. No membership change is safe;"
            " recover quorum first (playbooks/recover_quorum.yml, or docker swarm init"
            " --force-new-cluster on a surviving manager)" % (reachable, total)
        )
    steps = []

    def apply(node: Dict[str, Any], action: str, why: str) -> None:
        if action == "demote":
            after = [n for n in state if n is not node]
            after_node = dict(node, role="worker", reachable=None)
            m, r = _counts([*after, after_node])
            if m == 0:
                raise PlanRefused("demoting %s would leave the swarm without a manager" % node["hostname"])
            if not has_quorum(m, r):
                raise PlanRefused(
                    "demoting %s would leave %d reachable of %d managers, no majority; add or repair"
                    " managers first" % (node["hostname"], r, m)
                )
            node["role"], node["reachable"] = "worker", None
        elif action == "promote":
            node["role"], node["reachable"] = "manager", node["state"] == "ready"
        elif action == "remove":
            state.remove(node)
        steps.append({"action": action, "hostname": node["hostname"], "id": node["id"], "why": why})

    # a hostname can appear twice after a node left and rejoined: the live one counts; a stale
    # entry is removed once the swarm sees it down (a ready one cannot be removed yet)
    by_name = {}
    for node in state:
        current = by_name.get(node["hostname"])
        if current is None or (node["state"] == "ready", node["created"]) > (
            current["state"] == "ready",
            current["created"],
        ):
            by_name[node["hostname"]] = node
    stale = [n for n in state if by_name.get(n["hostname"]) is not n and n["state"] != "ready"]

    # 1. promotions first: more managers before fewer
    for name in sorted(managers):
        node = by_name.get(name)
        if node and node["role"] == "worker" and node["state"] == "ready":
            apply(node, "promote", "inventory lists it under managers")
    # 2. demotions, one at a time, each checked
    for name in sorted(workers):
        node = by_name.get(name)
        if node and node["role"] == "manager":
            apply(node, "demote", "inventory lists it under workers")
    # 3. nodes that are down and gone from the inventory (or stale duplicates): demote, remove
    for node in sorted(
        stale + [n for n in by_name.values() if n["hostname"] not in managers | workers],
        key=lambda n: n["hostname"] or "",
    ):
        if node["state"] == "ready" and node not in stale:
            continue  # up but not in the inventory: left alone, reported by the caller
        if unresolved and node not in stale:
            continue  # it could be an inventory host whose name is unknown
        why = (
            "stale entry of a node that rejoined" if node in stale else "down and no longer in the inventory"
        )
        if node["role"] == "manager":
            apply(node, "demote", why)
        apply(node, "remove", why)
    return steps


def unmanaged(
    nodes: Iterable[Mapping[str, Any]], managers: Iterable[str], workers: Iterable[str]
) -> List[str]:
    """Hostnames that are up in the swarm but in neither inventory group."""
    known = set(managers) | set(workers)
    return sorted(n["hostname"] for n in nodes if n["state"] == "ready" and n["hostname"] not in known)


def label_changes(
    current: Mapping[str, Any], desired: Mapping[str, Any], managed_key: str = "io.sophia.lambda_swarm.labels"
) -> Tuple[Dict[str, str], List[str]]:
    """Labels to set and to remove. The role records the keys it set in ``managed_key``, so
    it removes only labels it set earlier; labels others set are kept."""
    previous = set(k for k in (current.get(managed_key) or "").split(",") if k)
    wanted = dict((str(k), str(v)) for k, v in desired.items())
    wanted[managed_key] = ",".join(sorted(wanted))
    remove = sorted(k for k in previous if k not in wanted and k in current)
    changed = dict((k, v) for k, v in wanted.items() if current.get(k) != v)
    return changed, remove


def node_update(
    raw_nodes: Iterable[Mapping[str, Any]], hostname: str, labels: Mapping[str, Any]
) -> Dict[str, Any]:
    """What to change on one node so its labels follow ``labels`` (:func:`label_changes`):
    {"id" (of its live entry, :func:`live_by_hostname`; "" when the swarm does not list it),
    "set", "remove", "role", "availability" (as the swarm has them now)}."""
    entry = live_by_hostname(raw_nodes).get(hostname) or {}
    spec = entry.get("Spec") or {}
    changed, remove = label_changes(spec.get("Labels") or {}, labels or {})
    return {
        "id": entry.get("ID") or "",
        "set": changed,
        "remove": remove,
        "role": spec.get("Role", ""),
        "availability": spec.get("Availability", ""),
    }


def node_names(
    hostvars: Mapping[str, Any], managers: Iterable[str], workers: Iterable[str]
) -> Dict[str, List[str]]:
    """The swarm node names (hostnames) of the inventory's managers and workers, from each
    host's ``_swarm_node_name`` or its facts' ``nodename``: {"managers", "workers",
    "unresolved"}; a host whose name is unknown (unreachable, no facts) is listed under
    "unresolved" by its inventory name, so no down node is removed that could be it."""
    out: Dict[str, List[str]] = {"managers": [], "workers": [], "unresolved": []}
    for key, hosts in (("managers", managers), ("workers", workers)):
        for host in hosts or []:
            hv = hostvars[host]
            name = hv.get("_swarm_node_name") or (hv.get("ansible_facts") or {}).get("nodename") or ""
            out[key if name else "unresolved"].append(name or host)
    return out


def strangers(
    hostvars: Mapping[str, Any], hosts: Iterable[str], bootstrap: str, raw_nodes: Iterable[Mapping[str, Any]]
) -> List[Dict[str, Any]]:
    """The hosts (besides ``bootstrap``) that this run did not join and whose engine says it
    is in the swarm under a node id that ``raw_nodes`` (the bootstrap manager's node list)
    lacks: a host in another partition of the same cluster (a force-new-cluster made while
    it was away), or one whose entry was removed. Each {"host", "node_id", "manager" (the
    engine answers as a manager)}. A host that is not active, or that this run joined or
    rejoined (``_swarm_broken``, ``_swarm_in_other``), is not one. Facts may come back as
    strings from a template ("True"): read as Ansible reads booleans."""
    known = set(n.get("ID") for n in raw_nodes or [])
    out: List[Dict[str, Any]] = []
    for host in hosts or []:
        if host == bootstrap:
            continue
        hv = hostvars[host]
        node_id = hv.get("_swarm_node_id") or ""
        if (
            hv.get("_swarm_local_state") != "active"
            or boolean(hv.get("_swarm_broken"), strict=False)
            or boolean(hv.get("_swarm_in_other"), strict=False)
            or not node_id
            or node_id in known
        ):
            continue
        out.append(
            {"host": host, "node_id": node_id, "manager": boolean(hv.get("_swarm_is_manager"), strict=False)}
        )
    return out
