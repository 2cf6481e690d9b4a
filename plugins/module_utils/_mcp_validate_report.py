# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to sophia.lambda_swarm: mcp_validate's findings and reports.

The rule table, one finding's shape, grouping of repeated findings, hints by name
similarity, the summary, the readable table and SARIF 2.1.0. No Ansible import.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import os
from typing import Dict, Iterable, List, Optional

SEVERITIES = ("error", "warning", "info")

# code: (default severity, title) -- stable identifiers, also the SARIF rule ids.
RULES = {
    "compose-syntax": ("error", "Compose file does not parse"),
    "compose-duplicate-key": ("error", "Key defined twice in a compose file"),
    "yaml-alias-limit": ("error", "YAML file uses more aliases than the validator accepts"),
    "build-context-missing": ("error", "Build context does not exist"),
    "dockerfile-missing": ("error", "Dockerfile does not exist"),
    "compose-file-missing": ("error", "Referenced compose file does not exist"),
    "module-unresolved": ("error", "Python module reference does not resolve"),
    "module-attribute-missing": ("error", "Application attribute not defined in the module"),
    "start-file-missing": ("error", "Start command runs a file the image does not contain"),
    "console-script-missing": ("error", "Start command names a console script nothing installs"),
    "python-syntax": ("error", "Python source does not compile"),
    "shell-syntax": ("error", "Shell script does not parse (bash -n)"),
    "copy-source-missing": ("error", "Dockerfile COPY/ADD source missing from the build context"),
    "port-conflict": ("error", "Published port used twice"),
    "secret-undeclared": ("error", "Secret used by a service but not declared"),
    "config-undeclared": ("error", "Config used by a service but not declared"),
    "secret-file-missing": ("error", "Secret or config file does not exist"),
    "env-file-missing": ("error", "env_file does not exist"),
    "server-path-missing": ("error", "MCP server path does not exist"),
    "secret-external": ("info", "External secret that must exist before deploy"),
    "build-context-inferred": ("info", "Dockerfile with no known build, judged against an inferred context"),
    "python-syntax-unchecked": ("info", "Python source targets a newer Python than the validator runs"),
    "shell-syntax-unchecked": ("info", "Shell syntax not checked (no bash where the validation runs)"),
    "swarm-ignored-key": ("warning", "Key that docker stack deploy ignores or rejects"),
    "image-untagged": ("warning", "Image without an explicit tag"),
    "path-outside-project": ("warning", "Path points outside the project"),
    "symlink-outside-project": ("warning", "Symlink points outside the project (not followed)"),
    "file-unreadable": ("warning", "File could not be read"),
    "file-skipped": ("info", "File not scanned (binary or too large)"),
}

# Suffixes that mark a copy of a file kept beside it (a backup, an example, a variant).
SIBLING_MARKS = (
    ".backup",
    ".bak",
    ".orig",
    ".old",
    ".example",
    ".sample",
    ".template",
    ".dist",
    ".optimized",
)

_MARK_WORDS = [m.strip(".") for m in SIBLING_MARKS]


def finding(
    code: str,
    path: str,
    line: Optional[int],
    message: str,
    hint: Optional[str] = None,
    severity: Optional[str] = None,
    cause: Optional[str] = None,
) -> dict:
    """One finding. ``cause`` (not returned) groups repeats of one defect in one file."""
    out = {
        "code": code,
        "severity": severity or RULES[code][0],
        "path": path,
        "line": line,
        "message": message,
        "hint": hint,
    }
    if cause:
        out["_cause"] = cause
    return out


def group(findings: Iterable[dict]) -> List[dict]:
    """Drop exact repeats, fold findings of one cause in one file into the first (with
    ``count`` and ``lines``), order errors first."""
    unique, seen, by_cause = [], set(), {}
    for f in findings:
        key = (f["code"], f["path"], f["line"], f["message"])
        if key in seen:
            continue
        seen.add(key)
        cause = f.pop("_cause", None)
        if cause is not None:
            first = by_cause.get((f["code"], f["path"], cause))
            if first is not None:
                first["count"] += 1
                if f["line"] and f["line"] not in first["lines"]:
                    first["lines"].append(f["line"])
                continue
            by_cause[(f["code"], f["path"], cause)] = f
        f["count"] = 1
        f["lines"] = [f["line"]] if f["line"] else []
        unique.append(f)
    for f in unique:
        if f["count"] > 1:
            f["lines"].sort()
            f["message"] += " (%d times in this file, lines %s)" % (
                f["count"],
                ", ".join(str(n) for n in f["lines"][:12]) + (", ..." if len(f["lines"]) > 12 else ""),
            )
    unique.sort(key=lambda f: (SEVERITIES.index(f["severity"]), f["path"], f["line"] or 0, f["code"]))
    return unique


