# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to sophia.lambda_swarm: the MCP server registry (``mcp_servers``) turned into a
swarm stack (compose) and the gateway's nginx configuration. Pure functions, no Ansible:
the same input gives the same output, byte for byte once dumped with sorted keys."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import re
from typing import Any, Collection, Container, Dict, Iterable, List, Mapping, Optional, Union

NAME_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")  # fullmatch: `$` would let a trailing newline in
GPU_KIND = "NVIDIA-GPU"
LABEL = "io.sophia.lambda_swarm"

DEFAULTS = {
    "replicas": 1,
    "gpus": 0,
    "cpus": "0.50",
    "memory": "256M",
    "secrets": [],
    "env": {},
    "volumes": [],
    "placement": [],
    "health": {},
}


# every key an entry of mcp_servers may have (anything else is refused, closest key named)
KEYS = frozenset(
    [
        "name",
        "path",
        "module",
        "command",
        "dockerfile",
        "image",
        "port",
        "replicas",
        "gpus",
        "cpus",
        "memory",
        "secrets",
        "env",
        "volumes",
        "placement",
        "health",
    ]
)
HEALTH_KEYS = frozenset(["expect_tools", "interval", "timeout", "retries", "start_period", "test"])


# forward-secret AEAD suites for TLS 1.2 (no RSA key exchange, no CBC)
TLS12_CIPHERS = (
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
    "ECDHE-RSA-CHACHA20-POLY1305",
)


class RegistryError(ValueError):
    """A bad entry of mcp_servers: the message names the entry, the key and the fix."""


def _err(index: int, name: Any, key: str, problem: str, fix: str) -> RegistryError:
    return RegistryError("mcp_servers[%d] (%s): %s %s; %s" % (index, name or "no name", key, problem, fix))


def normalize(
    servers: Optional[Iterable[Optional[Mapping[str, Any]]]], secret_names: Optional[Container[str]] = None
) -> List[Dict[str, Any]]:
    """Check the registry and fill defaults. ``secret_names``: names the secrets role declares."""
    out, seen, ports, upstreams = [], set(), {}, {}
    for index, given in enumerate(servers or []):
        entry = dict(given or {})
        name = entry.get("name")
        if not isinstance(name, str) or not NAME_RE.fullmatch(name):
            raise _err(
                index, name, "name", "is missing or invalid", "use lower-case letters, digits, '_' or '-'"
            )
        upstream = name.replace("-", "_")
        if upstream in upstreams and upstreams[upstream] != name:
            raise _err(
                index,
                name,
                "name",
                "gives the gateway the same upstream (mcp_%s) as %r" % (upstream, upstreams[upstream]),
                "rename one of the two (names differing only in '-' and '_' collide)",
            )
        upstreams[upstream] = name
        if name in seen or name == "gateway":
            raise _err(
                index,
                name,
                "name",
                "is used twice or reserved",
                "give each server its own name (not 'gateway')",
            )
        seen.add(name)
        _check_keys(index, name, entry, KEYS, "")
        _check_keys(index, name, entry.get("health") or {}, HEALTH_KEYS, "health.")
        _check_source(index, name, entry)
        port = entry.get("port")
        if not isinstance(port, int) or not 1024 <= port <= 65535:
            raise _err(
                index, name, "port", "is missing or not in 1024-65535", "set the port the server listens on"
            )
        if port in ports:
            raise _err(
                index, name, "port", "%d is also %s's" % (port, ports[port]), "give each server its own port"
            )
        ports[port] = name
        for key, value in DEFAULTS.items():
            entry.setdefault(key, value if not isinstance(value, (list, dict)) else type(value)(value))
        if not isinstance(entry["replicas"], int) or entry["replicas"] < 0:
            raise _err(index, name, "replicas", "must be a whole number >= 0", "set replicas: 1 or more")
        if not isinstance(entry["gpus"], int) or entry["gpus"] < 0:
            raise _err(index, name, "gpus", "must be a whole number >= 0", "set gpus: 0 for CPU servers")
        if secret_names is not None:
            for secret in entry["secrets"]:
                if secret not in secret_names:
                    raise _err(
                        index,
                        name,
                        "secrets",
                        "names %r, which secrets_list does not declare" % secret,
                        "add it to secrets_list or remove it here",
                    )
        for volume in entry["volumes"]:
            if not isinstance(volume, str) or ":" not in volume or volume.startswith(("/", ".")):
                raise _err(
                    index,
                    name,
                    "volumes",
                    "entry %r is not NAME:/container/path" % (volume,),
                    "use a named volume (bind mounts do not follow a task to another node)",
                )
        out.append(entry)
    return out


