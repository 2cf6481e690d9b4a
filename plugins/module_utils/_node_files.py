# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to sophia.lambda_swarm: the logic of the node_files module, which writes several
small text files on a host in one module run. No Ansible import.

``plan`` reads the host once and decides, per file, whether its content must be written and
which of mode, owner and group differ; it checks every entry before anything is written and
raises ``NodeFilesError`` naming each bad one. ``write_atomic`` writes a file the way a reader
never sees half of it: a temporary file in the same directory, flushed and fsynced, given its
final mode, owner and group, then renamed over the path. ``diffs`` builds what Ansible's diff
callback shows, with or without the content."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import errno
import grp
import os
import pwd
import re
import stat
import tempfile
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

# an octal mode as a string: "644", "0644", "00644", "0o644"
OCTAL_MODE = re.compile(r"^(?:0o)?[0-7]+$")
# ansible.cfg's default max_file_size_for_diff: larger files get no text diff
DIFF_LIMIT = 104448


class NodeFilesError(Exception):
    """One or more entries of ``files`` cannot be written; nothing has been written."""


def parse_mode(value: Any) -> Optional[int]:
    """The permission bits ``value`` names: None for none, an int as it is, a string in octal.
    Raises ValueError for anything else (a symbolic mode, a bool, bits beyond 07777)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("mode %r is not a mode: give an octal string such as '0644'" % value)
    if isinstance(value, int):
        mode = value
    elif isinstance(value, str) and OCTAL_MODE.match(value.strip()):
        mode = int(value.strip().replace("0o", "", 1), 8)
    else:
        raise ValueError(
            "mode %r is not an octal mode: give an octal string such as '0644' "
            "(symbolic modes like 'u=rw,go=r' are not supported)" % (value,)
        )
    if not 0 <= mode <= 0o7777:
        raise ValueError("mode %r is out of range: permission bits go up to '07777'" % (value,))
    return mode


def resolve_id(name: Optional[str], kind: str) -> Optional[int]:
    """The uid (``kind`` "owner") or gid ("group") of a name or a numeric id; None for None.
    Raises ValueError when the host has no such user or group."""
    if name is None or name == "":
        return None
    name = str(name)
    if name.isdigit():
        return int(name)
    try:
        if kind == "owner":
            return pwd.getpwnam(name).pw_uid
        return grp.getgrnam(name).gr_gid
    except KeyError:
        what = "user" if kind == "owner" else "group"
        raise ValueError(
            "%s %r: no such %s on this host (create it before this task)" % (kind, name, what)
        ) from None


def default_mode() -> int:
    """The mode a new file gets when no mode is asked for: 0666 less the umask, as
    ansible.builtin.copy gives it."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _entry_problems(spec: Mapping[str, Any]) -> List[str]:
    """What is wrong with one entry on its own (the host not looked at yet)."""
    problems = []
    path = spec.get("path")
    if not isinstance(path, str) or not os.path.isabs(path):
        problems.append("path must be absolute")
    elif path.endswith("/") or os.path.basename(os.path.normpath(path)) in ("", ".", ".."):
        problems.append("path names a directory, not a file")
    if not isinstance(spec.get("content"), str):
        problems.append("content must be a string")
    else:
        try:
            spec["content"].encode("utf-8")
        except UnicodeEncodeError as exc:
            problems.append("content is not valid UTF-8 text (%s)" % exc.reason)
    try:
        parse_mode(spec.get("mode"))
    except ValueError as exc:
        problems.append(str(exc))
    for kind in ("owner", "group"):
        try:
            resolve_id(spec.get(kind), kind)
        except ValueError as exc:
            problems.append(str(exc))
    return problems


def _host_state(path: str, check_mode: bool = False) -> Dict[str, Any]:
    """Where a write of ``path`` lands and what is there now: ``target`` (a link resolved to the
    file it names), ``stat`` (None when nothing is there). Raises ValueError where no file can
    be written: a directory, a link to nothing, a device, a missing parent directory (in check
    mode a missing parent counts as a file to create: the task that makes the directory did not
    run either, as ansible.builtin.copy reports it)."""
    target = path
    if os.path.islink(path):
        target = os.path.realpath(path)
        if not os.path.lexists(target):
            raise ValueError(
                "is a link to %s, which does not exist: create that file or remove the link" % target
            )
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise ValueError("cannot be read (%s)" % (exc.strerror or exc)) from None
    if st is None:
        parent = os.path.dirname(target)
        if not os.path.isdir(parent) and not (check_mode and not os.path.lexists(parent)):
            raise ValueError(
                "its directory %s does not exist: create the directory first "
                "(ansible.builtin.file with state=directory)" % parent
            )
        return {"target": target, "stat": None}
    if stat.S_ISDIR(st.st_mode):
        raise ValueError("is a directory, not a file: remove it or choose another path")
    if not stat.S_ISREG(st.st_mode):
        raise ValueError("is not a regular file (a device, socket or FIFO): this module writes only files")
    return {"target": target, "stat": st}