def similarity_key(path: str) -> str:
    # ./mcp-servers/ai-memory and backend/mcp_servers/ai_memory should look alike.
    return path.strip("./").replace("-", "_").lower()


def same_stem_sibling(wanted: str, existing: Iterable[str]) -> Optional[str]:
    """A file beside ``wanted`` that is the same name with a mark added (``x.yml.backup``,
    ``x.example.yml``, ``.env.example``): the likeliest origin of a missing file."""
    directory, name = os.path.split(wanted)
    stem, ext = os.path.splitext(name)
    best = None
    for cand in existing:
        if os.path.dirname(cand) != directory or cand == wanted:
            continue
        base = os.path.basename(cand)
        marked = base in [name + m for m in SIBLING_MARKS] or base in [stem + m + ext for m in SIBLING_MARKS]
        marked = marked or (base.startswith(name) and base[len(name) :].lstrip(".-_") in _MARK_WORDS)
        if marked and (best is None or len(base) < len(os.path.basename(best))):
            best = cand
    return best


def closest_path(wanted: str, candidates: Iterable[str], cutoff: float = 0.6) -> Optional[str]:
    """The candidate most like ``wanted``: a same-stem sibling first, else by similarity
    of the whole path and of the last name, each above ``cutoff``."""
    pool = [c for c in candidates if c]
    sibling = same_stem_sibling(wanted, pool)
    if sibling:
        return sibling
    wanted_key = similarity_key(wanted)
    wanted_base = os.path.basename(wanted_key)
    best, best_score = None, 0.0
    for cand in pool:
        key = similarity_key(cand)
        whole = difflib.SequenceMatcher(None, wanted_key, key).ratio()
        if whole < cutoff:
            continue
        base = difflib.SequenceMatcher(None, wanted_base, os.path.basename(key)).ratio()
        if base < cutoff:
            continue
        score = whole + base
        if score > best_score:
            best, best_score = cand, score
    return best


def summarize(findings: List[dict], files_scanned: int) -> dict:
    by_severity = dict((s, 0) for s in SEVERITIES)
    by_code: Dict[str, int] = {}
    for f in findings:
        by_severity[f["severity"]] += 1
        by_code[f["code"]] = by_code.get(f["code"], 0) + 1
    return {
        "total": len(findings),
        "by_severity": by_severity,
        "by_code": by_code,
        "files_scanned": files_scanned,
    }


def reaches(findings: List[dict], fail_on: str) -> List[dict]:
    """Findings at or above ``fail_on`` (error, or warning: errors and warnings)."""
    levels = SEVERITIES[: SEVERITIES.index(fail_on) + 1]
    return [f for f in findings if f["severity"] in levels]


def to_sarif(result: dict, tool_version: str = "0.1.0") -> dict:
    """SARIF 2.1.0 for code-scanning annotations (a grouped finding has one location per line)."""
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
        lines = f.get("lines") or ([f["line"]] if f["line"] else [None])
        locations = []
        for line in lines[:20]:
            location = {"artifactLocation": {"uri": f["path"], "uriBaseId": "PROJECTROOT"}}
            if line:
                location["region"] = {"startLine": line}
            locations.append({"physicalLocation": location})
        text = f["message"] + (" Hint: %s" % f["hint"] if f["hint"] else "")
        results.append(
            {
                "ruleId": f["code"],
                "level": levels[f["severity"]],
                "message": {"text": text},
                "locations": locations,
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


def format_table(findings: List[dict]) -> List[str]:
    """Readable lines: severity, code, where, message, then the hint."""
    if not findings:
        return ["no findings"]
    lines = []
    for f in findings:
        where = f["path"] + (":%d" % f["line"] if f["line"] else "")
        lines.append("%-7s %-26s %s  %s" % (f["severity"].upper(), f["code"], where, f["message"]))
        if f["hint"]:
            lines.append("%35s hint: %s" % ("", f["hint"]))
    return lines
