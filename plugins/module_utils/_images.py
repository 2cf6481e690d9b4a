# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to sophia.lambda_swarm: the decisions of the collection's one image pipeline (the
stack role's entry point ``images``, used by the stack and the monitoring role). Content
tags, the build contexts to send to the build host, what each image needs (nothing, a pull,
a push, or a build and a push) and the references to deploy by digest; and the stack's own
list of images (one per server built from the project, and the gateway). Pure functions, no
Ansible: the same input gives the same tags."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import hashlib
import json
import posixpath
import re
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional

# one path component of a repository name (Docker's distribution reference grammar)
NAME_RE = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
TREE_RE = re.compile(r"[0-9a-f]{64}")
TAG_LENGTH = 12
# where the stack puts the collection's standard Dockerfile and healthcheck in a project's context
STANDARD_DIR = ".sophia"
STANDARD_DOCKERFILE = STANDARD_DIR + "/Dockerfile.mcp-uv"
# never in an image, whatever the project's own .dockerignore says
IGNORED = (
    ".git",
    "**/.git",
    ".env",
    ".env.*",
    "**/.env",
    "**/.env.*",
    "**/__pycache__",
    "**/*.pyc",
    "**/.venv",
    "**/node_modules/.cache",
)
ACTIONS = ("none", "pull", "push", "build")


class ImageError(ValueError):
    """A bad entry of the images to build: the message names the entry, the key and the fix."""


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _err(index: int, name: Any, key: str, problem: str, fix: str) -> ImageError:
    return ImageError(
        "stack_images_build[%d] (%s): %s %s; %s" % (index, name or "no name", key, problem, fix)
    )


