# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to sophia.lambda_swarm: what the scripts, Makefiles, CI steps, launchers and
deploy configurations of a project do with its files.

A compose file or Dockerfile name counts only as the argument of a command that uses it
(``docker compose -f``, ``docker stack deploy -c``, ``docker build -f``, ``open()`` in a
launcher, ``COMPOSE_FILE``, a file-like key of a config), never in ``echo``/``print``,
comments or heredoc bodies; what a script writes itself (redirects, ``tee``, ``cp``/``mv``
destinations, heredocs, ``open(..., "w")``) is recorded as created. No Ansible import.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import bisect
import os
import re
from typing import Dict, Iterable, List, Optional

from ansible_collections.sophia.lambda_swarm.plugins.module_utils._mcp_validate_shell import (
    expand_word,
    is_prose,
    logical_lines,
    simple_commands,
    split_words,
    start_claims,
    strip_wrappers,
)

# Words a line must hold to matter (compose files, Dockerfiles, launchers), matched on the
# lower-cased text: a case-sensitive alternation is ten times faster than re.IGNORECASE.
PREFILTER = re.compile(
    r"docker|podman|buildah|compose|python|pypy|uvicorn|gunicorn|hypercorn|daphne|\.ya?ml|ockerfile|stack"
)


def mentions(text: str) -> bool:
    return PREFILTER.search(text.lower()) is not None


PROSE = {
    "echo",
    "printf",
    "print",
    "log",
    "info",
    "warn",
    "warning",
    "error",
    "die",
    "fail",
    "say",
    "msg",
    "note",
    "debug",
    "success",
    "logger",
    "cat",
    "[",
    "[[",
    "test",
    "grep",
    "sed",
    "awk",
    "ls",
    "rm",
    "wc",
    "head",
    "tail",
    "diff",
    "stat",
    "file",
    "readlink",
    "realpath",
    "basename",
    "dirname",
    "git",
    "chmod",
    "chown",
    "mkdir",
    "read",
    "local",
    "declare",
    "unset",
    "return",
    "true",
    "false",
}
CREATORS = {"cp", "mv", "install", "ln", "rsync"}
BUILD_VALUE_FLAGS = {
    "-f",
    "--file",
    "-t",
    "--tag",
    "--build-arg",
    "--target",
    "--platform",
    "--label",
    "--secret",
    "--cache-from",
    "--cache-to",
    "-o",
    "--output",
    "--network",
    "--progress",
    "--iidfile",
    "--ssh",
    "--build-context",
    "--add-host",
    "--shm-size",
    "--ulimit",
    "-m",
    "--memory",
    "--builder",
    "--attest",
    "--annotation",
    "--allow",
    "--metadata-file",
    "--cgroup-parent",
    "--isolation",
}
COMPOSE_VALUE_FLAGS = {
    "-f",
    "--file",
    "-p",
    "--project-name",
    "--project-directory",
    "--env-file",
    "--profile",
    "--ansi",
    "--progress",
    "--parallel",
}
COMPOSE_NAME = re.compile(r"^(?:[\w.${}:-]*/)*[\w.-]*(?:compose|stack)[\w.-]*\.ya?ml$", re.I)


class Reference:
    """A file one command uses: kind ``compose`` (docker compose -f), ``stack`` (docker stack
    deploy -c), ``read`` (a launcher opens it) or ``env`` (COMPOSE_FILE)."""

    def __init__(self, kind: str, values: List[str], line: int, subcommand: Optional[str] = None) -> None:
        self.kind, self.values, self.line, self.subcommand = kind, values, line, subcommand


class Build:
    """A ``docker build`` seen in a command: Dockerfile and context as written."""

    def __init__(
        self, dockerfile: Optional[str], context: str, line: int, tags: List[str], args: Dict[str, str]
    ) -> None:
        self.dockerfile, self.context, self.line, self.tags, self.args = dockerfile, context, line, tags, args


