"""The stack role's logic: the MCP server registry checked, rendered as compose, and the
gateway's nginx configuration."""

import copy
import re

import pytest
import yaml
from ansible_collections.sophia.lambda_swarm.plugins.filter.stack import FilterModule, mcp_gateway_targets
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
    # the kind the docker role announces (stack_gpu_resource_kind)
    other = render(opts=dict(OPTS, gpu_kind="gpu"))["services"]["vision"]["deploy"]
    assert other["resources"]["reservations"]["generic_resources"] == [
        {"discrete_resource_spec": {"kind": "gpu", "value": 1}}
    ]


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
        ({"name": "text_tools\n"}, "name"),
        ({"name": "gateway"}, "name"),
        ({"path": ""}, "path"),
        ({"module": None}, "module"),
        ({"port": 80}, "port"),
        ({"port": 8102}, "port"),
        ({"replicas": -1}, "replicas"),
        ({"volumes": ["/srv:/data"]}, "volumes"),
        ({"secrets": ["nope"]}, "secrets"),
        ({"path": "../elsewhere"}, "path"),
        ({"path": "/srv/app"}, "path"),
        ({"dockerfile": "../Dockerfile"}, "dockerfile"),
        ({"dockerfile": "backend/../../Dockerfile"}, "dockerfile"),
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


def test_gateway_conf_asks_its_auth_service_about_every_call_by_default():
    conf = st.gateway_conf(st.normalize(SERVERS))
    assert "gateway_clients" not in conf and "/run/secrets/gateway_clients" not in conf  # holds no token
    assert "# route gateway_auth 8080" in conf and "upstream mcp_gateway_auth {" in conf
    for entry in SERVERS:  # every route asks its own check, which names the route
        assert re.search(
            r"location = /%s/mcp \{ auth_request /_auth/%s; "
            r"auth_request_set \$mcp_client \$upstream_http_x_mcp_client; " % (entry["name"], entry["name"]),
            conf,
        )
        auth = conf[conf.index("location = /_auth/%s {" % entry["name"]) :]
        auth = auth[: auth.index("}")]
        assert "internal;" in auth and "proxy_pass http://mcp_gateway_auth/check;" in auth
        # the check gets the header (the http level clears it for the servers) and no body
        assert "proxy_set_header Authorization $http_authorization;" in auth
        assert (
            "proxy_set_header X-MCP-Route %s;" % entry["name"] in auth
            and "proxy_pass_request_body off;" in auth
        )
    # a server-level `set` would run again in the check and after error_page
    assert "        set $" not in conf
    # the token stays at the gateway; the server learns the client's name
    assert (
        'proxy_set_header Authorization "";' in conf and "proxy_set_header X-MCP-Client $mcp_client;" in conf
    )
    # proxy_set_header in a route would drop the http-level ones: there is none
    assert all("proxy_set_header" not in line for line in conf.splitlines() if "/mcp {" in line)
    # the challenge goes with a 401 only, HSTS with it (a location's add_header replaces the server's)
    unauthorized = conf[conf.index("location = /_unauthorized {") :]
    unauthorized = unauthorized[: unauthorized.index("        }")]
    assert "add_header WWW-Authenticate 'Bearer realm=\"mcp\"' always;" in unauthorized
    assert "Strict-Transport-Security" in unauthorized
    assert conf.count("WWW-Authenticate") == 1
    assert 'return 401 "a bearer token is required\\n"' in conf and "error_page 401 /_unauthorized;" in conf
    assert "error_page 403 /_forbidden;" in conf and "error_page 500 =503 /_auth_unavailable;" in conf
    open_conf = st.gateway_conf(st.normalize(SERVERS), {"auth": "none"})
    assert (
        "mcp_client" not in open_conf and "auth_request" not in open_conf and "gateway_auth" not in open_conf
    )
    with pytest.raises(st.RegistryError, match="stack_gateway_auth: 'basic' is not one of bearer, none"):
        st.gateway_conf(st.normalize(SERVERS), {"auth": "basic"})


