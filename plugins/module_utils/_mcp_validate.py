# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to sophia.lambda_swarm: find every broken path in an MCP project.

Pure Python (PyYAML for compose files), no Ansible import. Never imports or runs project
code: Python is only parsed; never follows a symlink out of the project. Each finding is
``{code, severity, path, line, message, hint}`` with ``path`` relative to the project and
``line`` 1-based (None where there is none).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import difflib
import fnmatch
import json
import os
import re
import shlex
import sys

try:
    import yaml

    HAS_YAML = True
except ImportError:  # pragma: no cover - reported by the module
    HAS_YAML = False

SEVERITIES = ("error", "warning", "info")
MAX_FILE_BYTES = 2 * 1024 * 1024
SKIP_DIRS = {
    ".git",
    ".hg",
    ".svn",
    "node_modules",
    ".venv",
    "venv",
    "__pycache__",
    ".tox",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".cache",
}

DEFAULT_COMPOSE_GLOBS = ["docker-compose*.yml", "docker-compose*.yaml", "compose*.yml", "compose*.yaml"]
DEFAULT_DOCKERFILE_GLOBS = ["Dockerfile*", "*.Dockerfile", "*.dockerfile"]
DEFAULT_SCRIPT_GLOBS = [
    "*.sh",
    "*.bash",
    "*.py",
    "Makefile",
    "*.mk",
    "Justfile",
    "Procfile",
    "*.toml",
    ".env",
    ".env.*",
    ".envrc",
    "*.json",
    "*.yml",
    "*.yaml",
]
# Dotfiles that hold commands, matched on their path relative to the project.
DEFAULT_DOTFILE_PATHS = [
    ".github/workflows/*.yml",
    ".github/workflows/*.yaml",
    ".gitlab-ci.yml",
    ".pre-commit-config.yaml",
    ".devcontainer/*.json",
]

# code: (default severity, title) -- stable identifiers, also the SARIF rule ids.
RULES = {
    "compose-syntax": ("error", "Compose file does not parse"),
    "compose-duplicate-key": ("error", "Key defined twice in a compose file"),
    "build-context-missing": ("error", "Build context does not exist"),
    "dockerfile-missing": ("error", "Dockerfile does not exist"),
    "compose-file-missing": ("error", "Referenced compose file does not exist"),
    "module-unresolved": ("error", "Python module reference does not resolve"),
    "module-attribute-missing": ("error", "Application attribute not defined in the module"),
    "python-syntax": ("error", "Python source does not compile"),
    "copy-source-missing": ("error", "Dockerfile COPY/ADD source missing from the build context"),
    "port-conflict": ("error", "Published port used twice"),
    "secret-undeclared": ("error", "Secret used by a service but not declared"),
    "config-undeclared": ("error", "Config used by a service but not declared"),
    "secret-file-missing": ("error", "Secret or config file does not exist"),
    "env-file-missing": ("error", "env_file does not exist"),
    "server-path-missing": ("error", "MCP server path does not exist"),
    "secret-external": ("info", "External secret the secrets role must create"),
    "swarm-ignored-key": ("warning", "Key that docker stack deploy ignores or rejects"),
    "image-untagged": ("warning", "Image without an explicit tag"),
    "path-outside-project": ("warning", "Path points outside the project"),
    "symlink-outside-project": ("warning", "Symlink points outside the project (not followed)"),
    "file-unreadable": ("warning", "File could not be read"),
    "file-skipped": ("info", "File not scanned (binary or too large)"),
}

SWARM_IGNORED_KEYS = {
    "container_name": "Swarm names tasks itself; remove container_name",
    "devices": "not supported by docker stack deploy; use generic resources (deploy.resources.reservations)",
    "privileged": "not supported by docker stack deploy; grant capabilities with cap_add",
    "links": "ignored by docker stack deploy; services reach each other by name on a shared network",
    "external_links": "ignored by docker stack deploy",
    "network_mode": "ignored by docker stack deploy; attach the service to networks",
    "restart": "ignored by docker stack deploy; use deploy.restart_policy",
    "security_opt": "ignored by docker stack deploy",
    "userns_mode": "ignored by docker stack deploy",
    "cgroup_parent": "ignored by docker stack deploy",
}


def finding(code, path, line, message, hint=None, severity=None):
    return {
        "code": code,
        "severity": severity or RULES[code][0],
        "path": path,
        "line": line,
        "message": message,
        "hint": hint,
    }


# --- YAML with line numbers ---------------------------------------------------------


class LineDict(dict):
    """A mapping that remembers the 1-based line of each key (``lines``) and its own."""

    line = None
    lines = None


class LineList(list):
    line = None
    lines = None


def load_yaml_with_lines(text):
    """Parse one YAML document keeping line numbers. Returns (data, duplicates) where
    duplicates is [(key, first_line, second_line)]. Raises yaml.YAMLError."""
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    constructor = yaml.constructor.SafeConstructor()
    duplicates = []

    def build(n):
        if isinstance(n, yaml.MappingNode):
            out = LineDict()
            out.line, out.lines = n.start_mark.line + 1, {}
            merged = []
            for key_node, value_node in n.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    merged.append(build(value_node))
                    continue
                key = build(key_node)
                key = key if isinstance(key, (str, int, float, bool)) or key is None else str(key)
                if key in out:
                    duplicates.append((key, out.lines[key], key_node.start_mark.line + 1))
                out[key] = build(value_node)
                out.lines[key] = key_node.start_mark.line + 1
            for source in merged:
                for item in source if isinstance(source, list) else [source]:
                    if isinstance(item, LineDict):
                        for k, v in item.items():
                            if k not in out:
                                out[k], out.lines[k] = v, item.lines.get(k)
            return out
        if isinstance(n, yaml.SequenceNode):
            out = LineList(build(v) for v in n.value)
            out.line, out.lines = n.start_mark.line + 1, [v.start_mark.line + 1 for v in n.value]
            return out
        return constructor.construct_object(n, deep=True)

    return (build(node) if node is not None else None), duplicates