class CommandScan:
    """What the commands of one file do. ``bases``: folders relative names resolve from."""

    def __init__(self, rel: str, bases: List[str]) -> None:
        self.rel, self.bases = rel, bases
        self.refs: List[Reference] = []
        self.builds: List[Build] = []
        self.created: List[str] = []
        self.claims: List[tuple] = []  # (line, claim)
        self.modules: List[tuple] = []  # (line, module) from `module` keys

    def command(self, argv: List[str], line: int, targets: Iterable[str] = ()) -> None:
        self.created.extend(t for t in (expand_word(x) for x in targets) if t)
        argv, env = strip_wrappers(argv)
        if "COMPOSE_FILE" in env:
            value = expand_word(env["COMPOSE_FILE"])
            if value:
                self.refs.append(Reference("env", [p for p in re.split(r"[:;,]", value) if p], line))
        if not argv:
            return
        name = os.path.basename(argv[0])
        if name in PROSE:
            return
        if name in CREATORS:
            plain = [a for a in argv[1:] if not a.startswith("-")]
            if len(plain) >= 2 and expand_word(plain[-1]):
                self.created.append(expand_word(plain[-1]))
            return
        if name in ("tee", "touch"):
            self.created.extend(w for w in (expand_word(a) for a in argv[1:] if not a.startswith("-")) if w)
            return
        if name in ("curl", "wget"):
            for i, a in enumerate(argv[:-1]):
                if a in ("-o", "--output", "-O", "--output-document"):
                    value = expand_word(argv[i + 1])
                    if value:
                        self.created.append(value)
            return
        rest = argv[1:]
        if name in ("docker", "podman"):
            while rest and rest[0].startswith("-"):  # docker --context x, -H host
                rest = (
                    rest[2:] if rest[0] in ("-H", "--host", "-c", "--context", "--config", "-l") else rest[1:]
                )
            if rest and rest[0] == "compose":
                return self._compose(rest[1:], line)
            if rest and rest[0] == "stack" and len(rest) > 1 and rest[1] in ("deploy", "up"):
                return self._stack(rest[2:], line)
            if rest[:1] == ["build"] or rest[:2] in (
                ["buildx", "build"],
                ["image", "build"],
                ["buildx", "b"],
            ):
                return self._build(rest[1:] if rest[0] == "build" else rest[2:], line)
            return
        if name in ("docker-compose", "podman-compose"):
            return self._compose(rest, line)
        if name == "buildah" and rest[:1] in (["bud"], ["build"]):
            return self._build(rest[1:], line)
        for claim in start_claims(argv):
            self.claims.append((line, claim))

    def _compose(self, args: List[str], line: int) -> None:
        files, sub, i = [], None, 0
        while i < len(args):
            a = args[i]
            if a in ("-f", "--file") and i + 1 < len(args):
                files.append(args[i + 1])
                i += 2
                continue
            if a.startswith("--file="):
                files.append(a.split("=", 1)[1])
            elif a.startswith("-f") and len(a) > 2 and not a.startswith("--"):
                files.append(a[2:])
            elif a in COMPOSE_VALUE_FLAGS:
                i += 1
            elif not a.startswith("-"):
                sub = a
                break
            i += 1
        files = [f for f in (expand_word(f) for f in files) if f and f != "-"]
        self.refs.append(Reference("compose", files, line, sub))

    def _stack(self, args: List[str], line: int) -> None:
        files = []
        for i, a in enumerate(args):
            if a in ("-c", "--compose-file") and i + 1 < len(args):
                files.append(args[i + 1])
            elif a.startswith("--compose-file="):
                files.append(a.split("=", 1)[1])
        files = [f for f in (expand_word(f) for f in files) if f and f != "-"]
        self.refs.append(Reference("stack", files, line, "deploy"))

    def _build(self, args: List[str], line: int) -> None:
        dockerfile, positional, tags, build_args, i = None, [], [], {}, 0
        words = []
        for a in args:  # --file=x as --file x
            flag, eq, value = a.partition("=")
            words.extend([flag, value] if a.startswith("-") and eq and flag in BUILD_VALUE_FLAGS else [a])
        args = words
        while i < len(args):
            a = args[i]
            if a in BUILD_VALUE_FLAGS and i + 1 < len(args):
                value = args[i + 1]
                if a in ("-f", "--file"):
                    dockerfile = value
                elif a in ("-t", "--tag"):
                    tags.append(value)
                elif a == "--build-arg" and "=" in value:
                    key, _sep, arg = value.partition("=")
                    build_args[key] = arg
                i += 2
                continue
            if not a.startswith("-"):
                positional.append(a)
            i += 1
        context = expand_word(positional[-1]) if positional else None
        if context is None or context == "-" or "://" in context or context.startswith("git@"):
            return
        if dockerfile is not None:
            dockerfile = expand_word(dockerfile)
            if dockerfile is None or dockerfile == "-":
                return
        self.builds.append(Build(dockerfile, context, line, tags, build_args))

    def shell(self, text: str, first_line: int = 1, makefile: bool = False) -> None:
        """Every command of a shell text (a script, a recipe, a CI ``run:``)."""
        # only lines naming what matters (compose files, Dockerfiles, launchers) are read
        for line, logical in logical_lines(text, makefile, PREFILTER):
            if is_prose(logical) and ">" not in logical:
                continue
            words = split_words(logical.replace("$$", "$") if makefile else logical)
            for argv, targets in simple_commands(words):
                self.command(argv, line + first_line - 1, targets)


