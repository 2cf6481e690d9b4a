# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to sophia.lambda_swarm: the project index of mcp_validate.

Every file of the project, read at most once, symlinks never followed out of it, and the
scope: which files are the project (validated) and which are only there (vendored code,
backups, templates, ignored files: they exist, so references to them resolve, but they are
not validated). No Ansible import.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import os
from typing import Iterable, List, Optional

from ansible_collections.sophia.lambda_swarm.plugins.module_utils._mcp_validate_report import (
    closest_path,
    finding,
)

MAX_FILE_BYTES = 2 * 1024 * 1024

# Never walked: tool state, caches and installed environments.
SKIP_DIRS = {
    ".git",
    ".hg",
    ".svn",
    "node_modules",
    ".venv",
    "venv",
    "__pycache__",
    ".tox",
    ".nox",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".cache",
    ".ansible",
    "site-packages",
}

# Walked (their files exist) but not validated: someone else's code, copies, templates.
OUT_OF_SCOPE_DIRS = [
    "vendor",
    "vendored",
    "third_party",
    "third-party",
    "backup",
    "backups",
    "*.bak",
    "*.backup",
    "*_backup",
    "*-backup",
    "*.orig",
    "*.old",
    "old",
    "archive",
    "archived",
    "template",
    "templates",
    "*_template",
    "*-template",
    "*_templates",
    "*-templates",
    "{{*}}",
    "{%*%}",
]
OUT_OF_SCOPE_FILES = [
    "*.bak",
    "*.backup",
    "*.orig",
    "*.old",
    "*~",
    "*.backup.*",
    "*.bak.*",
    "*.old.*",
    "*.orig.*",
    "*-backup.*",
    "*_backup.*",
    "*.example",
    "*.example.*",
    "*.sample",
    "*.sample.*",
    "*.template",
    "*.template.*",
    "*.tmpl",
    "*.j2",
]
# .dockerignore lists what an image leaves out; only its folders leave the scope, and never
# the ones that say how the project is built.
_KEEP_IN_SCOPE = (".github", ".gitlab", ".gitlab-ci.yml")


def read_ignore_file(text: str) -> List[tuple]:
    """(pattern, negated, directory_only, anchored) of a .gitignore or .dockerignore."""
    rules = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        line = line.lstrip("!")
        directory_only = line.endswith("/")
        anchored = line.startswith("/")
        line = line.strip("/")
        if line.startswith("**/"):
            line = line[3:]
        if not line:
            continue
        rules.append((line, negated, directory_only, anchored or "/" in line))
    return rules


def ignored(rel: str, is_dir: bool, rules: List[tuple]) -> bool:
    """Whether ``rel`` (or a folder above it) is ignored by ``rules`` (last match wins)."""
    parts = rel.split(os.sep)
    verdict = False
    for pattern, negated, directory_only, anchored in rules:
        for i in range(len(parts)):
            sub = "/".join(parts[: i + 1])
            sub_is_dir = is_dir or i < len(parts) - 1
            if directory_only and not sub_is_dir:
                continue
            target = sub if anchored else parts[i]
            if fnmatch.fnmatchcase(target, pattern) or (
                anchored and fnmatch.fnmatchcase(sub, pattern + "/*")
            ):
                verdict = not negated
                break
    return verdict


