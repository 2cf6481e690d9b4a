# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to sophia.lambda_swarm: merge the keys a role owns into Docker's daemon.json,
keeping every other key. Pure functions, no Ansible import."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
from typing import Any, Dict, Iterable, List, Mapping, Optional

# Keys that must never be enabled on a swarm node (live-restore conflicts with Swarm).
FORBIDDEN_TRUE = ("live-restore",)


class ConfigError(Exception):
    pass


def parse(text: Optional[str], path: str = "daemon.json") -> Dict[str, Any]:
    if text is None or not text.strip():
        return {}
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ConfigError(
            "%s is not valid JSON (%s): fix or remove it; it is never overwritten" % (path, exc)
        ) from None
    if not isinstance(data, dict):
        raise ConfigError("%s must hold a JSON object, found %s" % (path, type(data).__name__))
    return data


def merge(
    current: Mapping[str, Any], settings: Mapping[str, Any], remove: Iterable[str] = ()
) -> Dict[str, Any]:
    """``current`` with ``settings`` applied (a None value removes the key) and ``remove``
    keys dropped. Keys not named are kept as they are."""
    merged = dict(current)
    for key, value in settings.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    for key in remove:
        merged.pop(key, None)
    for key in FORBIDDEN_TRUE:
        if merged.get(key) is True:
            merged[key] = False
    return merged


def render(data: Mapping[str, Any]) -> str:
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def changed_keys(before: Mapping[str, Any], after: Mapping[str, Any]) -> List[str]:
    keys = set(before) | set(after)
    return sorted(k for k in keys if before.get(k) != after.get(k))
