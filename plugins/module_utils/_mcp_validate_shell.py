# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to sophia.lambda_swarm: shell text read as commands, never run.

Words of a line (quotes, operators, comments as the shell sees them), logical lines
(continuations joined, heredoc bodies skipped, Makefile recipes), simple commands with
their redirects, the start command of a container (``python -m``, ``python x.py``,
``uvicorn m:app``, console scripts, behind ``exec``/``uv run``/``tini``/``sh -c``), and
``bash -n`` on copies of the scripts. No Ansible import.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import bisect
import itertools
import os
import re
import shutil
import subprocess
import tempfile
from typing import Dict, Iterator, List, Optional, Pattern, Tuple

APP_SERVERS = ("uvicorn", "gunicorn", "hypercorn", "daphne")
PYTHON_RE = re.compile(r"^(?:python[\d.]*|pypy[\d.]*)$")
SEPARATORS = {";", "&&", "||", "|", "&", "(", ")", ";;", "|&", "{", "}", "!"}
KEYWORDS = {
    "if",
    "then",
    "else",
    "elif",
    "fi",
    "do",
    "done",
    "while",
    "until",
    "case",
    "esac",
    "time",
    "function",
}
WRAPPERS = {"sudo", "exec", "command", "nohup", "nice", "builtin", "eval", "xargs"}
PROSE_WORDS = {
    "echo",
    "printf",
    "print",
    "log",
    "info",
    "warn",
    "error",
    "die",
    "say",
    "logger",
    "[",
    "[[",
    "local",
}
REDIRECTS = {">", ">>", ">|", "&>", "&>>"}
_PARAM_DEFAULT = re.compile(r"^\$\{\w+:?[-=]([^}]*)\}$")
_SHEBANG = re.compile(rb"^#!\s*(?:/usr)?/bin/(?:env\s+)?(?:ba)?sh\b")


def expand_word(word: str) -> Optional[str]:
    """A word with no unknown parts: ``${1:-x.yml}`` -> ``x.yml``; any other ``$`` -> None."""
    if "$" not in word:
        return word
    m = _PARAM_DEFAULT.match(word)
    if m and "$" not in m.group(1):
        return m.group(1)
    return None


_TOKEN = re.compile(
    r"""\s*(?:(?P<comment>\#.*)"""
    r"""|(?P<op>&>>|<<<|<<-|&&|\|\||;;|\|&|&>|>>|>\||>&|<&|<<|[;&|()<>])"""
    r"""|(?P<word>(?:[^\s'"\\;&|()<>]+|'[^']*'|"(?:[^"\\]|\\.)*"|\\.)+))"""
)
_PLAIN = re.compile(r"""&>>|<<<|<<-|&&|\|\||;;|\|&|&>|>>|>\||>&|<&|<<|[;&|()<>]|[^\s;&|()<>]+""")
_PART = re.compile(r"""'([^']*)'|"((?:[^"\\]|\\.)*)"|\\(.)|([^'"\\]+)""")
_DQ_ESCAPE = re.compile(r"""\\([\\"$`])""")


def _unquote(word: str) -> str:
    out = []
    for single, double, escaped, plain in _PART.findall(word):
        out.append(single or (_DQ_ESCAPE.sub(r"\1", double) if double else "") or escaped or plain)
    return "".join(out)


def split_words(line: str) -> List[str]:
    """Shell words of one logical line (quotes removed, operators as their own words,
    comments dropped). An unclosed quote ends the line's words at whitespace."""
    if not any(c in line for c in "'\"\\#"):  # nothing quoted: one C-level pass
        return [
            m.group()
            for m in _PLAIN.finditer(line)
            if not (m.group().isdigit() and line[m.end() : m.end() + 1] in ("<", ">"))
        ]
    words, pos = [], 0
    for m in _TOKEN.finditer(line):
        if m.start() != pos:
            break  # an unclosed quote
        pos = m.end()
        kind, text = m.lastgroup, m.group(m.lastgroup or 0)
        if kind == "comment":
            return words
        if kind == "op":
            words.append(text)
        elif kind == "word" and not (text.isdigit() and line[pos : pos + 1] in ("<", ">")):
            words.append(_unquote(text) if ("'" in text or '"' in text or "\\" in text) else text)
    if line[pos:].strip():  # after an unclosed quote: the rest, split on whitespace
        words.extend(w.strip("'\"") for w in line[pos:].split())
    return words