# --- the project tree ---------------------------------------------------------------


class Project:
    """Files of the project, read once, symlinks never followed out of it."""

    def __init__(self, root):
        self.root = os.path.realpath(root)
        self.files = []  # relative paths of regular files inside the project
        self.by_dir = {}  # directory -> its files
        self.dirs = set([""])
        self.findings = []
        self._text = {}
        self._walk()
        self.file_set = set(self.files)

    def _walk(self):
        for dirpath, dirnames, filenames in os.walk(self.root, followlinks=False):
            rel_dir = os.path.relpath(dirpath, self.root)
            rel_dir = "" if rel_dir == "." else rel_dir
            keep = []
            for name in sorted(dirnames):
                full = os.path.join(dirpath, name)
                rel = os.path.join(rel_dir, name)
                if name in SKIP_DIRS:
                    continue
                if os.path.islink(full):
                    self._links_outside(full, rel)
                    continue  # symlinked directories are never walked
                keep.append(name)
                self.dirs.add(rel)
            dirnames[:] = keep
            for name in sorted(filenames):
                self._add_file(os.path.join(dirpath, name), os.path.join(rel_dir, name))

    def _add_file(self, full, rel):
        if os.path.islink(full):
            if self._links_outside(full, rel):
                return
            if not os.path.exists(full):
                self.findings.append(
                    finding(
                        "file-unreadable",
                        rel,
                        None,
                        "%s is a broken symlink (to %s)" % (rel, os.readlink(full)),
                        "point it at an existing file or remove it",
                    )
                )
                return
        if not os.path.isfile(full):  # a FIFO, socket or device: never opened
            self.findings.append(
                finding("file-skipped", rel, None, "%s is not a regular file; not scanned" % rel)
            )
            return
        self.files.append(rel)
        self.by_dir.setdefault(os.path.dirname(rel), []).append(rel)

    def _links_outside(self, full, rel):
        """True (with a finding) when the symlink at ``full`` leads out of the project."""
        if self.inside(os.path.realpath(full)):
            return False
        self.findings.append(
            finding(
                "symlink-outside-project",
                rel,
                None,
                "%s links to %s, outside the project; not followed" % (rel, os.readlink(full)),
                "copy what it needs into the project",
            )
        )
        return True

    def inside(self, real_path):
        return real_path == self.root or real_path.startswith(self.root + os.sep)

    def rel(self, path):
        """Normalize a path (relative to the project) or None when it leaves the project."""
        norm = os.path.normpath(path)
        if norm == ".":
            return ""
        if norm.startswith("..") or os.path.isabs(norm):
            return None
        return norm

    def exists(self, rel):
        return rel in self.file_set or rel in self.dirs

    def is_dir(self, rel):
        return rel in self.dirs

    def text(self, rel):
        """Decoded text of a file, or None (with a finding) when it cannot be scanned."""
        if rel in self._text:
            return self._text[rel]
        full = os.path.join(self.root, rel)
        text = None
        try:
            size = os.path.getsize(full)
            if size > MAX_FILE_BYTES:
                self.findings.append(
                    finding(
                        "file-skipped",
                        rel,
                        None,
                        "%s is %d bytes, over the %d byte scan limit" % (rel, size, MAX_FILE_BYTES),
                        "keep generated or data files out of the scanned globs",
                    )
                )
            else:
                with open(full, "rb") as handle:
                    raw = handle.read()
                if b"\0" in raw[:8192]:
                    self.findings.append(
                        finding("file-skipped", rel, None, "%s is binary; not scanned" % rel)
                    )
                else:
                    text = raw.decode("utf-8", "replace")
        except (IOError, OSError) as exc:
            self.findings.append(
                finding(
                    "file-unreadable",
                    rel,
                    None,
                    "cannot read %s: %s" % (rel, exc.strerror),
                    "check the file's permissions",
                )
            )
        self._text[rel] = text
        return text

    def matching(self, globs, dotfile_paths=()):
        out = []
        for rel in self.files:
            base = os.path.basename(rel)
            if any(fnmatch.fnmatch(base, g) for g in globs) or any(
                fnmatch.fnmatch(rel, g) for g in dotfile_paths
            ):
                out.append(rel)
        return out

    def closest(self, wanted, candidates=None, cutoff=0.5):
        """The existing path most like ``wanted`` (by name similarity), or None."""
        pool = candidates if candidates is not None else sorted(self.dirs | self.file_set)
        wanted_key = _similarity_key(wanted)
        keyed = {}
        for cand in pool:
            if cand:
                keyed.setdefault(_similarity_key(cand), cand)
        match = difflib.get_close_matches(wanted_key, list(keyed), n=1, cutoff=cutoff)
        return keyed[match[0]] if match else None


