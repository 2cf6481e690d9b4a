"""stack_converge's verdicts from the Engine API's services and tasks."""

import pytest
from ansible_collections.sophia.lambda_swarm.plugins.module_utils import _stack_converge as cv

SPEC = {"Image": "reg/x@sha256:new"}
OLD = {"Image": "reg/x@sha256:old"}


def service(replicas=2, update=None, mode=None):
    svc = {
        "ID": "s1",
        "Spec": {
            "Name": "mcp_x",
            "Mode": mode or {"Replicated": {"Replicas": replicas}},
            "TaskTemplate": {"ContainerSpec": SPEC},
        },
    }
    if update:
        svc["UpdateStatus"] = update
    return svc


def task(state="running", desired="running", spec=None, err=None, node="n1", ts="2026-11-24T10:00:00.5Z"):
    status = {"State": state, "Timestamp": ts}
    if err:
        status["Err"] = err
    return {
        "ID": "t" * 25,
        "ServiceID": "s1",
        "NodeID": node,
        "DesiredState": desired,
        "Status": status,
        "Spec": {"ContainerSpec": spec or SPEC},
    }


def test_parse_time_handles_nanoseconds_and_zero():
    assert cv.parse_time("1970-01-01T00:00:10.123456789Z") == 10.123456789
    assert cv.parse_time("0001-01-01T00:00:00Z") == 0.0
    assert cv.parse_time("1970-01-01T01:00:00+01:00") == 0.0


def test_done_when_desired_replicas_run_the_current_spec():
    state = cv.service_state(service(2), [task(), task(node="n2")])
    assert state["done"] and state["running"] == 2


def test_old_spec_tasks_do_not_count():
    state = cv.service_state(service(2), [task(), task(spec=OLD)])
    assert not state["done"] and state["running"] == 1


def test_an_update_in_progress_is_not_done():
    state = cv.service_state(service(1, {"State": "updating"}), [task()])
    assert not state["done"] and state["reason"] == "updating"


def test_a_rollback_of_this_run_fails_fast_one_before_it_does_not():
    update = {
        "State": "rollback_completed",
        "StartedAt": "2026-11-24T10:00:00Z",
        "Message": "update rolled back",
    }
    since = cv.parse_time("2026-11-24T09:59:00Z")
    failed = cv.service_state(service(1, update), [task()], since=since)
    assert failed["failed"] and "rolled back" in failed["reason"]
    later = cv.parse_time("2026-11-24T10:05:00Z")
    earlier = cv.service_state(service(1, update), [task()], since=later)
    assert not earlier["failed"] and earlier["done"]


def _paused_by(task_id):
    return {
        "State": "paused",
        "Message": "update paused due to failure or early termination of task " + task_id,
    }


def test_a_pause_by_a_failure_of_the_current_spec_fails():
    broken = dict(task(state="failed", desired="shutdown", err="task: non-zero exit (1)"), ID="b" * 25)
    state = cv.service_state(service(2, _paused_by("b" * 25)), [task(), task(spec=OLD, node="n2"), broken])
    assert state["failed"] and "update paused" in state["reason"]
    # a message naming no task it can find is taken as such a failure too
    assert cv.service_state(service(2, {"State": "paused", "Message": "paused"}), [task()])["failed"]


def test_a_pause_by_an_old_spec_task_waits_for_the_restarts():
    # a restore: the restored spec's image is gone, its tasks are rejected while the update runs
    old = dict(task(state="rejected", desired="shutdown", spec=OLD, err="No such image"), ID="o" * 25)
    state = cv.service_state(service(2, _paused_by("o" * 25)), [task(), old, task(spec=OLD, node="n2")])
    assert not state["failed"] and not state["done"] and "waiting" in state["reason"]
    # a task of the current spec the orchestrator ended without an error: no failure either
    ended = dict(task(state="shutdown", desired="shutdown"), ID="e" * 25)
    state = cv.service_state(service(2, _paused_by("e" * 25)), [task(), ended])
    assert not state["failed"] and not state["done"]


