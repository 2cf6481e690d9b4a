# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to sophia.lambda_swarm: the NVIDIA container runtime settings under which a task
sees exactly the GPUs Swarm assigned to it. Pure logic, no Ansible import.

What it relies on:
- Swarm hands a task its generic resources only as an environment variable,
  ``DOCKER_RESOURCE_<KIND>`` with the kind upper-cased and the values comma-separated
  (swarmkit's ``genericresource.EnvFormat``): kind ``NVIDIA-GPU`` gives
  ``DOCKER_RESOURCE_NVIDIA-GPU=GPU-...,GPU-...``.
- The NVIDIA runtime takes a device list from the variables named in the top-level
  ``swarm-resource`` key of ``/etc/nvidia-container-runtime/config.toml`` (comma-separated)
  before ``NVIDIA_VISIBLE_DEVICES`` (which CUDA images set to ``all``). Unset, every GPU task
  sees every GPU of its node.
- ``[nvidia-container-runtime] mode``: ``legacy`` (the runtime hook) honours
  ``swarm-resource``; ``auto`` means ``legacy`` before toolkit 1.18.0 and ``jit-cdi`` from
  1.18.0, and ``jit-cdi`` ignored ``swarm-resource`` until 1.19.0 (NVIDIA's tracker: toolkit
  issue 1599, fixed by pull request 1600); ``cdi`` and ``csv`` do not read it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from typing import Dict, Mapping, Optional, Sequence, Tuple

DEFAULT_PATH = "/etc/nvidia-container-runtime/config.toml"
SWARM_KEY = "swarm-resource"
MODE_KEY = "nvidia-container-runtime.mode"
MODES = ("auto", "legacy", "jit-cdi", "cdi", "csv")
JIT_CDI_DEFAULT = (1, 18, 0)  # auto resolves to jit-cdi from this release
JIT_CDI_SWARM = (1, 19, 0)  # the first release whose jit-cdi mode reads swarm-resource
CTK_CONFIG_SET = (1, 14, 0)  # nvidia-ctk config --set (nvidia-ctk itself is older)

_VERSION = re.compile(
    r"NVIDIA Container (?:Toolkit CLI|Runtime) version\s+v?(\d+)\.(\d+)\.(\d+)", re.IGNORECASE
)
_TABLE = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(?:#.*)?$")
_KEY = re.compile(r"^\s*(#\s*)?([A-Za-z0-9_.-]+|\"[^\"]*\")\s*=\s*(.*)$")


class RuntimeConfigError(Exception):
    """A setting that cannot work, with the fix in the message."""


def swarm_variable(kind: str) -> str:
    """The variable Swarm sets for generic resources of ``kind``."""
    return ("DOCKER_RESOURCE_" + kind).upper()


def parse_version(text: Optional[str]) -> Optional[Tuple[int, ...]]:
    """(major, minor, patch) from ``nvidia-ctk --version`` or ``nvidia-container-runtime
    --version`` output, or None."""
    found = _VERSION.search(text or "")
    return tuple(int(part) for part in found.groups()) if found else None


def show_version(version: Optional[Sequence[int]]) -> str:
    return ".".join(str(part) for part in version) if version else "unknown"


def _value(raw: str) -> str:
    """A TOML scalar's text as a Python string (basic or literal string, or a bare word);
    a trailing comment is dropped."""
    raw = raw.strip()
    if raw[:1] in ('"', "'"):
        quote = raw[0]
        end = raw.find(quote, 1)
        while quote == '"' and end > 0 and raw[end - 1] == "\\":
            end = raw.find(quote, end + 1)
        return raw[1:end] if end > 0 else raw[1:]
    return raw.split("#", 1)[0].strip()


def read_settings(text: Optional[str]) -> Dict[str, Optional[str]]:
    """The two keys this collection owns, as set in the file (None when absent or
    commented out): ``swarm-resource`` (top level) and ``nvidia-container-runtime.mode``."""
    found = {SWARM_KEY: None, MODE_KEY: None}
    table = ""
    for line in (text or "").splitlines():
        header = _TABLE.match(line)
        if header:
            table = header.group(1)
            continue
        key = _KEY.match(line)
        if not key or key.group(1):
            continue
        name = key.group(2).strip('"')
        dotted = "%s.%s" % (table, name) if table else name
        if dotted in found:
            found[dotted] = _value(key.group(3))
    return found


def honours_swarm(mode: Optional[str], version: Tuple[int, ...]) -> bool:
    """Whether the runtime in ``mode`` on toolkit ``version`` reads ``swarm-resource``."""
    mode = mode or "auto"
    if mode == "legacy":
        return True
    if mode == "auto":
        return version < JIT_CDI_DEFAULT or version >= JIT_CDI_SWARM
    if mode == "jit-cdi":
        return version >= JIT_CDI_SWARM
    return False


def plan(
    version: Optional[Tuple[int, ...]],
    current: Mapping[str, Optional[str]],
    kind: str,
    mode: Optional[str] = None,
) -> Dict[str, str]:
    """The settings to write: {key: value} (empty when the file is right). ``current``: what
    read_settings found; ``mode``: the mode asked for, or None to keep the file's when it
    honours Swarm and to take ``legacy`` when it does not. Raises RuntimeConfigError."""
    if version is None:
        raise RuntimeConfigError(
            "cannot tell the NVIDIA container toolkit's version (neither nvidia-ctk --version nor"
            " nvidia-container-runtime --version printed one): install nvidia-container-toolkit 1.x"
        )
    if mode is not None and mode not in MODES:
        raise RuntimeConfigError("mode must be one of %s; got %r" % (", ".join(MODES), mode))
    wanted = {}
    variable = swarm_variable(kind)
    names = [name.strip() for name in (current.get(SWARM_KEY) or "").split(",") if name.strip()]
    if variable not in names:
        wanted[SWARM_KEY] = ",".join([*names, variable])
    have = current.get(MODE_KEY)
    if mode is not None:
        if not honours_swarm(mode, version):
            also = ", or auto on toolkit 1.19.0 or later" if version < JIT_CDI_SWARM else " or auto"
            raise RuntimeConfigError(
                "NVIDIA container toolkit %s in mode %r ignores Swarm's GPU assignment (every GPU task"
                " would see every GPU): set mode (docker_gpu_runtime_mode) to legacy%s"
                % (show_version(version), mode, also)
            )
        if (have or "auto") != mode:
            wanted[MODE_KEY] = mode
    elif not honours_swarm(have, version):
        wanted[MODE_KEY] = "legacy"
    return wanted


def _quote(value: str) -> str:
    return '"%s"' % value.replace("\\", "\\\\").replace('"', '\\"')


def _keep_form(old: str, line: str, dotted: str) -> str:
    """``line`` for the key ``old`` held: its indentation kept, written dotted when it was."""
    key = _KEY.match(old)
    indent = re.match(r"^\s*", old).group(0)
    if key and key.group(2).strip('"') == dotted and "." in dotted:
        return "%s%s = %s" % (indent, dotted, line.split(" = ", 1)[1])
    return indent + line


def edit_text(text: Optional[str], settings: Mapping[str, str]) -> str:
    """``text`` with ``settings`` written in place, for a host without ``nvidia-ctk``: a key's
    line (or its commented-out default) is replaced; a missing top-level key goes before the
    first table, a missing table key under its table (the table is added at the end when the
    file has none). Every other line is kept as it is."""
    lines = (text or "").splitlines()
    for dotted, value in settings.items():
        table, _dot, name = dotted.rpartition(".")
        line = "%s = %s" % (name, _quote(value))
        current, first_table, table_at, active, commented = "", None, None, None, None
        for index, raw in enumerate(lines):
            header = _TABLE.match(raw)
            if header:
                current = header.group(1)
                if first_table is None:
                    first_table = index
                if current == table:
                    table_at = index
                continue
            key = _KEY.match(raw)
            found = key.group(2).strip('"') if key else None
            # the key in its table, or written dotted at the top level (``table.key = ...``)
            if key and ((current == table and found == name) or (table and not current and found == dotted)):
                if key.group(1):
                    commented = index if commented is None else commented
                else:
                    active = index
        if active is not None:
            lines[active] = _keep_form(lines[active], line, dotted)
        elif commented is not None:
            lines[commented] = _keep_form(lines[commented], line, dotted)
        elif not table:
            lines.insert(first_table if first_table is not None else len(lines), line)
        elif table_at is not None:
            lines.insert(table_at + 1, "  " + line)
        else:
            lines.extend(["", "[%s]" % table, "  " + line])
    return "\n".join(lines) + "\n"