def _closest(key: Any, valid: Iterable[str]) -> str:
    match = difflib.get_close_matches(str(key), sorted(valid), n=1, cutoff=0.6)
    return match[0] if match else ""


def _check_keys(index: int, name: str, entry: Any, valid: Collection[str], prefix: str) -> None:
    if not isinstance(entry, dict):
        raise _err(
            index, name, prefix.rstrip(".") or "entry", "is not a mapping", "write it as key: value pairs"
        )
    for key in sorted(entry, key=str):
        if key not in valid:
            near = _closest(key, valid)
            raise _err(
                index,
                name,
                prefix + str(key),
                "is not a key of an mcp_servers entry",
                ("did you mean %s%s?" % (prefix, near))
                if near
                else "valid keys: %s" % ", ".join(sorted(valid)),
            )


def _check_source(index: int, name: str, entry: Mapping[str, Any]) -> None:
    """An entry is built from the project (``path``, started by ``module``, ``command`` or
    its own ``dockerfile``) or deployed from a registry (``image``), not both."""
    if entry.get("image"):
        if not isinstance(entry["image"], str) or any(c.isspace() for c in entry["image"]):
            raise _err(
                index, name, "image", "is not an image reference", "use REGISTRY/REPO:TAG or REPO@sha256:..."
            )
        for key in ("path", "module", "dockerfile"):
            if entry.get(key):
                raise _err(
                    index,
                    name,
                    key,
                    "is set together with image",
                    "an entry is either built from the project (path) or deployed from an image, not both",
                )
        return
    if not entry.get("path"):
        raise _err(
            index,
            name,
            "path",
            "is missing",
            "set the server's directory relative to the project (or image: for a prebuilt image)",
        )
    for key in ("path", "dockerfile"):
        value = str(entry.get(key) or "")
        if value and (value.startswith("/") or ".." in value.replace("\\", "/").split("/")):
            raise _err(
                index,
                name,
                key,
                "%s leaves the project" % value,
                "give a path relative to the project root (stack_project_dir), inside it",
            )
    if not entry.get("module") and not entry.get("command") and not entry.get("dockerfile"):
        raise _err(
            index,
            name,
            "module, command and dockerfile",
            "are all missing",
            "set the Python module to run, a command, or the server's own Dockerfile",
        )


def validate_servers(servers: Optional[Iterable[Optional[Mapping[str, Any]]]]) -> List[Dict[str, Any]]:
    """The registry as mcp_validate's ``servers``: what the stack builds, with its build
    rules (every image is built from the project root). Entries deployed from an
    ``image`` have nothing in the project to check and are left out."""
    out = []
    for entry in normalize(servers):
        if entry.get("image"):
            continue
        out.append(
            {
                "name": entry["name"],
                "path": entry["path"],
                "module": entry.get("module"),
                "command": entry.get("command"),
                "port": entry["port"],
                "secrets": list(entry["secrets"]),
                "dockerfile": entry.get("dockerfile"),
                "context": ".",
            }
        )
    return out


def _duration(seconds: Union[int, float, str]) -> str:
    return "%ds" % int(seconds)