def test_gateway_clients_map_lines_escape_and_refuse_what_could_break_nginx():
    token = "a" * 30 + ".+/~_-="
    text = st.gateway_clients([{"name": "app", "token": token}, {"name": "rot", "secret": "s"}], "f" * 64)
    assert text.splitlines() == [  # a client with a secret: the auth service reads it itself
        '"~^(?i:bearer) +%s$" app;' % ("a" * 30 + "\\.\\+/~_-="),
        '"~^(?i:bearer) +%s$" lambda_swarm;' % ("f" * 64),
    ]
    assert st.gateway_clients([], None) == ""
    bad = [
        (
            [{"name": "app", "token": "short"}],
            r"stack_gateway_clients\[0\].token \(client app\): a token is 32 to 200",
        ),
        ([{"name": "app", "token": 'a" x; }' + "a" * 40}], r"\[0\].token"),  # nginx syntax in a token
        ([{"name": "app", "token": "a" * 40 + "\n"}], r"\[0\].token"),
        ([{"name": "App", "token": "a" * 40}], r"\[0\].name: 'App' is not a client name"),
        ([{"name": "a;b", "token": "a" * 40}], r"is not a client name"),
        (
            [{"name": "a", "token": "a" * 40}, {"name": "a", "token": "b" * 40}],
            r"\[1\].name: 'a' is given twice",
        ),
        (
            [{"name": "a", "token": "a" * 40}, {"name": "b", "token": "a" * 40}],
            r"\[1\] \(client b\): client a has the same token",
        ),
        (
            [{"name": "lambda_swarm", "token": "a" * 40}],
            r"\[0\].name: 'lambda_swarm' is given twice \(lambda_swarm is",
        ),
        ([{"name": "a"}], r"\[0\]: give a name and either token .* or secret"),
        ([{"name": "a", "token": "a" * 40, "secret": "s"}], r"either token"),
        ([{"name": "a", "token": "a" * 40, "role": "x"}], r"either token"),
        ([{"name": "a", "token": "a" * 40, "servers": []}], r"\[0\].servers \(client a\): a non-empty list"),
        ([{"name": "a", "token": "a" * 40, "servers": "ai_memory"}], r"\.servers"),
        ({"name": "a"}, r"must be a list"),
    ]
    for clients, message in bad:
        with pytest.raises(st.RegistryError, match=message):
            st.gateway_clients(clients, "f" * 64)
    with pytest.raises(st.RegistryError, match="stack_gateway_check_token: a client has the same token"):
        st.gateway_clients([{"name": "a", "token": "f" * 64}], "f" * 64)


def test_gateway_clients_check_secrets_and_servers_when_given_and_never_show_a_token():
    clients = [{"name": "rot", "secret": "tok"}, {"name": "lim", "token": "b" * 40, "servers": ["signer"]}]
    assert st.gateway_clients(clients, None, ["tok"], ["signer", "ai_memory"])
    with pytest.raises(
        st.RegistryError,
        match=r"\[0\].secret \(client rot\): names no secrets_list entry \(declared: other\)",
    ):
        st.gateway_clients(clients, None, ["other"])
    # a token put where a name belongs is not shown
    with pytest.raises(st.RegistryError) as raised:
        st.gateway_clients([{"name": "rot", "secret": "t" * 40}], None, ["other"])
    assert "t" * 40 not in str(raised.value)
    with pytest.raises(
        st.RegistryError,
        match=r"\[1\].servers \(client lim\): no server signer in mcp_servers; known: ai_memory",
    ):
        st.gateway_clients(clients, None, None, ["ai_memory"])
    # with the secrets' values: each is checked as a token, the trailing newline of a file ignored
    assert st.gateway_clients(clients, None, {"tok": "c" * 40 + "\n"})
    for value in ("short", "c" * 40 + " x", "b" * 40):
        with pytest.raises(st.RegistryError) as raised:
            st.gateway_clients(clients, None, {"tok": value})
        assert value.strip() not in str(raised.value) or value == "short"
        assert "client rot" in str(raised.value) or "client lim" in str(raised.value)


