# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to sophia.lambda_swarm: a model of the image a Dockerfile builds, and the start
commands checked against it.

``build_image`` follows the final stage of a Dockerfile built from a given context:
``WORKDIR``, ``ENV PYTHONPATH``, ``COPY``/``ADD`` (what lands where; ``--from`` a known
stage is followed, anything else is opaque), ``pip install``/``uv sync``/``poetry install``
(projects installed with their packages and console scripts, requirement names), and the
``RUN`` steps that move files (what they touch becomes opaque, never judged). A start
command's module, file or console script counts as missing only where the model is certain.
No Ansible import.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import difflib
import fnmatch
import os
import re
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from ansible_collections.sophia.lambda_swarm.plugins.module_utils._mcp_validate_dockerfile import (
    command_argv,
    copy_parts,
    dockerfile_instructions,
    instruction_words,
    substitute,
)
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._mcp_validate_index import Project
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._mcp_validate_python import (
    STDLIB,
    ModuleIndex,
    closest_module,
    defines_name,
    from_python_version,
    modules_under,
    provided_by,
    pyproject_info,
    requirement_name,
    requirement_names,
    resolve_in,
)
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._mcp_validate_report import (
    closest_path,
    finding,
)
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._mcp_validate_shell import (
    simple_commands,
    split_words,
    strip_wrappers,
)

UNKNOWN_WORKDIR = "/@workdir"
_MOVERS = {"cp", "mv", "ln", "rsync", "install"}


class Image:
    """What one stage of an image holds, as far as the Dockerfile says."""

    def __init__(self, project: Project, base: str) -> None:
        self.project = project
        self.base = base
        self.python = from_python_version(base)
        self.workdir = None  # None: set by the base image, unknown here
        self.mounts = []  # (image path, project path or None when opaque, is_dir)
        self.pythonpath = []
        self.projects = []  # pyproject_info of installed projects
        self.dists = set()  # normalized names installed by pip/uv/poetry
        self.cmd = self.entrypoint = self.healthcheck = None  # (line, argv)
        self.variables = {}
        self.context = ""

    def abspath(self, path: str) -> str:
        if path.startswith("/"):
            return os.path.normpath(path)
        return os.path.normpath(os.path.join(self.workdir or UNKNOWN_WORKDIR, path))

    def lookup(self, path: str) -> Optional[str]:
        """``file``, ``dir``, ``unknown`` (opaque: anything may be there) or None (absent as far
        as the model knows) for an absolute image path."""
        path = os.path.normpath(path)
        for dest, source, is_dir in reversed(self.mounts):
            if path == dest:
                if source is None:
                    return "unknown"
                return "dir" if is_dir else "file"
            if dest.startswith(path.rstrip("/") + "/"):
                return "dir"
            if path.startswith(dest + "/"):
                if source is None:
                    return "unknown"
                if is_dir:
                    rest = path[len(dest) + 1 :]
                    rel = os.path.join(source, rest) if source else rest
                    if rel in self.project.file_set:
                        return "file"
                    if rel in self.project.dirs:
                        return "dir"
        return None

    def project_file(self, path: str) -> Optional[str]:
        path = os.path.normpath(path)
        for dest, source, is_dir in reversed(self.mounts):
            if source is None:
                continue
            if path == dest and not is_dir:
                return source
            if is_dir and path.startswith(dest + "/"):
                rel = os.path.join(source, path[len(dest) + 1 :]) if source else path[len(dest) + 1 :]
                if rel in self.project.file_set:
                    return rel
        return None

    def search_roots(self, extra: Iterable[str] = ()) -> List[str]:
        """Folders ``python -m`` and the app servers import from (the working directory first).
        With the working directory unknown, every folder the Dockerfile copies into."""
        roots = [self.abspath(e) for e in extra if e]
        if self.workdir is not None:
            roots.append(self.workdir)
        else:
            roots.append(UNKNOWN_WORKDIR)
            roots.extend(d if is_dir else os.path.dirname(d) for d, s, is_dir in self.mounts if s is not None)
        roots.extend(self.abspath(p) for p in self.pythonpath)
        out = []
        for r in roots:
            if r not in out:
                out.append(r)
        return out

    def find_module(self, dotted: str, extra: Iterable[str] = ()) -> Optional[Tuple[str, Optional[str]]]:
        """("image", project file or None) when the image holds the module, ("installed", None)
        when something installed provides it, or None."""
        parts = dotted.split(".")
        for root in self.search_roots(extra):
            base = os.path.join(root, *parts)
            for candidate in (base + ".py", os.path.join(base, "__init__.py"), base):
                state = self.lookup(candidate)
                if state == "unknown":
                    return ("image", None)
                if state == "file" or (state == "dir" and candidate == base):
                    return (
                        "image",
                        self.project_file(candidate) or self.project_file(os.path.join(base, "__init__.py")),
                    )
        for info in self.projects:
            if parts[0] in info["packages"]:
                for root in info["roots"]:
                    found = resolve_in(self.project, root, dotted)
                    if found:
                        return ("image", found if found.endswith(".py") else None)
                return ("installed", None)
        if parts[0] in STDLIB or provided_by(dotted, self.dists):
            return ("installed", None)
        if any(provided_by(dotted, info["dependencies"]) for info in self.projects):
            return ("installed", None)
        return None

    def modules(self) -> List[str]:
        """Dotted names importable from the search roots (for hints)."""
        out = set()
        for root in self.search_roots():
            for dest, source, is_dir in self.mounts:
                if source is None or not is_dir:
                    if source and dest.endswith(".py") and os.path.dirname(dest) == root:
                        out.add(os.path.basename(dest)[:-3])
                    continue
                if dest == root or dest.startswith(root + "/"):
                    prefix = dest[len(root) + 1 :].replace("/", ".") if dest != root else ""
                    for name in modules_under(self.project, source):
                        out.add(prefix + "." + name if prefix else name)
        for info in self.projects:
            for root in info["roots"]:
                out.update(modules_under(self.project, root))
        return sorted(out)

    def files(self) -> List[str]:
        """Image paths of the files copied from the project (for hints)."""
        out = []
        for dest, source, is_dir in self.mounts:
            if source is None:
                continue
            if not is_dir:
                out.append(dest)
                continue
            prefix = source + os.sep if source else ""
            out.extend(dest + "/" + f[len(prefix) :] for f in self.project.files if f.startswith(prefix))
        return out