def service(entry: Mapping[str, Any], opts: Mapping[str, Any]) -> Dict[str, Any]:
    """One server's compose service."""
    lab = opts.get("profile") == "lab"
    health = entry.get("health") or {}
    env = {"MCP_PORT": str(entry["port"])}
    env.update(dict((str(k), str(v)) for k, v in (entry.get("env") or {}).items()))
    refs = dict((r["name"], r) for r in opts.get("secret_refs") or [])
    secrets = []
    for secret in entry["secrets"]:
        ref = refs.get(secret, {"target": secret, "uid": "0", "gid": "0", "mode": "0400"})
        secrets.append(
            {
                "source": secret,
                "target": ref.get("target") or secret,
                "uid": str(ref.get("uid", "0")),
                "gid": str(ref.get("gid", "0")),
                "mode": int(str(ref.get("mode", "0400")), 8),
            }
        )
    constraints = list(entry["placement"])
    resources = {"limits": {"cpus": str(entry["cpus"]), "memory": str(entry["memory"])}}
    if entry["gpus"]:
        constraints.append("node.labels.gpu.count != 0")
        resources["reservations"] = {
            "generic_resources": [
                {"discrete_resource_spec": {"kind": opts.get("gpu_kind") or GPU_KIND, "value": entry["gpus"]}}
            ]
        }
    deploy = {
        "mode": "replicated",
        "replicas": entry["replicas"],
        "endpoint_mode": "dnsrr" if lab else "vip",
        "update_config": {
            "parallelism": 1,
            "delay": "2s",
            "order": "start-first",
            "failure_action": "rollback",
            "monitor": _duration(opts.get("monitor", 15)),
            "max_failure_ratio": 0,
        },
        "rollback_config": {
            "parallelism": 1,
            "order": "start-first",
            "failure_action": "pause",
            "monitor": "10s",
        },
        "restart_policy": {"condition": "any", "delay": "3s", "window": "30s"},
        "resources": resources,
        # the declared count stays readable when someone scales the service by hand
        # (the monitoring role alerts on running < declared)
        "labels": {LABEL + ".server": entry["name"], LABEL + ".replicas": str(entry["replicas"])},
    }
    if constraints:
        deploy["placement"] = {"constraints": sorted(set(constraints))}
    svc = {
        # a prebuilt image is deployed as the registry names it; a built one by digest
        "image": entry.get("image") or opts["images"][entry["name"]],
        "environment": env,
        "networks": [opts.get("network", "mcp")],
        "deploy": deploy,
        "stop_grace_period": "15s",
        "healthcheck": {
            "interval": _duration(health.get("interval", 5)),
            "timeout": _duration(health.get("timeout", 4)),
            "retries": int(health.get("retries", 3)),
            "start_period": _duration(health.get("start_period", 15)),
        },
    }
    if health.get("test"):
        svc["healthcheck"]["test"] = list(health["test"])
    if entry.get("command"):
        svc["command"] = entry["command"]
    if secrets:
        svc["secrets"] = secrets
    if entry["volumes"]:
        svc["volumes"] = list(entry["volumes"])
    return svc