def test_gateway_auth_conf_names_the_servers_each_client_may_call():
    servers = st.normalize(SERVERS)
    clients = [
        {"name": "a.pp", "secret": "tok"},
        {"name": "lim", "token": "b" * 40, "servers": ["signer", "vision"]},
    ]
    conf = st.gateway_auth_conf(clients, servers)
    allowed = conf[conf.index("$mcp_allowed {") : conf.index("    }", conf.index("$mcp_allowed {"))]
    assert allowed.splitlines()[1:] == [
        "        default 0;",
        '        "~^lambda_swarm/" 1;',  # the collection's checks call every server
        '        "~^a\\.pp/" 1;',  # no servers: every one
        '        "lim/signer" 1;',
        '        "lim/vision" 1;',
    ]
    assert "include /dev/shm/clients.map;" in conf and "b" * 40 not in conf  # no token in a config or on disk
    assert 'if ($mcp_client = "") { return 401; }' in conf and "if ($mcp_allowed = 0) { return 403; }" in conf
    assert "add_header X-MCP-Client $mcp_client always;" in conf and "listen 8080;" in conf
    with pytest.raises(st.RegistryError, match=r"\[1\].servers \(client lim\): no server nope"):
        st.gateway_auth_conf([clients[0], dict(clients[1], servers=["nope"])], servers)


def test_gateway_targets_carry_the_bearer_token_as_a_header():
    (target,) = mcp_gateway_targets([{"name": "a"}], "h", 443, None, "t" * 40)
    assert target["headers"] == {"Authorization": "Bearer " + "t" * 40}
    assert "headers" not in mcp_gateway_targets([{"name": "a"}], "h", 443, None, None)[0]


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


def test_the_auth_service_mounts_the_clients_map_and_each_token_secret_current_and_previous():
    opts = copy.deepcopy(OPTS)
    doc = render(opts=opts)
    assert "gateway_clients" not in doc["secrets"] and "gateway_auth" not in doc["services"]  # auth none
    opts["gateway"].update(
        clients_secret="gateway_clients_0123456789ab",
        auth_conf_file="/srv/gateway-auth.conf",
        auth_config_name="gateway_auth_conf_abc",
        clients=[{"name": "app", "secret": "app_token"}, {"name": "new", "secret": "new_token"},
                 {"name": "inline", "token": "i" * 40}],
    )  # fmt: skip
    opts["secret_refs"] += [
        {"name": "app_token", "versioned": "app_token_2", "previous": "app_token_1"},
        {"name": "new_token", "versioned": "new_token_1", "previous": ""},
    ]
    doc = render(opts=opts)
    assert "gateway_clients" not in str(doc["services"]["gateway"])  # the gateway holds no token
    auth = doc["services"]["gateway_auth"]
    assert auth["command"] == ["/usr/local/bin/gateway", "auth"] and auth["image"] == OPTS["gateway"]["image"]
    assert auth["deploy"]["update_config"]["order"] == "start-first" and auth["deploy"]["replicas"] == 2
    assert doc["secrets"]["gateway_clients"] == {"external": True, "name": "gateway_clients_0123456789ab"}
    assert doc["secrets"]["gateway_token_current_app"] == {"external": True, "name": "app_token_2"}
    assert doc["secrets"]["gateway_token_previous_app"] == {"external": True, "name": "app_token_1"}
    assert "gateway_token_previous_new" not in doc["secrets"]  # no previous version yet
    mounted = {s["target"]: s for s in auth["secrets"]}
    assert sorted(mounted) == [
        "gateway_clients.map", "gateway_token.app", "gateway_token.new", "gateway_token_previous.app",
    ]  # fmt: skip
    assert all((m["uid"], m["gid"], m["mode"]) == ("33", "33", 256) for m in mounted.values())
    assert doc["configs"]["gateway_auth_conf"] == {
        "file": "/srv/gateway-auth.conf",
        "name": "gateway_auth_conf_abc",
    }
    opts["gateway"]["clients"].append({"name": "ghost", "secret": "undeclared"})
    with pytest.raises(st.RegistryError, match=r"\[3\].secret \(client ghost\): names no secrets_list entry"):
        render(opts=opts)
    opts["gateway"]["clients"].pop()
    assert auth["stop_signal"] == "SIGQUIT"  # nginx finishes the checks in flight
    for bad in (0, -1, "2", True):
        opts["gateway"]["auth_replicas"] = bad
        with pytest.raises(st.RegistryError, match=r"stack_gateway_auth_replicas: .*1 or more"):
            render(opts=opts)