def _similarity_key(path):
    # ./mcp-servers/ai-memory and backend/mcp_servers/ai_memory should look alike.
    return path.strip("./").replace("-", "_").lower()


# --- Python modules -----------------------------------------------------------------


class ModuleIndex:
    """Every importable module path of the project, per source root."""

    def __init__(self, project):
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

    def resolve(self, dotted, extra_roots=()):
        """The file a dotted module path resolves to, or None."""
        parts = dotted.split(".")
        for root in list(extra_roots) + sorted(self.roots):
            base = os.path.join(root, *parts) if root else os.path.join(*parts)
            for candidate in (
                base + ".py",
                os.path.join(base, "__init__.py"),
                os.path.join(base, "__main__.py"),
            ):
                if candidate in self.project.file_set:
                    return candidate
            if base in self.project.dirs and any(
                f.startswith(base + os.sep) and f.endswith(".py") for f in self.project.files
            ):
                return base  # a namespace package
        return None

    def owns_top_level(self, dotted, extra_roots=()):
        """Whether the first component is a package or module of this project (so a miss is
        a broken reference, not a third-party or standard-library module)."""
        top = dotted.split(".")[0]
        if top in getattr(sys, "stdlib_module_names", ()):
            return False
        for root in list(extra_roots) + sorted(self.roots):
            base = os.path.join(root, top) if root else top
            if base in self.project.dirs or base + ".py" in self.project.file_set:
                return True
        return False

    def all_modules(self):
        if self._all is None:
            found = set()
            for rel in self.project.files:
                if not rel.endswith(".py"):
                    continue
                for root in self.roots:
                    if root and not rel.startswith(root + os.sep):
                        continue
                    inner = rel[len(root) + 1 :] if root else rel
                    parts = inner[:-3].split(os.sep)
                    if parts[-1] == "__init__":
                        parts = parts[:-1]
                    if parts and all(p.isidentifier() for p in parts):
                        found.add(".".join(parts))
            self._all = sorted(found)
        return self._all

    def closest(self, dotted):
        """The project module most like ``dotted``: similar spelling, and the words of its
        name (a move keeps them: backend.mcp.ai_memory_mcp_server ->
        backend.mcp_servers.ai_memory.server)."""
        wanted = _words(dotted)
        best, best_score = None, 0.0
        for cand in self.all_modules():
            words = _words(cand)
            overlap = len(wanted & words) / float(len(wanted | words) or 1)
            score = difflib.SequenceMatcher(None, dotted, cand).ratio() + overlap
            if score > best_score:
                best, best_score = cand, score
        return best if best_score >= 0.8 else None


def _words(dotted):
    return set(w for w in re.split(r"[._]", dotted.lower()) if w)


def defines_name(source, name):
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


# --- references in text -------------------------------------------------------------

COMPOSE_NAME = re.compile(r"(?<![\w/.${}-])((?:\.{1,2}/)?[\w./-]*compose[\w.-]*\.ya?ml)(?![\w.-])")
COMPOSE_FLAG = re.compile(r"""(?:\s|["'])(?:-f|--file|-c|--compose-file)(?:=|["',\s]+)([^\s"',;|&)]+)""")
MODULE_KEY = re.compile(r"""["']?\bmodule["']?\s*[:=]\s*["']([A-Za-z_][\w.]*)["']""")
MODULE_KEY_YAML = re.compile(r"""^\s*-?\s*module:\s*["']?([A-Za-z_][\w.]*)["']?\s*(?:#.*)?$""")
APP_SERVERS = ("uvicorn", "gunicorn", "hypercorn", "daphne")
TOKEN_SPLIT = re.compile(r"""[\s"',\[\]()]+""")


def command_module_refs(line):
    """(kind, module, attribute) for ``python -m a.b`` and ``uvicorn a.b:app`` in one line
    of shell, Makefile, Dockerfile, YAML or Python list syntax."""
    tokens = [t for t in TOKEN_SPLIT.split(line) if t]
    refs = []
    for i, tok in enumerate(tokens):
        name = os.path.basename(tok)
        if re.match(r"^python[\d.]*$", name) and i + 2 < len(tokens):
            j = i + 1
            while j < len(tokens) and tokens[j].startswith("-") and tokens[j] != "-m":
                j += 1
            if j + 1 < len(tokens) and tokens[j] == "-m" and re.match(r"^[A-Za-z_][\w.]*$", tokens[j + 1]):
                refs.append(("python -m", tokens[j + 1], None))
        elif name in APP_SERVERS:
            for cand in tokens[i + 1 :]:
                m = re.match(r"^([A-Za-z_][\w.]*):([A-Za-z_]\w*)(?:\(\))?$", cand)
                if m:
                    refs.append((name, m.group(1), m.group(2)))
                    break
    return refs


def compose_refs_in_text(text, rel):
    """(line, path) of compose file names mentioned in a script, Makefile or dotfile."""
    out = []
    for lineno, line in enumerate(text.splitlines(), 1):
        lower = line.lower()
        if "compose" not in lower and "stack" not in lower:
            continue
        stripped = line.strip()
        if stripped.startswith("#") and not rel.endswith((".yml", ".yaml")):
            continue
        env = re.match(r"^\s*(?:export\s+)?COMPOSE_FILE\s*=\s*[\"']?([^\"'#\s]+)", line)
        if env:
            out.extend((lineno, p) for p in re.split(r"[:,;]", env.group(1)) if p)
            continue
        found = [m.group(1) for m in COMPOSE_NAME.finditer(line)]
        if re.search(r"docker[\"',\s-]+(compose|stack)", lower):
            found += [
                f for f in COMPOSE_FLAG.findall(line) if f not in found and "$" not in f and "{" not in f
            ]
        out.extend((lineno, f) for f in found)
    return out


