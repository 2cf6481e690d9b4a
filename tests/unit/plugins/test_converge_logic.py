"""stack_converge's verdicts from the Engine API's services and tasks."""

from ansible_collections.sophia.lambda_swarm.plugins.module_utils import _converge as cv

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


def test_paused_update_fails():
    assert cv.service_state(
        service(1, {"State": "paused", "Message": "update paused due to failure"}), [task()]
    )["failed"]


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
