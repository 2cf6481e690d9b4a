# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to sophia.lambda_swarm: from one node's diagnosis to the ordered fixes
remediate.yml applies. Pure functions."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from typing import Any, Dict, List, Mapping

# the order fixes are applied in: each one needs the ones before it
STEPS = ("engine", "restart", "leave", "join", "role", "labels", "availability", "disk")


def _listed(diag: Mapping[str, Any]) -> bool:
    """The managers' node list was read (only then does "absent" mean the managers dropped it)."""
    return str(diag.get("node_list_ok")).lower() == "true"


def _broken_membership(diag: Mapping[str, Any], is_manager: bool, just_started: bool = False) -> str:
    """Why the engine's "active" is not a membership the managers know, or "". The engine
    can stay "active" after a forced leave with no node id of its own, or keep an id the
    managers do not list (or list down while this engine answers): a half state only a leave
    and a rejoin end."""
    if "local_node_id" not in diag:  # a diagnosis without the engine's own id
        return ""
    own = diag.get("local_node_id") or ""
    ids = diag.get("node_ids") or []
    if not own:
        return "the engine says its swarm is active but has no node id (a half-finished leave)"
    if own not in ids:
        listed = ", ".join(ids) or "none"
        return "the engine's node id %s is not one the managers list for it (%s)" % (own, listed)
    # a manager the others see down gets an engine restart (step "restart") instead; an engine
    # just started is seen down until it reports again
    seen_down = diag.get("node_state") == "down" and own == diag.get("node_id")
    if seen_down and not is_manager and not just_started:
        return "the managers see the node down while its engine answers in the swarm (id %s)" % own
    return ""


def plan(
    diag: Mapping[str, Any],
    is_manager: bool,
    availability: str = "active",
    threshold: int = 85,
    just_started: bool = False,
) -> List[Dict[str, str]]:
    """[{"step", "why"}] in STEPS order. ``diag``: the swarm role's entry point diagnose (swarm_diagnosis).
    ``just_started``: the diagnosis was read right after remediate.yml started the engine, so the
    managers' view still lags: a node they see down or unreachable is not a fault yet (no leave
    for it, no restart)."""
    out = []
    engine_up = diag.get("engine") == "active"
    local = diag.get("swarm_local") or "unknown"
    role = "manager" if is_manager else "worker"
    if not engine_up:
        out.append({"step": "engine", "why": "the Docker engine is %s" % (diag.get("engine") or "unknown")})
    if local in ("error", "pending"):
        why = "the node's swarm state is %s%s" % (
            local,
            ": %s" % diag["swarm_error"] if diag.get("swarm_error") else "",
        )
        out.append({"step": "leave", "why": why})
        out.append({"step": "join", "why": "rejoin after leaving"})
    elif local == "active" and diag.get("node_state") == "absent" and _listed(diag):
        out.append(
            {
                "step": "leave",
                "why": "the node holds a swarm membership the managers do not list "
                "(stale state, e.g. after recover_quorum.yml)",
            }
        )
        out.append({"step": "join", "why": "rejoin after leaving"})
    elif local == "active" and _listed(diag) and _broken_membership(diag, is_manager, just_started):
        out.append({"step": "leave", "why": _broken_membership(diag, is_manager, just_started)})
        out.append({"step": "join", "why": "rejoin after leaving"})
    elif local == "inactive":
        out.append({"step": "join", "why": "the node is not in the swarm"})
    elif not engine_up:
        out.append(
            {"step": "join", "why": "rejoin if the node is not back in the swarm once the engine runs"}
        )
    if (
        is_manager
        and not just_started
        and engine_up
        and local == "active"
        and diag.get("node_role") == "manager"
        and diag.get("reachability") not in (None, "", "reachable")
    ):
        out.append(
            {
                "step": "restart",
                "why": "the other managers see this manager as %s: restart its engine" % diag["reachability"],
            }
        )
    if diag.get("node_role") != role:
        out.append(
            {
                "step": "role",
                "why": "the swarm has it as %s; the inventory says %s"
                % (diag.get("node_role") or "none", role),
            }
        )
    if diag.get("labels_missing"):
        out.append(
            {"step": "labels", "why": "labels missing or different: %s" % ", ".join(diag["labels_missing"])}
        )
    if diag.get("availability") != availability:
        out.append(
            {
                "step": "availability",
                "why": "availability is %s; the inventory says %s" % (diag.get("availability"), availability),
            }
        )
    disk, inodes = int(diag.get("disk_pct") or 0), int(diag.get("inode_pct") or 0)
    if disk >= threshold or inodes >= threshold:
        out.append(
            {
                "step": "disk",
                "why": "free disk (unused images, stopped containers, build cache; never volumes): "
                "disk %d %%, inodes %d %% (threshold %d %%)" % (disk, inodes, threshold),
            }
        )
    return sorted(out, key=lambda s: STEPS.index(s["step"]))