class Project:
    """Files of the project, read once, symlinks never followed out of it.

    ``include``/``exclude``: glob patterns on paths relative to the project that put a
    path back into the scope or take it out (``exclude`` wins over the defaults, ``include``
    over both)."""

    def __init__(self, root: str, include: Iterable[str] = (), exclude: Iterable[str] = ()) -> None:
        self.root = os.path.realpath(root)
        self.include = [p.strip("/") for p in include or ()]
        self.exclude = [p.strip("/") for p in exclude or ()]
        self.files = []  # relative paths of regular files inside the project
        self.by_dir = {}  # directory -> its files
        self.dirs = set([""])
        self.findings = []
        self.out_of_scope = set()  # files that exist but are not validated
        self._text = {}
        self.gitignore = self._ignore_rules(".gitignore")
        self.dockerignore = [r for r in self._ignore_rules(".dockerignore") if r[0] not in _KEEP_IN_SCOPE]
        self._walk()
        self.file_set = set(self.files)
        self.by_name = {}  # base name -> files
        for rel in self.files:
            self.by_name.setdefault(os.path.basename(rel), []).append(rel)

    def _ignore_rules(self, name: str) -> List[tuple]:
        path = os.path.join(self.root, name)
        if not os.path.isfile(path) or os.path.islink(path):
            return []
        try:
            with open(path, "rb") as handle:
                return read_ignore_file(handle.read(MAX_FILE_BYTES).decode("utf-8", "replace"))
        except (IOError, OSError):
            return []

    def _matches(self, rel: str, patterns: Iterable[str]) -> bool:
        return any(fnmatch.fnmatchcase(rel, p) or fnmatch.fnmatchcase(rel, p + "/*") for p in patterns)

    def _dir_out_of_scope(self, rel: str, name: str) -> bool:
        if self._matches(rel, self.include):
            return False
        if self._matches(rel, self.exclude):
            return True
        if any(fnmatch.fnmatchcase(name, p) for p in OUT_OF_SCOPE_DIRS):
            return True
        if rel.split(os.sep, maxsplit=1)[0] in _KEEP_IN_SCOPE:
            return False
        return ignored(rel, True, self.gitignore) or ignored(rel, True, self.dockerignore)

    def _file_out_of_scope(self, rel: str, name: str) -> bool:
        if self._matches(rel, self.include):
            return False
        if self._matches(rel, self.exclude):
            return True
        if any(fnmatch.fnmatchcase(name, p) for p in OUT_OF_SCOPE_FILES):
            return True
        return ignored(rel, False, self.gitignore)

    def _walk(self) -> None:
        out_dirs = set()
        for dirpath, dirnames, filenames in os.walk(self.root, followlinks=False):
            rel_dir = os.path.relpath(dirpath, self.root)
            rel_dir = "" if rel_dir == "." else rel_dir
            dir_out = rel_dir in out_dirs
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
                if dir_out or self._dir_out_of_scope(rel, name):
                    out_dirs.add(rel)
            dirnames[:] = keep
            for name in sorted(filenames):
                rel = os.path.join(rel_dir, name)
                if self._add_file(os.path.join(dirpath, name), rel) and (
                    dir_out or self._file_out_of_scope(rel, name)
                ):
                    self.out_of_scope.add(rel)

    def _add_file(self, full: str, rel: str) -> bool:
        if os.path.islink(full):
            if self._links_outside(full, rel):
                return False
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
                return False
        if not os.path.isfile(full):  # a FIFO, socket or device: never opened
            self.findings.append(
                finding("file-skipped", rel, None, "%s is not a regular file; not scanned" % rel)
            )
            return False
        self.files.append(rel)
        self.by_dir.setdefault(os.path.dirname(rel), []).append(rel)
        return True

    def _links_outside(self, full: str, rel: str) -> bool:
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

    def inside(self, real_path: str) -> bool:
        return real_path == self.root or real_path.startswith(self.root + os.sep)

    @staticmethod
    def rel(path: str) -> Optional[str]:
        """Normalize a path (relative to the project) or None when it leaves the project."""
        norm = os.path.normpath(path)
        if norm == ".":
            return ""
        if norm.startswith("..") or os.path.isabs(norm):
            return None
        return norm

    def exists(self, rel: str) -> bool:
        return rel in self.file_set or rel in self.dirs

    def is_dir(self, rel: str) -> bool:
        return rel in self.dirs

    def in_scope(self, rel: str) -> bool:
        return rel not in self.out_of_scope

    def gitignored(self, rel: str) -> bool:
        return ignored(rel, False, self.gitignore)

    def text(self, rel: str) -> Optional[str]:
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

    def matching(
        self, globs: Iterable[str], dotfile_paths: Iterable[str] = (), scoped: bool = True
    ) -> List[str]:
        """Files whose name matches one of ``globs`` (or whose path one of ``dotfile_paths``)."""
        globs, dotfile_paths = list(globs), list(dotfile_paths)
        out = []
        for rel in self.files:
            if scoped and rel in self.out_of_scope:
                continue
            base = os.path.basename(rel)
            if any(fnmatch.fnmatch(base, g) for g in globs) or any(
                fnmatch.fnmatch(rel, g) for g in dotfile_paths
            ):
                out.append(rel)
        return out

    def closest(
        self, wanted: str, candidates: Optional[Iterable[str]] = None, cutoff: float = 0.6
    ) -> Optional[str]:
        """The existing path most like ``wanted`` (see closest_path), or None."""
        pool = candidates if candidates is not None else sorted(self.dirs | self.file_set)
        return closest_path(wanted, pool, cutoff)

    def missing_hint(self, wanted: str, candidates: Optional[Iterable[str]] = None) -> Optional[str]:
        """A hint for a missing path: the sibling it was copied from, a gitignored file the
        deployer creates, or the closest name."""
        if self.gitignored(wanted):
            template = closest_path(wanted, self.by_dir.get(os.path.dirname(wanted), []), 0.9)
            return "%s is gitignored: each checkout creates it%s" % (
                wanted,
                " (from %s)" % template if template else "",
            )
        close = self.closest(wanted, candidates)
        return "did you mean %s?" % close if close else None
