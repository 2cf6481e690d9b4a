# -*- coding: utf-8 -*-
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to sophia.lambda_swarm: YAML from a user's project, with line numbers and a
bound on aliases.

Every YAML file mcp_validate reads (compose files, CI workflows) goes through
``load_yaml_with_lines``: at most ``MAX_ALIASES`` alias references and ``MAX_NODES`` nodes
once aliases are expanded, so a small "billion laughs" file is refused in milliseconds
instead of eating the controller's memory. No Ansible import.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from typing import Any, Iterator, List, Optional, Tuple

try:
    import yaml

    HAS_YAML = True
    _YAML_ERROR = yaml.YAMLError
except ImportError:  # pragma: no cover - reported by the module
    yaml = None
    HAS_YAML = False
    _YAML_ERROR = Exception

MAX_ALIASES = 100
MAX_NODES = 100000


class LineDict(dict):
    """A mapping that remembers the 1-based line of each key (``lines``) and its own."""

    line = None
    lines = None


class LineList(list):
    line = None
    lines = None


class YamlLimitError(_YAML_ERROR):
    """Aliases beyond the bound; ``problem_mark`` is where the limit was reached."""

    def __init__(self, problem: str, mark: "yaml.Mark") -> None:
        super(YamlLimitError, self).__init__(problem)
        self.problem = problem
        self.problem_mark = mark
        self.context = None
        self.context_mark = None


if HAS_YAML:

    class _BoundedLoader(yaml.SafeLoader):
        """SafeLoader that counts alias events while composing."""

        def __init__(self, stream: str) -> None:
            super(_BoundedLoader, self).__init__(stream)
            self.alias_count = 0

        def compose_node(self, parent: Optional[yaml.Node], index: Any) -> Optional[yaml.Node]:
            if self.check_event(yaml.AliasEvent):
                self.alias_count += 1
                if self.alias_count > MAX_ALIASES:
                    event = self.peek_event()
                    raise YamlLimitError(
                        "more than %d aliases (*name); refused so an alias bomb cannot exhaust memory"
                        % MAX_ALIASES,
                        event.start_mark,
                    )
            return super(_BoundedLoader, self).compose_node(parent, index)


# libyaml composes without expanding aliases (and refuses deep nesting); the checks below
# then bound the aliases on the composed graph. Without it, the pure loader counts them.
_FAST_LOADER = getattr(yaml, "CSafeLoader", None) if HAS_YAML else None


def load_yaml_with_lines(text: str) -> Tuple[object, List[tuple]]:
    """Parse one YAML document keeping line numbers. Returns (data, duplicates) where
    duplicates is [(key, first_line, second_line)]. Raises yaml.YAMLError (YamlLimitError
    when the aliases or their expansion pass the bounds)."""
    loader = _BoundedLoader(text) if _FAST_LOADER is None else _FAST_LOADER(text)
    try:
        node = loader.get_single_node()
    finally:
        loader.dispose()
    if node is not None:
        _check_expansion(node)
    constructor = yaml.constructor.SafeConstructor()
    duplicates = []

    def build(n: "yaml.Node") -> Any:
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

    try:
        data = build(node) if node is not None else None
    except RecursionError:
        raise YamlLimitError("nests too deeply to read", node.start_mark) from None
    return data, duplicates


def _walk_once(root: "yaml.Node") -> Iterator["yaml.Node"]:
    """Each distinct node once, parents before children (document order)."""
    visited, stack = {id(root)}, [root]
    while stack:
        node = stack.pop()
        yield node
        for kid in reversed(_children(node)):
            if id(kid) not in visited:
                visited.add(id(kid))
                stack.append(kid)


def _children(node: "yaml.Node") -> List["yaml.Node"]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_expansion(root: "yaml.Node") -> None:
    """Refuse a document with more than MAX_ALIASES aliases, or whose aliases expand to more
    than MAX_NODES nodes, before anything is built: a node reached a second time is an alias,
    and sizes are counted once per distinct node, so the check itself stays small."""
    sizes, seen, aliases = {}, set(), 0
    for node in _walk_once(root):
        for kid in _children(node):
            if id(kid) in seen:
                aliases += 1
                if aliases > MAX_ALIASES:
                    raise YamlLimitError(
                        "more than %d aliases (*name); refused so an alias bomb cannot exhaust memory"
                        % MAX_ALIASES,
                        kid.start_mark,
                    )
            else:
                seen.add(id(kid))
    stack = [(root, False)]
    while stack:
        node, done = stack.pop()
        if id(node) in sizes:
            continue
        kids = _children(node)
        if done or not kids:
            sizes[id(node)] = 1 + sum(sizes[id(k)] for k in kids)
            continue
        stack.append((node, True))
        stack.extend((k, False) for k in kids if id(k) not in sizes)
    if sizes[id(root)] <= MAX_NODES:
        return
    node = root
    while True:  # descend to the smallest node that still expands past the bound
        big = [k for k in _children(node) if sizes[id(k)] > MAX_NODES]
        if not big:
            break
        node = big[0]
    raise YamlLimitError(
        "aliases expand to more than %d nodes (about %d); refused" % (MAX_NODES, sizes[id(root)]),
        node.start_mark,
    )


def yaml_error_finding_parts(exc: Exception) -> Tuple[int, str]:
    """(1-based line or None, message) of a YAML error. An unclosed quote or bracket is found
    where it began (the context), not where the parser gave up, so that line is reported."""
    context, context_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    problem, problem_mark = getattr(exc, "problem", None), getattr(exc, "problem_mark", None)
    mark = context_mark or problem_mark
    message = "YAML error: %s" % (problem or str(exc).splitlines()[0])
    if context and context_mark:
        message += " (%s, which starts here; the parser stopped at line %d)" % (
            context,
            (problem_mark or context_mark).line + 1,
        )
    return (mark.line + 1 if mark else None), message