# --- Python launchers --------------------------------------------------------------------

_CALLS_WITH_SHELL = {"system", "run", "call", "check_call", "check_output", "Popen", "getoutput", "popen"}


_EXEC_CALLS = {"execv", "execvp", "execvpe", "spawnv", "spawnvp", "create_subprocess_exec"}


def _argv_list(scan: CommandScan, node: ast.AST) -> None:
    """An argv list (all strings) handed to a process call or kept in a variable: a command.
    Lists elsewhere (test data, tables) are not read."""
    if not isinstance(node, (ast.List, ast.Tuple)) or len(node.elts) < 2:
        return
    words = [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
    if len(words) == len(node.elts) and mentions(" ".join(words[:3])):
        scan.command(words, node.lineno)


# What a statement must hold somewhere in its lines for scan_python to find anything in it:
# PREFILTER (commands, compose files) or a module key or a Path(...).write_*.
_PY_HINTS = re.compile(PREFILTER.pattern + r"|module|write_text|write_bytes")


def _statements(tree: ast.AST, text: Optional[str]) -> List[ast.AST]:
    """The top-level statements of ``tree`` whose lines hold a hint; all of them without
    ``text``. A module of handlers with one launcher function costs that function only."""
    body = getattr(tree, "body", None)
    if text is None or not isinstance(body, list) or "\r" in text.replace("\r\n", ""):
        return [tree]  # (a lone CR ends a line for the parser, not for the count below)
    starts = [0]
    lines = text.split("\n")
    for line in lines:
        starts.append(starts[-1] + len(line) + 1)
    hits = sorted(set(bisect.bisect_right(starts, m.start()) for m in _PY_HINTS.finditer(text.lower())))
    picked = []
    for stmt in body:
        first, last = stmt.lineno, getattr(stmt, "end_lineno", None) or len(lines)
        for deco in getattr(stmt, "decorator_list", ()):
            first = min(first, deco.lineno)
        k = bisect.bisect_left(hits, first)
        if k < len(hits) and hits[k] <= last:
            picked.append(stmt)
    return picked


def scan_python(scan: CommandScan, tree: ast.AST, text: Optional[str] = None) -> None:
    """Commands a Python launcher runs (argv lists given to a process call or kept in a
    variable, shell strings), files it opens for reading and ``module`` keys; ``print``,
    logging and lists in other places are never read. With the source ``text``, only the
    statements that can hold one of those are walked."""
    for node in (n for stmt in _statements(tree, text) for n in ast.walk(stmt)):
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            _argv_list(scan, node.value)  # CMD = ["docker", "stack", "deploy", ...]
        elif isinstance(node, ast.Call):
            func = node.func
            fname = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            first = node.args[0] if node.args else None
            text = first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None
            if fname in _CALLS_WITH_SHELL or fname in _EXEC_CALLS:
                for arg in node.args[:2] + [kw.value for kw in node.keywords if kw.arg in ("args", "cmd")]:
                    _argv_list(scan, arg)
            if text is None:
                pass
            elif fname in _CALLS_WITH_SHELL and " " in text:
                scan.shell(text, node.lineno)
            elif fname == "open" and COMPOSE_NAME.match(text):
                mode = node.args[1] if len(node.args) > 1 else None
                mode = mode.value if isinstance(mode, ast.Constant) else "r"
                if isinstance(mode, str) and any(c in mode for c in "wax"):
                    scan.created.append(text)
                else:
                    scan.refs.append(Reference("read", [text], node.lineno))
            for kw in node.keywords:
                if (
                    kw.arg == "module"
                    and isinstance(kw.value, ast.Constant)
                    and isinstance(kw.value.value, str)
                ):
                    scan.modules.append((kw.value.lineno, kw.value.value))
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values):  # noqa: B905 - targets may run Python < 3.10
                if (
                    isinstance(key, ast.Constant)
                    and key.value == "module"
                    and isinstance(value, ast.Constant)
                    and isinstance(value.value, str)
                ):
                    scan.modules.append((value.lineno, value.value))
        elif isinstance(node, ast.Attribute) and node.attr in ("write_text", "write_bytes"):
            call = node.value
            if (
                isinstance(call, ast.Call)
                and getattr(call.func, "id", getattr(call.func, "attr", None)) == "Path"
                and call.args
                and isinstance(call.args[0], ast.Constant)
            ):
                scan.created.append(str(call.args[0].value))


