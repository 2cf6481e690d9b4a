# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to sophia.lambda_swarm: content-versioned Docker secret names and the plan that
removes old versions, and the `secrets_list` entries as the checks and the stack read them.
Pure functions, no Ansible import.

Docker secrets are immutable, so each value lives under ``<name>_<version>``. The version
is a keyed hash (HMAC-SHA256 with a key only the controller holds) of the content: the
same content always maps to the same name, and someone who can list secrets cannot test
guesses of a value against its name, as they could with a bare hash.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections.abc
import hashlib
import hmac
import re
from typing import Any, Callable, Container, Dict, Iterable, List, Mapping, Optional, Sequence, Set, Union

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")  # fullmatch: `$` would let a trailing newline in
VERSION_LENGTH = 12
MAX_NAME = 64  # Docker's limit on a secret name


def version_of(content: Union[str, bytes], key: Union[str, bytes], length: int = VERSION_LENGTH) -> str:
    """The version of ``content`` (bytes or str) under ``key`` (bytes or str)."""
    if isinstance(content, str):
        content = content.encode("utf-8")
    if isinstance(key, str):
        key = key.encode("utf-8")
    if not key:
        raise ValueError("the version key is empty: set secrets_version_key (keep it in Ansible Vault)")
    return hmac.new(key, content, hashlib.sha256).hexdigest()[:length]


def versioned_name(name: str, version: str) -> str:
    if not NAME_RE.fullmatch(name or ""):
        raise ValueError(
            "secret name %r: use letters, digits, '_', '.', '-', starting with a letter or digit" % name
        )
    full = "%s_%s" % (name, version)
    if len(full) > MAX_NAME:
        raise ValueError(
            "secret name %r is too long: %s is over Docker's %d characters" % (name, full, MAX_NAME)
        )
    return full


def gc_plan(
    existing: Iterable[Mapping[str, Any]], in_use: Container[str], current: Mapping[str, str], keep: int = 2
) -> List[str]:
    """Versioned secrets to remove: for each secret, all but the ``keep`` newest versions
    (the current one always kept), and never one a service still uses.

    ``existing``: [{"name": versioned name, "base": secret name, "created": sortable}];
    ``in_use``: versioned names referenced by services; ``current``: {base: versioned name}.
    """
    if keep < 1:
        raise ValueError("keep must be at least 1 (the current version)")
    remove = []
    by_base = {}
    for secret in existing:
        by_base.setdefault(secret["base"], []).append(secret)
    for base, versions in sorted(by_base.items()):
        newest_first = sorted(versions, key=lambda s: s["created"], reverse=True)
        kept = [current[base]] if base in current else []
        for secret in newest_first:
            if secret["name"] in kept:
                continue
            if len(kept) < keep:
                kept.append(secret["name"])
            elif secret["name"] not in in_use:
                remove.append(secret["name"])
    return sorted(remove)


def value_at(values: Any, path: Optional[str]) -> Any:
    """The value at a dotted property path (``a.b``, ``a[0].b``, ``a["x.y"]``) of an opened
    environment's values. Raises KeyError naming the part that is missing."""
    if not path:
        return values
    tokens = re.findall(r'\["([^"]+)"\]|\[(\d+)\]|([^.\[\]]+)', path)
    current, walked = values, []
    for quoted, index, plain in tokens:
        part = quoted or plain
        walked.append(part or index)
        try:
            current = current[int(index)] if index else current[part]
        except (KeyError, IndexError, TypeError):
            raise KeyError("no %s in the environment (looked for %s)" % (".".join(walked), path)) from None
    return current


LABEL_NAME = "io.sophia.lambda_swarm.secret"
LABEL_VERSION = "io.sophia.lambda_swarm.version"


def secret_refs(services: Optional[Iterable[Mapping[str, Any]]]) -> Set[str]:
    """Secret names the services' current and previous specs reference (the previous spec
    is what `docker service rollback` returns to)."""
    used = set()
    for service in services or []:
        for key in ("Spec", "PreviousSpec"):
            spec = service.get(key) or {}
            container = (spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}
            for ref in container.get("Secrets") or []:
                if ref.get("SecretName"):
                    used.add(ref["SecretName"])
    return used


def current_refs(services: Optional[Iterable[Mapping[str, Any]]]) -> Set[str]:
    """Secret names the services' current specs reference (what a task mounts now)."""
    return secret_refs({"Spec": service.get("Spec") or {}} for service in services or [])


