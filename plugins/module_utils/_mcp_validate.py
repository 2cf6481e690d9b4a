# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to sophia.lambda_swarm: find every broken path in an MCP project.

The entry point that ties the parts together: the project index (``_mcp_validate_index``),
commands in scripts (``_scripts``), build plans (``_build``), compose files (``_compose``),
Dockerfiles and the image model (``_dockerfile``), Python (``_python``) and the findings
and reports (``_report``). Never imports or runs project code (Python is only parsed, shell
only read by ``bash -n``); never follows a symlink out of the project. Each finding is
``{code, severity, path, line, message, hint, count, lines}`` with ``path`` relative to the
project and ``line`` 1-based (None where there is none). No Ansible import.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import contextlib
import os
from typing import Any, Dict, Iterable, List, Optional, Tuple

from ansible_collections.sophia.lambda_swarm.plugins.module_utils._mcp_validate_build import (
    STANDARD,
    Plan,
    plans_from_scan,
    scan_workflow,
    standard_image,
)
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._mcp_validate_compose import (
    SWARM_IGNORED_KEYS,
    ComposeChecker,
    image_untagged,
    load_yaml_file,
    parse_port,
)
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._mcp_validate_dockerfile import (
    copy_findings,
    copy_sources,
    dockerfile_instructions,
    infer_context,
)
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._mcp_validate_image import (
    Image,
    build_image,
    check_claims,
)
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._mcp_validate_index import (
    MAX_FILE_BYTES,
    Project,
)
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._mcp_validate_python import (
    ModuleIndex,
    PythonCheck,
    defines_name,
    from_python_version,
    parse_version,
    pyproject_info,
    syntax_problem,
)
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._mcp_validate_report import (
    RULES,
    SEVERITIES,
    finding,
    format_table,
    group,
    reaches,
    summarize,
    to_sarif,
)
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._mcp_validate_scripts import (
    CommandScan,
    mentions,
    scan_config,
    scan_python,
)
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._mcp_validate_servers import RegistryChecks
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._mcp_validate_shell import (
    BashCheck,
    bash_syntax,
    command_module_refs,
    is_shell_script,
    split_words,
    start_claims,
)
from ansible_collections.sophia.lambda_swarm.plugins.module_utils._mcp_validate_yaml import (
    HAS_YAML,
    LineDict,
    LineList,
    load_yaml_with_lines,
)

# What callers (the module's spec, the tests, the benchmark) import from here.
__all__ = [
    "DEFAULT_COMPOSE_GLOBS",
    "DEFAULT_DOCKERFILE_GLOBS",
    "DEFAULT_SCRIPT_GLOBS",
    "HAS_YAML",
    "MAX_FILE_BYTES",
    "RULES",
    "SEVERITIES",
    "SWARM_IGNORED_KEYS",
    "LineDict",
    "LineList",
    "ModuleIndex",
    "Project",
    "Validator",
    "bash_syntax",
    "command_module_refs",
    "copy_sources",
    "defines_name",
    "dockerfile_instructions",
    "format_table",
    "from_python_version",
    "image_untagged",
    "load_yaml_with_lines",
    "parse_port",
    "reaches",
    "start_claims",
    "summarize",
    "to_sarif",
    "validate",
]

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
WORKFLOW_PATHS = [".github/workflows/*.yml", ".github/workflows/*.yaml", ".gitlab-ci.yml"]
_LAUNCH_WORDS = (
    "python",
    "pypy",
    "uvicorn",
    "gunicorn",
    "hypercorn",
    "daphne",
    "uv",
    "poetry",
    "pipenv",
    "pdm",
)