def compose(servers: Iterable[Mapping[str, Any]], opts: Mapping[str, Any]) -> Dict[str, Any]:
    """The stack as a compose document (dict). ``opts``: images {name: ref}, profile,
    network, secret_refs, gateway {image, port, replicas, config_name, conf_file,
    cert_secret, key_secret}, monitor."""
    lab = opts.get("profile") == "lab"
    services, volumes, secrets = {}, {}, {}
    refs = dict((r["name"], r) for r in opts.get("secret_refs") or [])
    for entry in servers:
        services[entry["name"]] = service(entry, opts)
        for volume in entry["volumes"]:
            volumes[volume.split(":", 1)[0]] = {"labels": {LABEL + ".server": entry["name"]}}
        for secret in entry["secrets"]:
            secrets[secret] = {
                "external": True,
                "name": refs[secret]["versioned"] if secret in refs else secret,
            }
    gateway = opts.get("gateway")
    configs = {}
    if gateway:
        secrets["gateway_tls_cert"] = {"external": True, "name": gateway["cert_secret"]}
        secrets["gateway_tls_key"] = {"external": True, "name": gateway["key_secret"]}
        if gateway.get("clients_secret"):
            secrets["gateway_clients"] = {"external": True, "name": gateway["clients_secret"]}
        configs["gateway_conf"] = {"file": gateway["conf_file"], "name": gateway["config_name"]}
        services["gateway"] = {
            "image": gateway["image"],
            "networks": [opts.get("network", "mcp")],
            "ports": [
                {
                    "target": 8443,
                    "published": int(gateway.get("port", 443)),
                    "protocol": "tcp",
                    "mode": "host" if lab else "ingress",
                }
            ],
            "configs": [{"source": "gateway_conf", "target": "/etc/nginx/nginx.conf", "mode": 292}],
            "secrets": [
                # nginx runs as www-data (uid/gid 33 on Debian and Ubuntu)
                {
                    "source": "gateway_tls_cert",
                    "target": "gateway.crt",
                    "uid": "33",
                    "gid": "33",
                    "mode": 292,
                },
                {"source": "gateway_tls_key", "target": "gateway.key", "uid": "33", "gid": "33", "mode": 256},
            ]
            + (
                [
                    {
                        "source": "gateway_clients",
                        "target": GATEWAY_CLIENTS_FILE,
                        "uid": "33",
                        "gid": "33",
                        "mode": 256,
                    }
                ]
                if gateway.get("clients_secret")
                else []
            ),
            "healthcheck": {
                "test": ["CMD", "curl", "-fsk", "https://127.0.0.1:8443/healthz"],
                "interval": "5s",
                "timeout": "3s",
                "retries": 3,
                "start_period": "5s",
            },
            "stop_grace_period": "10s",
            "deploy": {
                # host-mode ports: one gateway per manager (two tasks cannot share a host port)
                "mode": "global",
                "endpoint_mode": "dnsrr" if lab else "vip",
                "placement": {"constraints": list(gateway.get("constraints") or ["node.role == manager"])},
                "update_config": {
                    "parallelism": 1,
                    "delay": "5s",
                    "order": "stop-first",
                    "failure_action": "rollback",
                },
                "rollback_config": {"parallelism": 1, "order": "stop-first"},
                "restart_policy": {"condition": "any", "delay": "3s"},
                "resources": {"limits": {"cpus": "0.50", "memory": "128M"}},
                "labels": {LABEL + ".server": "gateway"},
            },
        }
    document = {
        "version": "3.8",
        "services": services,
        "networks": {opts.get("network", "mcp"): {"external": True, "name": opts.get("network", "mcp")}},
    }
    if volumes:
        document["volumes"] = volumes
    if secrets:
        document["secrets"] = secrets
    if configs:
        document["configs"] = configs
    return document


GATEWAY_CLIENTS_FILE = "gateway_clients.map"
GATEWAY_AUTH = ("bearer", "none")
TOKEN_MIN_LENGTH = 32
TOKEN_MAX_LENGTH = 200
_TOKEN = re.compile(r"[A-Za-z0-9._~+/-]+=*")  # RFC 6750 b64token (fullmatch: no newline)
_CLIENT = re.compile(r"[a-z0-9][a-z0-9_.-]*")


def gateway_auth(value: Any) -> bool:
    """True for bearer-token authentication (the default), False for none."""
    if value not in GATEWAY_AUTH:
        raise RegistryError(
            "stack_gateway_auth: %r is not one of %s; use bearer (the default) or none (an open gateway)"
            % (value, ", ".join(GATEWAY_AUTH))
        )
    return value == "bearer"