def build_image(
    project: Project, dockerfile: str, context: str, build_args: Optional[Mapping[str, Any]] = None
) -> Optional[Image]:
    """The final stage of ``dockerfile`` built from ``context`` (project paths), or None."""
    text = project.text(dockerfile)
    if text is None:
        return None
    variables = dict(build_args or {})
    stages, image = {}, None
    context = context or ""
    for line, instruction, args in dockerfile_instructions(text):
        if instruction == "ARG":
            for item in instruction_words(args):
                key, eq, default = item.partition("=")
                if key not in variables or variables[key] is None:
                    variables[key] = default if eq else None
            continue
        if instruction == "FROM":
            words = [w for w in args.split() if not w.startswith("--")]
            base = substitute(words[0], variables) if words else ""
            image = copy.deepcopy(stages[base]) if base in stages else Image(project, base)
            image.project, image.context = project, context
            if len(words) >= 3 and words[1].lower() == "as":
                stages[words[2]] = image
            stages[str(len(stages))] = image
            continue
        if image is None:
            continue
        image.variables = variables
        if instruction == "WORKDIR":
            image.workdir = image.abspath(substitute(args.strip(), variables))
        elif instruction == "ENV":
            _env(image, args, variables)
        elif instruction in ("COPY", "ADD"):
            _copy(image, instruction, args, context, variables, stages)
        elif instruction == "RUN":
            _run(image, substitute(args, variables))
        elif instruction in ("CMD", "ENTRYPOINT"):
            setattr(image, instruction.lower(), (line, command_argv(args)))
        elif instruction == "HEALTHCHECK":
            m = re.search(r"\bCMD\s+(.*)$", args)
            if m:
                image.healthcheck = (line, command_argv(m.group(1)))
    return image


