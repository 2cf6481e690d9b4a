# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the docker and registry roles: whether the docker_daemon_config module would
change a daemon.json (logic in module_utils/_docker_daemon_config.py, the module's own), whether
the nvidia_runtime_config module would change the NVIDIA runtime's config.toml (its own logic,
module_utils/_nvidia_runtime_config.py), and whether a node's Docker client configuration
already holds a registry's credentials."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import re

from ansible_collections.sophia.lambda_swarm.plugins.module_utils._docker_daemon_config import (
    ConfigError,
    merge,
    parse,
)
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._nvidia_runtime_config import (
    RuntimeConfigError,
    plan,
    read_settings,
)

_PACKAGE_VERSION = re.compile(r"^(?:\d+:)?(\d+)\.(\d+)\.(\d+)")


def docker_daemon_config_differs(text, settings, remove=()):
    """True when sophia.lambda_swarm.docker_daemon_config with these settings would write (or
    fail on) a daemon.json that holds ``text`` (None: no file): the module's own rule."""
    if text is None:
        return True
    try:
        before = parse(text)
    except ConfigError:
        return True  # the module runs and names the problem
    return merge(before, settings or {}, remove or ()) != before


def nvidia_runtime_config_differs(text, package_version, resource_kind="NVIDIA-GPU", mode=None):
    """True when sophia.lambda_swarm.nvidia_runtime_config with this ``resource_kind`` and
    ``mode`` would write (or fail on) a config.toml that holds ``text`` (None: no file), on a host
    whose nvidia-container-toolkit package has ``package_version`` (dpkg's, None: not
    installed): the module's own plan. The module reads the version from nvidia-ctk, which
    NVIDIA's packages of the same release ship."""
    found = _PACKAGE_VERSION.match(package_version or "")
    if text is None or not found:
        return True
    try:
        wanted = plan(
            tuple(int(part) for part in found.groups()), read_settings(text), resource_kind, mode or None
        )
    except RuntimeConfigError:
        return True  # the module runs and names the problem
    return bool(wanted)


def docker_login_differs(text, registry, username, password):
    """True unless the Docker client configuration ``text`` (None: no file) stores exactly these
    credentials for ``registry`` in its own ``auths`` (what community.docker.docker_login writes,
    base64 of ``username:password``) and names no credential helper that would hold them
    instead. Anything unreadable counts as different, so the login runs."""
    if not text:
        return True
    try:
        config = json.loads(text)
        if not isinstance(config, dict) or config.get("credsStore"):
            return True
        if registry in (config.get("credHelpers") or {}):
            return True
        entry = (config.get("auths") or {}).get(registry)
    except (ValueError, AttributeError, TypeError):
        return True
    if not isinstance(entry, dict):
        return True
    wanted = base64.b64encode(("%s:%s" % (username, password)).encode("utf-8")).decode("ascii")
    return entry.get("auth") != wanted


class FilterModule(object):
    def filters(self):
        return {
            "docker_daemon_config_differs": docker_daemon_config_differs,
            "docker_login_differs": docker_login_differs,
            "nvidia_runtime_config_differs": nvidia_runtime_config_differs,
        }