def gateway_clients(clients: Any, check_token: Optional[str] = None) -> str:
    """The gateway's clients map (nginx ``map`` lines, the content of a secret): one line per
    accepted token, ``"~^(?i:bearer) +TOKEN$" NAME;``. ``clients``: [{name, token}]; ``check_token``:
    the collection's own health checks (client ``lambda_swarm``). Tokens are b64tokens of at
    least 32 characters (nothing that could end the nginx string), names and tokens unique."""
    entries = list(clients or [])
    if not isinstance(clients or [], list):
        raise RegistryError("stack_gateway_clients must be a list of {name, token}")
    if check_token:
        entries.append({"name": "lambda_swarm", "token": check_token})
    names, tokens, lines = set(), set(), []
    for i, entry in enumerate(entries):
        where = "stack_gateway_clients[%d]" % i
        if (
            not isinstance(entry, dict)
            or set(entry) - {"name", "token"}
            or not {"name", "token"} <= set(entry)
        ):
            raise RegistryError("%s: give exactly the keys name and token" % where)
        name, token = str(entry["name"]), str(entry["token"])
        if not _CLIENT.fullmatch(name) or len(name) > 64:
            raise RegistryError(
                "%s.name: %r is not a client name (lower-case letters, digits, . _ -; up to 64)"
                % (where, name)
            )
        if name in names:
            raise RegistryError(
                "%s.name: %r is given twice%s"
                % (where, name, " (lambda_swarm is the collection's own)" if name == "lambda_swarm" else "")
            )
        if not TOKEN_MIN_LENGTH <= len(token) <= TOKEN_MAX_LENGTH or not _TOKEN.fullmatch(token):
            raise RegistryError(
                "%s.token (client %s): a token is %d to %d characters of A-Z a-z 0-9 . _ ~ + / - (then =), "
                "e.g. `openssl rand -hex 32`; keep it in the vault"
                % (where, name, TOKEN_MIN_LENGTH, TOKEN_MAX_LENGTH)
            )
        if token in tokens:
            raise RegistryError("%s.token (client %s): another client has the same token" % (where, name))
        names.add(name)
        tokens.add(token)
        # a regular expression: the scheme ignores case (RFC 7235), the token does not (a
        # plain map key would match ignoring case)
        lines.append('"~^(?i:bearer) +%s$" %s;' % (token.replace(".", "\\.").replace("+", "\\+"), name))
    return "\n".join(lines) + "\n" if lines else ""


