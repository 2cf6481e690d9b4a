#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: stack_converge
short_description: Wait until every service of a swarm stack runs its desired replicas of its current spec
version_added: 0.1.0
description:
  - After C(docker stack deploy) (for example C(community.docker.docker_stack)), polls the
    Engine API until each service of the stack runs its desired replicas of its current
    container spec and no update is in progress (C(UpdateStatus) completed or absent).
    Replicated jobs count as done when their tasks complete.
  - Fails fast when an update of this run rolled back, or paused on a task of the new spec
    that failed with an error, with the failing tasks' errors and the last log lines of the
    service. An update paused by a task of the old spec (a restore's services, whose images
    the new registry lacks) or by one the orchestrator ended without an error is waited for;
    the restarts run the current spec, and once every slot does, the service counts as done.
  - "Fails fast when a task stays pending because no node has the generic resources it
    reserves (Swarm's C(no suitable node (insufficient resources on N nodes))), as
    C(pending: no node has N free <KIND>) with each schedulable node's free count: the node's
    announced generic resources (C(node-generic-resources), such as one C(NVIDIA-GPU) per GPU)
    less what the tasks running there reserve, counting every stack's tasks. While some node
    still has enough free (the scheduler has not caught up) it keeps waiting."
  - Fails at O(timeout) with what each unconverged service lacks.
  - A read the manager refuses while the raft elects a leader after a manager restarted
    (C(does not have a leader), C(lost leader status)) is repeated until O(timeout); a node
    that is no manager fails at once.
  - Changes nothing; run it on a swarm manager.
author:
  - sophia.lambda_swarm developers (@sophia-lambda-swarm)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - sophia.lambda_swarm.attributes
options:
  stack:
    description: The stack's name (services carry the label C(com.docker.stack.namespace)).
    type: str
    required: true
  timeout:
    description: Seconds to wait in all.
    type: int
    default: 300
  interval:
    description: Seconds between polls.
    type: float
    default: 2
  surplus_grace:
    description:
      - Seconds a replicated service may run more tasks of its current spec than its replicas,
        with no update going on, before the wait stops and fails with the services in
        RV(surplus) (an engine can leave two running tasks in one slot, seen after a restore;
        C(docker service update --force) leaves one per slot). A start-first update has both
        tasks running only for a moment.
    type: int
    default: 30
  stop_out_of_swarm:
    description:
      - End the wait at once, with the nodes in RV(out_of_swarm), when a node has rejected two
        tasks during the wait with C(cannot create a swarm scoped network when swarm is not
        active) (its network agent is out of the swarm while its engine is in it, moby/moby
        issue 34864), so that the caller restarts that node's engine and waits again.
      - Without it the wait goes on (the scheduler may place the tasks elsewhere) and names such
        nodes only when it fails. Either way such rejections never count as a crash loop, and a
        failed update they caused is reported with the nodes.
    type: bool
    default: false
    version_added: 0.2.0
  since:
    description:
      - Epoch seconds when this deploy started. A rollback that started earlier belongs to an
        earlier run (its spec is the one running now) and is not reported as a failure.
    type: float
    default: 0
  log_lines:
    description: Log lines of a failing service to return.
    type: int
    default: 20
  docker_socket:
    description: The Docker Engine's Unix socket.
    type: path
    default: /var/run/docker.sock
"""

EXAMPLES = r"""
- name: Wait for the stack
  sophia.lambda_swarm.stack_converge:
    stack: mcp
    timeout: 300
    since: "{{ deploy_started }}"
"""

RETURN = r"""
services:
  description: One entry per service, sorted by name.
  returned: always
  type: list
  elements: dict
  sample:
    - {name: mcp_ai_memory, mode: replicated, desired: 1, running: 1, update: completed,
       done: true, failed: false, reason: ""}
  contains:
    pending_resources:
      description:
        - Only on a service failed for want of generic resources, C(kind) and C(wanted) (what
          its pending task reserves), C(free) (per schedulable node, by hostname, how many of
          that kind are free) and C(reason).
      returned: when a task cannot be placed for want of generic resources
      type: dict
      sample: {kind: NVIDIA-GPU, wanted: 1, free: {lab-m1: 0, lab-w1: 0},
               reason: "pending: no node has 1 free NVIDIA-GPU (lab-m1: 0 free, lab-w1: 0 free)"}
seconds:
  description: Seconds waited.
  returned: always
  type: float
surplus:
  description: >-
    The replicated services that ran more tasks than their replicas for longer than
    O(surplus_grace).
  returned: failure, when the surplus ended the wait
  type: list
  elements: str
stuck:
  description:
    - On a timeout, the tasks that should run but have stayed C(assigned) or C(accepted) for
      90 s or more (given to a node that has not begun to prepare them), oldest first. The
      message names their nodes by hostname; such a node's engine no longer works its tasks
      and needs a restart.
  returned: failure, when the wait timed out
  type: list
  elements: dict
  sample: [{id: t5e7124xlf9i, node: bbaec58097c5, state: assigned, seconds: 240}]
out_of_swarm:
  description:
    - The nodes (by hostname) that rejected two or more tasks during this wait with
      C(cannot create a swarm scoped network when swarm is not active). Their network agent is
      out of the swarm while their engine is in it (moby/moby issue 34864, seen on the survivor
      after C(docker swarm init --force-new-cluster)), and it stays so until their engine
      restarts. Such rejections never count as a crash loop of the service.
  returned: >-
    failure, when such nodes ended the wait (O(stop_out_of_swarm), or a service failed
    meanwhile) or were seen when it timed out
  type: list
  elements: str
  sample: [lab-m1]
logs:
  description: Last log lines of each failing service (on failure).
  returned: failure
  type: dict
"""

import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._docker_api import (
    DockerAPI,
    DockerAPIError,
    demux_logs,
)
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._stack_converge import (
    node_free,
    out_of_swarm_nodes,
    stack_state,
    stuck_report,
    stuck_tasks,
    surplus_services,
    task_errors,
    waiting_for_resources,
)


def snapshot(api, stack):
    label = "com.docker.stack.namespace=%s" % stack
    services = api.get("/services", filters=api.filters(label=label))
    tasks = api.get("/tasks", filters=api.filters(label=label)) if services else []
    return services, tasks


def cluster_free(api):
    """Free generic resources per node: every node, and every stack's running tasks."""
    nodes = api.get("/nodes")
    running = api.get("/tasks", filters=api.filters(**{"desired-state": "running"}))
    return node_free(nodes, running)


def transient_read_error(exc):
    """Whether a failed read of the swarm is worth repeating: the manager answered, with an
    error of a raft that is electing a leader (HTTP 5xx, not "not a swarm manager")."""
    if not isinstance(exc, DockerAPIError) or exc.status < 500:
        return False
    text = str(exc.message).lower()
    return "not a swarm manager" not in text and (
        "leader" in text or "deadline exceeded" in text or "raft" in text or "unavailable" in text
    )


def hostnames_of(api):
    """{node ID: hostname} of the swarm's nodes; empty when the read fails (only for messages)."""
    try:
        return dict((n.get("ID"), (n.get("Description") or {}).get("Hostname")) for n in api.get("/nodes"))
    except (DockerAPIError, OSError):
        return {}


def out_of_swarm_report(api, nodes):
    """(sentence, hostnames) on the nodes that reject tasks because their network agent left the
    swarm: what happens and the cure."""
    hostnames = hostnames_of(api)
    named = [dict(node, node=hostnames.get(node["id"]) or node["id"][:12]) for node in nodes]
    sentence = (
        '%s reject(s) every task with "%s": the node\'s network agent is out of the swarm while '
        "its engine is in it (moby/moby issue 34864, seen after --force-new-cluster); restart the "
        "engine there (systemctl restart docker, or playbooks/remediate.yml -l NODE) and the tasks run"
        % (", ".join("%s (%d task(s))" % (n["node"], n["rejected"]) for n in named), named[0]["error"])
    )
    return sentence, [n["node"] for n in named]


def fail_out_of_swarm(module, api, state, nodes, waited):
    """The wait's end when nodes reject tasks because their network agent left the swarm (and
    what failed meanwhile: an update those rejections rolled back, for one)."""
    sentence, names = out_of_swarm_report(api, nodes)
    failed = ["%s: %s" % (s["name"], s["reason"]) for s in state["failed"]]
    module.fail_json(
        msg="stack_converge: %s cannot converge: %s%s"
        % (module.params["stack"], sentence, ("; meanwhile " + "; ".join(failed)) if failed else ""),
        services=state["services"],
        seconds=waited,
        out_of_swarm=names,
    )


def fail_timeout(module, api, state, tasks, waited, started):
    """The wait's end: what each service lacks, the nodes that never started their tasks, and
    those that rejected them because their network agent left the swarm."""
    p = module.params
    lacking = ["%s: %s" % (s["name"], s["reason"]) for s in state["services"] if not s["done"]]
    stuck = stuck_tasks(tasks, time.time())
    extra = ""
    if stuck:
        extra = ". " + stuck_report(stuck, hostnames_of(api))
    gone = out_of_swarm_nodes(tasks, started)
    more = {}
    if gone:
        sentence, more["out_of_swarm"] = out_of_swarm_report(api, gone)
        extra += ". " + sentence
    module.fail_json(
        msg="stack_converge: %s not converged after %ds: %s%s"
        % (p["stack"], p["timeout"], "; ".join(lacking), extra),
        services=state["services"],
        seconds=waited,
        stuck=stuck,
        **more,
    )


def main():
    module = AnsibleModule(
        argument_spec=dict(
            stack=dict(type="str", required=True),
            timeout=dict(type="int", default=300),
            interval=dict(type="float", default=2),
            since=dict(type="float", default=0),
            log_lines=dict(type="int", default=20),
            surplus_grace=dict(type="int", default=30),
            stop_out_of_swarm=dict(type="bool", default=False),
            docker_socket=dict(type="path", default="/var/run/docker.sock"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    api = DockerAPI(p["docker_socket"])
    started = time.time()
    state = None
    surplus_since = {}
    while True:
        try:
            services, tasks = snapshot(api, p["stack"])
        except (DockerAPIError, OSError) as exc:
            # a manager answers "does not have a leader" or "lost leader status" for a few seconds
            # while the raft elects one (a manager restarted): read again until the timeout; a node
            # that is no manager, or an engine that does not answer at all, fails at once
            if not transient_read_error(exc) or time.time() - started >= p["timeout"]:
                module.fail_json(
                    msg="stack_converge: cannot read the swarm (%s); run this on a manager" % exc
                )
            time.sleep(p["interval"])
            continue
        if not services:
            module.fail_json(msg="stack_converge: stack %r has no services; was it deployed?" % p["stack"])
        free = None
        if waiting_for_resources(tasks):
            try:
                free = cluster_free(api)
            except (DockerAPIError, OSError) as exc:
                module.fail_json(msg="stack_converge: cannot read the swarm's nodes (%s)" % exc)
        state = stack_state(services, tasks, since=p["since"], free=free)
        waited = round(time.time() - started, 1)
        # before the other verdicts: such rejections also pause or roll back an update
        gone = out_of_swarm_nodes(tasks, started)
        if gone and (p["stop_out_of_swarm"] or state["failed"]):
            fail_out_of_swarm(module, api, state, gone, waited)
        if state["failed"]:
            logs = {}
            by_name = dict((s["Spec"]["Name"], s) for s in services)
            lines = []
            for bad in state["failed"]:
                service = by_name[bad["name"]]
                own = [t for t in tasks if t.get("ServiceID") == service["ID"]]
                try:
                    status, data = api.raw(
                        "GET",
                        "/services/%s/logs?stdout=1&stderr=1&tail=%d" % (service["ID"], p["log_lines"]),
                    )
                    logs[bad["name"]] = demux_logs(data) if status == 200 else ["(logs: HTTP %s)" % status]
                except OSError as exc:
                    logs[bad["name"]] = ["(logs unavailable: %s)" % exc]
                lines.append("%s: %s; tasks: %s" % (bad["name"], bad["reason"], task_errors(own)))
            module.fail_json(
                msg="stack_converge: %s failed to converge:\n%s" % (p["stack"], "\n".join(lines)),
                services=state["services"],
                seconds=waited,
                logs=logs,
            )
        if state["done"]:
            module.exit_json(changed=False, services=state["services"], seconds=waited)
        now = time.time()
        surplus_since = dict((name, surplus_since.get(name, now)) for name in surplus_services(state))
        stuck = sorted(name for name, since in surplus_since.items() if now - since >= p["surplus_grace"])
        if stuck:
            module.fail_json(
                msg="stack_converge: %s runs more tasks than its replicas for %ds: %s"
                % (p["stack"], p["surplus_grace"], ", ".join(stuck)),
                services=state["services"],
                seconds=waited,
                surplus=stuck,
            )
        if waited >= p["timeout"]:
            fail_timeout(module, api, state, tasks, waited, started)
        time.sleep(p["interval"])


if __name__ == "__main__":
    main()