# --- compose ------------------------------------------------------------------------


def parse_port(entry):
    """(published, protocol) pairs of one `ports` entry (short or long syntax)."""
    if isinstance(entry, dict):
        published = entry.get("published")
        if published is None:
            return []
        return [(str(published), str(entry.get("protocol") or "tcp"))]
    spec = str(entry)
    protocol = "tcp"
    if "/" in spec:
        spec, protocol = spec.rsplit("/", 1)
    parts = spec.rsplit(":", 2) if not spec.startswith("[") else [spec]
    if len(parts) < 2:
        return []  # only a container port: nothing published
    published = parts[-2]
    if "-" in published:
        lo, _sep, hi = published.partition("-")
        if lo.isdigit() and hi.isdigit() and int(hi) - int(lo) < 1024:
            return [(str(p), protocol) for p in range(int(lo), int(hi) + 1)]
    return [(published, protocol)]


def image_untagged(image):
    if not isinstance(image, str) or "${" in image or "@" in image:
        return False
    return ":" not in image.rsplit("/", 1)[-1]


class Validator:
    def __init__(
        self, project_dir, compose_globs=None, dockerfile_globs=None, script_globs=None, servers=None
    ):
        self.project = Project(project_dir)
        self.modules = ModuleIndex(self.project)
        self.compose_globs = compose_globs or DEFAULT_COMPOSE_GLOBS
        self.dockerfile_globs = dockerfile_globs or DEFAULT_DOCKERFILE_GLOBS
        self.script_globs = script_globs or DEFAULT_SCRIPT_GLOBS
        self.declared_servers = servers or []
        self.findings = []
        self.stack_files = set()  # compose files deployed with docker stack deploy
        self.referenced_compose = set()  # existing compose files named in commands
        self.compose_groups = []  # lists of compose files deployed together
        self.dockerfile_contexts = {}  # dockerfile rel -> set of context rels
        self.servers = []

    def add(self, *args, **kwargs):
        self.findings.append(finding(*args, **kwargs))

    def missing_hint(self, wanted, candidates=None):
        close = self.project.closest(wanted, candidates)
        return "did you mean %s?" % close if close else None

    def run(self):
        compose_files = self.project.matching(self.compose_globs)
        scripts = [
            f
            for f in self.project.matching(self.script_globs, DEFAULT_DOTFILE_PATHS)
            if f not in compose_files
        ]
        self.scan_scripts(scripts)
        # compose files named in commands are compose files whatever their name
        compose_files += sorted(self.referenced_compose - set(compose_files))
        parsed = {rel: self.load_compose(rel) for rel in compose_files}
        for rel, data in parsed.items():
            if data is not None:
                self.check_compose(rel, data)
        self.check_port_groups(parsed)
        # a declared server's Dockerfile is built with the context the server names
        # (the stack role builds from the project root: context ".")
        for server in self.declared_servers:
            if server.get("context") is not None and server.get("path"):
                dockerfile = server.get("dockerfile") or os.path.join(server["path"], "Dockerfile")
                self.dockerfile_contexts.setdefault(self.project.rel(dockerfile), set()).add(
                    self.project.rel(server["context"])
                )
        for rel in self.project.matching(self.dockerfile_globs):
            contexts = self.dockerfile_contexts.get(rel) or {os.path.dirname(rel)}
            for context in sorted(contexts):
                self.check_dockerfile(rel, context)
        self.check_python_sources()
        self.check_servers()
        self.findings.extend(self.project.findings)
        return self.result()

    # compose files ---------------------------------------------------------------

    def load_compose(self, rel):
        text = self.project.text(rel)
        if text is None:
            return None
        try:
            data, duplicates = load_yaml_with_lines(text)
        except yaml.YAMLError as exc:
            # An unclosed quote or bracket is found where it began (the context), not where the
            # parser gave up (the problem), so report the context's line when there is one.
            context, context_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
            problem, problem_mark = getattr(exc, "problem", None), getattr(exc, "problem_mark", None)
            mark = context_mark or problem_mark
            message = "YAML error: %s" % (problem or str(exc).splitlines()[0])
            if context and context_mark:
                message += " (%s, which starts here; the parser stopped at line %d)" % (
                    context,
                    (problem_mark or context_mark).line + 1,
                )
            self.add(
                "compose-syntax",
                rel,
                mark.line + 1 if mark else None,
                message,
                "fix the YAML at this line (indentation, a missing colon or quote)",
            )
            return None
        for key, first, second in duplicates:
            self.add(
                "compose-duplicate-key",
                rel,
                second,
                "%r is defined twice (lines %d and %d); YAML keeps only the last" % (key, first, second),
                "merge the two definitions or rename one",
            )
        if not isinstance(data, LineDict):
            return None
        return data

    def _ref_path(self, base_dir, value, rel, line, what):
        """Normalized project path of ``value`` relative to ``base_dir``, or None after a
        finding when it leaves the project (or cannot be checked)."""
        if not isinstance(value, str) or "${" in value or "://" in value or value.startswith("git@"):
            return None
        target = self.project.rel(os.path.join(base_dir, value))
        if target is None:
            self.add(
                "path-outside-project",
                rel,
                line,
                "%s %s points outside the project" % (what, value),
                "keep everything the deploy needs inside the project",
            )
        return target

    def check_compose(self, rel, data):
        base = os.path.dirname(rel)
        services = data.get("services")
        services = services if isinstance(services, LineDict) else LineDict()
        is_stack = rel in self.stack_files or any(
            isinstance(s, dict) and "deploy" in s for s in services.values()
        )
        if is_stack:
            self.stack_files.add(rel)
        for key in ("include",):
            for i, entry in enumerate(data.get(key) or []):
                path = entry.get("path") if isinstance(entry, dict) else entry
                for p in path if isinstance(path, list) else [path]:
                    self._check_compose_ref(rel, data.get(key).lines[i], base, p)
        for what, code in (("secrets", "secret-undeclared"), ("configs", "config-undeclared")):
            declared = data.get(what) if isinstance(data.get(what), LineDict) else LineDict()
            self._check_declared_files(rel, base, what, declared)
            for name, service in services.items():
                if not isinstance(service, LineDict):
                    continue
                for i, entry in enumerate(service.get(what) or []):
                    source = entry.get("source") if isinstance(entry, dict) else entry
                    if source not in declared:
                        line = service[what].lines[i] if isinstance(service.get(what), LineList) else None
                        self.add(
                            code,
                            rel,
                            line,
                            "service %s uses %s %r, which the file does not declare"
                            % (name, what[:-1], source),
                            "declare it under top-level '%s:' (file:, external: true or environment:)" % what,
                        )
        for name, service in services.items():
            if isinstance(service, LineDict):
                self._check_service(rel, base, name, service, services.lines[name], is_stack)

    def _check_declared_files(self, rel, base, what, declared):
        for name, spec in declared.items():
            if not isinstance(spec, LineDict):
                continue
            if spec.get("external") in (True, "true"):
                if what == "secrets":
                    self.add(
                        "secret-external",
                        rel,
                        declared.lines[name],
                        "external secret %r must exist in the swarm before deploy"
                        % (spec.get("name") or name),
                        "declare it in the secrets role so it is created (secrets_items)",
                    )
                continue
            if "file" in spec:
                target = self._ref_path(base, spec["file"], rel, spec.lines["file"], "%s file" % what[:-1])
                if target is not None and not self.project.exists(target):
                    self.add(
                        "secret-file-missing",
                        rel,
                        spec.lines["file"],
                        "%s %r reads %s, which does not exist" % (what[:-1], name, target),
                        self.missing_hint(target) or "create it, or make the %s external" % what[:-1],
                    )

    def _check_service(self, rel, base, name, service, line, is_stack):
        build = service.get("build")
        if build is not None:
            context_value = build.get("context", ".") if isinstance(build, dict) else build
            context_line = (
                build.lines.get("context", build.line)
                if isinstance(build, LineDict)
                else service.lines["build"]
            )
            context = self._ref_path(base, context_value, rel, context_line, "build context")
            if context is not None:
                if not self.project.is_dir(context):
                    self.add(
                        "build-context-missing",
                        rel,
                        context_line,
                        "service %s builds %s, which does not exist" % (name, context_value),
                        self.missing_hint(context, sorted(self.project.dirs)),
                    )
                elif isinstance(build, LineDict) and "dockerfile_inline" not in build:
                    dockerfile = build.get("dockerfile", "Dockerfile")
                    df = self._ref_path(
                        context, dockerfile, rel, build.lines.get("dockerfile", context_line), "dockerfile"
                    )
                    self._check_dockerfile_ref(
                        rel, name, context, dockerfile, df, build.lines.get("dockerfile", context_line)
                    )
                else:
                    df = self.project.rel(os.path.join(context, "Dockerfile"))
                    self._check_dockerfile_ref(rel, name, context, "Dockerfile", df, context_line)
            if is_stack and "image" not in service:
                self.add(
                    "swarm-ignored-key",
                    rel,
                    service.lines["build"],
                    "service %s has build but no image; docker stack deploy ignores build" % name,
                    "build and push the image first and name it in image:",
                )
        image = service.get("image")
        if is_stack and image_untagged(image):
            self.add(
                "image-untagged",
                rel,
                service.lines["image"],
                "service %s uses %s without a tag" % (name, image),
                "pin a tag or digest (%s:1.2.3) so every node runs the same image" % image,
            )
        env_files = service.get("env_file")
        if env_files is not None:
            items = env_files if isinstance(env_files, list) else [env_files]
            for i, entry in enumerate(items):
                path = entry.get("path") if isinstance(entry, dict) else entry
                required = not (isinstance(entry, dict) and entry.get("required") is False)
                line_no = env_files.lines[i] if isinstance(env_files, LineList) else service.lines["env_file"]
                target = self._ref_path(base, path, rel, line_no, "env_file")
                if required and target is not None and not self.project.exists(target):
                    self.add(
                        "env-file-missing",
                        rel,
                        line_no,
                        "service %s reads env_file %s, which does not exist" % (name, path),
                        self.missing_hint(target) or "create it or mark it required: false",
                    )
        extends = service.get("extends")
        if isinstance(extends, LineDict) and extends.get("file"):
            self._check_compose_ref(rel, extends.lines["file"], base, extends["file"])
        if is_stack:
            for key, why in SWARM_IGNORED_KEYS.items():
                if key in service:
                    self.add(
                        "swarm-ignored-key",
                        rel,
                        service.lines[key],
                        "service %s sets %s: %s" % (name, key, why),
                    )
            depends = service.get("depends_on")
            if isinstance(depends, LineDict) and any(
                isinstance(v, dict) and "condition" in v for v in depends.values()
            ):
                self.add(
                    "swarm-ignored-key",
                    rel,
                    service.lines["depends_on"],
                    "service %s uses depends_on conditions, which docker stack deploy ignores" % name,
                    "make the service retry until its dependency answers; add a healthcheck",
                )
        command = service.get("command")
        for value, key in ((command, "command"), (service.get("entrypoint"), "entrypoint")):
            if value is None:
                continue
            text = " ".join(str(v) for v in value) if isinstance(value, list) else str(value)
            context = None
            if build is not None:
                context_value = build.get("context", ".") if isinstance(build, dict) else build
                context = self.project.rel(os.path.join(base, str(context_value)))
            self.check_module_refs(rel, service.lines[key], text, [context] if context else [])

    def _check_dockerfile_ref(self, rel, service, context, dockerfile, df, line):
        if df is None:
            return
        if df not in self.project.file_set:
            siblings = [f for f in self.project.by_dir.get(context, []) if "ockerfile" in f]
            hint = (
                "Dockerfiles in %s: %s" % (context or ".", ", ".join(os.path.basename(s) for s in siblings))
                if siblings
                else "write it, or let the stack role use the collection's standard Dockerfile"
            )
            self.add(
                "dockerfile-missing",
                rel,
                line,
                "service %s builds with %s, which does not exist in %s"
                % (service, dockerfile, context or "."),
                hint,
            )
            return
        self.dockerfile_contexts.setdefault(df, set()).add(context)

    def _check_compose_ref(self, rel, line, base, value):
        target = self._ref_path(base, value, rel, line, "compose file")
        if target is not None and target not in self.project.file_set:
            self._compose_missing(rel, line, value, target)

    def _compose_missing(self, rel, line, value, target):
        self.add(
            "compose-file-missing",
            rel,
            line,
            "%s references %s, which does not exist" % (rel, value),
            self.missing_hint(target, self.project.matching(self.compose_globs)),
        )

    def check_port_groups(self, parsed):
        groups = [[rel] for rel in parsed]
        for rel in parsed:  # the standard override pair is deployed together
            name = os.path.basename(rel)
            if name.endswith(".override.yml") or name.endswith(".override.yaml"):
                stem = name.replace(".override", "")
                partner = os.path.join(os.path.dirname(rel), stem)
                if partner in parsed:
                    groups.append([partner, rel])
        groups.extend(g for g in self.compose_groups if len(g) > 1)
        reported = set()
        for group in groups:
            seen = {}
            for rel in group:
                data = parsed.get(rel)
                services = data.get("services") if isinstance(data, LineDict) else None
                if not isinstance(services, LineDict):
                    continue
                for name, service in services.items():
                    if not isinstance(service, LineDict) or not isinstance(service.get("ports"), LineList):
                        continue
                    for i, entry in enumerate(service["ports"]):
                        for port in parse_port(entry):
                            owner = seen.setdefault(port, (name, rel, service["ports"].lines[i]))
                            key = (port, rel, service["ports"].lines[i])
                            if owner[0] != name and key not in reported:
                                reported.add(key)
                                self.add(
                                    "port-conflict",
                                    rel,
                                    service["ports"].lines[i],
                                    "service %s publishes %s/%s, already published by service %s (%s:%s)"
                                    % (name, port[0], port[1], owner[0], owner[1], owner[2]),
                                    "publish another port, or put the services behind the gateway",
                                )

    # scripts -----------------------------------------------------------------------

    def scan_scripts(self, scripts):
        for rel in scripts:
            text = self.project.text(rel)
            if text is None:
                continue
            base = os.path.dirname(rel)
            deploys_stacks = (
                re.search(r"stack\s+deploy|stack\", \"deploy|\"stack\",\s*\"deploy", text) is not None
            )
            for line, value in compose_refs_in_text(text, rel):
                target = self._ref_path(base, value, rel, line, "compose file")
                if target is None:
                    continue
                root_target = self.project.rel(value)
                if target in self.project.file_set or (root_target and root_target in self.project.file_set):
                    found = target if target in self.project.file_set else root_target
                    self.referenced_compose.add(found)
                    if deploys_stacks:
                        self.stack_files.add(found)
                    continue
                self._compose_missing(rel, line, value, target)
            for lineno, line in enumerate(text.splitlines(), 1):
                stripped = line.strip()
                if stripped.startswith("#"):
                    continue
                if "stack" in line and "deploy" in line:
                    files = re.findall(r"(?:-c|--compose-file)[\s=\"',]+([^\s\"',]+)", line)
                    group = [self.project.rel(os.path.join(base, f)) for f in files]
                    group = [g for g in group if g]
                    self.stack_files.update(group)
                    if len(group) > 1:
                        self.compose_groups.append(group)
                self.check_module_refs(rel, lineno, line, [base])
                matches = list(MODULE_KEY.finditer(line))
                if not matches and rel.endswith((".yml", ".yaml")):
                    matches = [m for m in [MODULE_KEY_YAML.match(line)] if m]
                for m in matches:
                    self._check_module(rel, lineno, m.group(1), None, "module", [base])

    def check_module_refs(self, rel, line, text, extra_roots):
        for kind, module, attribute in command_module_refs(text):
            self._check_module(rel, line, module, attribute, kind, extra_roots)

    def _check_module(self, rel, line, module, attribute, kind, extra_roots):
        roots = [r for r in extra_roots if r is not None]
        resolved = self.modules.resolve(module, roots)
        if resolved is None:
            if not self.modules.owns_top_level(module, roots):
                return  # a third-party or standard-library module
            close = self.modules.closest(module)
            self.add(
                "module-unresolved",
                rel,
                line,
                "%s %s does not resolve to a module or package in the project" % (kind, module),
                "did you mean %s?" % close if close else "check the package path and __init__.py files",
            )
            return
        if attribute and resolved.endswith(".py"):
            source = self.project.text(resolved)
            try:
                if source is not None and not defines_name(source, attribute):
                    self.add(
                        "module-attribute-missing",
                        rel,
                        line,
                        "%s %s:%s: %s defines no %r" % (kind, module, attribute, resolved, attribute),
                        "define %s in %s, or point at the right attribute" % (attribute, resolved),
                    )
            except SyntaxError:
                pass  # reported as python-syntax for that file

    # Dockerfiles -------------------------------------------------------------------

    def check_dockerfile(self, rel, context):
        text = self.project.text(rel)
        if text is None:
            return
        for line, instruction, args in dockerfile_instructions(text):
            if instruction in ("COPY", "ADD"):
                for source in copy_sources(args):
                    if instruction == "ADD" and re.match(r"^[a-z]+://", source):
                        continue
                    target = self.project.rel(os.path.join(context, source))
                    if target is None or os.path.normpath(source.lstrip("/")).startswith(".."):
                        self.add(
                            "copy-source-missing",
                            rel,
                            line,
                            "%s %s leaves the build context %s; Docker cannot copy it"
                            % (instruction, source, context or "."),
                            "widen the build context in the compose file, or copy the files into it",
                        )
                        continue
                    if any(ch in source for ch in "*?["):
                        pattern = target
                        if not any(
                            fnmatch.fnmatch(p, pattern) for p in self.project.file_set | self.project.dirs
                        ):
                            self.add(
                                "copy-source-missing",
                                rel,
                                line,
                                "%s %s matches nothing in the build context %s"
                                % (instruction, source, context or "."),
                            )
                    elif not self.project.exists(target):
                        in_context = [
                            p[len(context) + 1 :] if context else p
                            for p in sorted(self.project.dirs | self.project.file_set)
                            if p and (not context or p.startswith(context + os.sep))
                        ]
                        close = self.project.closest(source, in_context)
                        self.add(
                            "copy-source-missing",
                            rel,
                            line,
                            "%s %s: not in the build context %s" % (instruction, source, context or "."),
                            "did you mean %s?" % close
                            if close
                            else "the source must be inside the build context",
                        )
            elif instruction in ("CMD", "ENTRYPOINT", "RUN"):
                self.check_module_refs(rel, line, args, [context])

    # Python ------------------------------------------------------------------------

    def server_dirs(self):
        """Declared server paths and discovered ones (<...>/mcp_servers/<name>)."""
        dirs = {}
        for server in self.declared_servers:
            if server.get("path"):
                rel = self.project.rel(server["path"])
                if rel is not None:
                    dirs[rel] = server.get("name")
        for rel in sorted(self.project.dirs):
            parent = os.path.basename(os.path.dirname(rel))
            if parent in ("mcp_servers", "mcp-servers") and not os.path.basename(rel).startswith((".", "_")):
                dirs.setdefault(rel, os.path.basename(rel))
        return dirs

    def check_python_sources(self):
        for rel in self.project.files:
            if not rel.endswith(".py"):
                continue
            text = self.project.text(rel)
            if text is None:
                continue
            try:
                compile(text, rel, "exec", dont_inherit=True)
            except SyntaxError as exc:
                source_line = (exc.text or "").strip()
                self.add(
                    "python-syntax",
                    rel,
                    exc.lineno,
                    "%s: %s" % (exc.msg, source_line[:120]),
                    "fix the syntax; the server fails to start with this file",
                )
            except ValueError as exc:  # null bytes and the like
                self.add("python-syntax", rel, None, str(exc))

    def check_servers(self):
        ports = {}
        declared_names = set()
        for i, server in enumerate(self.declared_servers):
            name = server.get("name") or "servers[%d]" % i
            declared_names.add(name)
            entry = {
                "name": name,
                "source": "declared",
                "path": server.get("path"),
                "exists": None,
                "module": server.get("module"),
                "module_file": None,
                "command": server.get("command"),
                "port": server.get("port"),
                "dockerfile": None,
                "secrets": server.get("secrets") or [],
            }
            where = "servers[%d] (%s)" % (i, name)
            rel = self.project.rel(server["path"]) if server.get("path") else None
            if server.get("path"):
                entry["exists"] = rel is not None and self.project.is_dir(rel)
                if not entry["exists"]:
                    self.add(
                        "server-path-missing",
                        where,
                        None,
                        "%s: path %s does not exist" % (where, server["path"]),
                        self.missing_hint(rel or server["path"], sorted(self.project.dirs)),
                    )
            roots = [rel] if entry["exists"] else []
            if server.get("module"):
                entry["module_file"] = self.modules.resolve(server["module"], roots)
                if entry["module_file"] is None:
                    close = self.modules.closest(server["module"])
                    self.add(
                        "module-unresolved",
                        where,
                        None,
                        "%s: module %s does not resolve in the project" % (where, server["module"]),
                        "did you mean %s?" % close if close else None,
                    )
            if server.get("command"):
                self.check_module_refs(where, None, str(server["command"]), roots)
            if entry["exists"]:
                entry["dockerfile"] = self._own_dockerfile(rel)
            port = server.get("port")
            if port is not None:
                if port in ports:
                    self.add(
                        "port-conflict",
                        where,
                        None,
                        "%s: port %s is also used by %s" % (where, port, ports[port]),
                        "give each server its own port",
                    )
                ports.setdefault(port, name)
            self.servers.append(entry)
        for rel, name in sorted(self.server_dirs().items()):
            if name in declared_names or any(
                s.get("path") and self.project.rel(s["path"]) == rel for s in self.declared_servers
            ):
                continue
            module_file = next(
                (
                    f
                    for f in (os.path.join(rel, n) for n in ("server.py", "main.py", "__main__.py", "app.py"))
                    if f in self.project.file_set
                ),
                None,
            )
            self.servers.append(
                {
                    "name": name,
                    "source": "discovered",
                    "path": rel,
                    "exists": True,
                    "module": None,
                    "module_file": module_file,
                    "command": None,
                    "port": None,
                    "dockerfile": self._own_dockerfile(rel),
                    "secrets": [],
                }
            )

    def _own_dockerfile(self, rel):
        own = [f for f in self.project.by_dir.get(rel, []) if os.path.basename(f).startswith("Dockerfile")]
        return own[0] if own else "standard"

    # result ------------------------------------------------------------------------

    def result(self):
        unique, seen = [], set()
        for f in self.findings:
            key = (f["code"], f["path"], f["line"], f["message"])
            if key not in seen:
                seen.add(key)
                unique.append(f)
        unique.sort(key=lambda f: (SEVERITIES.index(f["severity"]), f["path"], f["line"] or 0, f["code"]))
        return {
            "findings": unique,
            "summary": summarize(unique, len(self.project.files)),
            "servers": self.servers,
        }


