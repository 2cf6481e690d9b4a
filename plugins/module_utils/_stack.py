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
from typing import Any, Callable, Collection, Container, Dict, Iterable, List, Mapping, Optional, Union

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
        if name in seen or name in ("gateway", "gateway_auth", "gateway-auth"):
            raise _err(
                index,
                name,
                "name",
                "is used twice or reserved",
                "give each server its own name (not 'gateway' or 'gateway_auth': the gateway's services)",
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


def _healthz(url: str) -> Dict[str, Any]:
    """The healthcheck of the gateway's nginx services: their /healthz answers."""
    return {
        "test": ["CMD", "curl", "-fsk", url],
        "interval": "5s",
        "timeout": "3s",
        "retries": 3,
        "start_period": "5s",
    }


def _rolling(opts: Mapping[str, Any]) -> Dict[str, Any]:
    """The deploy keys of a service behind the gateway: its endpoint mode (dnsrr in the lab,
    which has no IPVS), start-first updates that roll back on failure, start-first
    rollbacks, and restarts."""
    return {
        "endpoint_mode": "dnsrr" if opts.get("profile") == "lab" else "vip",
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
    }


def service(entry: Mapping[str, Any], opts: Mapping[str, Any]) -> Dict[str, Any]:
    """One server's compose service."""
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
        **_rolling(opts),
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


def _auth_replicas(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise RegistryError(
            "stack_gateway_auth_replicas: %r; give a whole number of 1 or more (2, the default, keeps "
            "every call answered while one task updates)" % (value,)
        )
    return value


def gateway_auth_service(
    gateway: Mapping[str, Any],
    opts: Mapping[str, Any],
    secrets: Dict[str, Any],
    configs: Dict[str, Any],
    refs: Mapping[str, Mapping[str, Any]],
) -> Dict[str, Any]:
    """The gateway's auth service (the gateway's image, entry point ``gateway auth``): it
    mounts the clients map (inline tokens, the check token) and, for each client whose token
    is a secrets_list entry, that secret's current version and its previous one (so a
    rotation is accepted on both sides of the roll until the old value is retired). Adds
    its secrets and config to ``secrets`` and ``configs``."""

    def mount(source: str, target: str) -> Dict[str, Any]:
        return {"source": source, "target": target, "uid": "33", "gid": "33", "mode": 256}

    secrets["gateway_clients"] = {"external": True, "name": gateway["clients_secret"]}
    configs["gateway_auth_conf"] = {"file": gateway["auth_conf_file"], "name": gateway["auth_config_name"]}
    mounts = [mount("gateway_clients", GATEWAY_CLIENTS_FILE)]
    for client in gateway_client_entries(gateway.get("clients"), list(refs)):
        if "secret" not in client:
            continue
        ref = refs[client["secret"]]
        for kind, versioned, target in (
            ("current", ref["versioned"], TOKEN_FILE),
            ("previous", ref.get("previous"), PREVIOUS_TOKEN_FILE),
        ):
            if not versioned:
                continue
            key = "gateway_token_%s_%s" % (kind, client["name"])
            secrets[key] = {"external": True, "name": versioned}
            mounts.append(mount(key, target % client["name"]))
    return {
        "image": gateway["image"],
        "command": ["/usr/local/bin/gateway", "auth"],
        "networks": [opts.get("network", "mcp")],
        "configs": [{"source": "gateway_auth_conf", "target": "/etc/nginx/nginx.conf", "mode": 292}],
        "secrets": mounts,
        "healthcheck": _healthz("http://127.0.0.1:%d/healthz" % GATEWAY_AUTH_PORT),
        # SIGQUIT: nginx finishes the checks in flight before it stops
        "stop_signal": "SIGQUIT",
        "stop_grace_period": "10s",
        "deploy": {
            "mode": "replicated",
            "replicas": _auth_replicas(gateway.get("auth_replicas", 2)),
            # start-first, as the servers: the gateway's next-upstream retry and its DNS
            # refresh carry every call across the roll
            **_rolling(opts),
            "resources": {"limits": {"cpus": "0.25", "memory": "64M"}},
            "labels": {LABEL + ".server": GATEWAY_AUTH_SERVICE},
        },
    }


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
        configs["gateway_conf"] = {"file": gateway["conf_file"], "name": gateway["config_name"]}
        if gateway.get("clients_secret"):
            services[GATEWAY_AUTH_SERVICE] = gateway_auth_service(gateway, opts, secrets, configs, refs)
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
            ],
            "healthcheck": _healthz("https://127.0.0.1:8443/healthz"),
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
# the gateway's auth service: its compose name (a reserved server name) and port
GATEWAY_AUTH_SERVICE = "gateway_auth"
GATEWAY_AUTH_PORT = 8080
# the collection's own checks
CHECK_CLIENT = "lambda_swarm"
# where the auth service finds a client's token secret, current and previous version
TOKEN_FILE = "gateway_token.%s"  # noqa: S105 (a file name)
PREVIOUS_TOKEN_FILE = "gateway_token_previous.%s"  # noqa: S105 (a file name)
_TEMP_PATHS = [
    "    client_body_temp_path /tmp/nginx-body;",
    "    proxy_temp_path /tmp/nginx-proxy;",
    "    fastcgi_temp_path /tmp/nginx-fastcgi;",
    "    uwsgi_temp_path /tmp/nginx-uwsgi;",
    "    scgi_temp_path /tmp/nginx-scgi;",
]
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


def _token_problem(token: str) -> Optional[str]:
    if not TOKEN_MIN_LENGTH <= len(token) <= TOKEN_MAX_LENGTH or not _TOKEN.fullmatch(token):
        return (
            "a token is %d to %d characters of A-Z a-z 0-9 . _ ~ + / - (then =), e.g. `openssl rand -hex 32`"
            % (
                TOKEN_MIN_LENGTH,
                TOKEN_MAX_LENGTH,
            )
        )
    return None


def gateway_client_entries(
    clients: Any,
    secrets: Optional[Union[Mapping[str, Any], Iterable[str]]] = None,
    servers: Optional[Iterable[str]] = None,
) -> List[Dict[str, Any]]:
    """``stack_gateway_clients`` checked: [{name, token | secret, servers?}]. ``secrets``: the
    names of ``secrets_list`` a ``secret`` may name (a mapping: their values too, each then
    checked as a token); ``servers``: the server names a client's ``servers`` may list. A bad
    entry raises RegistryError naming its index, key and fix; no error carries a token."""
    if not isinstance(clients or [], list):
        raise RegistryError("stack_gateway_clients must be a list of {name, token or secret, servers}")
    values = secrets if isinstance(secrets, Mapping) else None
    known_secrets = None if secrets is None else set(secrets)
    known_servers = None if servers is None else set(servers)
    names, tokens, out = set(), {}, []
    for i, entry in enumerate(clients or []):
        where = "stack_gateway_clients[%d]" % i
        if (
            not isinstance(entry, dict)
            or set(entry) - {"name", "token", "secret", "servers"}
            or "name" not in entry
            or ("token" in entry) == ("secret" in entry)
        ):
            raise RegistryError(
                "%s: give a name and either token (from the vault) or secret (a secrets_list entry "
                "holding the token, which rotate_secrets.yml rotates without a failed call), and "
                "optionally servers" % where
            )
        name = str(entry["name"])
        if not _CLIENT.fullmatch(name) or len(name) > 64:
            raise RegistryError(
                "%s.name: %r is not a client name (lower-case letters, digits, . _ -; up to 64)"
                % (where, name)
            )
        if name in names or name == CHECK_CLIENT:
            raise RegistryError(
                "%s.name: %r is given twice%s"
                % (where, name, " (lambda_swarm is the collection's own)" if name == CHECK_CLIENT else "")
            )
        names.add(name)
        item = {"name": name}
        token = None
        if "token" in entry:
            token = str(entry["token"])
            problem = _token_problem(token)
            if problem:
                raise RegistryError("%s.token (client %s): %s; keep it in the vault" % (where, name, problem))
            item["token"] = token
        else:
            secret = str(entry["secret"])
            if known_secrets is not None and secret not in known_secrets:
                # the given text is not shown: it may be a token put where a name belongs
                raise RegistryError(
                    "%s.secret (client %s): names no secrets_list entry (declared: %s); give the name "
                    "of the entry whose value is the token, or the token itself as token"
                    % (where, name, ", ".join(sorted(known_secrets)) or "none")
                )
            item["secret"] = secret
            if values is not None:
                token = str(values[secret]).strip()
                problem = _token_problem(token)
                if problem:
                    raise RegistryError(
                        "%s.secret (client %s): the value of secrets_list entry %s is not a token: %s"
                        % (where, name, secret, problem)
                    )
        if token is not None:
            if token in tokens:
                raise RegistryError(
                    "%s (client %s): client %s has the same token" % (where, name, tokens[token])
                )
            tokens[token] = name
        if "servers" in entry:
            listed = entry["servers"]
            if not isinstance(listed, list) or not listed or not all(isinstance(x, str) for x in listed):
                raise RegistryError(
                    "%s.servers (client %s): a non-empty list of server names (leave it out for every server)"
                    % (where, name)
                )
            unknown = sorted(set(listed) - known_servers) if known_servers is not None else []
            if unknown:
                raise RegistryError(
                    "%s.servers (client %s): no server %s in mcp_servers; known: %s"
                    % (where, name, ", ".join(unknown), ", ".join(sorted(known_servers)) or "none")
                )
            item["servers"] = sorted(set(listed))
        out.append(item)
    return out


def _map_line(token: str, name: str) -> str:
    # a regular expression: the scheme ignores case (RFC 7235), the token does not (a plain
    # map key would match ignoring case)
    return '"~^(?i:bearer) +%s$" %s;' % (token.replace(".", "\\.").replace("+", "\\+"), name)


def gateway_clients(
    clients: Any,
    check_token: Optional[str] = None,
    secrets: Optional[Union[Mapping[str, Any], Iterable[str]]] = None,
    servers: Optional[Iterable[str]] = None,
) -> str:
    """The clients map of the gateway's auth service (nginx ``map`` lines, the content of a
    secret): one line per token given inline, ``"~^(?i:bearer) +TOKEN$" NAME;``, and the
    collection's own check token (client ``lambda_swarm``). Clients whose token is a
    ``secrets_list`` entry are not in it: the auth service reads those from the secrets it
    mounts (current and previous version). ``secrets`` and ``servers`` as for
    gateway_client_entries()."""
    entries = gateway_client_entries(clients, secrets, servers)
    lines = [_map_line(e["token"], e["name"]) for e in entries if "token" in e]
    if check_token:
        problem = _token_problem(str(check_token))
        if problem:
            raise RegistryError("stack_gateway_check_token: %s" % problem)
        if str(check_token) in set(e.get("token") for e in entries):
            raise RegistryError("stack_gateway_check_token: a client has the same token")
        lines.append(_map_line(str(check_token), CHECK_CLIENT))
    return "\n".join(lines) + "\n" if lines else ""


def gateway_auth_conf(clients: Any, servers: Iterable[Mapping[str, Any]]) -> str:
    """nginx.conf of the gateway's auth service: the gateway asks it, for each call, whether
    the Authorization header holds a token it accepts (204 with X-MCP-Client: the client's
    name; 401) and whether that client may call the server the call is for (header
    X-MCP-Route; 403). The tokens are in /dev/shm/clients.map (memory only), which the service's entry
    point writes at start from the secrets it mounts. Nothing here is secret."""
    names = sorted(s["name"] for s in servers)
    entries = gateway_client_entries(clients, None, names)
    allowed = ['        "~^%s/" 1;' % CHECK_CLIENT]
    for entry in sorted(entries, key=lambda e: e["name"]):
        if "servers" in entry:
            allowed += ['        "%s/%s" 1;' % (entry["name"], server) for server in entry["servers"]]
        else:
            allowed.append('        "~^%s/" 1;' % entry["name"].replace(".", "\\."))
    lines = [
        "# Rendered by sophia.lambda_swarm (role stack): the gateway's token check.",
        "worker_processes 1;",
        "pid /tmp/nginx.pid;",
        "error_log stderr warn;",
        "events { worker_connections 1024; }",
        "http {",
        "    access_log off;  # the gateway logs every call, with its client's name",
        "    server_tokens off;",
        *_TEMP_PATHS,
        "    # the client's name per accepted Authorization header",
        "    map $http_authorization $mcp_client {",
        '        default "";',
        "        include /dev/shm/clients.map;",
        "    }",
        "    # which client may call which server (X-MCP-Route: the route the gateway checks)",
        '    map "$mcp_client/$http_x_mcp_route" $mcp_allowed {',
        "        default 0;",
        *allowed,
        "    }",
        "    server {",
        "        listen %d;" % GATEWAY_AUTH_PORT,
        "        location = /check {",
        '            if ($mcp_client = "") { return 401; }',
        "            if ($mcp_allowed = 0) { return 403; }",
        "            add_header X-MCP-Client $mcp_client always;",
        "            return 204;",
        "        }",
        '        location = /healthz { default_type text/plain; return 200 "ok\\n"; }',
        "        location / { return 404; }",
        "    }",
        "}",
    ]
    return "\n".join(lines) + "\n"


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
        *_TEMP_PATHS,
        "    proxy_http_version 1.1;",
        '    proxy_set_header Connection "";',
        "    proxy_set_header Host $host;",
        "    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "    proxy_set_header X-Forwarded-Proto https;",
    ]
    if auth:
        lines += [
            "    # bearer tokens: the auth service (%s) names the client of each call's"
            % GATEWAY_AUTH_SERVICE,
            "    # Authorization header, or refuses it; the token never reaches a server, the",
            "    # client's name does. The gateway holds no token.",
            '    proxy_set_header Authorization "";',
            "    proxy_set_header X-MCP-Client $mcp_client;",
        ]
        if rate:
            lines += [
                "    # requests per second on this gateway (a burst of twice that first), counted",
                "    # before the token is checked: per token for a bearer header (the scheme in any",
                "    # case, any spacing, as the check reads it), per address without one. Not per",
                "    # address for all: behind Swarm's ingress every caller has the ingress's address",
                "    map $http_authorization $mcp_rate_key {",
                '        "~^(?i:bearer) +(\\S+)$" $1;',
                "        default $binary_remote_addr;",
                "    }",
                "    limit_req_zone $mcp_rate_key zone=mcp_clients:4m rate=%dr/s;" % rate,
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
    routes = [(e["name"], e["port"]) for e in ordered]
    if auth:
        routes.append((GATEWAY_AUTH_SERVICE, GATEWAY_AUTH_PORT))
    for name, port in routes:
        lines += [
            "    # route %s %d" % (name, port),
            "    upstream mcp_%s {" % name.replace("-", "_"),
            "        include /tmp/gateway/%s.conf;" % name,
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
            "        error_page 401 /_unauthorized;",
            "        error_page 403 /_forbidden;",
            "        error_page 500 =503 /_auth_unavailable;",
            "        # each call's token check, one per route (the auth service learns the route from",
            "        # X-MCP-Route): 204 and the client's name, 401 or 403; errors and 502/503 go to",
            "        # the next replica (proxy_next_upstream), so the auth service updates",
            "        # (start-first) without a failed call. No `set` at this level: it would run",
            "        # again in the check and after error_page, and clear what the check found.",
        ]
        for entry in ordered:
            lines += [
                "        location = /_auth/%s {" % entry["name"],
                "            internal;",
                "            proxy_pass http://mcp_%s/check;" % GATEWAY_AUTH_SERVICE,
                "            proxy_pass_request_body off;",
                '            proxy_set_header Content-Length "";',
                "            proxy_set_header Authorization $http_authorization;",
                "            proxy_set_header X-MCP-Route %s;" % entry["name"],
                "        }",
            ]
        lines += [
            "        # the challenge goes with a 401 only (an add_header here replaces the server's)",
            "        location = /_unauthorized {",
            "            internal;",
            '            add_header Strict-Transport-Security "max-age=31536000" always;',
            "            add_header WWW-Authenticate 'Bearer realm=\"mcp\"' always;",
            '            default_type text/plain; return 401 "a bearer token is required\\n";',
            "        }",
        ]
        lines += [
            '        location = /%s { internal; default_type text/plain; return %d "%s\\n"; }' % answer
            for answer in (
                ("_forbidden", 403, "this client may not call this server"),
                ("_auth_unavailable", 503, "the token check is unavailable"),
            )
        ]
    lines += [
        # open (no token): load balancers and the container's own check; says nothing more
        '        location = /healthz { default_type text/plain; return 200 "ok\\n"; }',
    ]
    for entry in ordered:
        check = ""
        if auth:
            check = (
                "auth_request /_auth/%s; auth_request_set $mcp_client $upstream_http_x_mcp_client; "
                % entry["name"]
            )
            if rate:
                check += "limit_req zone=mcp_clients burst=%d nodelay; " % (2 * rate)
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


def _running_targets(
    servers: Optional[Iterable[Mapping[str, Any]]],
    url_of: Callable[[Mapping[str, Any]], str],
    timeout: Optional[float],
) -> List[Dict[str, Any]]:
    """The checker's targets of every server that runs (replicas > 0), at ``url_of(entry)``,
    with the entry's ``health.expect_tools`` (and ``timeout`` when given)."""
    out = []
    for entry in servers or []:
        replicas = entry.get("replicas")
        if int(replicas if replicas is not None else 1) <= 0:
            continue
        target = {
            "name": entry["name"],
            "url": url_of(entry),
            "expect_tools": _expect_tools((entry.get("health") or {}).get("expect_tools")),
        }
        if timeout is not None:
            target["timeout"] = timeout
        out.append(target)
    return out


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
    out = _running_targets(servers, lambda entry: "%s/%s/mcp" % (base, entry["name"]), timeout)
    if token:
        for target in out:
            target["headers"] = {"Authorization": "Bearer %s" % token}
    return out


def overlay_targets(
    servers: Optional[Iterable[Mapping[str, Any]]], timeout: Optional[float] = None
) -> List[Dict[str, Any]]:
    """The checker's targets of every server that runs (replicas > 0), at its service name on
    the stack's overlay network: [{"name", "url": "http://<name>:<port>/mcp", "expect_tools"}]
    (and ``timeout`` when given). Plain HTTP and no token: the overlay is the stack's own."""
    return _running_targets(
        servers, lambda entry: "http://%s:%s/mcp" % (entry["name"], entry["port"]), timeout
    )


# What the gateway answers when it cannot reach the service behind a route: 502 (no address,
# refused, reset), 504 (timed out); 503 also when its auth service cannot be reached.
GATEWAY_UNREACHED_STATUSES = (502, 503, 504)


def unreached_services(
    results: Optional[Iterable[Mapping[str, Any]]], auth: Optional[str] = None
) -> List[str]:
    """The services of the stack to republish after a check through the gateway: each unhealthy
    target whose last exchange was answered by the gateway with 502, 503 or 504 (it could not
    reach the server behind the route), and the gateway's auth service when one of them was a
    503 and ``auth`` is bearer (the gateway answers 503 when its token check cannot be reached).
    Sorted, each once. A target that failed otherwise (refused by the gateway itself, TLS, an
    MCP error, a missing tool) is not a matter of reaching the server, so it is not named."""
    names, auth_too = set(), False
    for result in results or ():
        if result.get("ok"):
            continue
        status = (result.get("seen") or {}).get("status")
        if status in GATEWAY_UNREACHED_STATUSES and result.get("name"):
            names.add(str(result["name"]))
            auth_too = auth_too or status == 503
    if auth_too and auth == "bearer":
        names.add(GATEWAY_AUTH_SERVICE)
    return sorted(names)