def test_gateway_and_gateway_auth_are_reserved_server_names():
    for name in ("gateway", "gateway_auth", "gateway-auth"):
        with pytest.raises(st.RegistryError, match="is used twice or reserved"):
            st.normalize([{"name": name, "path": "p", "module": "m", "port": 8100}])


def test_gateway_rate_limit_per_client_and_access_log_without_tokens():
    conf = st.gateway_conf(st.normalize(SERVERS), {"rate_limit": 50})
    # counted before the token check: per token as the check reads it (any case and spacing of
    # the scheme), per address without a bearer header
    assert "limit_req_zone $mcp_rate_key zone=mcp_clients:4m rate=50r/s;" in conf
    assert "mcp_addresses" not in conf  # behind the ingress every caller has one address
    rate_map = conf[conf.index("map $http_authorization $mcp_rate_key {") :]
    rate_map = rate_map[: rate_map.index("    }")]
    assert '"~^(?i:bearer) +(\\S+)$" $1;' in rate_map and "default $binary_remote_addr;" in rate_map
    assert "limit_req_status 429;" in conf
    assert conf.count("limit_req zone=mcp_clients burst=100 nodelay;") == len(SERVERS)
    assert "access_log /dev/stdout mcp_clients;" in conf
    log_format = conf[conf.index("log_format") : conf.index("access_log")]
    assert "$mcp_client" in log_format and "http_authorization" not in log_format
    assert "limit_req" not in st.gateway_conf(st.normalize(SERVERS), {"rate_limit": 0})
    assert "limit_req" not in st.gateway_conf(st.normalize(SERVERS), {"auth": "none"})
    for bad in (-1, "200", True, 1.5):
        with pytest.raises(st.RegistryError, match="stack_gateway_rate_limit"):
            st.gateway_conf(st.normalize(SERVERS), {"rate_limit": bad})


def test_gateway_targets_pass_a_tool_count_through():
    """health.expect_tools may be a count (mcp_health takes one): it travels as it is."""
    (target,) = mcp_gateway_targets([{"name": "a", "health": {"expect_tools": 3}}], "h", 443)
    assert target["expect_tools"] == 3
    (target,) = mcp_gateway_targets([{"name": "a", "health": {"expect_tools": ["x"]}}], "h", 443)
    assert target["expect_tools"] == ["x"]


def _result(name, ok=False, status=None, seen=True):
    return {"name": name, "ok": ok, "seen": ({"status": status} if seen else None)}


def test_unreached_names_the_servers_the_gateway_could_not_reach_and_nothing_else():
    results = [
        _result("ai_memory", status=502),
        _result("signer", ok=True, status=200),
        _result("vision", status=504),
        _result("text_tools", status=401),  # the token was refused: a new task changes nothing
        _result("js_tools", status=None),  # TLS or refused before any status
        _result("broken", seen=False),  # abandoned at the deadline, nothing seen
        _result("ai_memory", status=502),
    ]
    assert st.unreached_services(results, "bearer") == ["ai_memory", "vision"]
    assert st.unreached_services([], "bearer") == [] and st.unreached_services(None) == []


def test_unreached_adds_the_auth_service_for_a_503_only_with_bearer_auth():
    results = [_result("signer", status=503), _result("vision", status=502)]
    assert st.unreached_services(results, "bearer") == ["gateway_auth", "signer", "vision"]
    assert st.unreached_services(results, "none") == ["signer", "vision"]
    assert st.unreached_services([_result("vision", status=502)], "bearer") == ["vision"]


def test_the_unreached_filter_is_the_logic():
    flt = FilterModule().filters()["mcp_unreached"]
    assert flt([_result("a", status=502), _result("b", ok=True)], "bearer") == ["a"]