def test_a_stale_pause_with_every_slot_on_the_current_spec_is_done():
    broken = dict(task(state="failed", desired="shutdown", err="exit 1"), ID="b" * 25)
    state = cv.service_state(service(2, _paused_by("b" * 25)), [task(), task(node="n2"), broken])
    assert state["done"] and not state["failed"]


def test_crash_loop_fails_with_the_task_errors():
    tasks = [task(state="failed", desired="shutdown", err="task: non-zero exit (1)") for dummy in range(3)]
    tasks.append(task(state="starting"))
    state = cv.service_state(service(1), tasks)
    assert state["failed"] and "non-zero exit (1)" in state["reason"]


def test_pending_reason_is_reported():
    state = cv.service_state(
        service(1), [task(state="pending", err="no suitable node (scheduling constraints)")]
    )
    assert not state["failed"] and "no suitable node" in state["reason"]


def test_global_service_wants_one_task_per_placed_node():
    svc = service(mode={"Global": {}})
    assert cv.service_state(svc, [task(node="n1"), task(node="n2")])["done"]
    assert not cv.service_state(svc, [task(node="n1"), task(node="n2", state="starting")])["done"]


def test_replicated_job_done_when_complete():
    svc = service(mode={"ReplicatedJob": {"TotalCompletions": 2}})
    tasks = [
        task(state="complete", desired="complete"),
        task(state="complete", desired="complete", node="n2"),
    ]
    assert cv.service_state(svc, tasks)["done"]
    assert not cv.service_state(svc, tasks[:1])["done"]


def test_stack_state_sorts_and_collects_failures():
    result = cv.stack_state([service(1)], [task()])
    assert result["done"] and result["failed"] == []


# Generic resources: nodes as /nodes returns them, tasks as /tasks (shapes of the Engine API:
# Description.Resources.GenericResources, Spec.Resources.Reservations.GenericResources).
PENDING_ERR = "no suitable node (insufficient resources on 2 nodes)"


def test_two_running_tasks_of_the_current_spec_in_a_one_replica_service_are_a_surplus():
    # what restore.yml met: the restored task restarted while the deploy replaced it
    state = cv.stack_state([service(replicas=1)], [task(node="n1"), task(node="n2")])
    assert not state["done"] and not state["failed"]
    assert cv.surplus_services(state) == ["mcp_x"]


@pytest.mark.parametrize(
    ("svc", "tasks"),
    [
        (service(replicas=2), [task(node="n1"), task(node="n2")]),  # converged
        (
            service(replicas=1, update={"State": "updating"}),
            [task(node="n1"), task(node="n2")],
        ),  # start-first
        (service(replicas=1), [task(node="n1"), task(node="n2", spec=OLD)]),  # the old one stopping
        (service(mode={"Global": {}}), [task(node="n1"), task(node="n2")]),  # one per node is right
    ],
)
def test_no_surplus_while_updating_converged_or_global(svc, tasks):
    assert cv.surplus_services(cv.stack_state([svc], tasks)) == []


def gpu_node(name, uuids, state="ready", availability="active", discrete=None):
    resources = [{"NamedResourceSpec": {"Kind": "NVIDIA-GPU", "Value": u}} for u in uuids]
    if discrete:
        resources.append({"DiscreteResourceSpec": {"Kind": discrete[0], "Value": discrete[1]}})
    return {
        "ID": "id-" + name,
        "Spec": {"Availability": availability},
        "Status": {"State": state},
        "Description": {"Hostname": name, "Resources": {"GenericResources": resources}},
    }


def gpu_task(node=None, gpus=1, state="running", desired="running", err=None, kind="NVIDIA-GPU"):
    t = task(state=state, desired=desired, err=err, node=node)
    t["Spec"]["Resources"] = {
        "Reservations": {"GenericResources": [{"DiscreteResourceSpec": {"Kind": kind, "Value": gpus}}]}
    }
    return t