def _env(image: Image, args: str, variables: Dict[str, Any]) -> None:
    items = instruction_words(args)
    pairs = [i.partition("=") for i in items]
    if items and not pairs[0][1]:  # ENV KEY value
        pairs = [(items[0], "=", " ".join(items[1:]))]
    for key, _eq, written in pairs:
        value = substitute(written, dict(variables, **{key: ""}))
        variables[key] = value
        if key == "PYTHONPATH":
            image.pythonpath = [p for p in value.split(":") if p and "$" not in p]


def _copy(
    image: Image,
    instruction: str,
    args: str,
    context: str,
    variables: Dict[str, Any],
    stages: Dict[str, Image],
) -> None:
    parts = copy_parts(args)
    if parts is None or parts[2] is None:
        return
    flags, sources, dest = parts
    dest = substitute(dest, variables)
    if "$" in dest:
        return
    dest_abs = image.abspath(dest)
    dir_dest = dest.endswith("/") or len(sources) > 1 or dest in (".", "./")
    origin = next((f.split("=", 1)[1] for f in flags if f.startswith("--from=")), None)
    for written in sources:
        source = substitute(written, variables)
        if origin is not None:
            _copy_from(image, stages.get(origin), source, dest_abs)
            continue
        if "$" in source or re.match(r"^[a-z]+://", source) or source.startswith("git@"):
            image.mounts.append((dest_abs, None, True))
            continue
        rel = image.project.rel(os.path.join(context, source.lstrip("/")))
        if rel is None:
            continue
        if instruction == "ADD" and rel.endswith((".tar", ".tar.gz", ".tgz", ".tar.xz", ".tar.bz2")):
            image.mounts.append((dest_abs, None, True))
        elif any(ch in source for ch in "*?["):
            for match in sorted(image.project.file_set | image.project.dirs):
                if fnmatch.fnmatch(match, rel) and os.path.dirname(match) == os.path.dirname(rel):
                    if match in image.project.dirs:
                        image.mounts.append((os.path.join(dest_abs, os.path.basename(match)), match, True))
                    else:
                        image.mounts.append((os.path.join(dest_abs, os.path.basename(match)), match, False))
        elif rel in image.project.dirs:
            image.mounts.append((dest_abs, rel, True))
        elif rel in image.project.file_set:
            into_dir = dir_dest or image.lookup(dest_abs) == "dir"
            image.mounts.append(
                (os.path.join(dest_abs, os.path.basename(rel)) if into_dir else dest_abs, rel, False)
            )


def _copy_from(image: Image, stage: Optional[Image], source: str, dest_abs: str) -> None:
    if stage is None:  # another image: opaque
        image.mounts.append((dest_abs, None, True))
        return
    src = stage.abspath(source)
    moved = False
    for d, s, is_dir in stage.mounts:
        if d == src or d.startswith(src + "/"):
            image.mounts.append((dest_abs + d[len(src) :], s, is_dir))
            moved = True
        elif is_dir and s is not None and src.startswith(d + "/"):
            image.mounts.append((dest_abs, os.path.join(s, src[len(d) + 1 :]), True))
            moved = True
    if not moved:
        image.mounts.append((dest_abs, None, True))
    image.projects.extend(stage.projects)  # a copied virtualenv carries what was installed
    image.dists |= stage.dists


def _run(image: Image, args: str) -> None:
    for command, targets in simple_commands(split_words(args)):
        for target in targets:
            image.mounts.append((image.abspath(target), None, False))
        argv, _env = strip_wrappers(command)
        if not argv:
            continue
        name = os.path.basename(argv[0])
        words = argv[1:]
        if name in ("python", "python3") and words[:2] == ["-m", "pip"]:
            name, words = "pip", words[2:]
        if name == "uv" and words[:1] == ["pip"]:
            name, words = "pip", words[1:]
        if name in ("pip", "pip3") and words[:1] == ["install"]:
            _pip_install(image, words[1:])
        elif name == "uv" and words[:1] == ["sync"]:
            _install_project(
                image, _flag(words, ("--project", "--directory")) or ".", "--no-install-project" not in words
            )
        elif name == "poetry" and words[:1] == ["install"]:
            _install_project(image, ".", "--no-root" not in words)
        elif name in _MOVERS:
            plain = [w for w in words if not w.startswith("-")]
            if plain:
                image.mounts.append((image.abspath(plain[-1]), None, True))
        elif name == "git" and words[:1] == ["clone"]:
            plain = [w for w in words[1:] if not w.startswith("-")]
            if len(plain) >= 2:
                image.mounts.append((image.abspath(plain[1]), None, True))
            elif plain:
                image.mounts.append(
                    (image.abspath(os.path.basename(plain[0]).replace(".git", "")), None, True)
                )
        elif name in ("tar", "unzip", "protoc") or "grpc_tools" in words:
            target = _flag(words, ("-C", "--directory", "-d", "--python_out")) or "."
            image.mounts.append((image.abspath(target), None, True))


