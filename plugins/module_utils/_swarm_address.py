# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to sophia.lambda_swarm: the one rule for a node's swarm address (advertise,
overlay data path, the firewall's peer rules). Pure functions, no Ansible.

In order: an explicit address; the private address the inventory knows
(``lambda_private_ip`` from the lambda_cloud inventory); the first address of a named
interface; the first address inside the private networks (default 10.0.0.0/8) on an
interface that is not one of Docker's own (docker0, docker_gwbridge, br-*, veth*, ...)
and not inside the engine's address pools; the default route's address. So a Lambda
host advertises its 10.x address, never its public one nor a bridge Docker made, whether
the facts were gathered before or after Docker ran.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
from typing import Any, Iterable, List, Mapping, Optional, Tuple, Union

DOCKER_INTERFACE_PREFIXES = ("docker", "br-", "veth", "vxlan", "ov-", "cni", "flannel", "virbr")


def _networks(
    values: Optional[Iterable[Union[str, Mapping[str, Any]]]],
) -> List[Union[ipaddress.IPv4Network, ipaddress.IPv6Network]]:
    out = []
    for given in values or []:
        value = given.get("base") or given.get("subnet") or "" if isinstance(given, dict) else given
        if value:
            out.append(ipaddress.ip_network(str(value), strict=False))
    return out


def interface_addresses(facts: Mapping[str, Any]) -> List[Tuple[str, str]]:
    """[(interface, address)] of every IPv4 address in the facts, primary then secondaries,
    interfaces in the order the facts list them."""
    out = []
    for name in facts.get("interfaces") or []:
        info = facts.get(str(name).replace("-", "_")) or facts.get(name) or {}
        if not isinstance(info, dict):
            continue
        entries = []
        if isinstance(info.get("ipv4"), dict):
            entries.append(info["ipv4"])
        elif isinstance(info.get("ipv4"), list):
            entries.extend(info["ipv4"])
        entries.extend(info.get("ipv4_secondaries") or [])
        for entry in entries:
            if isinstance(entry, dict) and entry.get("address"):
                out.append((name, entry["address"]))
    return out


def is_docker_interface(name: str) -> bool:
    return str(name).startswith(DOCKER_INTERFACE_PREFIXES)


def private_address(
    facts: Mapping[str, Any],
    private_networks: Optional[Iterable[Union[str, Mapping[str, Any]]]] = ("10.0.0.0/8",),
    exclude_networks: Optional[Iterable[Union[str, Mapping[str, Any]]]] = (),
) -> str:
    """The first address inside ``private_networks`` on an interface Docker did not make
    and outside ``exclude_networks`` (the engine's address pools)."""
    wanted, excluded = _networks(private_networks), _networks(exclude_networks)
    for name, address in interface_addresses(facts):
        if is_docker_interface(name) or name == "lo":
            continue
        ip = ipaddress.ip_address(address)
        if any(ip in net for net in excluded):
            continue
        if any(ip in net for net in wanted):
            return address
    return ""


def swarm_address(
    facts: Optional[Mapping[str, Any]],
    explicit: Any = "",
    private_ip: Any = "",
    interface: Any = "",
    private_networks: Optional[Iterable[Union[str, Mapping[str, Any]]]] = ("10.0.0.0/8",),
    exclude_networks: Optional[Iterable[Union[str, Mapping[str, Any]]]] = (),
) -> str:
    """The node's swarm address by the rule above ('' when none is found)."""
    if explicit:
        return str(explicit)
    if private_ip:
        return str(private_ip)
    facts = facts or {}
    if interface:
        info = facts.get(str(interface).replace("-", "_")) or {}
        address = (info.get("ipv4") or {}).get("address") if isinstance(info.get("ipv4"), dict) else ""
        if address:
            return address
    address = private_address(facts, private_networks, exclude_networks)
    if address:
        return address
    return (facts.get("default_ipv4") or {}).get("address") or ""
