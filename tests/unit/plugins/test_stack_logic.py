"""The stack role's logic: the MCP server registry checked, rendered as compose, and the
gateway's nginx configuration."""

import copy

import pytest
import yaml
from ansible_collections.sophia.lambda_swarm.plugins.filter.stack import mcp_gateway_targets
from ansible_collections.sophia.lambda_swarm.plugins.module_utils import _stack as st

SERVERS = [
    {
        "name": "ai_memory",
        "path": "backend/mcp_servers/ai_memory",
        "module": "backend.mcp_servers.ai_memory.server",
        "port": 8101,
        "volumes": ["ai_memory_data:/data"],
        "placement": ["node.labels.mcp.data == true"],
    },
    {
        "name": "signer",
        "path": "backend/mcp_servers/signer",
        "module": "backend.mcp_servers.signer.server",
        "port": 8102,
        "replicas": 2,
        "secrets": ["signer_key"],
    },
    {"name": "vision", "path": "backend/mcp_servers/vision", "module": "v.server", "port": 8104, "gpus": 1},
]
OPTS = {
    "images": {
        "ai_memory": "reg:5000/mcp/ai_memory@sha256:aa",
        "signer": "reg:5000/mcp/signer@sha256:bb",
        "vision": "reg:5000/mcp/vision@sha256:cc",
    },
    "profile": "lab",
    "network": "mcp",
    "secret_refs": [
        {
            "name": "signer_key",
            "versioned": "signer_key_0123456789ab",
            "target": "key",
            "uid": "10001",
            "gid": "0",
            "mode": "0400",
        }
    ],
    "gateway": {
        "image": "reg:5000/mcp/gateway@sha256:dd",
        "port": 443,
        "conf_file": "/srv/gateway.conf",
        "config_name": "gateway_conf_abc",
        "cert_secret": "gateway_tls_cert_1",
        "key_secret": "gateway_tls_key_1",
    },
}


def render(servers=None, opts=None):
    return st.compose(st.normalize(servers or SERVERS), opts or OPTS)


def test_same_input_same_bytes():
    one = yaml.safe_dump(render(), sort_keys=True)
    two = yaml.safe_dump(render(copy.deepcopy(SERVERS)[::-1][::-1], copy.deepcopy(OPTS)), sort_keys=True)
    assert one == two


def test_lab_profile_uses_dnsrr_and_host_ports_production_vip_and_ingress():
    lab = render()
    assert lab["services"]["signer"]["deploy"]["endpoint_mode"] == "dnsrr"
    assert lab["services"]["gateway"]["ports"][0]["mode"] == "host"
    prod = render(opts=dict(OPTS, profile="production"))
    assert prod["services"]["signer"]["deploy"]["endpoint_mode"] == "vip"
    assert prod["services"]["gateway"]["ports"][0]["mode"] == "ingress"


def test_every_service_updates_start_first_and_rolls_back():
    for name in ("ai_memory", "signer", "vision"):
        deploy = render()["services"][name]["deploy"]
        assert deploy["update_config"]["order"] == "start-first"
        assert deploy["update_config"]["failure_action"] == "rollback"
        assert deploy["rollback_config"]["order"] == "start-first"
        assert deploy["restart_policy"]["condition"] == "any"
        assert deploy["resources"]["limits"]["memory"] == "256M"


def test_secrets_are_files_under_their_versioned_names_never_environment():
    doc = render()
    signer = doc["services"]["signer"]
    assert signer["secrets"] == [
        {"source": "signer_key", "target": "key", "uid": "10001", "gid": "0", "mode": 0o400}
    ]
    assert doc["secrets"]["signer_key"] == {"external": True, "name": "signer_key_0123456789ab"}
    assert all("KEY" not in k for k in signer["environment"])


def test_gpu_servers_reserve_generic_resources_and_need_gpu_nodes():
    vision = render()["services"]["vision"]["deploy"]
    assert vision["resources"]["reservations"]["generic_resources"] == [
        {"discrete_resource_spec": {"kind": "NVIDIA-GPU", "value": 1}}
    ]
    assert "node.labels.gpu.count != 0" in vision["placement"]["constraints"]
    assert "reservations" not in render()["services"]["signer"]["deploy"]["resources"]


def test_volumes_and_placement():
    doc = render()
    assert doc["services"]["ai_memory"]["volumes"] == ["ai_memory_data:/data"]
    assert "ai_memory_data" in doc["volumes"]
    assert doc["services"]["ai_memory"]["deploy"]["placement"]["constraints"] == [
        "node.labels.mcp.data == true"
    ]


def test_gateway_reads_its_tls_files_as_www_data():
    gateway = render()["services"]["gateway"]
    assert {s["target"]: (s["uid"], s["mode"]) for s in gateway["secrets"]} == {
        "gateway.crt": ("33", 0o444),
        "gateway.key": ("33", 0o400),
    }
    assert gateway["deploy"]["mode"] == "global"


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"name": "Bad Name"}, "name"),
        ({"name": "gateway"}, "name"),
        ({"path": ""}, "path"),
        ({"module": None}, "module"),
        ({"port": 80}, "port"),
        ({"port": 8102}, "port"),
        ({"replicas": -1}, "replicas"),
        ({"volumes": ["/srv:/data"]}, "volumes"),
        ({"secrets": ["nope"]}, "secrets"),
    ],
)
def test_a_bad_entry_names_its_index_and_key(change, key):
    servers = copy.deepcopy(SERVERS)
    servers[0].update(change)
    with pytest.raises(st.RegistryError) as error:
        st.normalize(servers, secret_names=["signer_key"])
    assert str(error.value).startswith("mcp_servers[0]") or str(error.value).startswith("mcp_servers[1]")
    assert key in str(error.value)


