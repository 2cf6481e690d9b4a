# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to sophia.lambda_swarm: Dockerfiles as text.

Instructions (continuations joined, comments dropped), COPY/ADD parts, CMD/ENTRYPOINT as
argv, ARG substitution, the COPY sources a build context lacks, and the context a Dockerfile
with no known build is most likely built from. No Ansible import.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import json
import os
import re
import shlex
from typing import List, Match, Optional, Tuple

from ansible_collections.sophia.lambda_swarm.plugins.module_utils._mcp_validate_index import Project
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._mcp_validate_report import (
    closest_path,
    finding,
)

_VAR = re.compile(r"\$\{(\w+)(?::?[-=]([^}]*))?\}|\$(\w+)")


def dockerfile_instructions(text: str) -> List[tuple]:
    """(line, INSTRUCTION, arguments) with continuations joined and comments dropped."""
    out, buf, start, escape = [], "", None, "\\"
    for lineno, raw in enumerate(text.splitlines(), 1):
        directive = re.match(r"^#\s*escape\s*=\s*(\S)", raw)
        if directive and not out and not buf:
            escape = directive.group(1)
            continue
        line = raw.strip()
        if not buf and (not line or line.startswith("#")):
            continue
        if buf and line.startswith("#"):
            continue
        if start is None:
            start = lineno
        if line.endswith(escape):
            buf += line[:-1] + " "
            continue
        buf += line
        parts = buf.split(None, 1)
        if parts:
            out.append((start, parts[0].upper(), parts[1] if len(parts) > 1 else ""))
        buf, start = "", None
    return out


def instruction_words(args: str) -> List[str]:
    args = args.strip()
    if args.startswith("["):
        try:
            items = json.loads(args)
            return [str(i) for i in items] if isinstance(items, list) else []
        except ValueError:
            return []
    try:
        return shlex.split(args)
    except ValueError:
        return args.split()


def copy_parts(args: str) -> Optional[Tuple[List[str], List[str], Optional[str]]]:
    """(flags, sources, destination) of COPY/ADD, or None for a heredoc."""
    if "<<" in args:
        return None
    items = instruction_words(args)
    flags = [i for i in items if i.startswith("--")]
    items = [i for i in items if not i.startswith("--")]
    if len(items) < 2:
        return flags, [], None
    return flags, items[:-1], items[-1]


def copy_sources(args: str) -> List[str]:
    """Source paths of COPY/ADD (flags dropped; the destination is the last item). An
    empty list for copies from another stage or image (``--from``) and heredocs."""
    parts = copy_parts(args)
    if parts is None or any(f.startswith("--from") for f in parts[0]):
        return []
    return parts[1]


def command_argv(args: str) -> List[str]:
    """CMD/ENTRYPOINT as argv (the shell form runs through /bin/sh -c)."""
    args = args.strip()
    if args.startswith("["):
        try:
            items = json.loads(args)
            if isinstance(items, list):
                return [str(i) for i in items]
        except ValueError:
            pass
    return ["/bin/sh", "-c", args] if args else []


def substitute(value: str, variables: dict) -> str:
    def repl(m: Match[str]) -> str:
        name = m.group(1) or m.group(3)
        if name in variables and variables[name] is not None:
            return str(variables[name])
        if m.group(2) is not None:
            return m.group(2)
        return m.group(0)

    return _VAR.sub(repl, value)


# --- checks ------------------------------------------------------------------------------


def copy_findings(project: Project, rel: str, context: str, plan_where: str = "") -> List[dict]:
    """copy-source-missing for each COPY/ADD source the context lacks (grouped per plan)."""
    text = project.text(rel)
    if text is None:
        return []
    out = []
    shown = context or "."
    where = " (%s)" % plan_where if plan_where else ""
    variables = {}
    for line, instruction, args in dockerfile_instructions(text):
        if instruction == "ARG":
            for item in instruction_words(args):
                key, eq, default = item.partition("=")
                variables.setdefault(key, default if eq else None)
        if instruction not in ("COPY", "ADD"):
            continue
        for written in copy_sources(args):
            source = substitute(written, variables)
            if "$" in source or (instruction == "ADD" and re.match(r"^[a-z]+://", source)):
                continue
            target = project.rel(os.path.join(context, source))
            cause = "copy:%s" % shown
            if target is None or os.path.normpath(source.lstrip("/")).startswith(".."):
                out.append(
                    finding(
                        "copy-source-missing",
                        rel,
                        line,
                        "%s %s leaves the build context %s%s; Docker cannot copy it"
                        % (instruction, source, shown, where),
                        "widen the build context, or copy the files into it",
                    )
                )
                continue
            if any(ch in source for ch in "*?["):
                if not any(fnmatch.fnmatch(p, target) for p in project.file_set | project.dirs):
                    out.append(
                        finding(
                            "copy-source-missing",
                            rel,
                            line,
                            "%s %s matches nothing in the build context %s%s"
                            % (instruction, source, shown, where),
                        )
                    )
            elif not project.exists(target):
                in_context = [
                    p[len(context) + 1 :] if context else p
                    for p in sorted(project.dirs | project.file_set)
                    if p and (not context or p.startswith(context + os.sep))
                ]
                hint = project.missing_hint(target) if project.gitignored(target) else None
                close = closest_path(source, in_context)
                severity = "warning" if project.gitignored(target) else None
                out.append(
                    finding(
                        "copy-source-missing",
                        rel,
                        line,
                        "%s %s: not in the build context %s%s" % (instruction, source, shown, where),
                        hint
                        or (
                            "did you mean %s?" % close
                            if close
                            else "the source must be inside the build context"
                        ),
                        severity=severity,
                        cause=cause,
                    )
                )
    return out


def infer_context(project: Project, rel: str) -> str:
    """The folder (the Dockerfile's own or one above it) from which most COPY sources exist;
    the nearest one on a tie."""
    text = project.text(rel) or ""
    sources = [
        s for _l, i, a in dockerfile_instructions(text) if i in ("COPY", "ADD") for s in copy_sources(a)
    ]
    sources = [s for s in sources if "$" not in s and "://" not in s and not any(c in s for c in "*?[")]
    best, best_count = os.path.dirname(rel), -1
    folder = os.path.dirname(rel)
    while True:
        count = sum(
            1 for s in sources if project.exists(project.rel(os.path.join(folder, s.lstrip("/"))) or "\0")
        )
        if count > best_count:
            best, best_count = folder, count
        if not folder:
            break
        folder = os.path.dirname(folder)
    return best
