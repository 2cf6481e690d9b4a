"""GPU isolation on Swarm, on the lab, with a STAND-IN of NVIDIA's stack (lab/nvidia-standin).

There is no GPU here. lab/up.sh installs on the workers a Debian package named
nvidia-container-toolkit whose nvidia-smi, nvidia-ctk, nvidia-container-cli and
nvidia-container-runtime are stand-ins: nvidia-smi reports the node's fake GPUs
(/etc/lab-gpus.json: two on the first worker, one on the second), and the runtime, registered by
the docker role as the engine's `nvidia` runtime like the real one, reproduces the documented
behaviour of toolkit 1.18.1: it reads the variables named in `swarm-resource` only in legacy
mode (auto means jit-cdi there, which ignored Swarm: NVIDIA's toolkit issue 1599), falls back
to NVIDIA_VISIBLE_DEVICES (`all` = every GPU, as CUDA images set it), records the devices it
would expose in the container's environment (NVIDIA_STANDIN_DEVICES) and runs runc. So what is
asserted here is what the roles configured (swarm-resource, the mode, the generic resources),
not the stand-in's own say-so: the control container at the end sees every GPU.
"""

import json
import subprocess
import sys
import time
from pathlib import Path

import labkit as lk
import pytest

sys.path.insert(0, str(lk.ROOT / ".collections"))
from ansible_collections.sophia.lambda_swarm.plugins.module_utils import _stack_converge as cv

pytestmark = pytest.mark.skipif(not lk.lab_up(), reason="no lab: run `make lab-up` first")

STACK = "gputest"
KIND = "NVIDIA-GPU"
VARIABLE = "DOCKER_RESOURCE_NVIDIA-GPU"


def gpu_nodes():
    """{node: [uuid, ...]} of the lab's stand-in GPU nodes, from the nodes themselves."""
    gpus = {node: lk.node_gpus(node) for node, info in lk.hosts().items() if info["group"] == "workers"}
    return {node: found["uuids"] for node, found in gpus.items() if found}


def create(name, image, gpus, node=None):
    """A GPU service of the test stack, as the stack role would reserve it, but without an
    overlay network: this lab's engine (Debian 12's docker.io 20.10) has Swarm's constraint
    enforcer bug (moby/moby issue 44378) that rejects running GPU tasks on an update of their
    node, which a task attaching to an overlay network is (the stack role refuses GPU servers
    on such managers, see the last test). So the stack role's own `gpus: N` rendering is
    covered by the unit tests (tests/unit/plugins/test_stack_logic.py), not here."""
    # --with-registry-auth: the image is in the lab's registry, which wants credentials; a node
    # that has not pulled it yet pulls with the first manager's login, as a stack deploy does
    args = ["service", "create", "--detach", "--with-registry-auth", "--name", "%s_%s" % (STACK, name),
            "--label", "com.docker.stack.namespace=%s" % STACK,
            "--container-label", "com.docker.stack.namespace=%s" % STACK, "--generic-resource", "%s=%d" % (KIND, gpus),
            "--env", "NVIDIA_VISIBLE_DEVICES=all",  # as CUDA images set it
            "--no-healthcheck", "--stop-signal", "SIGKILL", "--stop-grace-period", "1s", "--entrypoint", "sleep"]  # fmt: skip
    if node:
        args += ["--constraint", "node.hostname == %s" % node]
    proc = lk.on_node(lk.first_manager(), *args, image, "3600", timeout=60)
    assert proc.returncode == 0, proc.stderr


def remove(*names):
    proc = lk.on_node(lk.first_manager(), "service", "rm", *("%s_%s" % (STACK, n) for n in names))
    assert proc.returncode == 0, proc.stderr
    lk.wait_for(lambda: not any(lk.service_tasks("%s_%s" % (STACK, n)) for n in names), 60,
                "the tasks of %s gone" % ", ".join(names), interval=1)  # fmt: skip


def converge(timeout=90):
    """stack_converge on the first manager: (ok, result)."""
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "ansible"), "-i", str(lk.LAB_INVENTORY), lk.first_manager(), "-b",
         "-m", "sophia.lambda_swarm.stack_converge", "-a", "stack=%s timeout=%d interval=1" % (STACK, timeout)],
        cwd=lk.ROOT, capture_output=True, text=True, timeout=timeout + 60, check=False,
        env={**lk.checkout_env(), "ANSIBLE_CALLBACK_RESULT_FORMAT": "json",
             "ANSIBLE_NOCOLOR": "1"},
    )  # fmt: skip
    _head, _sep, body = proc.stdout.partition("=>")
    assert body.strip(), proc.stdout + proc.stderr
    return proc.returncode == 0, json.loads(body)


def seen(name):
    """(node, assigned, seen): Swarm's assignment and the devices the container was given."""
    tasks = lk.service_tasks("%s_%s" % (STACK, name))
    assert len(tasks) == 1, tasks
    node, cid = tasks[0]
    environ = lk.on_node(node, "exec", cid, "cat", "/proc/1/environ").stdout.split("\0")
    env = dict(item.split("=", 1) for item in environ if "=" in item)
    return node, env.get(VARIABLE, "").split(","), env.get("NVIDIA_STANDIN_DEVICES", "").split(",")


def running(names):
    def check():
        return all(len(lk.service_tasks("%s_%s" % (STACK, n))) == 1 for n in names)

    lk.wait_for(check, 60, "one running task each of %s" % ", ".join(names), interval=1)


