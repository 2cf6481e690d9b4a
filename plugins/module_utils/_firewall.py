# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to sophia.lambda_swarm: the host firewall's DOCKER-USER rules and the ufw rules the
roles need (module ufw_rules). Pure functions, no Ansible.

Docker publishes ports with its own NAT rules, so packets to a published port are forwarded
to the container and never pass ufw's INPUT rules. Docker keeps the DOCKER-USER chain for the
user, ahead of its own forwarding rules. The rules here let through replies, what containers
send (from Docker's bridges), the cluster's peers, the admin sources, and the public ports
(matched by the port the client asked for, before Docker's NAT) from the gateway's sources;
everything else on its way to a container is dropped. They are an iptables-restore section
for ufw's after.rules, so ufw loads them at boot, before Docker starts.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re
from typing import Iterable, List, Mapping, Set, Tuple

DOCKER_BRIDGES = ("docker0", "docker_gwbridge", "br-+")
PROTOCOLS = ("tcp", "udp")


class FirewallError(ValueError):
    """A source or a port the rules cannot carry."""


def _source(value: str, what: str) -> str:
    try:
        return str(ipaddress.ip_network(str(value), strict=False))
    except ValueError:
        raise FirewallError(
            "%s: %r is not an address or a CIDR (e.g. 203.0.113.7 or 10.8.0.0/16)" % (what, value)
        ) from None


def docker_user_rules(
    peers: Iterable[str],
    admin_sources: Iterable[str],
    public_ports: Iterable[Mapping],
    gateway_sources: Iterable[str] = ("any",),
) -> str:
    """The ``*filter`` section of DOCKER-USER rules (text ending in ``COMMIT``). ``peers`` and
    ``admin_sources`` reach every published port; ``public_ports`` ([{port, proto}]) are
    reached from ``gateway_sources`` (addresses, CIDRs or ``any``)."""
    sources: List[str] = []
    for what, values in (("cluster peer", peers), ("host_admin_sources", admin_sources)):
        for value in values or []:
            source = _source(value, what)
            if source not in sources:
                sources.append(source)
    gateway = []
    for value in gateway_sources or []:
        gateway.append(None if value == "any" else _source(value, "host_gateway_sources"))
    lines = [
        "*filter",
        ":DOCKER-USER - [0:0]",
        "-A DOCKER-USER -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN",
    ]
    lines += ["-A DOCKER-USER -i %s -j RETURN" % bridge for bridge in DOCKER_BRIDGES]
    lines += ["-A DOCKER-USER -s %s -j RETURN" % source for source in sources]
    for i, public in enumerate(public_ports or []):
        proto, port = str(public.get("proto", "tcp")), public.get("port")
        if proto not in PROTOCOLS or not str(port).isdigit() or not 0 < int(port) < 65536:
            raise FirewallError(
                "host_public_ports[%d]: %r is not {port: 1-65535, proto: tcp|udp}" % (i, dict(public))
            )
        for source in dict.fromkeys(gateway):
            lines.append(
                "-A DOCKER-USER %s-p %s -m conntrack --ctorigdstport %d --ctdir ORIGINAL -j RETURN"
                % ("-s %s " % source if source else "", proto, int(port))
            )
    lines += ["-A DOCKER-USER -o %s -j DROP" % bridge for bridge in DOCKER_BRIDGES]
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"


# ufw's own record of each rule in user.rules (IPv4) and user6.rules (IPv6):
#   ### tuple ### allow tcp 2377 0.0.0.0/0 any 10.0.0.12 in comment=...
# fields: action, proto, destination port, destination, source port, source, direction
_TUPLE = re.compile(r"^### tuple ### (\S+) (\S+) (\S+) (\S+) (\S+) (\S+) (in|out)\b", re.MULTILINE)
_ANY = "0.0.0.0/0"


def ufw_rules_have(text: str) -> Set[Tuple[str, str, str]]:
    """The inbound allow rules ufw records in a user.rules text, as (proto, port, source)."""
    have = set()
    for action, proto, port, _dst, _sport, source, direction in _TUPLE.findall(text or ""):
        if action == "allow" and direction == "in":
            have.add((proto, port, source))
    return have


def _rule(rule: Mapping, index: int) -> Tuple[str, str, str, str]:
    proto, port = str(rule.get("proto", "tcp")), str(rule.get("port", ""))
    if proto not in PROTOCOLS or not port.isdigit() or not 0 < int(port) < 65536:
        raise FirewallError("rules[%d]: %r is not {port: 1-65535, proto: tcp|udp, src}" % (index, dict(rule)))
    source = str(rule.get("src", "any"))
    if source != "any":
        try:
            network = ipaddress.ip_network(source, strict=False)
        except ValueError:
            raise FirewallError(
                "rules[%d].src: %r is not an address, a CIDR or 'any' (e.g. 10.0.0.12, 10.8.0.0/16)"
                % (index, source)
            ) from None
        # ufw records a single address without its prefix, a network as a CIDR
        single = network.prefixlen == network.max_prefixlen
        source = str(network.network_address) if single else str(network)
    return proto, str(int(port)), source, str(rule.get("comment") or "")


def ufw_missing_rules(
    wanted: Iterable[Mapping], have_v4: Set[Tuple[str, str, str]], have_v6: Set[Tuple[str, str, str]]
) -> List[Tuple[str, str, str, str]]:
    """The wanted rules ({port, proto, src, comment}) ufw lacks, in order and once each, as
    (proto, port, source, comment). ``src: any`` is judged by ufw's IPv4 record (its IPv6 one
    exists only where ufw has IPv6 on)."""
    missing: List[Tuple[str, str, str, str]] = []
    seen = set()
    for index, rule in enumerate(wanted):
        proto, port, source, comment = _rule(rule, index)
        if (proto, port, source) in seen:
            continue
        seen.add((proto, port, source))
        if source == "any":
            present = (proto, port, _ANY) in have_v4
        else:
            have = have_v6 if ipaddress.ip_network(source).version == 6 else have_v4
            present = (proto, port, source) in have
        if not present:
            missing.append((proto, port, source, comment))
    return missing


def ufw_allow_argv(ufw: str, proto: str, port: str, source: str, comment: str = "") -> List[str]:
    """The ufw command that adds one inbound allow rule."""
    argv = [ufw, "allow", "proto", proto, "from", source, "to", "any", "port", port]
    if comment:
        argv += ["comment", comment]
    return argv


def ufw_rules_for(sources: Iterable[str], ports: Iterable[Mapping], comment: str = "") -> List[dict]:
    """The rules ({port, proto, src, comment}) letting every source reach every port
    ({port, proto, what}); the comment is ``comment`` followed by the port's ``what``."""
    rules = []
    for source in sources or []:
        for port in ports or []:
            text = " ".join(part for part in (comment, str(port.get("what") or "")) if part)
            rules.append(
                {
                    "port": port.get("port"),
                    "proto": port.get("proto", "tcp"),
                    "src": str(source),
                    "comment": text,
                }
            )
    return rules