def plan(
    desired: Iterable[Mapping[str, Any]],
    existing: Sequence[Mapping[str, Any]],
    key: Union[str, bytes],
    keep: int = 2,
    services: Optional[Iterable[Mapping[str, Any]]] = None,
    retire: Iterable[str] = (),
) -> Dict[str, Any]:
    """What to do: ``desired`` is [{"name", "value"}]; ``existing`` the Docker secrets the
    collection made (as the API lists them); ``services`` as the API lists them.
    ``retire``: secret names whose older versions go now, whatever ``keep`` says, unless a
    service's current spec still mounts one (a previous spec's rollback loses them).

    Returns {"versions": {name: versioned}, "previous": {name: versioned}, "create":
    [versioned...], "remove": [versioned...]} in a stable order. ``previous`` is the newest
    older version each secret keeps (none for a retired one): the gateway's auth accepts a
    token's previous version, so that callers move to a rotated token without a failed
    call. Values never appear in the result.
    """
    retire = set(retire or ())
    seen = set()
    versions = {}
    create = []
    names = set(s["Spec"]["Name"] for s in existing)
    for item in desired:
        if item["name"] in seen:
            raise ValueError("secret %r is declared twice" % item["name"])
        seen.add(item["name"])
        full = versioned_name(item["name"], version_of(item["value"], key))
        versions[item["name"]] = full
        if full not in names:
            create.append(full)
    listed = []
    for secret in existing:
        labels = secret["Spec"].get("Labels") or {}
        if labels.get(LABEL_NAME):
            listed.append(
                {
                    "name": secret["Spec"]["Name"],
                    "base": labels[LABEL_NAME],
                    "created": (secret.get("Version") or {}).get("Index", 0),
                }
            )
    # a version about to be made is the newest of its secret
    for name, full in versions.items():
        if full in create:
            listed.append({"name": full, "base": name, "created": float("inf")})
    unknown = sorted(retire - set(versions))
    if unknown:
        raise ValueError("cannot retire %s: not among the declared secrets" % ", ".join(unknown))
    remove = set(gc_plan(listed, secret_refs(services), versions, keep=keep))
    mounted = current_refs(services)
    for secret in listed:
        retired = secret["base"] in retire and secret["name"] != versions[secret["base"]]
        if retired and secret["name"] not in mounted:
            remove.add(secret["name"])
    previous = {}
    for secret in sorted(listed, key=lambda s: s["created"]):
        base = secret["base"]
        older = base in versions and base not in retire and secret["name"] != versions[base]
        if older and secret["name"] not in remove:
            previous[base] = secret["name"]  # the newest wins: sorted oldest first
    return {"versions": versions, "previous": previous, "create": sorted(create), "remove": sorted(remove)}


class SecretsListError(ValueError):
    """A ``secrets_list`` that cannot be read: the message names the entry and the fix."""


def without_values(
    entries: Optional[Iterable[Any]], has_value: Optional[Callable[[Mapping[str, Any]], bool]] = None
) -> List[Dict[str, Any]]:
    """The ``secrets_list`` entries as the checks see them: every key but ``value``, and
    ``has_value`` (whether the entry gives a value). The value itself is never read here:
    ``has_value`` decides, by default whether the key is there (the caller may pass a test that
    also tells a value that does not resolve). An entry that is not a mapping becomes
    ``{"has_value": False}``, so the checks refuse it by its index."""
    present = has_value or (lambda entry: "value" in entry)
    out = []
    for entry in entries or []:
        if not isinstance(entry, collections.abc.Mapping):
            out.append({"has_value": False})
            continue
        item = dict((key, entry[key]) for key in entry if key != "value")
        item["has_value"] = bool(present(entry))
        out.append(item)
    return out


def stack_refs(
    entries: Optional[Iterable[Mapping[str, Any]]],
    versions: Mapping[str, str],
    previous: Optional[Mapping[str, str]] = None,
) -> List[Dict[str, Any]]:
    """What the stack role needs of each ``secrets_list`` entry: its current versioned name
    (``versions``, from swarm_secrets), its previous one (``previous``; empty when none), how
    containers see it (``target``, default the name; ``uid``, ``gid``, ``mode`` as strings,
    default ``0``, ``0``, ``0400``) and the ``services`` that mount it (default none)."""
    previous = previous or {}
    out = []
    for entry in entries or []:
        name = entry["name"]
        if name not in versions:
            raise SecretsListError(
                "secrets_list: no version of %r among swarm_secrets' versions (%s); run the secrets role's"
                " load step for every declared secret" % (name, ", ".join(sorted(versions)) or "none")
            )
        out.append(
            {
                "name": name,
                "versioned": versions[name],
                "previous": previous.get(name, ""),
                "target": entry.get("target", name),
                "uid": str(entry.get("uid", "0")),
                "gid": str(entry.get("gid", "0")),
                "mode": str(entry.get("mode", "0400")),
                "services": entry.get("services", []),
            }
        )
    return out
