# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of playbooks/backup.yml and the backup role: the manifest's checksums, which backups
to keep, and which manager the swarm's state is taken from (module_utils/_backup.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible.errors import AnsibleFilterError
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._backup import swarm_backup_source

# <ID> is a backup, .<ID>.partial one being written (or left by a run that failed)
_NAME = re.compile(r"^(?P<partial>\.)?(?P<id>[0-9]{8}T[0-9]{6}Z)(?(partial)\.partial)$")


def backup_checksums(files, root, exclude=("manifest.json",)):
    """{path relative to root: sha256} of find's results, the manifest itself left out."""
    out = {}
    for entry in files or []:
        path = entry.get("path", "")
        rel = os.path.relpath(path, root)
        if rel.startswith(".."):
            raise AnsibleFilterError("backup_checksums: %s is not under %s" % (path, root))
        if rel in exclude:
            continue
        if not entry.get("checksum"):
            raise AnsibleFilterError("backup_checksums: no checksum for %s (find with get_checksum)" % path)
        out[rel] = entry["checksum"]
    return dict(sorted(out.items()))


def backup_retention(folders, complete, keep, current):
    """Which backup folders go: the complete ones beyond the newest `keep`, and every
    incomplete one (no manifest, or a partial folder) older than `current`, the backup just
    made. `folders` are paths, `complete` the paths among them that hold a manifest. Folders
    whose names are not backup names are never touched. Returns {keep, remove} (paths,
    newest first) and kept_ids."""
    try:
        keep = int(keep)
    except (TypeError, ValueError):
        raise AnsibleFilterError("backup_keep must be a whole number, got %r" % (keep,)) from None
    if keep < 1:
        raise AnsibleFilterError("backup_keep must be 1 or more (the backup just made), got %d" % keep)
    complete = set(complete or [])
    good, bad = [], []
    for path in folders or []:
        match = _NAME.match(os.path.basename(path.rstrip("/")))
        if not match:
            continue
        if path in complete and not match.group("partial"):
            good.append((match.group("id"), path))
        elif match.group("id") < current:
            bad.append((match.group("id"), path))
    good.sort(reverse=True)
    kept = good[:keep]
    remove = [entry[1] for entry in good[keep:]] + [entry[1] for entry in sorted(bad, reverse=True)]
    return {"keep": [entry[1] for entry in kept], "remove": remove, "kept_ids": [entry[0] for entry in kept]}


def _node_name(hostvars, host):
    """A host's node name (its facts' nodename), else its inventory name; a name that is no
    inventory host is taken as a node name."""
    if host not in hostvars:
        return host
    facts = hostvars[host].get("ansible_facts") or {}
    return facts.get("nodename", host)


def backup_swarm_source(nodes, hosts, hostvars, wanted=""):
    """The manager the backup role stops to archive the swarm's state: {manager, hostname,
    margin_ok}. ``nodes`` from docker_node_info, ``hosts`` the play's hosts (inventory names),
    ``wanted`` an inventory name that narrows the choice ('' for any)."""
    if not isinstance(nodes, list):
        raise AnsibleFilterError(
            "backup_swarm_source: expects docker_node_info's nodes (a list), got %r" % (nodes,)
        )
    names = {host: _node_name(hostvars, host) for host in hosts or []}
    return swarm_backup_source(nodes, names, _node_name(hostvars, wanted) if wanted else "")


class FilterModule(object):
    def filters(self):
        return {
            "backup_checksums": backup_checksums,
            "backup_retention": backup_retention,
            "backup_swarm_source": backup_swarm_source,
        }