def simple_commands(words: List[str]) -> List[Tuple[List[str], List[str]]]:
    """(argv, redirect targets) of each simple command of a line."""
    out, argv, targets = [], [], []
    i = 0
    while i < len(words):
        word = words[i]
        if word in SEPARATORS:
            if argv:
                out.append((argv, targets))
            argv, targets = [], []
        elif word in REDIRECTS or (word.endswith(">") and word.rstrip(">&12") == ""):
            if i + 1 < len(words) and not words[i + 1].startswith("&"):
                targets.append(words[i + 1])
            i += 1
        elif word in ("<", "<<", "<<-", "<<<", "<&", ">&"):
            i += 1
        elif not argv and word in KEYWORDS:
            pass
        else:
            argv.append(word)
        i += 1
    if argv:
        out.append((argv, targets))
    return out


def strip_wrappers(argv: List[str]) -> Tuple[List[str], Dict[str, str]]:
    """The command itself and the variables assigned before it."""
    env = {}
    i = 0
    while i < len(argv):
        word = argv[i]
        assign = re.match(r"^([A-Za-z_]\w*)=(.*)$", word)
        if assign:
            env[assign.group(1)] = assign.group(2)
        elif word in WRAPPERS or word == "export":
            pass
        elif word == "env":
            while i + 1 < len(argv) and argv[i + 1].startswith("-"):
                i += 1
        elif word == "timeout" and i + 1 < len(argv):
            i += 1
        else:
            break
        i += 1
    return argv[i:], env


_HEREDOC = re.compile(r"<<(-?)\s*(['\"]?)([\w.-]+)\2")


def logical_lines(
    text: str, makefile: bool = False, wanted: Optional[Pattern[str]] = None
) -> Iterator[Tuple[int, str]]:
    """(line, text) of each logical line: continuations joined, heredoc bodies skipped,
    Makefile rules and comments dropped (their recipes and variable values kept). With
    ``wanted`` (a pattern matched on the lower-cased text), only the logical lines where it
    matches, found without walking the others."""
    if wanted is not None and not makefile:
        yield from _wanted_lines(text, wanted)
        return
    lines = text.splitlines()
    i, n = 0, len(lines)
    while i < n:
        start, raw = i + 1, lines[i]
        while raw.endswith("\\") and i + 1 < n:
            i += 1
            raw = raw[:-1] + " " + lines[i]
        i += 1
        if makefile:
            if raw.startswith("\t"):
                raw = raw.lstrip("\t").lstrip("@-+")
            else:
                assign = re.match(r"^\s*(?:export\s+)?[\w.-]+\s*(?::{1,3}|\?|\+|!)?=\s*(.*)$", raw)
                if not assign:
                    continue
                raw = assign.group(1)
        if "<<" in raw:
            i = _skip_heredocs(raw, lines, i)
        stripped = raw.strip()
        if stripped and not stripped.startswith("#") and (wanted is None or wanted.search(raw.lower())):
            yield start, raw


def _skip_heredocs(raw: str, lines: List[str], i: int) -> int:
    """The index of the line after the heredoc bodies that ``raw`` opens (bodies start at i)."""
    for m in _HEREDOC.finditer(raw):
        if raw[m.start() - 1 : m.start()] == "<":
            continue
        strip_tabs, delimiter = m.group(1) == "-", m.group(3)
        while i < len(lines) and (lines[i].lstrip("\t") if strip_tabs else lines[i]).strip() != delimiter:
            i += 1
        i += 1
    return i


