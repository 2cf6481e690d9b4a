# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to sophia.lambda_swarm: Python in an MCP project, parsed and never run.

The module index of the project, names a module defines, the project's Python version
(``requires-python``, ``FROM python:X``), syntax checks with that version in mind,
``pyproject.toml`` (packages and console scripts) and requirement names. No Ansible import.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import difflib
import json
import os
import re
import subprocess
import sys
from typing import Any, Dict, Iterable, List, Optional, Tuple, Union

from ansible_collections.sophia.lambda_swarm.plugins.module_utils._mcp_validate_index import Project

try:
    import tomllib

    HAS_TOMLLIB = True
except ImportError:  # Python < 3.11 on a target: the small reader below
    HAS_TOMLLIB = False

STDLIB = set(getattr(sys, "stdlib_module_names", ())) | set(sys.builtin_module_names)
CONTROLLER_PYTHON = sys.version_info[:2]


class ModuleIndex:
    """Every importable module path of the project, per source root."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.roots = {""}
        for rel in project.files:
            base = os.path.basename(rel)
            if base in ("pyproject.toml", "setup.py", "setup.cfg"):
                self.roots.add(os.path.dirname(rel))
        for rel in project.dirs:
            if os.path.basename(rel) == "src":
                self.roots.add(rel)
        self._all = None

    def resolve(self, dotted: str, extra_roots: Iterable[str] = ()) -> Optional[str]:
        """The file a dotted module path resolves to, or None."""
        for root in list(extra_roots) + sorted(self.roots):
            found = resolve_in(self.project, root, dotted)
            if found:
                return found
        return None

    def owns_top_level(self, dotted: str, extra_roots: Iterable[str] = ()) -> bool:
        """Whether the first component is a package or module of this project (so a miss is
        a broken reference, not a third-party or standard-library module)."""
        top = dotted.split(".", maxsplit=1)[0]
        if top in STDLIB:
            return False
        for root in list(extra_roots) + sorted(self.roots):
            base = os.path.join(root, top) if root else top
            if base in self.project.dirs or base + ".py" in self.project.file_set:
                return True
        return False

    def all_modules(self) -> List[str]:
        if self._all is None:
            found = set()
            for root in self.roots:
                found.update(modules_under(self.project, root))
            self._all = sorted(found)
        return self._all

    def closest(self, dotted: str) -> Optional[str]:
        return closest_module(dotted, self.all_modules())


def resolve_in(project: Project, root: str, dotted: str) -> Optional[str]:
    """The project file ``dotted`` names below the project folder ``root``, or None."""
    parts = dotted.split(".")
    base = os.path.join(root, *parts) if root else os.path.join(*parts)
    for candidate in (base + ".py", os.path.join(base, "__init__.py"), os.path.join(base, "__main__.py")):
        if candidate in project.file_set:
            return candidate
    if base in project.dirs and any(f.endswith(".py") for f in project.by_dir.get(base, [])):
        return base  # a namespace package
    return None


def modules_under(project: Project, root: str) -> List[str]:
    """Dotted names of the Python files below the project folder ``root``."""
    out = []
    prefix = root + os.sep if root else ""
    for rel in project.files:
        if not rel.endswith(".py") or not rel.startswith(prefix):
            continue
        parts = rel[len(prefix) : -3].split(os.sep)
        if parts[-1] in ("__init__", "__main__"):
            parts = parts[:-1]
        if parts and all(p.isidentifier() for p in parts):
            out.append(".".join(parts))
    return out


def _words(dotted: str) -> set:
    return set(w for w in re.split(r"[._-]", dotted.lower()) if w)


def closest_module(dotted: str, candidates: Iterable[str], cutoff: float = 0.8) -> Optional[str]:
    """The module most like ``dotted``: similar spelling, and the words of its name (a move
    keeps them: backend.mcp.ai_memory_mcp_server -> backend.mcp_servers.ai_memory.server).
    A candidate that shares no word and is spelled less than 75 % alike is never offered."""
    wanted = _words(dotted)
    best, best_score = None, 0.0
    for cand in candidates:
        words = _words(cand)
        overlap = len(wanted & words) / float(len(wanted | words) or 1)
        ratio = difflib.SequenceMatcher(None, dotted, cand).ratio()
        if not overlap and ratio < 0.75:
            continue
        score = ratio + overlap
        if score > best_score:
            best, best_score = cand, score
    return best if best_score >= cutoff else None


def defines_name(source: str, name: str) -> bool:
    """Whether Python ``source`` binds ``name`` at module level (parsed, never run)."""
    tree = ast.parse(source)
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            return True
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if any(isinstance(t, ast.Name) and t.id == name for t in ast.walk(target)):
                    return True
        if isinstance(node, (ast.AnnAssign, ast.AugAssign)) and getattr(node.target, "id", None) == name:
            return True
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if (alias.asname or alias.name.split(".")[0]) == name:
                    return True
    return False


# --- versions ---------------------------------------------------------------------------


def parse_version(text: Optional[str]) -> Optional[Tuple[int, int]]:
    m = re.match(r"^\s*(\d+)\.(\d+)", str(text or ""))
    return (int(m.group(1)), int(m.group(2))) if m else None


def requires_python_floor(spec: Any) -> Optional[Tuple[int, int]]:
    """The lowest Python a ``requires-python`` specifier admits (``>=3.12`` -> (3, 12))."""
    floors = []
    for clause in str(spec or "").split(","):
        m = re.match(r"^\s*(>=|~=|==|>)\s*(\d+)\.(\d+)", clause)
        if m:
            version = (int(m.group(2)), int(m.group(3)) + (1 if m.group(1) == ">" else 0))
            floors.append(version)
    return max(floors) if floors else None


def from_python_version(image: Optional[str]) -> Optional[Tuple[int, int]]:
    """The Python of a ``FROM`` image when it names one (python:3.12-slim, pypy excluded)."""
    m = re.match(r"^(?:[\w.-]+(?::\d+)?/)*(?:library/)?python:(\d+)\.(\d+)", str(image or ""))
    return (int(m.group(1)), int(m.group(2))) if m else None


def compile_error(text: str, rel: str) -> Optional[list]:
    """[kind, message, line, source line] when ``text`` does not compile, or None. kind:
    ``syntax`` (a SyntaxError) or ``value`` (null bytes and the like)."""
    try:
        compile(text, rel, "exec", dont_inherit=True)
    except SyntaxError as exc:
        return ["syntax", exc.msg, exc.lineno, exc.text]
    except ValueError as exc:
        return ["value", str(exc), None, None]
    return None


def syntax_problem(
    error: Optional[list], target: Optional[Tuple[int, int]]
) -> Optional[Tuple[str, Optional[int], str]]:
    """(code, line, message) of a ``compile_error``, or None. When the project's Python
    (``target``) is newer than this one the grammar may differ, so a failure is
    ``python-syntax-unchecked`` (info), never an error."""
    if error is None:
        return None
    kind, msg, lineno, source = error
    if kind == "value":
        return ("python-syntax", None, msg)
    if target and target > CONTROLLER_PYTHON:
        return (
            "python-syntax-unchecked",
            lineno,
            "the project targets Python %d.%d; parsed with %d.%d it fails (%s)"
            % (target + CONTROLLER_PYTHON + (msg,)),
        )
    return ("python-syntax", lineno, "%s: %s" % (msg, (source or "").strip()[:120]))


def check_syntax(
    text: str, rel: str, target: Optional[Tuple[int, int]]
) -> Optional[Tuple[str, Optional[int], str]]:
    """(code, line, message) when ``text`` does not compile, or None (see ``syntax_problem``)."""
    return syntax_problem(compile_error(text, rel), target)


# The child's program: the same compile() as compile_error, on this interpreter, for the
# [rel, text] pairs it reads as JSON; it prints the failures as JSON.
_COMPILE_DRIVER = """
import json, sys
out = []
for rel, text in json.load(sys.stdin):
    try:
        compile(text, rel, "exec", dont_inherit=True)
    except SyntaxError as exc:
        out.append([rel, ["syntax", exc.msg, exc.lineno, exc.text]])
    except ValueError as exc:
        out.append([rel, ["value", str(exc), None, None]])