def _relative(index: int, name: str, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _err(index, name, key, "is missing or not a string", "give a path relative to the context")
    clean = posixpath.normpath(value.replace("\\", "/"))
    if clean.startswith("/") or clean == ".." or clean.startswith("../"):
        raise _err(index, name, key, "%s leaves the build context" % value, "give a path inside the context")
    return clean


def content_tag(
    tree: str, dockerfile: str, args: Mapping[str, str], files: Mapping[str, str], name: str
) -> str:
    """The content tag of one image: what its context holds (``tree``, the hash of its files),
    the files added to the context (dest -> content), its Dockerfile, build arguments and name."""
    document = json.dumps(
        {
            "args": dict(args),
            "dockerfile": dockerfile,
            "files": {dest: _sha256(content) for dest, content in files.items()},
            "name": name,
            "tree": tree,
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return _sha256(document)[:TAG_LENGTH]


_VAR_RE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::([-+])([^}$]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")
_GLOB_CHARS = frozenset("*?")
_WORD_RE = re.compile(r"\S+")


class _Unsure(Exception):
    """Something the reading of a Dockerfile does not follow: the whole context counts."""


def _logical_lines(text: str) -> List[str]:
    """A Dockerfile's instructions: continuation lines joined, comment and blank lines inside
    them skipped, as Docker reads them with the default escape character (``\\``); another
    one (a ``# escape=`` directive) is not followed (:class:`_Unsure`)."""
    out, current, first = [], None, True
    for raw in text.splitlines():
        line = raw.strip()
        if first and re.match(r"#\s*escape\s*=", line, re.I) and line.split("=", 1)[1].strip() != "\\":
            raise _Unsure("escape directive")
        if line and not line.startswith("#"):
            first = False
        if not line or line.startswith("#"):
            continue  # a comment or a blank line, also inside a continued instruction
        if line.endswith("\\"):
            current = (current or "") + line[:-1] + " "
            continue
        out.append((current or "") + line)
        current = None
    if current and current.strip():
        out.append(current)
    return out


def _substitute(word: str, values: Mapping[str, Optional[str]]) -> str:
    """``$NAME``, ``${NAME}``, ``${NAME:-word}`` and ``${NAME:+word}`` from ``values``; a name
    with no known value (None: set by ENV, or declared with neither a default nor a build
    argument), or any other form, is :class:`_Unsure`."""

    def one(match: "re.Match[str]") -> str:
        name = match.group(1) or match.group(4)
        if name not in values or values[name] is None:
            raise _Unsure(name)
        value = values[name] or ""
        if match.group(2) == "-":
            return value or match.group(3)
        if match.group(2) == "+":
            return match.group(3) if value else ""
        return value

    out = _VAR_RE.sub(one, word)
    if "$" in out:
        raise _Unsure(word)
    return out


def _sources(rest: str) -> Optional[List[str]]:
    """The sources of one COPY or ADD (after the instruction word): none when they come from
    another stage or image (``--from``); :class:`_Unsure` for what it does not read (quotes,
    backslashes, a heredoc, a JSON form that does not parse)."""
    words = _WORD_RE.findall(rest)
    while words and words[0].startswith("--"):
        if words[0].startswith("--from"):
            return None
        words.pop(0)
    text = " ".join(words)
    if text.startswith("["):
        try:
            tokens = [str(t) for t in json.loads(text)]
        except ValueError:
            raise _Unsure("JSON form") from None
    else:
        tokens = words
        if any(ch in text for ch in "\"'\\"):
            raise _Unsure("quoted words")
    if any("<<" in t for t in tokens):
        raise _Unsure("heredoc")
    return tokens[:-1]


def copy_sources(dockerfile: str, args: Optional[Mapping[str, str]] = None) -> Optional[List[str]]:
    """The context paths (or ``*``/``?`` patterns) a Dockerfile's COPY and ADD instructions
    read, relative to the context, with the stage's ARG values substituted (a build argument,
    else the declared default; ARGs before FROM only where a stage declares them again); a
    COPY from another stage or image (``--from``) and a URL read none.

    None when the whole context counts, which is always safe: a source that is the context
    itself or leaves it, a variable set by ENV or with no value, a form it does not read
    (quotes, ``[`` patterns, a heredoc, another escape character, ``RUN --mount`` of the
    context, ONBUILD)."""
    given = dict(args or {})
    out: List[str] = []
    try:
        lines = _logical_lines(dockerfile or "")
        globals_: Dict[str, Optional[str]] = {}
        values: Dict[str, Optional[str]] = {}
        in_stage = False
        for line in lines:
            word, rest = [*line.split(None, 1), ""][:2]
            word = word.upper()
            if word == "FROM":
                in_stage, values = True, {}
                continue
            if word == "ARG":
                for token in _WORD_RE.findall(rest):
                    name, eq, default = token.partition("=")
                    if name in given:
                        value: Optional[str] = given[name]
                    elif eq:
                        value = _substitute(default, values if in_stage else globals_)
                    elif in_stage and name in globals_:
                        value = globals_[name]
                    else:
                        value = ""  # declared without a value: empty, as Docker gives it
                    (values if in_stage else globals_)[name] = value
                continue
            if word == "ENV":
                for token in _WORD_RE.findall(rest):
                    values[token.partition("=")[0]] = None
                continue
            if word == "ONBUILD":
                raise _Unsure("ONBUILD")
            if word == "RUN" and "--mount" in rest and "from=" not in rest:
                raise _Unsure("RUN --mount of the context")
            if word not in ("COPY", "ADD"):
                continue
            for raw in _sources(rest) or []:
                if "://" in raw or raw.startswith("git@"):
                    continue
                if "[" in raw:
                    raise _Unsure("bracket pattern")
                source = _substitute(raw, values)
                clean = posixpath.normpath(source.lstrip("/") or ".")
                if clean in ("", ".") or clean == ".." or clean.startswith("../"):
                    return None
                out.append(clean)
    except _Unsure:
        return None
    return out


def used_files(
    listing: Iterable[str], sources: Optional[Iterable[str]], always: Iterable[str] = ()
) -> List[str]:
    """The files of a context (``listing``: paths relative to it) that COPY and ADD sources
    (:func:`copy_sources`) read, and ``always`` (the Dockerfile, .dockerignore) when present;
    every file when ``sources`` is None. A pattern may match more than Docker would (``*``
    across ``/`` too): a content tag then covers more, never less."""
    files = list(listing)
    if sources is None:
        chosen = set(files)
    else:
        present = set(files)
        chosen = set(p for p in always if p in present)
        for source in sources:
            if _GLOB_CHARS.intersection(source):
                for path in files:
                    parts = path.split("/")
                    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
                    if any(fnmatch.fnmatchcase(prefix, source) for prefix in prefixes):
                        chosen.add(path)
            else:
                chosen.update(p for p in files if p == source or p.startswith(source + "/"))
    return sorted(chosen, key=lambda p: ("./" + p).encode("utf-8", "surrogateescape"))


def tree_hash(digests: Mapping[str, str], paths: Iterable[str]) -> str:
    """The hash of some files of a context (``digests``: relative path -> sha256), the same as
    ``find . -type f | LC_ALL=C sort | xargs sha256sum | sha256sum`` over those files: a context
    that every image reads whole keeps its earlier tags."""
    return _sha256("".join("%s  ./%s\n" % (digests[p], p) for p in paths))


def context_id(path: str) -> str:
    """The folder a controller directory becomes on the build host: its name and a hash of its
    path (two contexts with one name stay apart)."""
    base = posixpath.basename(path.rstrip("/")).lower()
    base = re.sub(r"[^a-z0-9_.-]+", "-", base).strip("-.") or "context"
    return "%s-%s" % (base, _sha256(path)[:8])


def _args(index: int, name: str, value: Any) -> Dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _err(index, name, "args", "is not a mapping", "give the build arguments as NAME: value")
    out = {}
    for key, arg in value.items():
        if not isinstance(key, str) or not key:
            raise _err(index, name, "args", "has a key %r that is not a name" % (key,), "use NAME: value")
        if isinstance(arg, (Mapping, list, tuple, set)):
            raise _err(index, name, "args.%s" % key, "is not a scalar", "give a string or a number")
        out[key] = "" if arg is None else str(arg)
    return out


def _files(index: int, name: str, value: Any) -> List[Dict[str, str]]:
    out = []
    for file in value or []:
        if not isinstance(file, Mapping) or not isinstance(file.get("content"), str):
            raise _err(index, name, "files", "has an entry without a content string", "give {dest, content}")
        mode = str(file.get("mode") or "0644")
        out.append(
            {
                "dest": _relative(index, name, "files.dest", file.get("dest")),
                "content": file["content"],
                "mode": mode,
            }
        )
    return out


def plan(
    images: Optional[Iterable[Mapping[str, Any]]],
    trees: Mapping[str, str],
    registry: str,
    namespace: str,
    work_dir: str,
) -> Dict[str, List[Dict[str, Any]]]:
    """The images with their repository, content tag and reference, and the build contexts.

    ``images``: [{name, context (a controller directory), dockerfile (in it; default
    Dockerfile), args, files ([{dest, content, mode}] added to the context on the build
    host)}]. ``trees``: image name (or, for all its images, context) -> the hash of the files
    the image reads (lookup ``image_trees``, on the controller).
    Returns {"images": [{name, repo, tag, ref, context, dir, dockerfile, args}],
    "contexts": [{src, id, dir, dirs, files}]}; an image's tag covers every file added to its
    context, whichever image added it."""
    if not isinstance(registry, str) or not registry.strip():
        raise ImageError("the registry is empty: set stack_images_registry (or stack_registry)")
    if not isinstance(namespace, str) or not NAME_RE.fullmatch(namespace):
        raise ImageError(
            "the namespace %r is not a repository name: use lower-case letters, digits, '.', '_' or '-'"
            % (namespace,)
        )
    if not isinstance(work_dir, str) or not work_dir.startswith("/"):
        raise ImageError("the work folder %r is not an absolute path on the build host" % (work_dir,))
    entries, contexts, seen = [], {}, set()
    for index, image in enumerate(images or []):
        if not isinstance(image, Mapping):
            raise _err(index, None, "entry", "is not a mapping", "give {name, context, ...}")
        name = image.get("name")
        if not isinstance(name, str) or not NAME_RE.fullmatch(name):
            raise _err(
                index,
                name,
                "name",
                "is missing or invalid",
                "use lower-case letters, digits, '.', '_' or '-'",
            )
        if name in seen:
            raise _err(index, name, "name", "is used twice", "give each image its own name")
        seen.add(name)
        source = image.get("context")
        if not isinstance(source, str) or not source.startswith("/"):
            raise _err(
                index,
                name,
                "context",
                "is not an absolute controller path",
                "give the build context's folder",
            )
        source = source.rstrip("/") or "/"
        tree = trees.get(name, trees.get(source, trees.get(source + "/")))
        if not isinstance(tree, str) or not TREE_RE.fullmatch(tree.strip()):
            raise _err(index, name, "context", "%s has no content hash" % source, "hash every context first")
        context = contexts.setdefault(
            source, {"src": source, "id": context_id(source), "files": {}, "modes": {}}
        )
        for file in _files(index, name, image.get("files")):
            known = context["files"].get(file["dest"])
            if known is not None and known != file["content"]:
                raise _err(
                    index,
                    name,
                    "files",
                    "adds %s to %s with another content than an earlier image" % (file["dest"], source),
                    "add one content per file and context",
                )
            context["files"][file["dest"]] = file["content"]
            context["modes"][file["dest"]] = file["mode"]
        entries.append(
            {
                "name": name,
                "source": source,
                "tree": tree.strip(),
                "dockerfile": _relative(index, name, "dockerfile", image.get("dockerfile") or "Dockerfile"),
                "args": _args(index, name, image.get("args")),
            }
        )
    out_contexts = []
    for context in contexts.values():
        folder = "%s/%s" % (work_dir.rstrip("/"), context["id"])
        dirs = {folder}
        for dest in context["files"]:
            parent = posixpath.dirname(dest)
            while parent:
                dirs.add("%s/%s" % (folder, parent))
                parent = posixpath.dirname(parent)
        out_contexts.append(
            {
                "src": context["src"],
                "id": context["id"],
                "dir": folder,
                "dirs": sorted(dirs),
                "files": [
                    {
                        "dest": "%s/%s" % (folder, dest),
                        "content": context["files"][dest],
                        "mode": context["modes"][dest],
                    }
                    for dest in sorted(context["files"])
                ],
            }
        )
    out = []
    for entry in entries:
        context = contexts[entry["source"]]
        tag = content_tag(entry["tree"], entry["dockerfile"], entry["args"], context["files"], entry["name"])
        repo = "%s/%s/%s" % (registry.strip().rstrip("/"), namespace, entry["name"])
        out.append(
            {
                "name": entry["name"],
                "repo": repo,
                "tag": tag,
                "ref": "%s:%s" % (repo, tag),
                "context": entry["source"],
                "dir": "%s/%s" % (work_dir.rstrip("/"), context["id"]),
                "dockerfile": entry["dockerfile"],
                "args": entry["args"],
            }
        )
    return {"images": out, "contexts": out_contexts}


def _local(
    image: Mapping[str, Any], local_images: Optional[Iterable[Mapping[str, Any]]]
) -> List[Mapping[str, Any]]:
    return [info for info in local_images or [] if image["ref"] in (info.get("RepoTags") or [])]


def local_digest(
    image: Mapping[str, Any], local_images: Optional[Iterable[Mapping[str, Any]]]
) -> Optional[str]:
    """REPO@sha256:... of the image the build host holds under the image's content tag, from
    the engine's RepoDigests (set once it was pushed or pulled); None when there is none."""
    for info in _local(image, local_images):
        for digest in info.get("RepoDigests") or []:
            if isinstance(digest, str) and digest.startswith(image["repo"] + "@"):
                return digest
    return None


def action(in_registry: bool, local: bool, digest: Optional[str]) -> str:
    """What one image needs: none (the registry has its tag and the build host knows its
    digest), pull (the registry has it, the build host does not know its digest), push (built
    here, the registry lacks it) or build (and push)."""
    if in_registry:
        return "none" if digest else "pull"
    return "push" if local else "build"


def actions(
    planned: Mapping[str, List[Dict[str, Any]]],
    local_images: Optional[Iterable[Mapping[str, Any]]],
    registry_answers: Mapping[str, Any],
) -> Dict[str, List[Dict[str, Any]]]:
    """The plan's images with their ``action`` (see :func:`action`), grouped by action, and
    the contexts the build host needs (those of an image to build).

    ``local_images``: docker_image_info's images for the references; ``registry_answers``:
    reference -> exit status of ``docker manifest inspect`` (0: the registry has the tag;
    anything else counts as missing, so the image is pushed)."""
    images, groups = [], {name: [] for name in ACTIONS}
    for image in planned.get("images") or []:
        answer = registry_answers.get(image["ref"])
        in_registry = answer is not None and not isinstance(answer, bool) and int(answer) == 0
        digest = local_digest(image, local_images)
        todo = dict(image, action=action(in_registry, bool(_local(image, local_images)), digest))
        images.append(todo)
        groups[todo["action"]].append(todo)
    wanted = {image["context"] for image in groups["build"]}
    contexts = [context for context in planned.get("contexts") or [] if context["src"] in wanted]
    return {
        "images": images,
        "build": groups["build"],
        "push": groups["push"],
        "pull": groups["pull"],
        "contexts": contexts,
    }


def refs(
    images: Optional[Iterable[Mapping[str, Any]]],
    local_images: Optional[Iterable[Mapping[str, Any]]],
    allow_tags: bool = False,
) -> Dict[str, str]:
    """name -> REPO@sha256:... (what the stack deploys). Without a digest (check mode: nothing
    was built or pushed) ``allow_tags`` gives REPO:TAG instead; otherwise that fails."""
    out = {}
    for image in images or []:
        digest = local_digest(image, local_images)
        if digest is None:
            if not allow_tags:
                raise ImageError(
                    "%s: the build host knows no digest of %s after the push (docker image inspect shows no "
                    "RepoDigests for %s); push it again, or check that the registry accepted it"
                    % (image["name"], image["ref"], image["repo"])
                )
            digest = image["ref"]
        out[image["name"]] = digest
    return out


def dockerignore(own: Optional[str]) -> str:
    """A project's .dockerignore in its build context: its own rules, then what never goes into
    an image (the repository, environment files, caches) and the collection's .sophia folder
    kept in."""
    lines = [own.rstrip() if own and own.strip() else "# none of its own"]
    lines.append("# added by sophia.lambda_swarm (role stack): never in an image")
    lines.extend(IGNORED)
    lines.extend(["!%s" % STANDARD_DIR, "!%s/**" % STANDARD_DIR])
    return "\n".join(lines) + "\n"


def server_images(
    servers: Optional[Iterable[Mapping[str, Any]]],
    opts: Mapping[str, Any],
    exists: Callable[[str], bool],
) -> List[Dict[str, Any]]:
    """The stack's images for the pipeline: one per server built from the project (entries
    with an ``image`` of their own are deployed as they are) and the gateway's.

    ``opts``: project_dir, base_image, gateway_context (controller folders and the
    BASE_IMAGE build argument), standard ({file name: content} of the collection's standard
    Dockerfile and healthcheck, added under .sophia/), own_ignore (the project's own
    .dockerignore, or None). ``exists(relative path)``: whether the project has that file; a
    server uses its own Dockerfile (``dockerfile``, else PATH/Dockerfile) when it exists and
    the standard one otherwise."""
    project = str(opts["project_dir"]).rstrip("/") or "/"
    base = str(opts["base_image"])
    standard: Mapping[str, str] = opts.get("standard") or {}
    added = [
        {"dest": "%s/%s" % (STANDARD_DIR, name), "content": standard[name], "mode": "0644"}
        for name in sorted(standard)
    ]
    added.append({"dest": ".dockerignore", "content": dockerignore(opts.get("own_ignore")), "mode": "0644"})
    out = []
    for entry in servers or []:
        if entry.get("image"):
            continue
        own = entry.get("dockerfile") or "%s/Dockerfile" % str(entry["path"]).rstrip("/")
        out.append(
            {
                "name": entry["name"],
                "context": project,
                "dockerfile": own if exists(own) else STANDARD_DOCKERFILE,
                "args": {
                    "BASE_IMAGE": base,
                    "SERVER_PATH": str(entry["path"]),
                    "SERVER_MODULE": str(entry.get("module") or ""),
                    "SERVER_PORT": str(entry["port"]),
                },
                "files": [dict(file) for file in added],
            }
        )
    out.append(
        {
            "name": "gateway",
            "context": str(opts["gateway_context"]).rstrip("/"),
            "dockerfile": "Dockerfile",
            "args": {"BASE_IMAGE": base},
            "files": [],
        }
    )
    return out