def _flag(words: List[str], names: Sequence[str]) -> Optional[str]:
    for i, w in enumerate(words):
        if w in names and i + 1 < len(words):
            return words[i + 1]
        for n in names:
            if w.startswith(n + "="):
                return w.split("=", 1)[1]
    return None


def _pip_install(image: Image, words: List[str]) -> None:
    i = 0
    while i < len(words):
        w = words[i]
        if w in ("-r", "--requirement", "-c", "--constraint") and i + 1 < len(words):
            if w in ("-r", "--requirement"):
                rel = image.project_file(image.abspath(words[i + 1]))
                if rel:
                    image.dists |= requirement_names(image.project, rel)
            i += 2
            continue
        if w in ("-e", "--editable") and i + 1 < len(words):
            _install_project(image, words[i + 1], True)
            i += 2
            continue
        if w in (
            "-i",
            "--index-url",
            "--extra-index-url",
            "-f",
            "--find-links",
            "--target",
            "-t",
            "--prefix",
            "--python",
            "--root",
        ) and i + 1 < len(words):
            i += 2
            continue
        if not w.startswith("-"):
            if w.startswith((".", "/")) or "/" in w:
                _install_project(image, w.split("[", 1)[0], True)
            else:
                name = requirement_name(w)
                if name:
                    image.dists.add(name)
        i += 1


def _install_project(image: Image, path: str, with_project: bool) -> None:
    target = image.abspath(path)
    state = image.lookup(target)
    if state != "dir":
        return
    rel = None
    for dest, source, is_dir in reversed(image.mounts):
        if source is not None and is_dir and (target == dest or target.startswith(dest + "/")):
            rel = (
                os.path.normpath(os.path.join(source, target[len(dest) + 1 :])) if target != dest else source
            )
            rel = "" if rel == "." else rel
            break
    if rel is None:
        return
    info = pyproject_info(image.project, rel)
    if info is None:
        return
    image.dists |= set(info["dependencies"])
    if with_project:
        image.projects.append(info)


def check_claims(
    image: Image, claims: Iterable[tuple], rel: str, line: Optional[int], what: str, modules: ModuleIndex
) -> List[dict]:
    """Findings for start-command claims (from start_claims) against ``image``."""
    out = []
    for claim in claims:
        kind = claim[0]
        if kind == "module":
            out.extend(_check_module(image, claim[1], None, (), rel, line, what, modules))
        elif kind == "app":
            out.extend(
                _check_module(
                    image, claim[1], claim[2], (claim[3],) if claim[3] else (), rel, line, what, modules
                )
            )
        elif kind == "file":
            out.extend(_check_file(image, claim[1], rel, line, what))
        elif kind == "script":
            out.extend(_check_script(image, claim[1], rel, line, what, modules))
    return out


