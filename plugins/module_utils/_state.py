# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to sophia.lambda_swarm: where the controller keeps what must last (the CA and
its keys, rendered stacks, reports, backups). Pure functions, no Ansible.

One rule: ``lambda_swarm_state_dir`` when the inventory sets it; otherwise a folder
``.lambda_swarm`` beside the first inventory source (inside an inventory directory, or
next to an inventory file; Ansible skips hidden entries when it reads a directory). Never
inside an installed collection: an upgrade of the collection would delete it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import secrets
import tempfile
from typing import Any, Callable, Iterable, Mapping, Optional

DEFAULT_NAME = ".lambda_swarm"


class StateDirError(ValueError):
    """The state folder would be somewhere it does not survive."""


def default_state_dir(inventory_sources: Optional[Iterable[str]], cwd: str) -> str:
    """The folder beside the first inventory source that is a path; ``cwd`` otherwise
    (an inventory given as a host list, ``-i host1,host2,``)."""
    for given in inventory_sources or []:
        source = str(given)
        if "," in source and not os.path.exists(source):
            continue  # a host list, not a path
        path = source if os.path.isabs(source) else os.path.join(cwd, source)
        base = path if os.path.isdir(path) else os.path.dirname(path)
        return os.path.normpath(os.path.join(base, DEFAULT_NAME))
    return os.path.normpath(os.path.join(cwd, DEFAULT_NAME))


def check_state_dir(path: str) -> str:
    """Refuse a folder inside an installed collection (as given or once links resolve)."""
    for candidate in (os.path.normpath(path), os.path.realpath(path)):
        parts = candidate.split(os.sep)
        if "ansible_collections" in parts:
            raise StateDirError(
                "the controller's state folder %s is inside an installed collection "
                "(ansible_collections/...): the next `ansible-galaxy collection install` would "
                "delete its keys and backups; set lambda_swarm_state_dir in your inventory "
                "(group_vars/all) to a folder of your own, e.g. beside the inventory" % candidate
            )
    return os.path.normpath(path)


def state_path(explicit: Any, inventory_sources: Optional[Iterable[str]], cwd: str, *parts: Any) -> str:
    """The state folder (or a path under it), checked."""
    if explicit:
        base = os.path.expanduser(str(explicit))
        if not os.path.isabs(base):
            base = os.path.join(cwd, base)
    else:
        base = default_state_dir(inventory_sources, cwd)
    base = check_state_dir(base)
    return os.path.join(base, *[str(p) for p in parts if p]) if parts else base


def state_path_from_vars(
    variables: Mapping[str, Any], template: Optional[Callable[[Any], Any]], cwd: str, *parts: Any
) -> str:
    """``state_path`` from a play's variables: ``lambda_swarm_state_dir`` (rendered with
    ``template`` when given) and ``ansible_inventory_sources``."""
    explicit = variables.get("lambda_swarm_state_dir")
    if explicit is not None and template is not None:
        explicit = template(explicit)
    return state_path(explicit, variables.get("ansible_inventory_sources") or [], cwd, *parts)


def read_or_make_token(path: str, nbytes: int = 32) -> str:
    """The token kept in ``path``; made first (hex, ``nbytes`` random bytes) when the file is
    missing or empty. The folders are made 0700, the file 0600; the token is written to a
    file of its own and linked into place, so concurrent callers all read the first one."""
    try:
        with open(path) as handle:
            token = handle.read().strip()
        if token:
            return token
    except FileNotFoundError:
        pass
    folder = os.path.dirname(path)
    os.makedirs(folder, mode=0o700, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".token.", dir=folder)  # mode 0600
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(nbytes) + "\n")
        try:
            os.link(tmp, path)
        except FileExistsError:  # another caller was first, or an empty file is there
            with open(path) as handle:
                if not handle.read().strip():
                    os.replace(tmp, path)
                    tmp = None
    finally:
        if tmp:
            os.unlink(tmp)
    with open(path) as handle:
        return handle.read().strip()
