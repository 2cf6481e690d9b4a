# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to sophia.lambda_swarm: content-versioned Docker secret names and the plan that
removes old versions. Pure functions, no Ansible import.

Docker secrets are immutable, so each value lives under ``<name>_<version>``. The version
is a keyed hash (HMAC-SHA256 with a key only the controller holds) of the content: the
same content always maps to the same name, and someone who can list secrets cannot test
guesses of a value against its name, as they could with a bare hash.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import hmac
import re

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
VERSION_LENGTH = 12
MAX_NAME = 64  # Docker's limit on a secret name


def version_of(content, key, length=VERSION_LENGTH):
    """The version of ``content`` (bytes or str) under ``key`` (bytes or str)."""
    if isinstance(content, str):
        content = content.encode("utf-8")
    if isinstance(key, str):
        key = key.encode("utf-8")
    if not key:
        raise ValueError("the version key is empty: set secrets_version_key (keep it in Ansible Vault)")
    return hmac.new(key, content, hashlib.sha256).hexdigest()[:length]


def versioned_name(name, version):
    if not NAME_RE.match(name or ""):
        raise ValueError(
            "secret name %r: use letters, digits, '_', '.', '-', starting with a letter or digit" % name
        )
    full = "%s_%s" % (name, version)
    if len(full) > MAX_NAME:
        raise ValueError(
            "secret name %r is too long: %s is over Docker's %d characters" % (name, full, MAX_NAME)
        )
    return full


def gc_plan(existing, in_use, current, keep=2):
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


def value_at(values, path):
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