def _wanted_lines(text: str, wanted: Pattern[str]) -> Iterator[Tuple[int, str]]:
    lines = text.split("\n")
    starts = [0]
    starts.extend(itertools.accumulate(len(line) + 1 for line in lines))
    lower, hits, pos = text.lower(), [], 0
    search = wanted.search
    while True:  # one search per line that matches, not one per match
        m = search(lower, pos)
        if m is None:
            break
        k = bisect.bisect_right(starts, m.start()) - 1
        hits.append(k)
        pos = starts[k + 1]
    if not hits:
        return
    bodies = set()
    if "<<" in text:
        for m in _HEREDOC.finditer(text):
            first = bisect.bisect_right(starts, m.start())  # the line after the opening one
            end = _skip_heredocs(lines[first - 1], lines, first)
            bodies.update(range(first, end))
    done = set()
    for k in hits:
        if k in bodies:
            continue
        s = k
        while s > 0 and lines[s - 1].endswith("\\"):
            s -= 1
        if s in done:
            continue
        done.add(s)
        e = s
        while lines[e].endswith("\\") and e + 1 < len(lines):
            e += 1
        raw = " ".join(line[:-1] if line.endswith("\\") else line for line in lines[s : e + 1])
        stripped = raw.strip()
        if stripped and not stripped.startswith("#"):
            yield s + 1, raw


def is_prose(line: str) -> bool:
    """A line that is one echo/printf/[ test and nothing else: never a reference."""
    first = line.split(None, 1)[0] if line.strip() else ""
    return first in PROSE_WORDS and not any(c in line for c in ";|&`") and "$(" not in line


def start_claims(argv: List[str]) -> List[tuple]:
    """What a start command needs from its image: ("module", name), ("file", path),
    ("app", module, attribute, app_dir) or ("script", name)."""
    argv, _env = strip_wrappers(list(argv))
    while argv:
        name = os.path.basename(argv[0])
        if name in ("uv", "poetry", "pipenv", "pdm", "hatch", "rye") and len(argv) > 1 and argv[1] == "run":
            argv = argv[2:]
            while argv and argv[0].startswith("-"):
                takes = argv[0] in (
                    "--with",
                    "--python",
                    "-p",
                    "--project",
                    "--directory",
                    "--env-file",
                    "--group",
                )
                argv = argv[2:] if takes else argv[1:]
            continue
        if name in ("tini", "dumb-init", "catatonit"):
            argv = [a for a in argv[1:] if a != "--"]
            argv = argv[1:] if argv and argv[0].startswith("-") else argv
            continue
        if name in ("gosu", "su-exec") and len(argv) > 2:
            argv = argv[2:]
            continue
        if name in ("sh", "bash", "dash") and len(argv) > 2 and argv[1] == "-c":
            words = split_words(argv[2])
            commands = simple_commands(words)
            return start_claims(commands[-1][0]) if commands else []
        if name in ("env", "exec"):
            argv, _env = strip_wrappers(argv)
            continue
        break
    if not argv or any("$" in a for a in argv[:3]):
        return []
    name = os.path.basename(argv[0])
    if PYTHON_RE.match(name):
        i = 1
        while i < len(argv) and argv[i].startswith("-") and argv[i] not in ("-m", "-c"):
            i += 2 if argv[i] in ("-X", "-W") else 1
        if i >= len(argv) or argv[i] == "-c":
            return []
        if argv[i] == "-m":
            if i + 1 >= len(argv) or not re.match(r"^[A-Za-z_][\w.]*$", argv[i + 1]):
                return []
            module = argv[i + 1]
            claims = [("module", module)]
            if module in APP_SERVERS:
                claims.extend(c for c in start_claims([module, *argv[i + 2 :]]) if c[0] == "app")
            return claims
        return [("file", argv[i])]
    if name in APP_SERVERS:
        app_dir = None
        for i, a in enumerate(argv[1:], 1):
            if a in ("--app-dir", "--chdir") and i + 1 < len(argv):
                app_dir = argv[i + 1]
            elif a.startswith(("--app-dir=", "--chdir=")):
                app_dir = a.split("=", 1)[1]
        for a in argv[1:]:
            m = re.match(r"^([A-Za-z_][\w.]*):([A-Za-z_]\w*)(?:\(.*\))?$", a)
            if m:
                return [("app", m.group(1), m.group(2), app_dir)]
        return []
    if re.match(r"^[A-Za-z][\w.-]*$", argv[0]):
        return [("script", argv[0])]
    if argv[0].startswith(("/", "./")) and argv[0].endswith((".py", ".sh")):
        return [("file", argv[0])]
    return []


