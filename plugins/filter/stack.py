# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the stack role: the MCP server registry as a compose document, as the
gateway's nginx configuration, and as mcp_health targets through a gateway; the clients
map and the configuration of the gateway's auth service, the checker's targets on the
overlay, and the services the gateway could not reach (logic in module_utils/_stack.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._stack import (
    RegistryError,
    compose,
    gateway_auth_conf,
    gateway_clients,
    gateway_conf,
    gateway_targets,
    normalize,
    overlay_targets,
    unreached_services,
    validate_servers,
)
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._stack_converge import gpu_nodes


def mcp_registry(servers, secret_names=None):
    """The registry checked and completed with defaults; a bad entry fails naming its key."""
    try:
        return normalize(servers, secret_names)
    except RegistryError as exc:
        raise AnsibleFilterError(str(exc)) from None


def mcp_compose(servers, opts):
    try:
        return compose(normalize(servers), opts)
    except (RegistryError, KeyError) as exc:
        raise AnsibleFilterError("stack compose: %s" % exc) from None


def mcp_gateway_conf(servers, opts=None):
    try:
        return gateway_conf(normalize(servers), opts)
    except RegistryError as exc:
        raise AnsibleFilterError(str(exc)) from None


def mcp_gateway_clients(clients, check_token=None, secrets=None, servers=None):
    """The auth service's clients map (the content of its secret); a bad client fails naming it."""
    try:
        return gateway_clients(clients, check_token, secrets, servers)
    except RegistryError as exc:
        raise AnsibleFilterError(str(exc)) from None


def mcp_gateway_auth_conf(clients, servers):
    """nginx.conf of the gateway's auth service: which client may call which server."""
    try:
        return gateway_auth_conf(clients, normalize(servers))
    except RegistryError as exc:
        raise AnsibleFilterError(str(exc)) from None


def mcp_gateway_targets(servers, host, port=443, timeout=None, token=None):
    """mcp_health targets of the servers that run, through the gateway at host:port."""
    return gateway_targets(servers, host, port, timeout, token)


def mcp_overlay_targets(servers, timeout=None):
    """Checker targets of the servers that run, at their service names on the stack's overlay."""
    return overlay_targets(servers, timeout)


def mcp_unreached(results, auth=None):
    """The services to republish after a check through the gateway (mcp_health's results)."""
    return unreached_services(results, auth)


def mcp_validate_servers(servers):
    """The registry as mcp_validate's servers, with the stack's build rules."""
    try:
        return validate_servers(servers)
    except RegistryError as exc:
        raise AnsibleFilterError(str(exc)) from None


def mcp_gpu_nodes(nodes, kind="NVIDIA-GPU"):
    """Which nodes announce GPUs of ``kind``, and the managers whose Swarm would reject them."""
    return gpu_nodes(nodes, kind)


class FilterModule(object):
    def filters(self):
        return {
            "mcp_registry": mcp_registry,
            "mcp_compose": mcp_compose,
            "mcp_gateway_clients": mcp_gateway_clients,
            "mcp_gateway_auth_conf": mcp_gateway_auth_conf,
            "mcp_gateway_conf": mcp_gateway_conf,
            "mcp_gateway_targets": mcp_gateway_targets,
            "mcp_overlay_targets": mcp_overlay_targets,
            "mcp_unreached": mcp_unreached,
            "mcp_validate_servers": mcp_validate_servers,
            "mcp_gpu_nodes": mcp_gpu_nodes,
        }