NODES = [gpu_node("lab-w1", ["GPU-a", "GPU-b"]), gpu_node("lab-w2", ["GPU-c"]), gpu_node("lab-m1", [])]


@pytest.mark.parametrize(
    ("nodes", "running", "free"),
    [
        (NODES, [], {"lab-m1": {}, "lab-w1": {"NVIDIA-GPU": 2}, "lab-w2": {"NVIDIA-GPU": 1}}),
        (NODES, [gpu_task("id-lab-w1")], {"lab-m1": {}, "lab-w1": {"NVIDIA-GPU": 1}, "lab-w2": {"NVIDIA-GPU": 1}}),
        (NODES, [gpu_task("id-lab-w1", 2), gpu_task("id-lab-w2")],
         {"lab-m1": {}, "lab-w1": {"NVIDIA-GPU": 0}, "lab-w2": {"NVIDIA-GPU": 0}}),
        # a task starting holds its GPU; one shut down or pending does not
        (NODES, [gpu_task("id-lab-w2", state="starting"), gpu_task("id-lab-w1", state="shutdown", desired="shutdown"),
                 gpu_task(None, state="pending", err=PENDING_ERR)],
         {"lab-m1": {}, "lab-w1": {"NVIDIA-GPU": 2}, "lab-w2": {"NVIDIA-GPU": 0}}),
        # drained and down nodes offer nothing
        ([gpu_node("lab-w1", ["GPU-a"], availability="drain"), gpu_node("lab-w2", ["GPU-c"], state="down")], [], {}),
        # a discrete resource counts its value
        ([gpu_node("lab-w1", [], discrete=("SSD", 3))], [gpu_task("id-lab-w1", kind="SSD")], {"lab-w1": {"SSD": 2}}),
    ],
)  # fmt: skip
def test_node_free_is_announced_minus_running_reservations(nodes, running, free):
    assert {n["node"]: n["free"] for n in cv.node_free(nodes, running)} == free


def test_a_gpu_task_no_node_can_take_fails_with_the_free_counts():
    running = [gpu_task("id-lab-w1"), gpu_task("id-lab-w1"), gpu_task("id-lab-w2")]
    pending = gpu_task(None, state="pending", err=PENDING_ERR)
    free = cv.node_free(NODES, running)
    state = cv.service_state(service(4), [*running, pending], free=free)
    assert state["failed"]
    assert state["reason"] == (
        "pending: no node has 1 free NVIDIA-GPU (lab-m1: 0 free, lab-w1: 0 free, lab-w2: 0 free)"
    )
    assert state["pending_resources"]["free"] == {"lab-m1": 0, "lab-w1": 0, "lab-w2": 0}


def test_two_gpus_wanted_one_free_on_each_node():
    running = [gpu_task("id-lab-w1")]
    pending = gpu_task(None, gpus=2, state="pending", err=PENDING_ERR)
    free = cv.node_free(NODES, running)
    state = cv.service_state(service(1), [pending], free=free)
    assert state["failed"] and state["reason"].startswith("pending: no node has 2 free NVIDIA-GPU (")
    assert "lab-w1: 1 free" in state["reason"] and "lab-w2: 1 free" in state["reason"]


def test_pending_while_a_node_has_enough_keeps_waiting():
    # the scheduler has not caught up with a GPU just freed: not a failure yet
    pending = gpu_task(None, state="pending", err=PENDING_ERR)
    state = cv.service_state(service(1), [pending], free=cv.node_free(NODES, []))
    assert not state["failed"] and not state["done"]
    assert "insufficient resources" in state["reason"]


def test_other_pending_reasons_are_not_a_resource_failure():
    pending = gpu_task(
        None, state="pending", err="no suitable node (scheduling constraints not satisfied on 3 nodes)"
    )
    free = cv.node_free(NODES, [gpu_task("id-lab-w1", 2), gpu_task("id-lab-w2")])
    assert not cv.waiting_for_resources([pending])
    assert not cv.service_state(service(1), [pending], free=free)["failed"]