def _read(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def _before_text(data: bytes) -> Optional[str]:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def plan(
    files: Sequence[Mapping[str, Any]], read_before: bool = False, check_mode: bool = False
) -> List[Dict[str, Any]]:
    """What to do for each entry of ``files`` (path, content, mode, owner, group), in order.

    Each plan holds ``path`` (as given), ``target`` (the file written: a link's destination),
    ``data`` (the bytes wanted), ``created`` (nothing there yet), ``write`` (the content must be
    written), ``attrs`` ({name: [before, after]} of the mode, owner and group that differ on an
    existing file), ``changed``, and what ``write_atomic`` gives a written file: ``mode``,
    ``uid`` and ``gid`` (asked for; None: as created), ``keep_uid`` and ``keep_gid`` (those of
    the file replaced, where none is asked for). With ``read_before``, ``before`` is the file's text
    (None when it is not UTF-8) and ``before_size`` its size, for a diff.

    Every entry is checked first: raises NodeFilesError naming each bad entry by index and
    path, so the caller writes nothing."""
    problems: List[Tuple[int, str]] = []
    seen: Dict[str, int] = {}
    plans = []
    for index, spec in enumerate(files):
        path = spec.get("path")
        where = "files[%d] (%s)" % (index, path)
        own = _entry_problems(spec)
        if own:
            problems.extend((index, "%s: %s" % (where, problem)) for problem in own)
            continue
        key = os.path.normpath(path)
        if key in seen:
            problems.append(
                (index, "%s: the same path as files[%d]; give each file once" % (where, seen[key]))
            )
            continue
        seen[key] = index
        try:
            state = _host_state(path, check_mode)
            plans.append(_plan_one(index, spec, state, read_before))
        except ValueError as exc:
            problems.append((index, "%s: %s" % (where, exc)))
        except OSError as exc:
            problems.append((index, "%s: cannot be read (%s)" % (where, exc.strerror or exc)))
    targets: Dict[str, int] = {}
    for item in plans:
        if item["target"] in targets:
            problems.append(
                (
                    item["index"],
                    "files[%d] (%s): names the same file (%s) as files[%d]; give each file once"
                    % (item["index"], item["path"], item["target"], targets[item["target"]]),
                )
            )
        targets.setdefault(item["target"], item["index"])
    if problems:
        problems.sort(key=lambda problem: problem[0])  # stable: an entry's problems stay in order
        raise NodeFilesError("nothing written: " + "; ".join(text for _index, text in problems))
    return plans


def _plan_one(
    index: int, spec: Mapping[str, Any], state: Mapping[str, Any], read_before: bool
) -> Dict[str, Any]:
    data = spec["content"].encode("utf-8")
    mode = parse_mode(spec.get("mode"))
    uid = resolve_id(spec.get("owner"), "owner")
    gid = resolve_id(spec.get("group"), "group")
    st = state["stat"]
    item: Dict[str, Any] = {
        "index": index,
        "path": spec["path"],
        "target": state["target"],
        "data": data,
        "created": st is None,
        "attrs": {},
        "uid": uid,
        "gid": gid,
        "keep_uid": None,
        "keep_gid": None,
    }
    if st is None:
        item.update(write=True, mode=default_mode() if mode is None else mode)
        if read_before:
            item.update(before="", before_size=0)
    else:
        # read only what a verdict or a diff needs: a file of another size differs anyway
        wants_text = read_before and st.st_size <= DIFF_LIMIT
        current = _read(state["target"]) if wants_text or st.st_size == len(data) else None
        item["write"] = current != data
        wanted = {"mode": mode, "owner": uid, "group": gid}
        now = {"mode": stat.S_IMODE(st.st_mode), "owner": st.st_uid, "group": st.st_gid}
        for name, value in wanted.items():
            if value is not None and value != now[name]:
                item["attrs"][name] = [now[name], value]
        # a rewritten file keeps what it is not told to change
        item["mode"] = now["mode"] if mode is None else mode
        item["keep_uid"] = now["owner"] if uid is None else None
        item["keep_gid"] = now["group"] if gid is None else None
        if read_before:
            item.update(before=_before_text(current) if current is not None else None, before_size=st.st_size)
    item["changed"] = item["write"] or bool(item["attrs"])
    return item


def write_atomic(
    target: str,
    data: bytes,
    mode: int,
    uid: Optional[int] = None,
    gid: Optional[int] = None,
    keep_uid: Optional[int] = None,
    keep_gid: Optional[int] = None,
) -> None:
    """Write ``data`` to ``target`` so that a reader sees the old file or the new one, never a
    part: a temporary file in the same directory, fsynced, given ``mode``, ``uid`` and ``gid``
    before it is renamed over ``target`` (so the content is never readable with looser
    permissions than asked), then the directory fsynced. ``keep_uid`` and ``keep_gid`` (the
    owner and group of the file replaced, where none is asked for) are set where this user
    may set them, as ansible.builtin.copy keeps them. None leaves an id as the file is created
    (this user; the directory's group in a setgid directory). The temporary file is removed on
    any failure."""
    directory = os.path.dirname(target)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".%s." % os.path.basename(target), suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
            # chown before chmod: a chown clears setuid and setgid bits
            _fchown(handle.fileno(), uid, gid, strict=True)
            _fchown(handle.fileno(), keep_uid, keep_gid, strict=False)
            os.fchmod(handle.fileno(), mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(directory)


def _fchown(fd: int, uid: Optional[int], gid: Optional[int], strict: bool) -> None:
    st = os.fstat(fd)
    new_uid = -1 if uid is None or uid == st.st_uid else uid
    new_gid = -1 if gid is None or gid == st.st_gid else gid
    if new_uid == -1 and new_gid == -1:
        return
    try:
        os.fchown(fd, new_uid, new_gid)
    except PermissionError:
        if strict:
            raise


def fsync_dir(directory: str) -> None:
    """Make a rename in ``directory`` durable (where the file system lets a directory be
    opened for it)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.EBADF):
            raise
    finally:
        os.close(fd)


def _show_attr(name: str, value: int) -> str:
    if name == "mode":
        return "%04o" % value
    try:
        return pwd.getpwuid(value).pw_name if name == "owner" else grp.getgrgid(value).gr_name
    except KeyError:
        return str(value)


def diffs(plans: Sequence[Mapping[str, Any]], content: bool = True) -> List[Dict[str, Any]]:
    """Ansible diff dicts for the plans that change something, in order: the content (from
    ``before``/``before_size``, see ``plan``'s ``read_before``), or with ``content`` false a line
    naming the file and no text; then the mode, owner and group that change."""
    out: List[Dict[str, Any]] = []
    for item in plans:
        path = item["path"]
        if item["write"]:
            entry: Dict[str, Any] = {
                "before_header": "%s (absent)" % path if item["created"] else path,
                "after_header": path,
            }
            if not content:
                entry["prepared"] = "%s: content %s, not shown (diff_content is false)\n" % (
                    path,
                    "created" if item["created"] else "changed",
                )
            elif item.get("before_size", 0) > DIFF_LIMIT:
                entry["dst_larger"] = DIFF_LIMIT
            elif len(item["data"]) > DIFF_LIMIT:
                entry["src_larger"] = DIFF_LIMIT
            elif item.get("before") is None:
                entry["dst_binary"] = 1
            else:
                entry.update(before=item["before"], after=item["data"].decode("utf-8"))
            out.append(entry)
        if item["attrs"]:
            out.append(
                {
                    "before_header": "%s (attributes)" % path,
                    "after_header": "%s (attributes)" % path,
                    "before": "".join(
                        "%s: %s\n" % (name, _show_attr(name, values[0]))
                        for name, values in item["attrs"].items()
                    ),
                    "after": "".join(
                        "%s: %s\n" % (name, _show_attr(name, values[1]))
                        for name, values in item["attrs"].items()
                    ),
                }
            )
    return out


def results(plans: Sequence[Mapping[str, Any]]) -> Dict[str, Any]:
    """The module's return values (no content): ``changed``, ``changed_paths`` (in order) and
    ``files`` (path, changed, created)."""
    return {
        "changed": any(item["changed"] for item in plans),
        "changed_paths": [item["path"] for item in plans if item["changed"]],
        "files": [
            {"path": item["path"], "changed": item["changed"], "created": item["created"]} for item in plans
        ],
    }
