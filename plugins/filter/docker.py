# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the docker role: whether the docker_daemon_config module would change a
daemon.json (logic in module_utils/_docker_daemon_config.py, the module's own)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.sophia.lambda_swarm.plugins.module_utils._docker_daemon_config import (
    ConfigError,
    merge,
    parse,
)


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


class FilterModule(object):
    def filters(self):
        return {"docker_daemon_config_differs": docker_daemon_config_differs}