def test_without_free_counts_a_resource_pending_task_only_waits():
    pending = gpu_task(None, state="pending", err=PENDING_ERR)
    assert cv.waiting_for_resources([pending])
    assert not cv.service_state(service(1), [pending])["failed"]


def test_during_an_update_a_pending_gpu_task_is_not_failed():
    pending = gpu_task(None, state="pending", err=PENDING_ERR)
    free = cv.node_free(NODES, [gpu_task("id-lab-w1", 2), gpu_task("id-lab-w2")])
    state = cv.service_state(service(1, {"State": "updating"}), [pending], free=free)
    assert not state["failed"] and state["reason"] == "updating"


def test_stack_state_passes_the_free_counts_on():
    free = cv.node_free(NODES, [gpu_task("id-lab-w1", 2), gpu_task("id-lab-w2")])
    result = cv.stack_state([service(1)], [gpu_task(None, state="pending", err=PENDING_ERR)], free=free)
    assert [s["reason"] for s in result["failed"]] == [
        "pending: no node has 1 free NVIDIA-GPU (lab-m1: 0 free, lab-w1: 0 free, lab-w2: 0 free)"
    ]


@pytest.mark.parametrize(
    ("entries", "counts"),
    [
        (None, {}),
        ([], {}),
        ([{"NamedResourceSpec": {"Kind": "NVIDIA-GPU", "Value": "GPU-a"}},
          {"NamedResourceSpec": {"Kind": "NVIDIA-GPU", "Value": "MIG-b"}}], {"NVIDIA-GPU": 2}),
        ([{"DiscreteResourceSpec": {"Kind": "NVIDIA-GPU", "Value": 3}}], {"NVIDIA-GPU": 3}),
        ([{"NamedResourceSpec": {"Value": "no-kind"}}], {}),
    ],
)  # fmt: skip
def test_count_generic(entries, counts):
    assert cv.count_generic(entries) == counts


def inspected(host, engine, role="worker", kinds=("NVIDIA-GPU",)):
    """A node as `docker node inspect` gives it (the fields read; shape of Engine API 1.41)."""
    resources = [
        {"NamedResourceSpec": {"Kind": kind, "Value": "GPU-%s-%d" % (host, i)}}
        for i, kind in enumerate(kinds)
    ]
    return {"ID": "id-" + host, "Spec": {"Role": role, "Availability": "active"},
            "Description": {"Hostname": host, "Engine": {"EngineVersion": engine},
                            "Resources": {"NanoCPUs": 2000000000, "MemoryBytes": 1 << 30,
                                          "GenericResources": resources or None}}}  # fmt: skip


def test_managers_whose_swarm_rejects_gpu_tasks_are_named_when_a_node_has_gpus():
    nodes = [
        inspected("m1", "20.10.24+dfsg1", "manager", kinds=()),  # Debian 12's docker.io: the enforcer bug
        inspected("m2", "26.1.3", "manager", kinds=()),
        inspected("m3", "22.06.0-beta.0", "manager", kinds=()),
        inspected("w1", "20.10.24+dfsg1"),  # a worker's engine does not enforce
        inspected("w2", "26.1.3", kinds=("VRAM",)),
        {"ID": "odd"},  # nothing reported
    ]
    assert cv.gpu_nodes(nodes, "NVIDIA-GPU") == {
        "announcing": ["w1"],
        "kinds": ["NVIDIA-GPU", "VRAM"],
        "old_managers": ["m1 (engine 20.10.24+dfsg1)", "m3 (engine 22.06.0-beta.0)"],
    }
    # no node announces the kind: no GPU task can run anywhere, nothing about managers
    assert cv.gpu_nodes(nodes, "gpu") == {
        "announcing": [],
        "kinds": ["NVIDIA-GPU", "VRAM"],
        "old_managers": [],
    }