class Validator(RegistryChecks):
    """One validation run: scans, references, compose files, plans, Dockerfiles, Python,
    shell and the server registry (RegistryChecks), then the grouped findings."""

    def __init__(
        self,
        project_dir: str,
        compose_globs: Optional[List[str]] = None,
        dockerfile_globs: Optional[List[str]] = None,
        script_globs: Optional[List[str]] = None,
        servers: Optional[List[Dict[str, Any]]] = None,
        include: Optional[Iterable[str]] = None,
        exclude: Optional[Iterable[str]] = None,
        python_version: Optional[str] = None,
        shell_check: bool = True,
    ) -> None:
        self.project = Project(project_dir, include or (), exclude or ())
        self.modules = ModuleIndex(self.project)
        self.compose_globs = compose_globs or DEFAULT_COMPOSE_GLOBS
        self.dockerfile_globs = dockerfile_globs or DEFAULT_DOCKERFILE_GLOBS
        self.script_globs = script_globs or DEFAULT_SCRIPT_GLOBS
        self.declared_servers = servers or []
        self.python_version = parse_version(python_version) if python_version else None
        self.shell_check = shell_check
        self.collection = bool(self.declared_servers)
        self.findings: List[dict] = []
        self.scans: List[CommandScan] = []
        self.plans: List[Plan] = []
        self.servers: List[dict] = []
        self.shell_scripts: List[str] = []
        self._images = {}
        self._bash = None
        self._python = None

    def add(self, *args: Any, **kwargs: Any) -> None:
        self.findings.append(finding(*args, **kwargs))

    # the run ------------------------------------------------------------------------

    def run(self) -> dict:
        project = self.project
        compose_files = project.matching(self.compose_globs)
        workflows = project.matching([], WORKFLOW_PATHS)
        scripts = [
            f
            for f in project.matching(self.script_globs, DEFAULT_DOTFILE_PATHS)
            if f not in compose_files and f not in workflows
        ]
        for rel in workflows:
            data = load_yaml_file(project, rel, self.add, "compose-syntax")
            scan, plans = scan_workflow(project, rel, data, self.findings)
            self.scans.append(scan)
            self.plans.extend(plans)
        sources = [
            (rel, self.project.text(rel))
            for rel in project.files
            if rel.endswith(".py") and project.in_scope(rel)
        ]
        self._python = PythonCheck([(rel, text) for rel, text in sources if text is not None])
        try:
            self.scan_files(scripts)
            return self._run_checks(compose_files)
        finally:
            if self._bash is not None:
                self._bash.results()  # reaped and its copies removed, whatever happened
            if self._python is not None:
                self._python.results()  # reaped, whatever happened

    def _run_checks(self, compose_files: List[str]) -> dict:
        project = self.project
        usage = self.resolve_references(set(compose_files))
        compose_files += sorted(
            f for f in usage["referenced"] if f not in compose_files and project.in_scope(f)
        )
        candidates = [
            f for f in project.files if "compose" in os.path.basename(f) or "stack" in os.path.basename(f)
        ]
        checker = ComposeChecker(project, self.add, candidates, self.collection)
        parsed = {}
        for rel in compose_files:
            parsed[rel] = load_yaml_file(project, rel, self.add)
            if parsed[rel] is not None:
                checker.check(rel, parsed[rel], self.is_stack(rel, parsed[rel], usage))
        checker.check_ports(parsed, usage["groups"])
        self.plans.extend(checker.plans)
        for scan in self.scans:
            self.plans.extend(plans_from_scan(project, scan, self.findings))
        self.check_servers()
        self.check_dockerfiles(checker.contexts)
        self.check_python_sources()
        self.check_shell_syntax()
        self._bash = None
        self.findings.extend(project.findings)
        findings = group(self.findings)
        return {
            "findings": findings,
            "summary": summarize(findings, len(project.files) - len(project.out_of_scope)),
            "servers": self.servers,
            "builds": [p.as_dict() for p in self.plans],
        }

    # commands in files --------------------------------------------------------------

    def scan_files(self, scripts: List[str]) -> None:
        project = self.project
        seen = set(scripts)
        for rel in project.files:  # extensionless scripts with a shell shebang
            if rel not in seen and project.in_scope(rel) and "." not in os.path.basename(rel):
                text = (
                    project.text(rel) if os.path.getsize(os.path.join(project.root, rel)) < 1 << 20 else None
                )
                if text and is_shell_script(rel, text[:64].encode("utf-8", "replace")):
                    scripts.append(rel)
        for rel in scripts:  # bash -n runs in the background while the scan goes on
            base = os.path.basename(rel)
            text = project.text(rel)
            head = (text or "")[:64].encode("utf-8", "replace")
            if (
                text is not None
                and not rel.endswith(".py")
                and (base == ".envrc" or is_shell_script(rel, head))
            ):
                self.shell_scripts.append(rel)
        self.start_shell_check()
        for rel in scripts:
            text = project.text(rel)
            if text is None:
                continue
            directory = os.path.dirname(rel)
            bases = [directory]
            while bases[-1]:
                bases.append(os.path.dirname(bases[-1]))
            base = os.path.basename(rel)
            scan = CommandScan(rel, bases)
            if rel.endswith(".py"):
                if mentions(text) or "module" in text:
                    with contextlib.suppress(SyntaxError, ValueError):  # python-syntax reports it
                        scan_python(scan, ast.parse(text), text)
            elif base in ("Makefile", "makefile", "GNUmakefile") or base.endswith(".mk"):
                scan.bases = [directory]
                scan.shell(text, makefile=True)
            elif base == "Procfile":
                for lineno, line in enumerate(text.splitlines(), 1):
                    if ":" in line and not line.lstrip().startswith("#"):
                        scan.shell(line.split(":", 1)[1], lineno)
            elif base in ("Justfile", "justfile", ".envrc") or is_shell_script(
                rel, text[:64].encode("utf-8", "replace")
            ):
                scan.shell(text)
            else:
                scan.bases = [directory, ""] if directory else [""]
                scan_config(scan, text)
            self.scans.append(scan)

    def resolve_references(self, compose_files: set) -> dict:
        """Which compose files commands use and how; a missing one is a finding unless a
        script of the project creates it."""
        project = self.project
        created = set()
        for scan in self.scans:
            for value in scan.created:
                for base in scan.bases:
                    target = project.rel(os.path.join(base, value))
                    if target is not None:
                        created.add(target)
        usage = {"referenced": set(), "stack": set(), "compose": set(), "groups": []}
        candidates = [
            f for f in project.files if "compose" in os.path.basename(f) or "stack" in os.path.basename(f)
        ]
        checker = ComposeChecker(project, self.add, candidates, self.collection)
        for scan in self.scans:
            for ref in scan.refs:
                group = []
                for value in ref.values:
                    targets = [project.rel(os.path.join(b, value)) for b in scan.bases]
                    targets = [t for t in targets if t is not None]
                    if not targets:
                        checker.ref_path(scan.bases[0], value, scan.rel, ref.line, "compose file")
                        continue
                    found = next((t for t in targets if t in project.file_set), None)
                    if found is None:
                        if not any(t in created for t in targets):
                            checker.compose_missing(scan.rel, ref.line, value, targets[0])
                        continue
                    group.append(found)
                    usage["referenced"].add(found)
                    if ref.kind == "stack":
                        usage["stack"].add(found)
                    elif ref.kind in ("compose", "env"):
                        usage["compose"].add(found)
                if ref.kind == "stack" and len(group) > 1:
                    usage["groups"].append(group)
            for line, module in scan.modules:
                self.check_project_module(scan.rel, line, module, None, "module", scan.bases[:1])
            for line, claim in scan.claims:
                if claim[0] == "module":
                    self.check_project_module(scan.rel, line, claim[1], None, "python -m", scan.bases[:1])
                elif claim[0] == "app":
                    self.check_project_module(scan.rel, line, claim[1], claim[2], "app", scan.bases[:1])
        return usage

    @staticmethod
    def is_stack(rel: str, data: LineDict, usage: dict) -> bool:
        """Deployed with docker stack deploy: a command says so; with no command naming the
        file, a ``deploy:`` key or a stack/swarm name says so."""
        if rel in usage["stack"]:
            return True
        if rel in usage["compose"]:
            return False
        services = data.get("services")
        name = os.path.basename(rel).lower()
        return (
            "stack" in name
            or "swarm" in name
            or (
                isinstance(services, dict)
                and any(isinstance(s, dict) and "deploy" in s for s in services.values())
            )
        )

    def check_project_module(
        self,
        rel: str,
        line: Optional[int],
        module: str,
        attribute: Optional[str],
        kind: str,
        extra_roots: Iterable[Optional[str]],
    ) -> None:
        """A module named by a script, resolved in the project (scripts run from a checkout)."""
        roots = [r for r in extra_roots if r is not None]
        resolved = self.modules.resolve(module, roots)
        if resolved is not None and "." not in module and roots and os.path.dirname(resolved) not in roots:
            return  # `uvicorn main:app` from a script elsewhere: which main.py depends on its cd
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

    # Dockerfiles and images ---------------------------------------------------------

    def image_for(self, plan: Plan) -> Optional[Image]:
        """The image model of a plan, built once per Dockerfile, context and arguments."""
        key = (plan.dockerfile, plan.context, tuple(sorted((str(k), str(v)) for k, v in plan.args.items())))
        if key not in self._images:
            if plan.dockerfile == STANDARD:
                self._images[key] = standard_image(self.project, plan.context)
            else:
                self._images[key] = build_image(self.project, plan.dockerfile, plan.context, plan.args)
        return self._images[key]

    def check_dockerfiles(self, built_folders: Iterable[str] = ()) -> None:
        """Each Dockerfile against each of its plans. One with none: a folder some build
        names as its context is where it is built from (the Dockerfile that build most
        likely meant); else the inferred context, and what is missing there is info."""
        project = self.project
        by_dockerfile: Dict[str, List[Plan]] = {}
        for plan in self.plans:
            if plan.dockerfile != STANDARD:
                by_dockerfile.setdefault(plan.dockerfile, []).append(plan)
        built_folders = set(built_folders) | set(p.context for p in self.plans)
        for rel in project.matching(self.dockerfile_globs):
            if rel in by_dockerfile:
                continue
            if os.path.dirname(rel) in built_folders:
                by_dockerfile[rel] = [Plan(rel, os.path.dirname(rel), rel, None, "folder")]
            else:
                context = infer_context(project, rel)
                if context != os.path.dirname(rel):
                    self.add(
                        "build-context-inferred",
                        rel,
                        None,
                        "no build of %s is known (compose, scripts, CI, registry); judged against %s, "
                        "from where its COPY sources exist" % (rel, context or "the project root"),
                        "build it with: docker build -f %s %s" % (rel, context or "."),
                    )
                by_dockerfile[rel] = [Plan(rel, context, rel, None, "inferred")]
        for rel, plans in sorted(by_dockerfile.items()):
            judged = set()
            for plan in plans:
                if plan.context in judged:
                    continue
                judged.add(plan.context)
                several = len(set(p.context for p in plans)) > 1
                found = copy_findings(
                    project, rel, plan.context, "built by %s" % plan.where() if several else ""
                )
                if plan.kind == "inferred":
                    for f in found:
                        f["severity"] = "info"
                        f["message"] += " (no build of this Dockerfile is known; the context is a guess)"
                self.findings.extend(found)
                image = self.image_for(plan)
                if image is None:
                    continue
                self.check_image_commands(rel, image)
        for plan in self.plans:
            if plan.service is not None:
                self.check_service_command(plan.origin, plan.service, self.image_for(plan))

    def check_image_commands(self, rel: str, image: Image) -> None:
        modules = self.modules
        entry, cmd = image.entrypoint, image.cmd
        if entry and os.path.basename(entry[1][0] if entry[1] else "").startswith(_LAUNCH_WORDS):
            self.findings.extend(
                check_claims(
                    image,
                    start_claims(entry[1] + (cmd[1] if cmd else [])),
                    rel,
                    entry[0],
                    "ENTRYPOINT",
                    modules,
                )
            )
        else:
            for what, item in (("ENTRYPOINT", entry), ("CMD", cmd)):
                if item and item[1]:
                    self.findings.extend(
                        check_claims(image, start_claims(item[1]), rel, item[0], what, modules)
                    )
        if image.healthcheck and image.healthcheck[1]:
            self.findings.extend(
                check_claims(
                    image,
                    start_claims(image.healthcheck[1]),
                    rel,
                    image.healthcheck[0],
                    "HEALTHCHECK",
                    modules,
                )
            )

    def check_service_command(self, rel: str, service: Tuple[Any, LineDict], image: Optional[Image]) -> None:
        if image is None:
            return
        name, spec = service
        for key in ("entrypoint", "command"):
            value = spec.get(key)
            if value is None:
                continue
            argv = [str(v) for v in value] if isinstance(value, list) else split_words(str(value))
            entry = image.entrypoint[1] if image.entrypoint and spec.get("entrypoint") is None else []
            if key == "command" and entry and os.path.basename(entry[0]).startswith(_LAUNCH_WORDS):
                argv = entry + argv  # the command is the arguments of a launcher entrypoint
            self.findings.extend(
                check_claims(
                    image,
                    start_claims(argv),
                    rel,
                    spec.lines.get(key),
                    "service %s %s" % (name, key),
                    self.modules,
                )
            )

    # Python and shell ---------------------------------------------------------------

    def python_target(self, rel: str, cache: dict, fallback: Optional[Tuple[int, int]]) -> Optional[tuple]:
        if self.python_version:
            return self.python_version
        folder = os.path.dirname(rel)
        trail = []
        while True:
            if folder in cache:
                found = cache[folder]
                break
            trail.append(folder)
            info = (
                pyproject_info(self.project, folder)
                if os.path.join(folder, "pyproject.toml").lstrip("/") in self.project.file_set
                else None
            )
            if info and info["requires_python"]:
                found = info["requires_python"]
                break
            if not folder:
                found = fallback
                break
            folder = os.path.dirname(folder)
        for f in trail:
            cache[f] = found
        return found

    def check_python_sources(self) -> None:
        project = self.project
        versions = []
        for rel in project.matching(self.dockerfile_globs):
            for _line, instruction, args in dockerfile_instructions(project.text(rel) or ""):
                if instruction == "FROM":
                    version = from_python_version(args.split()[0] if args.split() else "")
                    if version:
                        versions.append(version)
        fallback = max(versions) if versions else None
        cache = {}
        errors = self._python.results() if self._python is not None else {}
        self._python = None
        for rel in project.files:
            if rel not in errors:
                continue
            problem = syntax_problem(errors[rel], self.python_target(rel, cache, fallback))
            if problem:
                code, line, message = problem
                hint = (
                    "fix the syntax; the server fails to start with this file"
                    if code == "python-syntax"
                    else ("run the validation with that Python, or set python_version to check with this one")
                )
                self.add(code, rel, line, message, hint)

    def start_shell_check(self) -> None:
        scripts = [rel for rel in self.shell_scripts if self.project.text(rel) is not None]
        self._bash = (
            BashCheck([(rel, self.project.text(rel)) for rel in scripts])
            if self.shell_check and scripts
            else None
        )

    def check_shell_syntax(self) -> None:
        if self._bash is None:
            return
        errors = self._bash.results()
        if errors is None:
            self.add(
                "shell-syntax-unchecked",
                self.shell_scripts[0],
                None,
                "bash is not installed where the validation runs; %d shell script(s) not checked"
                % len(self.shell_scripts),
                "install bash to check shell syntax",
            )
            return
        for rel, (line, message) in sorted(errors.items()):
            self.add(
                "shell-syntax", rel, line, "bash -n: %s" % message, "fix the syntax; the script stops here"
            )


def validate(
    project_dir: str,
    compose_globs: Optional[List[str]] = None,
    dockerfile_globs: Optional[List[str]] = None,
    script_globs: Optional[List[str]] = None,
    servers: Optional[List[Dict[str, Any]]] = None,
    include: Optional[Iterable[str]] = None,
    exclude: Optional[Iterable[str]] = None,
    python_version: Optional[str] = None,
    shell_check: bool = True,
) -> dict:
    if not HAS_YAML:
        raise RuntimeError("PyYAML is required (python3-yaml on Debian and Ubuntu)")
    if not os.path.isdir(project_dir):
        raise ValueError("project_dir %s is not a directory" % project_dir)
    return Validator(
        project_dir,
        compose_globs,
        dockerfile_globs,
        script_globs,
        servers,
        include,
        exclude,
        python_version,
        shell_check,
    ).run()
