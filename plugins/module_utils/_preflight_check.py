# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to sophia.lambda_swarm: what preflight proves about the inventory before any
host changes (host names, addresses, the variables secrets and the registry need, files
named by the inventory). Pure functions, no Ansible: the action plugin templates the
values and hands the outcome here."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re
import socket
from typing import Any, Callable, Iterable, List, Mapping, Optional

# an RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens (used with
# fullmatch: a `$` would let a trailing newline in)
LABEL_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
UNDEFINED_RE = re.compile(r"'([^']+)' is undefined")


def valid_hostname(name: Any) -> bool:
    if not isinstance(name, str) or not name or len(name) > 253:
        return False
    return all(LABEL_RE.fullmatch(label) for label in name.rstrip(".").split("."))


def is_address(value: str) -> bool:
    try:
        ipaddress.ip_address(str(value))
        return True
    except ValueError:
        return False


def resolves(name: str) -> bool:
    try:
        return bool(socket.getaddrinfo(name, None))
    except (socket.gaierror, UnicodeError, OSError):
        return False


def check_hosts(hosts: Iterable[Mapping[str, Any]], resolve: Callable[[str], bool] = resolves) -> List[str]:
    """``hosts``: [{"name", "address" (None when ansible_host is not set)}]. Returns the
    problems, each naming the host and the fix."""
    problems = []
    seen = {}
    for host in hosts:
        name, address = host["name"], host.get("address")
        if not valid_hostname(name):
            problems.append(
                "host %r: not a valid host name (letters, digits and '-' in dot-separated labels, "
                "no '_'); the swarm names the node after it: rename it in the inventory" % name
            )
        if address in (None, ""):
            problems.append(
                "host %s: ansible_host is not set; set it to the address the controller reaches "
                "(the public IP on Lambda) in the inventory" % name
            )
            continue
        address = str(address)
        if address in seen:
            problems.append(
                "host %s: ansible_host %s is also %s's; each node needs its own address"
                % (name, address, seen[address])
            )
        seen.setdefault(address, name)
        if not is_address(address) and not (valid_hostname(address) and resolve(address)):
            problems.append(
                "host %s: ansible_host %r is neither an IP address nor a name this controller "
                "resolves; fix the inventory entry (or the controller's DNS)" % (name, address)
            )
    return problems


def undefined_name(message: str) -> str:
    """The variable an 'is undefined' error names ('' when it names none)."""
    match = UNDEFINED_RE.search(str(message))
    return match.group(1) if match else ""


def describe_undefined(where: str, message: str, hint: str) -> str:
    """One line for a value that did not resolve: where, which variable, where to set it."""
    name = undefined_name(message)
    what = "needs %s, which is not defined" % name if name else "does not resolve (%s)" % message
    return "%s %s; %s" % (where, what, hint)


def check_secret_sources(entries: Iterable[Mapping[str, Any]]) -> List[str]:
    """``entries``: the resolved secrets_list (values replaced by whether they resolved).
    File sources must exist on the controller, env sources must be set: the callers pass
    ``path_exists`` and ``env_set`` per entry."""
    problems = []
    for index, entry in enumerate(entries):
        name = entry.get("name") or "no name"
        source = entry.get("source") or "value"
        where = "secrets_list[%d] (%s)" % (index, name)
        if source == "file" and not entry.get("path_exists"):
            problems.append(
                "%s: file %s does not exist on the controller; create it or fix `path`"
                % (where, entry.get("path"))
            )
        if source == "env" and not entry.get("env_set"):
            problems.append(
                "%s: environment variable %s is not set on the controller; export it before running"
                % (where, entry.get("env"))
            )
    return problems


def check_version_key(key: Optional[str], has_secrets: bool, minimum: int = 16) -> List[str]:
    if has_secrets and len(key or "") < minimum:
        return [
            "secrets_version_key is shorter than %d characters (it keys the secrets' version "
            'hashes): set it from Ansible Vault, e.g. secrets_version_key: "{{ vault_secrets_version_key }}" '
            "with a long random value in the vault" % minimum
        ]
    return []