def test_gateway_conf_routes_every_server_and_keeps_streams_unbuffered():
    conf = st.gateway_conf(st.normalize(SERVERS))
    for entry in SERVERS:
        assert "# route %s %d" % (entry["name"], entry["port"]) in conf
        assert "location = /%s/mcp" % entry["name"] in conf
    assert "proxy_buffering off;" in conf
    assert "proxy_next_upstream error timeout http_502 http_503;" in conf
    assert "location = /healthz" in conf
    assert conf == st.gateway_conf(st.normalize(list(reversed(SERVERS))))


def test_gateway_targets_skip_servers_scaled_to_zero():
    servers = [
        {"name": "a", "replicas": 2, "health": {"expect_tools": ["x", "y"]}},
        {"name": "b", "replicas": 0},
        {"name": "c"},
    ]
    assert mcp_gateway_targets(servers, "10.0.0.5", 8443) == [
        {"name": "a", "url": "https://10.0.0.5:8443/a/mcp", "expect_tools": ["x", "y"]},
        {"name": "c", "url": "https://10.0.0.5:8443/c/mcp", "expect_tools": []},
    ]
    assert mcp_gateway_targets(servers[:1], "h", 443, 5)[0]["timeout"] == 5
    assert mcp_gateway_targets(None, "h") == []


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"replica": 2}, r"mcp_servers\[0\] \(a\): replica is not a key.*did you mean replicas\?"),
        ({"imge": "x"}, r"imge is not a key.*did you mean image\?"),
        ({"zzz": 1}, r"zzz is not a key.*valid keys: command, cpus"),
        (
            {"health": {"expect_tool": ["x"]}},
            r"health.expect_tool is not a key.*did you mean health.expect_tools\?",
        ),
    ],
)
def test_unknown_keys_are_refused_with_the_closest_key(extra, message):
    entry = {"name": "a", "path": "p", "module": "m", "port": 8000}
    entry.update(extra)
    with pytest.raises(st.RegistryError, match=message):
        st.normalize([entry])


def test_an_image_entry_needs_no_path_or_module():
    (entry,) = st.normalize([{"name": "js", "image": "reg:5000/js/tools:1.0", "port": 8200}])
    assert entry["image"] == "reg:5000/js/tools:1.0" and entry["replicas"] == 1
    svc = st.service(entry, {"images": {}, "profile": "lab"})
    assert svc["image"] == "reg:5000/js/tools:1.0"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"image": "r/x:1", "path": "p"}, "path is set together with image"),
        ({"image": "r/x:1", "module": "m"}, "module is set together with image"),
        ({"image": "r x"}, "image is not an image reference"),
        ({"path": "p"}, "module, command and dockerfile are all missing"),
        ({}, "path is missing"),
    ],
)
def test_an_entry_is_either_built_or_an_image(entry, message):
    entry = dict(entry, name="a", port=8000)
    with pytest.raises(st.RegistryError, match=message):
        st.normalize([entry])


def test_a_server_with_its_own_dockerfile_needs_no_module():
    (entry,) = st.normalize(
        [{"name": "js", "path": "srv/js", "dockerfile": "srv/js/Dockerfile", "port": 8200}]
    )
    assert entry["dockerfile"] == "srv/js/Dockerfile"


def test_validate_servers_uses_the_stack_build_rules_and_skips_images():
    servers = st.validate_servers(
        [
            {"name": "a", "path": "backend/a", "module": "backend.a.server", "port": 8001, "secrets": ["k"]},
            {"name": "b", "image": "r/b:1", "port": 8002},
        ]
    )
    assert servers == [
        {
            "name": "a",
            "path": "backend/a",
            "module": "backend.a.server",
            "command": None,
            "port": 8001,
            "secrets": ["k"],
            "dockerfile": None,
            "context": ".",
        }
    ]


def test_names_that_collide_in_the_gateway_are_refused_with_both_names():
    servers = [
        {"name": "a-b", "path": "p", "module": "m", "port": 8001},
        {"name": "a_b", "path": "q", "module": "m", "port": 8002},
    ]
    with pytest.raises(
        st.RegistryError, match=r"mcp_servers\[1\] \(a_b\).*same upstream \(mcp_a_b\) as 'a-b'"
    ):
        st.normalize(servers)


def test_gateway_tls_is_forward_secret_and_quiet():
    conf = st.gateway_conf(st.normalize(SERVERS))
    assert "server_tokens off;" in conf
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in conf
    ciphers = next(line for line in conf.splitlines() if "ssl_ciphers" in line)
    assert all(
        c.startswith("ECDHE-") and ("GCM" in c or "CHACHA20" in c)
        for c in ciphers.split()[1].rstrip(";").split(":")
    )
    assert 'Strict-Transport-Security "max-age=31536000" always' in conf