def dockerfile_instructions(text):
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


def copy_sources(args):
    """Source paths of COPY/ADD (flags dropped; the destination is the last item). An
    empty list for copies from another stage or image (``--from``) and heredocs."""
    args = args.strip()
    if "<<" in args:
        return []
    if args.startswith("["):
        try:
            items = json.loads(args)
        except ValueError:
            return []
    else:
        try:
            items = shlex.split(args)
        except ValueError:
            items = args.split()
    flags = [i for i in items if i.startswith("--")]
    if any(f.startswith("--from") for f in flags):
        return []
    items = [i for i in items if not i.startswith("--")]
    return items[:-1] if len(items) >= 2 else []


def summarize(findings, files_scanned):
    by_severity = dict((s, 0) for s in SEVERITIES)
    by_code = {}
    for f in findings:
        by_severity[f["severity"]] += 1
        by_code[f["code"]] = by_code.get(f["code"], 0) + 1
    return {
        "total": len(findings),
        "by_severity": by_severity,
        "by_code": by_code,
        "files_scanned": files_scanned,
    }


def reaches(findings, fail_on):
    """Findings at or above ``fail_on`` (error, or warning: errors and warnings)."""
    levels = SEVERITIES[: SEVERITIES.index(fail_on) + 1]
    return [f for f in findings if f["severity"] in levels]