def command_module_refs(line: str) -> List[tuple]:
    """(kind, module, attribute) of the start commands in one line of shell."""
    refs = []
    for argv, _targets in simple_commands(split_words(line)):
        for claim in start_claims(argv):
            if claim[0] == "module":
                refs.append(("python -m", claim[1], None))
            elif claim[0] == "app":
                refs.append(("uvicorn", claim[1], claim[2]))
    return refs


def is_shell_script(rel: str, head: bytes) -> bool:
    return rel.endswith((".sh", ".bash")) or bool(_SHEBANG.match(head))


class BashCheck:
    """``bash -n`` on a copy of each (rel, text), started at once in a few background
    processes so the checks run while the rest of the validation does; ``results()`` waits.
    Nothing is executed: ``-n`` only reads. ``available`` is False when there is no bash."""

    DRIVER = 'for f; do "$0" -n -- "$f" 2>&1 || printf "@@failed %s\\n" "$f"; done'

    def __init__(
        self, scripts: List[Tuple[str, str]], workers: Optional[int] = None, timeout: int = 120
    ) -> None:
        bash = shutil.which("bash")
        # leave a core to the Python work that goes on meanwhile
        workers = workers or max(1, min(4, (os.cpu_count() or 2) - 1))
        self.available = bash is not None
        self.timeout = timeout
        self.procs, self.by_name, self.tmp = [], {}, None
        if bash is None or not scripts:
            return
        self.tmp = tempfile.mkdtemp(prefix="mcp-validate-sh-")
        names = []
        for i, (rel, text) in enumerate(scripts):
            name = os.path.join(self.tmp, "s%d.sh" % i)
            with open(name, "w") as handle:
                handle.write(text)
            names.append(name)
            self.by_name[name] = rel
        env = {"LANG": "C", "LC_ALL": "C", "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        for i in range(min(workers, len(names))):
            self.procs.append(
                subprocess.Popen(  # noqa: S603 - a fixed driver; bash -n only reads
                    [bash, "-c", self.DRIVER, bash, *names[i::workers]],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    env=env,
                )
            )

    def results(self) -> Optional[Dict[str, tuple]]:
        """{rel: (line, message)} of the scripts that do not parse; None without bash."""
        if not self.available:
            return None
        errors = {}
        try:
            for proc in self.procs:
                try:
                    out, _err = proc.communicate(timeout=self.timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    out, _err = proc.communicate()
                messages = {}
                for raw in out.decode("utf-8", "replace").splitlines():
                    m = re.match(r"^(%s/s\d+\.sh): line (\d+): (.*)$" % re.escape(self.tmp), raw)
                    if m and m.group(1) not in messages:
                        messages[m.group(1)] = (int(m.group(2)), m.group(3))
                    failed = re.match(r"^@@failed (.*)$", raw)
                    if failed and failed.group(1) in self.by_name:
                        errors[self.by_name[failed.group(1)]] = messages.get(
                            failed.group(1), (None, "bash -n failed")
                        )
        finally:
            if self.tmp:
                shutil.rmtree(self.tmp, ignore_errors=True)
                self.tmp = None
        return errors


def bash_syntax(
    scripts: List[Tuple[str, str]], workers: int = 4, timeout: int = 120
) -> Optional[Dict[str, tuple]]:
    """``bash -n`` on copies of (rel, text), waited for: see BashCheck."""
    return BashCheck(scripts, workers, timeout).results()