# --- configuration files ------------------------------------------------------------------

_CONFIG_KEY = re.compile(
    r"""^\s*[{,]?\s*-?\s*["']?([\w.-]*(?:compose|file|files|stack|deploy|path)[\w.-]*)["']?\s*[:=]\s*"""
    r"""["']?([^\s"',}]+)["']?\s*,?\s*}?\s*$""",
    re.I,
)
_CONFIG_ITEM = re.compile(r"""^\s*-?\s*["']([^\s"']+)["']\s*,?\s*$|^\s*-\s+([^\s"'#]+)\s*$""")
MODULE_KEY = re.compile(r"""["']?\bmodule["']?\s*[:=]\s*["']([A-Za-z_][\w.]*)["']""")
MODULE_KEY_YAML = re.compile(r"""^\s*-?\s*module:\s*["']?([A-Za-z_][\w.]*)["']?\s*(?:#.*)?$""")


def scan_config(scan: CommandScan, text: str) -> None:
    """A deploy configuration (YAML, JSON, TOML, .env): compose files as whole values of
    file-like keys or list items, ``COMPOSE_FILE=``, ``module`` keys. Prose never counts."""
    yaml_like = scan.rel.endswith((".yml", ".yaml"))
    for lineno, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", "//")):
            continue
        env = re.match(r"^\s*(?:export\s+)?COMPOSE_FILE\s*=\s*[\"']?([^\"'#\s]+)", line)
        if env:
            scan.refs.append(Reference("env", [p for p in re.split(r"[:;,]", env.group(1)) if p], lineno))
            continue
        if "compose" in line.lower() or "stack" in line.lower():
            m = _CONFIG_KEY.match(line)
            value = m.group(2) if m else None
            if value is None:
                m = _CONFIG_ITEM.match(line)
                value = (m.group(1) or m.group(2)) if m else None
            if value and COMPOSE_NAME.match(value) and "$" not in value and "{" not in value:
                scan.refs.append(Reference("read", [value], lineno))
        if "module" in line:
            matches = list(MODULE_KEY.finditer(line))
            if not matches and yaml_like:
                matches = [m for m in [MODULE_KEY_YAML.match(line)] if m]
            scan.modules.extend((lineno, m.group(1)) for m in matches)