@pytest.fixture(scope="module")
def lab_gpus():
    nodes = gpu_nodes()
    by_count = sorted(nodes, key=lambda n: -len(nodes[n]))
    if len(by_count) < 2 or len(nodes[by_count[0]]) != 2 or len(nodes[by_count[1]]) != 1:
        pytest.skip("the GPU test needs the 3 + 2 lab (two stand-in GPUs on one worker, one on another)")
    image = lk.service_spec("mcp_text_tools")["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"]
    yield nodes, by_count[0], by_count[1], image
    left = lk.on_node(
        lk.first_manager(), "service", "ls", "-q", "--filter", "label=com.docker.stack.namespace=" + STACK
    )
    if left.stdout.split():
        lk.on_node(lk.first_manager(), "service", "rm", *left.stdout.split())


def test_the_roles_configured_the_runtime_and_announced_each_gpu(lab_gpus):
    nodes, two, one, _image = lab_gpus
    for node, uuids in nodes.items():
        conf = lk.docker("exec", node, "cat", "/etc/nvidia-container-runtime/config.toml").stdout
        assert 'swarm-resource = "%s"' % VARIABLE in conf, conf
        assert 'mode = "legacy"' in conf, conf  # toolkit 1.18.1: auto would ignore Swarm
        info = json.loads(lk.on_node(node, "info", "--format", "{{json .}}").stdout)
        assert info["DefaultRuntime"] == "nvidia"
        announced = lk.on_node(lk.first_manager(), "node", "inspect", node, "--format",
                               "{{json .Description.Resources.GenericResources}}").stdout  # fmt: skip
        values = sorted(r["NamedResourceSpec"]["Value"] for r in json.loads(announced) or [])
        assert values == sorted(uuids), announced
    del two, one


def test_each_task_sees_exactly_the_gpus_swarm_gave_it(lab_gpus):
    nodes, two, one, image = lab_gpus
    started = time.monotonic()
    for name, node in (("a", two), ("b", two), ("c", one)):
        create(name, image, 1, node)
    ok, result = converge()
    assert ok, result.get("msg")
    running(["a", "b", "c"])
    views = {name: seen(name) for name in ("a", "b", "c")}
    for name, (node, assigned, devices) in views.items():
        assert len(assigned) == 1 and assigned[0] in nodes[node], (name, node, assigned)
        assert devices == assigned, "%s sees %s but Swarm gave it %s" % (name, devices, assigned)
    assert views["a"][0] == views["b"][0] == two and views["c"][0] == one
    assert views["a"][2] != views["b"][2]  # two 1-GPU services on the 2-GPU node: distinct GPUs

    # one GPU service more than there are GPUs: pending, and the report says why
    create("d", image, 1)
    ok, result = converge(timeout=60)
    assert not ok
    assert "pending: no node has 1 free %s (" % KIND in result["msg"], result["msg"]
    assert "%s: 0 free" % two in result["msg"] and "%s: 0 free" % one in result["msg"], result["msg"]

    # a 2-GPU service gets both GPUs of the node that has two
    remove("a", "b", "d")
    create("e", image, 2)
    ok, result = converge()
    assert ok, result.get("msg")
    running(["c", "e"])
    node, assigned, devices = seen("e")
    assert node == two and sorted(assigned) == sorted(nodes[two]) and devices == nodes[two]

    # the node's GPU metrics name the task that holds each GPU (the monitoring role's collector)
    collect = "systemctl start lambda-swarm-textfile.service && cat /var/lib/lambda-swarm/textfile/lambda_swarm_gpu.prom"
    metrics = lk.docker("exec", two, "sh", "-c", collect).stdout
    for uuid in nodes[two]:
        wanted = 'lambda_swarm_gpu_assigned{gpu="%d",service="%s_e",stack="%s",task="%s_e.1",uuid="%s"} 1' % (
            nodes[two].index(uuid), STACK, STACK, STACK, uuid)  # fmt: skip
        assert wanted in metrics, metrics
    print("GPU isolation checked in %.1f s" % (time.monotonic() - started))


def test_without_a_swarm_assignment_the_runtime_shows_every_gpu(lab_gpus):
    """The control: the same image and NVIDIA_VISIBLE_DEVICES=all outside Swarm sees every GPU
    of the node, so the isolation above comes from the configuration, not from the stand-in."""
    nodes, two, _one, image = lab_gpus
    proc = lk.on_node(two, "run", "--rm", "--entrypoint", "cat", "-e", "NVIDIA_VISIBLE_DEVICES=all", image,
                      "/proc/1/environ")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    env = dict(item.split("=", 1) for item in proc.stdout.split("\0") if "=" in item)
    assert env["NVIDIA_STANDIN_DEVICES"].split(",") == nodes[two]


def test_the_stack_role_would_refuse_gpu_servers_on_this_engine(lab_gpus):
    """Debian 12's engine (20.10) has Swarm's constraint enforcer bug (moby/moby issue 44378):
    the leading manager rejects running GPU tasks on any update of their node. The stack role's
    check (filter mcp_gpu_nodes) sees the GPU nodes and names the managers it would refuse."""
    nodes, _two, _one, _image = lab_gpus
    manager = lk.first_manager()
    ids = lk.on_node(manager, "node", "ls", "-q").stdout.split()
    inspected = json.loads(lk.on_node(manager, "node", "inspect", *ids).stdout)
    engines = {n["Description"]["Hostname"]: n["Description"]["Engine"]["EngineVersion"] for n in inspected}
    managers = [h for h, info in lk.hosts().items() if info["group"] == "managers"]
    if any(int(engines[m].split(".")[0]) >= 23 for m in managers):
        pytest.skip("this lab's engine carries the fix (23.0 or later)")
    found = cv.gpu_nodes(inspected, KIND)
    assert found["announcing"] == sorted(nodes)
    assert found["old_managers"] == sorted("%s (engine %s)" % (m, engines[m]) for m in managers)