json.dump(out, sys.stdout)
"""


class PythonCheck:
    """compile() of each (rel, text), started at once in a few background processes of this
    same interpreter (so the grammar is the same), while the rest of the validation goes
    on; ``results()`` waits. compile() parses and never runs. Few files, or a child that
    fails or passes ``timeout``: compiled here instead, the result is the same."""

    INLINE_BELOW = 64  # files; fewer are compiled here, a process costs more than they do

    def __init__(
        self, sources: List[Tuple[str, str]], workers: Optional[int] = None, timeout: int = 300
    ) -> None:
        self.sources, self.timeout, self.procs = sources, timeout, []
        # leave a core to the scan that goes on meanwhile (bash -n shares the rest)
        workers = workers or max(1, min(4, (os.cpu_count() or 2) - 1))
        if len(sources) < self.INLINE_BELOW or not sys.executable:
            return
        for i in range(min(workers, len(sources))):
            chunk = sources[i::workers]
            try:
                proc = subprocess.Popen(  # noqa: S603 - this interpreter, a fixed program
                    [sys.executable, "-I", "-W", "ignore", "-c", _COMPILE_DRIVER],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                )
            except OSError:
                break
            self.procs.append((proc, chunk))
            try:
                proc.stdin.write(json.dumps(chunk).encode("utf-8", "surrogatepass"))
            except OSError:  # the child is gone: results() compiles its share here
                pass
            finally:
                proc.stdin.close()
                proc.stdin = None  # communicate() only reads from now on

    def results(self) -> Dict[str, list]:
        """{rel: compile_error} of the files that do not compile."""
        errors, handed = {}, set()
        for proc, chunk in self.procs:
            try:
                out, _err = proc.communicate(timeout=self.timeout)
                if proc.returncode != 0:
                    raise ValueError("exit %s" % proc.returncode)
                errors.update((rel, error) for rel, error in json.loads(out.decode("utf-8", "surrogatepass")))
                handed.update(rel for rel, _text in chunk)
            except (subprocess.TimeoutExpired, ValueError, OSError):
                proc.kill()
                proc.wait()
                proc.stdout.close()
        self.procs = []
        for rel, text in self.sources:
            if rel not in handed:
                error = compile_error(text, rel)
                if error:
                    errors[rel] = error
        return errors


# --- pyproject.toml and requirements ----------------------------------------------------


def read_toml(text: str) -> dict:
    """pyproject.toml as a dict ({} when it does not parse). Without tomllib, a small reader
    of the tables and keys mcp_validate needs (strings, string arrays, inline tables)."""
    if HAS_TOMLLIB:
        try:
            return tomllib.loads(text)
        except (ValueError, TypeError):
            return {}
    return _read_toml_subset(text)


def _toml_value(raw: str) -> Union[str, List[str]]:
    raw = raw.strip()
    if raw.startswith(("'", '"')):
        return raw[1:-1] if len(raw) >= 2 else ""
    if raw.startswith("["):
        return re.findall(r"""["']([^"']*)["']""", raw)
    return raw


def _read_toml_subset(text: str) -> dict:
    data: Dict[str, dict] = {}
    table = data
    pending_key, pending = None, ""
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].rstrip() if "#" in raw and '"' not in raw else raw.rstrip()
        if pending_key is not None:
            pending += line
            if line.strip().endswith("]"):
                table[pending_key] = _toml_value(pending)
                pending_key = None
            continue
        header = re.match(r"^\s*\[([^\[\]]+)\]\s*$", line)
        if header:
            table = data
            for part in header.group(1).strip().split("."):
                table = table.setdefault(part.strip().strip('"'), {})
            continue
        kv = re.match(r"""^\s*["']?([\w.-]+)["']?\s*=\s*(.*)$""", line)
        if kv:
            if kv.group(2).strip().startswith("[") and not kv.group(2).strip().endswith("]"):
                pending_key, pending = kv.group(1), kv.group(2)
                continue
            table[kv.group(1)] = _toml_value(kv.group(2))
    return data


def pyproject_info(project: Project, directory: str) -> Optional[dict]:
    """What installing the project in ``directory`` provides: {dir, name, requires_python,
    packages (top-level import names), roots (folders they live in), scripts {name: target},
    dependencies (normalized names)}, or None when it has no pyproject.toml."""
    rel = os.path.join(directory, "pyproject.toml") if directory else "pyproject.toml"
    if rel not in project.file_set:
        return None
    data = read_toml(project.text(rel) or "")
    proj = data.get("project") if isinstance(data.get("project"), dict) else {}
    tool = data.get("tool") if isinstance(data.get("tool"), dict) else {}
    poetry = tool.get("poetry") if isinstance(tool.get("poetry"), dict) else {}
    scripts = {}
    for table in (proj.get("scripts"), poetry.get("scripts")):
        if isinstance(table, dict):
            scripts.update((k, v) for k, v in table.items() if isinstance(v, str))
    deps = set()
    for dep in proj.get("dependencies") or []:
        name = requirement_name(dep)
        if name:
            deps.add(name)
    if isinstance(poetry.get("dependencies"), dict):
        deps.update(normalize_dist(k) for k in poetry["dependencies"] if k != "python")
    roots = [directory]
    src = os.path.join(directory, "src") if directory else "src"
    if src in project.dirs:
        roots.insert(0, src)
    packages = set()
    setuptools = tool.get("setuptools") if isinstance(tool.get("setuptools"), dict) else {}
    declared = setuptools.get("packages")
    if isinstance(declared, list):
        packages.update(p.split(".")[0] for p in declared if isinstance(p, str))
    elif isinstance(declared, dict) and isinstance(declared.get("find"), dict):
        for where in declared["find"].get("where") or []:
            roots.insert(0, os.path.normpath(os.path.join(directory, where)))
    for entry in poetry.get("packages") or []:
        if isinstance(entry, dict) and entry.get("include"):
            packages.add(str(entry["include"]).split("/", 1)[0].split(".", 1)[0])
            if entry.get("from"):
                roots.insert(0, os.path.normpath(os.path.join(directory, entry["from"])))
    hatch = ((tool.get("hatch") or {}).get("build") or {}) if isinstance(tool.get("hatch"), dict) else {}
    wheel = ((hatch.get("targets") or {}).get("wheel") or {}) if isinstance(hatch, dict) else {}
    for path in (wheel.get("packages") if isinstance(wheel, dict) else None) or []:
        packages.add(os.path.basename(str(path).rstrip("/")))
        roots.insert(0, os.path.normpath(os.path.join(directory, os.path.dirname(str(path)))))
    roots = [("" if r == "." else r) for r in roots]
    if not packages:  # automatic discovery: importable top-level names in the roots
        for root in roots:
            for name in modules_under(project, root):
                top = name.split(".")[0]
                if top not in ("src", "tests", "test", "docs", "scripts", "examples", "setup"):
                    packages.add(top)
    return {
        "dir": directory,
        "name": normalize_dist(proj.get("name") or poetry.get("name") or ""),
        "requires_python": requires_python_floor(proj.get("requires-python")),
        "packages": sorted(packages),
        "roots": roots,
        "scripts": scripts,
        "dependencies": sorted(deps),
    }


def normalize_dist(name: Any) -> str:
    return re.sub(r"[-_.]+", "_", str(name or "")).lower()


def requirement_name(line: Any) -> Optional[str]:
    m = re.match(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)", str(line or ""))
    return normalize_dist(m.group(1)) if m else None


def requirement_names(project: Project, rel: str, depth: int = 0) -> set:
    """Normalized distribution names a requirements file installs (``-r`` followed, bounded)."""
    text = project.text(rel) if rel in project.file_set else None
    names = set()
    if text is None or depth > 5:
        return names
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        nested = re.match(r"^(?:-r|--requirement)\s*=?\s*(\S+)", line)
        if nested:
            names |= requirement_names(
                project, os.path.normpath(os.path.join(os.path.dirname(rel), nested.group(1))), depth + 1
            )
            continue
        if line.startswith("-"):
            continue
        name = requirement_name(line)
        if name:
            names.add(name)
    return names


def provided_by(module: str, dists: Iterable[str]) -> bool:
    """Whether a module's top-level name plausibly comes from one of the distributions
    (mcp-server-fetch -> mcp_server_fetch; python-dotenv -> dotenv; PyYAML -> yaml)."""
    top = normalize_dist(module.split(".", maxsplit=1)[0])
    for dist in dists:
        if top == dist or dist.endswith("_" + top) or dist.startswith(top + "_") or dist == "py" + top:
            return True
    return False