def test_tasks_given_to_a_node_that_never_starts_them_are_stuck_after_90_s():
    now = cv.parse_time("2026-12-03T19:22:00Z")

    def task(i, state, at, desired="running", node="w2"):
        return {"ID": "task%d" % i, "NodeID": node, "DesiredState": desired,
                "Status": {"State": state, "Timestamp": at}}  # fmt: skip

    tasks = [
        task(1, "assigned", "2026-12-03T19:12:00Z"),  # 600 s: stuck
        task(2, "accepted", "2026-12-03T19:20:00Z"),  # 120 s: stuck
        task(3, "assigned", "2026-12-03T19:21:00Z"),  # 60 s: not yet
        task(4, "preparing", "2026-12-03T19:00:00Z"),  # a slow pull: not this
        task(5, "assigned", "2026-12-03T19:00:00Z", desired="shutdown"),  # on its way out
        task(6, "running", "2026-12-03T19:00:00Z", node="w1"),
    ]
    stuck = cv.stuck_tasks(tasks, now)
    assert [(t["id"], t["state"], t["seconds"]) for t in stuck] == [
        ("task1", "assigned", 600),
        ("task2", "accepted", 120),
    ]
    report = cv.stuck_report(stuck, {"w2": "lswarm-w2"})
    assert "lswarm-w2 (2 task(s), the oldest assigned for 600 s)" in report
    assert "restart it" in report and "remediate.yml -l NODE" in report
    assert "unknown-node" in cv.stuck_report(
        [{"id": "x", "node": "unknown-node", "state": "assigned", "seconds": 91}], {}
    )


# the Engine API's task after moby/moby issue 34864 (recorded in CI on 2026-12-07, after
# `docker swarm init --force-new-cluster`: the survivor rejected each gateway task it was given)
OUT_OF_SWARM = "cannot create a swarm scoped network when swarm is not active"


def rejected(node="n1", ts="2026-11-24T10:00:01Z"):
    return task(state="rejected", desired="shutdown", err=OUT_OF_SWARM, node=node, ts=ts)


def test_rejections_by_a_node_out_of_the_swarm_are_no_crash_loop():
    state = cv.service_state(service(1), [*(rejected() for dummy in range(4)), task(state="pending")])
    assert not state["failed"] and not state["done"]
    # other errors still are
    failing = [task(state="failed", desired="shutdown", err="task: non-zero exit (1)") for dummy in range(3)]
    assert cv.service_state(service(1), [*failing, rejected()])["failed"]


def test_a_job_whose_tasks_a_node_out_of_the_swarm_rejected_is_not_failed():
    job = service(mode={"ReplicatedJob": {"TotalCompletions": 1}})
    assert not cv.service_state(job, [rejected(), rejected()])["failed"]


def test_out_of_swarm_nodes_counts_each_node_s_rejections_since_the_wait_began():
    after = cv.parse_time("2026-11-24T10:00:00Z")
    tasks = [
        rejected("n1"),
        rejected("n1", ts="2026-11-24T10:00:09Z"),
        rejected("n2"),  # one is not enough
        rejected("n3", ts="2026-11-24T09:59:00Z"),  # before the wait: maybe before the cure
        rejected("n3", ts="2026-11-24T09:59:30Z"),
        task(state="rejected", desired="shutdown", err="no such image", node="n4"),
        task(state="rejected", desired="shutdown", err="no such image", node="n4"),
    ]
    assert cv.out_of_swarm_nodes(tasks, after) == [{"id": "n1", "rejected": 2, "error": OUT_OF_SWARM}]
    assert [n["id"] for n in cv.out_of_swarm_nodes(tasks, 0)] == ["n1", "n3"]
    assert cv.out_of_swarm_nodes(tasks, after, count=1)[1]["id"] == "n2"
