# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One run of sophia.lambda_swarm's textfile collectors for node exporter (a systemd timer
runs it). Each collector writes DIR/lambda_swarm_<collector>.prom atomically:

  node        lambda_swarm_node_info{node=...} (every node; joins node exporter's series to a name)
  containers  CPU and memory per container, from the engine's stats API (every node)
  swarm       nodes, managers, service replicas (managers only)
  mcp         mcp_health through this manager's gateway (--mcp-targets FILE, managers only)
  gpu         utilisation, memory, temperature, power per GPU, from nvidia-smi, labelled with
              the Swarm task that holds the GPU (--gpu-kind: its generic resource kind; GPU nodes)

A collector that fails writes lambda_swarm_textfile_collector_success 0 and nothing stale.
Standard library only; _docker_api, _mcp_health and _metrics are installed beside it."""

import argparse
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _metrics
from _docker_api import DockerAPI, DockerAPIError
from _mcp_health import check_all


def write(directory, name, samples, ok):
    samples = [
        *samples,
        ("textfile_collector_success", {"collector": name}, ok),
        ("textfile_collector_timestamp_seconds", {"collector": name}, int(time.time())),
    ]
    text = _metrics.render(samples)
    handle, tmp = tempfile.mkstemp(dir=directory, prefix=f".{name}.")  # not *.prom: not read
    with os.fdopen(handle, "w") as out:
        out.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, os.path.join(directory, f"lambda_swarm_{name}.prom"))


def containers(api):
    listed = api.get("/containers/json")
    stats = {}
    for container in listed:
        try:
            stats[container["Id"]] = api.call(
                "GET", f"/containers/{container['Id']}/stats", query={"stream": "false", "one-shot": "true"}
            )
        except DockerAPIError as exc:
            if exc.status != 404:
                raise
            # removed between the listing and its stats (tasks come and go): not an error
    return _metrics.container_samples(listed, stats)


def swarm(api):
    if not (api.get("/info").get("Swarm") or {}).get("ControlAvailable"):
        return []  # not a manager: nothing to say about the swarm
    tasks = api.call("GET", "/tasks", query={"filters": json.dumps({"desired-state": ["running"]})})
    return _metrics.swarm_samples(api.get("/nodes"), api.get("/services"), tasks)


def mcp(path):
    with open(path) as handle:
        targets = json.load(handle)
    full = [dict({"kind": "mcp", "era": "auto", "timeout": 5.0}, **t) for t in targets]
    # periodic: no session DELETE (it breaks mcp 1.9.x stateful session managers)
    results, _summary = check_all(
        full, deadline_s=20.0, retries=1, ssl_context=ssl.create_default_context(), close_session=False
    )
    return _metrics.mcp_samples(results)


def gpu_holders(api, kind):
    """{uuid: holder} from this node's running Swarm task containers (their environment)."""
    listed = api.get(
        "/containers/json", filters=DockerAPI.filters(label=_metrics.TASK_ID_LABEL, status="running")
    )
    inspected = []
    for container in listed:
        try:
            inspected.append(api.get(f"/containers/{container['Id']}/json"))
        except DockerAPIError as exc:
            if exc.status != 404:
                raise
            # removed between the listing and its inspection (tasks come and go): not an error
    return _metrics.gpu_holders(inspected, kind)


def gpu(api, kind):
    smi = shutil.which("nvidia-smi")
    if not smi:
        return []
    out = subprocess.run(  # noqa: S603  # a fixed command, no shell
        [smi, *_metrics.GPU_QUERY_ARGS], capture_output=True, text=True, timeout=20, check=True
    )
    try:
        holders = gpu_holders(api, kind)
    except (DockerAPIError, OSError, ValueError) as exc:
        # The engine could not be read: the telemetry is still written (holder labels empty,
        # no lambda_swarm_gpu_assigned) and the gpu collector still reports success, since
        # what it measures did not fail; the containers collector reports the engine's failure.
        print(f"lambda_swarm_textfile: gpu: holders unknown: {type(exc).__name__}: {exc}", file=sys.stderr)
        holders = None
    return _metrics.gpu_samples(out.stdout, holders)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True, help="node exporter's textfile directory")
    parser.add_argument("--socket", default="/var/run/docker.sock")
    parser.add_argument("--node", default=socket.gethostname())
    parser.add_argument("--mcp-targets", default="", help="JSON file: [{name, url}] (managers)")
    parser.add_argument("--gpu", action="store_true")
    parser.add_argument(
        "--gpu-kind", default="NVIDIA-GPU", help="generic resource kind the node announces its GPUs as"
    )
    args = parser.parse_args(argv)
    api = DockerAPI(args.socket, timeout=20)
    collectors = [
        ("node", lambda: [("node_info", {"node": args.node}, 1)]),
        ("containers", lambda: containers(api)),
        ("swarm", lambda: swarm(api)),
    ]
    if args.mcp_targets:
        collectors.append(("mcp", lambda: mcp(args.mcp_targets)))
    if args.gpu:
        collectors.append(("gpu", lambda: gpu(api, args.gpu_kind)))
    failed = 0
    for name, collect in collectors:
        try:
            samples, ok = collect(), True
        except Exception as exc:  # one collector's failure must not stop the others
            print(f"lambda_swarm_textfile: {name}: {type(exc).__name__}: {exc}", file=sys.stderr)
            samples, ok, failed = [], False, failed + 1
        write(args.dir, name, samples, ok)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