def validate(project_dir, compose_globs=None, dockerfile_globs=None, script_globs=None, servers=None):
    if not HAS_YAML:
        raise RuntimeError("PyYAML is required (python3-yaml on Debian and Ubuntu)")
    if not os.path.isdir(project_dir):
        raise ValueError("project_dir %s is not a directory" % project_dir)
    return Validator(project_dir, compose_globs, dockerfile_globs, script_globs, servers).run()


def to_sarif(result, tool_version="0.1.0"):
    """SARIF 2.1.0 for code-scanning annotations."""
    levels = {"error": "error", "warning": "warning", "info": "note"}
    rules = [
        {
            "id": code,
            "name": code,
            "shortDescription": {"text": title},
            "defaultConfiguration": {"level": levels[severity]},
        }
        for code, (severity, title) in sorted(RULES.items())
    ]
    results = []
    for f in result["findings"]:
        location = {"artifactLocation": {"uri": f["path"], "uriBaseId": "PROJECTROOT"}}
        if f["line"]:
            location["region"] = {"startLine": f["line"]}
        text = f["message"] + (" Hint: %s" % f["hint"] if f["hint"] else "")
        results.append(
            {
                "ruleId": f["code"],
                "level": levels[f["severity"]],
                "message": {"text": text},
                "locations": [{"physicalLocation": location}],
            }
        )
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "sophia.lambda_swarm.mcp_validate",
                        "version": tool_version,
                        "informationUri": "https://example.invalid/sophia/lambda_swarm",
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }


def format_table(findings):
    """Readable lines: where, severity, code, message, hint."""
    if not findings:
        return ["no findings"]
    lines = []
    for f in findings:
        where = f["path"] + (":%d" % f["line"] if f["line"] else "")
        lines.append("%-7s %-26s %s  %s" % (f["severity"].upper(), f["code"], where, f["message"]))
        if f["hint"]:
            lines.append("%35s hint: %s" % ("", f["hint"]))
    return lines
