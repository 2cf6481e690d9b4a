# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to sophia.lambda_swarm: which manager the backup role stops to archive the
swarm's state (roles/backup, entry point ``swarm``), and whether the swarm can spare it.
Pure functions, no Ansible.

The manager chosen is reachable and not the leader (managers with no ``Leader`` key
first, then those whose ``Leader`` is false, in the order the swarm lists them), optionally
narrowed to one node name, and must be one of the play's hosts (matched by node name: an
inventory name and a hostname may differ). Stopping it keeps quorum only when the other
reachable managers are still more than half of all managers.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from typing import Any, Dict, List, Mapping, Optional, Sequence, Union


def _get(node: Mapping[str, Any], *keys: str) -> Any:
    """node[k1][k2]... or None where a level is missing or not a mapping."""
    value: Any = node
    for key in keys:
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


def managers(nodes: Optional[Sequence[Mapping[str, Any]]]) -> List[Mapping[str, Any]]:
    """The nodes whose role is manager (docker_node_info's ``Spec.Role``)."""
    return [node for node in nodes or [] if _get(node, "Spec", "Role") == "manager"]


def reachable(nodes: Sequence[Mapping[str, Any]]) -> List[Mapping[str, Any]]:
    """The nodes whose ``ManagerStatus.Reachability`` is ``reachable``."""
    return [node for node in nodes if _get(node, "ManagerStatus", "Reachability") == "reachable"]


def not_leaders(nodes: Sequence[Mapping[str, Any]]) -> List[Mapping[str, Any]]:
    """The nodes that do not lead: first those without a ``Leader`` key, then those whose
    ``Leader`` is false, each group in the given order."""
    status = [(_get(node, "ManagerStatus") or {}, node) for node in nodes]
    return [node for st, node in status if "Leader" not in st] + [
        node for st, node in status if "Leader" in st and not st["Leader"]
    ]


def swarm_backup_source(
    nodes: Optional[Sequence[Mapping[str, Any]]],
    hosts: Mapping[str, str],
    wanted: str = "",
) -> Dict[str, Union[str, bool]]:
    """The manager to stop for the swarm archive, and whether quorum holds without it.

    ``nodes``: docker_node_info's ``nodes``. ``hosts``: the play's hosts, inventory name to
    node name, in play order. ``wanted``: a node name the choice is narrowed to ('' for any).

    Returns ``manager`` (the inventory name of the first candidate that is a play host, ''
    when none is), ``hostname`` (its node name, '' when none) and ``margin_ok`` (the
    reachable managers less one are more than half of all managers)."""
    all_managers = managers(nodes)
    up = reachable(all_managers)
    candidates = not_leaders(up)
    if wanted:
        candidates = [node for node in candidates if _get(node, "Description", "Hostname") == wanted]
    manager, hostname = "", ""
    for node in candidates:
        name = _get(node, "Description", "Hostname")
        host = next((inv for inv, node_name in hosts.items() if node_name == name), "")
        if host:
            manager, hostname = host, str(name)
            break
    return {
        "manager": manager,
        "hostname": hostname,
        "margin_ok": len(up) - 1 > len(all_managers) // 2,
    }
