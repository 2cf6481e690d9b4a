"""The node's textfile collector script (roles/monitoring/files/lambda_swarm_textfile.py): a
container that goes away between the listing and its stats is skipped, any other engine
error still fails the collector."""

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
# on the node the collection's helpers sit beside the script; here they are in module_utils
sys.path.insert(0, str(ROOT / "plugins" / "module_utils"))
_spec = importlib.util.spec_from_file_location(
    "lambda_swarm_textfile", ROOT / "roles" / "monitoring" / "files" / "lambda_swarm_textfile.py"
)
collector = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(collector)

STATS = {
    "cpu_stats": {"cpu_usage": {"total_usage": 2_000_000_000}, "online_cpus": 2},
    "memory_stats": {"usage": 50_000_000, "limit": 1_000_000_000},
}


class FakeAPI:
    def __init__(self, containers, errors):
        self.containers, self.errors = containers, errors

    def get(self, path):
        assert path == "/containers/json"
        return self.containers

    def call(self, method, path, query=None):
        cid = path.split("/")[2]
        if cid in self.errors:
            raise collector.DockerAPIError(self.errors[cid], method, path, "gone")
        return STATS


def _container(cid, service):
    return {
        "Id": cid,
        "Names": ["/" + service + ".1.x"],
        "Labels": {"com.docker.swarm.service.name": service},
    }


def test_a_container_gone_before_its_stats_is_skipped():
    api = FakeAPI([_container("a", "mcp_ai_memory"), _container("b", "mcp_signer")], {"b": 404})
    samples = collector.containers(api)
    services = {labels["service"] for _name, labels, _value in samples}
    assert services == {"mcp_ai_memory"}


def test_any_other_engine_error_fails_the_collector():
    api = FakeAPI([_container("a", "mcp_ai_memory")], {"a": 500})
    with pytest.raises(collector.DockerAPIError):
        collector.containers(api)