def _check_module(
    image: Image,
    dotted: str,
    attribute: Optional[str],
    extra: Sequence[str],
    rel: str,
    line: Optional[int],
    what: str,
    modules: ModuleIndex,
) -> List[dict]:
    found = image.find_module(dotted, extra)
    if found is None and image.workdir is None:
        # the base image chose the working directory: the project is the best model left
        resolved = modules.resolve(dotted, [image.context])
        if resolved:
            found = ("image", resolved if resolved.endswith(".py") else None)
    label = "%s %s%s" % (what, dotted, ":" + attribute if attribute else "")
    if found is None:
        close = closest_module(dotted, image.modules())
        left_out = left_in_context(image, dotted)
        top_owned = modules.owns_top_level(dotted, [image.context])
        if not close and image.workdir is None:
            close = modules.closest(dotted)
        if not close and not left_out and not top_owned:
            return []  # neither near anything the image holds nor the project's: a base-image module
        if left_out:
            hint = "%s is in the build context but not copied where the command runs; COPY it to %s" % (
                left_out,
                image.workdir or "the working directory",
            )
        elif close:
            hint = "did you mean %s?" % close
        else:
            hint = "copy it into the image or fix the module path"
        return [
            finding(
                "module-unresolved",
                rel,
                line,
                "%s: no module %s in the image (working directory %s) and nothing installed provides it"
                % (label, dotted, image.workdir or "set by the base image"),
                hint,
            )
        ]
    source_file = found[1]
    if attribute and source_file and source_file.endswith(".py"):
        source = image.project.text(source_file)
        try:
            if source is not None and not defines_name(source, attribute):
                return [
                    finding(
                        "module-attribute-missing",
                        rel,
                        line,
                        "%s: %s defines no %r" % (label, source_file, attribute),
                        "define %s in %s, or point at the right attribute" % (attribute, source_file),
                    )
                ]
        except SyntaxError:
            pass  # reported as python-syntax for that file
    return []


def left_in_context(image: Image, dotted: str) -> Optional[str]:
    """A file of the build context that would be ``dotted`` had it been copied (the
    nearest one), or None."""
    parts = dotted.split(".")
    prefix = image.context + "/" if image.context else ""
    hits = []
    for name, tail in ((parts[-1] + ".py", parts[:-1]), ("__init__.py", parts)):
        for f in image.project.by_name.get(name, ()):
            folders = f.split("/")[:-1]
            if f.startswith(prefix) and folders[len(folders) - len(tail) :] == tail:
                hits.append(f)
    return min(hits, key=len) if hits else None


def _check_file(image: Image, path: str, rel: str, line: Optional[int], what: str) -> List[dict]:
    if "$" in path:
        return []
    if path.startswith("/"):
        candidates = [os.path.normpath(path)]
        under_copy = any(candidates[0].startswith(d + "/") for d, s, _i in image.mounts if s is not None)
        if not under_copy and not (image.workdir and candidates[0].startswith(image.workdir + "/")):
            return []  # a path the base image provides
    else:
        candidates = [
            os.path.normpath(os.path.join(r, path))
            for r in image.search_roots()[: 1 if image.workdir else None]
        ]
    if any(image.lookup(c) in ("file", "dir", "unknown") for c in candidates):
        return []
    if image.workdir is None and path.startswith("./") is False and image.project.exists(path):
        return []
    name = os.path.basename(path)
    pool = [p for p in image.files() if p.endswith(os.path.splitext(name)[1] or ".py")]
    close = closest_path(candidates[0], pool)
    return [
        finding(
            "start-file-missing",
            rel,
            line,
            "%s runs %s, which the image does not contain (working directory %s)"
            % (what, path, image.workdir or "set by the base image"),
            "did you mean %s?" % close if close else "copy it into the image or fix the path",
        )
    ]


def _check_script(
    image: Image, word: str, rel: str, line: Optional[int], what: str, modules: ModuleIndex
) -> List[dict]:
    scripts = {}
    for info in image.projects:
        scripts.update(info["scripts"])
    if not scripts:
        return []
    if word in scripts:
        target = scripts[word]
        module, _sep, attribute = target.partition(":")
        return _check_module(
            image,
            module.strip(),
            attribute.strip() or None,
            (),
            rel,
            line,
            "%s (console script %s)" % (what, word),
            modules,
        )
    head = re.split(r"[-_.]", word)[0]
    close = [c for c in difflib.get_close_matches(word, list(scripts), n=3, cutoff=0.6) if c.startswith(head)]
    if not close:
        return []  # some other program of the image
    return [
        finding(
            "console-script-missing",
            rel,
            line,
            "%s runs %s, which no installed project declares as a console script" % (what, word),
            "did you mean %s? (declared in [project.scripts])" % close[0],
        )
    ]
