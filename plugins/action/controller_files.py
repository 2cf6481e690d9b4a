# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for controller_files: write small text files on the controller inside
Ansible's own process, with node_files' checks, atomic writes and diffs
(module_utils/_node_files.py), and no module run."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.sophia.lambda_swarm.plugins.module_utils import _node_files as nf
from ansible_collections.sophia.lambda_swarm.plugins.modules.controller_files import ARGUMENT_SPEC


def here(path):
    """A path on the controller: ``~`` expanded, a relative one taken from the working directory
    (as ansible.builtin.copy with delegate_to localhost takes it)."""
    if not isinstance(path, str) or not path:
        return path
    path = os.path.expanduser(path)
    if not os.path.isabs(path):
        path = os.path.join(os.getcwd(), path)
    # normalised (no .. making a directory on the way), but a trailing / kept: it names a directory
    return os.path.normpath(path) + ("/" if path.endswith("/") else "")


def plan_directories(directories):
    """Per entry of ``directories`` (path, mode): ``path`` (absolute), ``mode`` (None: as
    made), ``created`` (nothing there yet) and ``before`` (the mode it has, when it exists).
    Raises NodeFilesError naming each bad entry (nothing made)."""
    problems, plans = [], []
    for index, spec in enumerate(directories):
        path = here(spec.get("path"))
        where = "directories[%d] (%s)" % (index, spec.get("path"))
        try:
            mode = nf.parse_mode(spec.get("mode"))
        except ValueError as exc:
            problems.append("%s: %s" % (where, exc))
            continue
        try:
            st = os.stat(path)
        except FileNotFoundError:
            plans.append({"path": path, "mode": mode, "created": True, "before": None})
            continue
        except OSError as exc:
            problems.append("%s: cannot be read (%s)" % (where, exc.strerror or exc))
            continue
        if not stat.S_ISDIR(st.st_mode):
            problems.append("%s: is not a directory: remove it or choose another path" % where)
            continue
        plans.append({"path": path, "mode": mode, "created": False, "before": stat.S_IMODE(st.st_mode)})
    if problems:
        raise nf.NodeFilesError("nothing written: " + "; ".join(problems))
    for item in plans:
        item["changed"] = item["created"] or (item["mode"] is not None and item["mode"] != item["before"])
    return plans


def make_directories(plans, done):
    """Make or fix each planned directory (parents as ``mkdir -p`` makes them), adding each
    path to ``done`` as it is done (so a failure leaves ``done`` true)."""
    for item in plans:
        if not item["changed"]:
            continue
        if item["created"]:
            os.makedirs(item["path"], exist_ok=True)
        if item["mode"] is not None:
            os.chmod(item["path"], item["mode"])
        done.append(item["path"])


def directory_diffs(plans):
    out = []
    for item in plans:
        if item["changed"]:
            mode = "" if item["mode"] is None else " %04o" % item["mode"]
            before = "absent\n" if item["created"] else "directory %04o\n" % item["before"]
            out.append({"before_header": item["path"], "after_header": item["path"], "before": before,
                        "after": "directory%s\n" % mode})  # fmt: skip
    return out


def write(files, check_mode=False, diff=False, diff_content=True, directories=()):
    """Plan and (outside check mode) make ``directories`` (path, mode), then write ``files``
    (path, content, mode) here; node_files' result, with ``directories`` (path, changed,
    created) beside ``files``. Raises NodeFilesError for bad entries (nothing made or
    written); a write that fails returns failed, its message naming the file and those
    written before it."""
    folders = plan_directories(directories)
    entries = [{"path": here(f["path"]), "content": f["content"], "mode": f.get("mode")} for f in files]
    made = [os.path.normpath(item["path"]) for item in folders if item["created"]]
    problems = []
    if made and not check_mode:
        # a file may go into a directory this task makes (planned as check mode plans it: a
        # missing parent counts as one to make), but only one of ``directories`` itself; in
        # check mode a missing parent is no error, as for node_files (an earlier task may make it)
        for index, entry in enumerate(entries):
            path = entry["path"]
            parent = os.path.dirname(os.path.normpath(path)) if isinstance(path, str) else None
            if parent and not os.path.isdir(parent) and parent not in made:
                problems.append("files[%d] (%s): its directory %s does not exist: make it first (directories)"
                                % (index, path, parent))  # fmt: skip
    plans = []
    try:
        plans = nf.plan(entries, read_before=diff and diff_content, check_mode=check_mode or bool(made))
    except nf.NodeFilesError as exc:
        problems.append(str(exc).replace("nothing written: ", "", 1))
    if problems:
        raise nf.NodeFilesError("nothing written: " + "; ".join(problems))
    done = []
    if not check_mode:
        try:
            make_directories(folders, done)
            if made:  # planned again now that their directories exist
                plans = nf.plan(entries, read_before=diff and diff_content)
        except (OSError, nf.NodeFilesError) as exc:
            reason = (
                "cannot make %s (%s)" % (exc.filename, exc.strerror or exc)
                if isinstance(exc, OSError)
                else str(exc)
            )
            reason = "%s; no file written; directories made: %s" % (reason, ", ".join(done) or "none")
            return {"failed": True, "changed": bool(done), "changed_paths": done, "msg": reason}
        for item in plans:
            if not item["changed"]:
                continue
            try:
                if item["write"]:
                    nf.write_atomic(item["target"], item["data"], item["mode"], keep_uid=item["keep_uid"],
                                    keep_gid=item["keep_gid"])  # fmt: skip
                else:
                    os.chmod(item["target"], item["attrs"]["mode"][1])
            except OSError as exc:
                written = ", ".join(done) or "none"
                return {
                    "failed": True,
                    "msg": "files[%d] (%s): cannot write %s (%s); written before it: %s"
                    % (item["index"], item["path"], item["target"], exc.strerror or exc, written),
                    "changed": bool(done),
                    "changed_paths": done,
                }
            done.append(item["path"])
    result = nf.results(plans)
    dirs_changed = [item["path"] for item in folders if item["changed"]]
    result.update(
        changed=result["changed"] or bool(dirs_changed),
        changed_paths=dirs_changed + result["changed_paths"],
        directories=[{"path": item["path"], "changed": item["changed"], "created": item["created"]}
                     for item in folders],
    )  # fmt: skip
    if diff:
        result["diff"] = directory_diffs(folders) + nf.diffs(plans, content=diff_content)
    return result


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        try:
            outcome = write(
                args["files"],
                check_mode=bool(self._task.check_mode),
                diff=bool(self._task.diff),
                diff_content=args["diff_content"],
                directories=args["directories"],
            )
        except nf.NodeFilesError as exc:
            raise AnsibleActionFail(str(exc)) from None
        result.update(outcome)
        return result
