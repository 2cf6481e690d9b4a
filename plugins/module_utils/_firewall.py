# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to sophia.lambda_swarm: the host firewall's DOCKER-USER rules. Pure functions, no
Ansible.

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
from typing import Iterable, List, Mapping

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