def gateway_conf(servers: Iterable[Mapping[str, Any]], opts: Optional[Mapping[str, Any]] = None) -> str:
    """nginx.conf of the gateway: TLS, one route per server (/<name>/mcp), upstreams kept
    current from Docker's DNS by the gateway's entry point (files it writes under
    /tmp/gateway, one address per task, each marked failed for a while after repeated
    errors), retries to the next replica on connect errors and 502/503, streaming replies
    passed through unbuffered, /healthz."""
    opts = opts or {}
    auth = gateway_auth(opts.get("auth", "bearer"))
    rate = opts.get("rate_limit", 200)
    if not isinstance(rate, int) or isinstance(rate, bool) or rate < 0:
        raise RegistryError(
            "stack_gateway_rate_limit: %r is not a whole number of requests per second (0: off)" % rate
        )
    lines = [
        "# Rendered by sophia.lambda_swarm (role stack); one route per MCP server.",
        "worker_processes 2;",
        "pid /tmp/nginx.pid;",
        "error_log stderr warn;",
        "events { worker_connections 1024; }",
        "http {",
    ]
    if auth:
        lines += [
            "    # the access log names the client, never its token",
            "    log_format mcp_clients '$remote_addr $mcp_client [$time_local] \"$request\" $status '",
            "                           '$body_bytes_sent $request_time';",
        ]
    lines += [
        "    access_log /dev/stdout%s;" % (" mcp_clients" if auth else ""),
        "    server_tokens off;",
        "    client_body_temp_path /tmp/nginx-body;",
        "    proxy_temp_path /tmp/nginx-proxy;",
        "    fastcgi_temp_path /tmp/nginx-fastcgi;",
        "    uwsgi_temp_path /tmp/nginx-uwsgi;",
        "    scgi_temp_path /tmp/nginx-scgi;",
        "    proxy_http_version 1.1;",
        '    proxy_set_header Connection "";',
        "    proxy_set_header Host $host;",
        "    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "    proxy_set_header X-Forwarded-Proto https;",
    ]
    if auth:
        lines += [
            "    # bearer tokens: the client's name per accepted Authorization header (a secret);",
            "    # the token never reaches a server, the client's name does",
            "    map $http_authorization $mcp_client {",
            '        default "";',
            "        include /run/secrets/%s;" % GATEWAY_CLIENTS_FILE,
            "    }",
            "    map $mcp_client $mcp_challenge {",
            '        "" \'Bearer realm="mcp"\';',
            '        default "";',
            "    }",
            '    proxy_set_header Authorization "";',
            "    proxy_set_header X-MCP-Client $mcp_client;",
        ]
        if rate:
            lines += [
                "    # each client's requests per second on this gateway (a burst of twice that first)",
                "    limit_req_zone $mcp_client zone=mcp_clients:1m rate=%dr/s;" % rate,
                "    limit_req_status 429;",
            ]
    lines += [
        "    # streaming (SSE) replies pass through as they come",
        "    proxy_buffering off;",
        "    proxy_request_buffering off;",
        "    proxy_read_timeout %ds;" % opts.get("read_timeout", 300),
        "    proxy_connect_timeout 2s;",
        "    # a failed replica: the request goes to the next one (connect errors, 502, 503)",
        "    proxy_next_upstream error timeout http_502 http_503;",
        "    proxy_next_upstream_tries 3;",
        "    proxy_next_upstream_timeout 10s;",
    ]
    ordered = sorted(servers, key=lambda s: s["name"])
    for entry in ordered:
        lines += [
            "    # route %s %d" % (entry["name"], entry["port"]),
            "    upstream mcp_%s {" % entry["name"].replace("-", "_"),
            "        include /tmp/gateway/%s.conf;" % entry["name"],
            "    }",
        ]
    lines += [
        "    server {",
        "        listen 8443 ssl;",
        "        ssl_certificate /run/secrets/gateway.crt;",
        "        ssl_certificate_key /run/secrets/gateway.key;",
        "        ssl_protocols TLSv1.2 TLSv1.3;",
        "        # TLS 1.2 only with forward-secret (ECDHE) AEAD suites; TLS 1.3's are all forward-secret",
        "        ssl_ciphers %s;" % ":".join(TLS12_CIPHERS),
        "        ssl_prefer_server_ciphers off;",
        "        ssl_session_tickets off;",
        '        add_header Strict-Transport-Security "max-age=31536000" always;',
    ]
    if auth:
        lines += [
            "        add_header WWW-Authenticate $mcp_challenge always;  # to callers without a valid token"
        ]
    lines += [
        # open (no token): load balancers and the container's own check; says nothing more
        '        location = /healthz { default_type text/plain; return 200 "ok\\n"; }',
    ]
    check = 'if ($mcp_client = "") { return 401 "a bearer token is required\\n"; } ' if auth else ""
    if auth and rate:
        check += "limit_req zone=mcp_clients burst=%d nodelay; " % (2 * rate)
    for entry in ordered:
        lines += [
            "        location = /%s/mcp { %sproxy_pass http://mcp_%s/mcp; }"
            % (entry["name"], check, entry["name"].replace("-", "_")),
        ]
    lines += [
        '        location / { default_type text/plain; return 404 "no such MCP server\\n"; }',
        "    }",
        "}",
    ]
    return "\n".join(lines) + "\n"


def _expect_tools(value: Any) -> Union[int, List[str]]:
    """health.expect_tools as mcp_health takes it: a list of tool names, or a count."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return list(value or [])


def gateway_targets(
    servers: Optional[Iterable[Mapping[str, Any]]],
    host: str,
    port: Union[int, str] = 443,
    timeout: Optional[float] = None,
    token: Optional[str] = None,
) -> List[Dict[str, Any]]:
    """mcp_health targets of every server that runs (replicas > 0), through the gateway at
    host:port: [{"name", "url": "https://host:port/<name>/mcp", "expect_tools"}] (and
    ``timeout`` when given, ``headers`` with the bearer ``token`` when given). The entry's
    ``health.expect_tools`` travel with it, so every check through the gateway proves the
    same tools."""
    base = "https://%s:%s" % (host, port)
    out = []
    for entry in servers or []:
        replicas = entry.get("replicas")
        if int(replicas if replicas is not None else 1) <= 0:
            continue
        target = {
            "name": entry["name"],
            "url": "%s/%s/mcp" % (base, entry["name"]),
            "expect_tools": _expect_tools((entry.get("health") or {}).get("expect_tools")),
        }
        if timeout is not None:
            target["timeout"] = timeout
        if token:
            target["headers"] = {"Authorization": "Bearer %s" % token}
        out.append(target)
    return out
