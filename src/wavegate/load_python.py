"""The loader's Python path (wavegate.load): PyYAML composes the node graph (with libyaml when it
is built) and _Builder makes the Python objects from it, typing scalars and keys as Kubernetes does
(wavegate.kube_yaml), bounding alias expansion, reporting duplicate keys, and keeping each key's
line and column. It reads what the native loader does not (aliases, tags, merge keys, duplicate
keys, refusals, syntax errors, a `?` inside a flow collection, `kind: List` documents), and every
file where the native loader was not built. wavegate.load imports this module only then, so a run
whose files are all plain never imports PyYAML.
"""

from __future__ import annotations

import re

import yaml

from wavegate import kube_yaml
from wavegate.findings import Finding
from wavegate.load_rules import (
    ALIAS_BOMB,
    DUPLICATE_KEY,
    MAX_DEPTH,
    NOT_A_MAPPING,
    NOT_JSON,
    SYNTAX,
    TAB_INDENT,
    TOO_DEEP,
)
from wavegate.manifest import Limits, ListItemSource, Manifest, PositionSource, kept_document, missing_type
from wavegate.regex import lazy_compile
from wavegate.rules import format_path

try:  # libyaml is what makes loading fast; the pure-Python loader is a correct fallback.
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover - only on builds of PyYAML without libyaml
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]


def _go_resolving(base):
    """A `resolve` for `base` with go-yaml v2's resolution of plain scalars (kube_yaml.plain_tag), as
    sigs.k8s.io/yaml reads YAML for kubectl, Argo CD and the API server, instead of PyYAML's.

    libyaml calls `resolve` for every scalar. A quoted scalar (implicit[0] false) and a plain
    scalar whose first character starts no other type are strings without looking further;
    other plain scalars are resolved once per distinct value."""
    first = kube_yaml.RESOLVED_FIRST
    string, scalar, sequence = kube_yaml.STR, yaml.ScalarNode, yaml.SequenceNode
    sequence_tag, mapping_tag = base.DEFAULT_SEQUENCE_TAG, base.DEFAULT_MAPPING_TAG
    plain_tag = kube_yaml.plain_tag
    known: dict[str, str] = {}

    def resolve(self, kind, value, implicit):
        if kind is scalar:
            if not implicit[0] or (value and value[0] not in first and value != "<<"):
                return string
            tag = known.get(value)
            if tag is None:
                tag = plain_tag(value)
                if len(known) < 100_000:
                    known[value] = tag
            return tag
        return sequence_tag if kind is sequence else mapping_tag

    return resolve


class _Loader(_SafeLoader):
    """PyYAML's safe loader (libyaml's when built) resolving scalars as go-yaml v2 does."""

    resolve = _go_resolving(_SafeLoader)


class _TagKeepingLoader(yaml.composer.Composer, _Loader):
    """The same parser with PyYAML's composer in Python, for the two things libyaml's composer
    decides unlike go-yaml: the non-specific tag `!` (a string there, whatever it looks like;
    libyaml resolves it like an untagged scalar) and an anchor defined twice (go-yaml lets the
    later definition hold for later aliases; PyYAML refuses). Slower: only for files that need it."""

    def __init__(self, stream):
        _Loader.__init__(self, stream)
        yaml.composer.Composer.__init__(self)

    def compose_node(self, parent, index):
        event = self.peek_event()  # (a node's: compose_node is called only there)
        if isinstance(event, yaml.AliasEvent):
            self.get_event()
            if event.anchor not in self.anchors:
                # (types-PyYAML names only yaml.error.Mark; libyaml's events carry yaml._yaml.Mark, which serves too)
                raise yaml.composer.ComposerError(None, None, f"found undefined alias {event.anchor!r}",
                                                  event.start_mark)  # type: ignore[arg-type]  # libyaml's Mark
            return self.anchors[event.anchor]
        anchor = event.anchor if isinstance(event, yaml.NodeEvent) else None
        if isinstance(event, yaml.ScalarEvent):
            self.get_event()
            tag = event.tag if event.tag is not None else self.resolve(yaml.ScalarNode, event.value, event.implicit)
            start, end = event.start_mark, event.end_mark
            node = yaml.ScalarNode(tag, event.value, start, end, style=event.style)  # type: ignore[arg-type]  # libyaml's Mark
            if anchor is not None:
                self.anchors[anchor] = node
            return node
        # (types-PyYAML types these methods' `anchor` as a dict; PyYAML passes the anchor's name, as here)
        if isinstance(event, yaml.SequenceStartEvent):
            return self.compose_sequence_node(anchor)  # type: ignore[arg-type]  # the stub's anchor type is wrong
        return self.compose_mapping_node(anchor)  # type: ignore[arg-type]  # the stub's anchor type is wrong


# A tag at a node's start (after its anchor) as go-yaml scans it: `!` and every URI character,
# `,[]` too, where libyaml (in a flow collection) stops before them.
_TAG_TOKEN = lazy_compile(r"(?:&[^\s,\[\]{}]*\s+)?(!(?!<)[0-9A-Za-z_;/?:@&=+$,.!~*'()\[\]%-]*)")
_FLOW_TAG = lazy_compile(r"![0-9A-Za-z_;/?:@&=+$.!~*'()%-]*[,\[\]]")
# `!` as a whole tag (or its verbatim form `!<!>`): where libyaml's composer loses what go-yaml sees.
_NON_SPECIFIC_TAG = lazy_compile(r"(?:^|[\s\[\]{},?:-])!(?:<!>)?(?=[\s\[\]{},]|$)", re.M)


def parse_documents(rel: str, text: str, limits: Limits, require_object: bool, source: PositionSource | None,
                    lists: bool) -> tuple[list[Manifest], list[Finding]]:
    """wavegate.load.parse_documents for what the native loader does not read. `source`: what gives
    the manifests their positions when first asked for (wavegate.load._Source), or None to build
    them now."""
    if text.count("[") + text.count("{") > MAX_DEPTH:  # cheap test first; the real one streams events
        too_deep = _first_too_deep(text)
        if too_deep is not None:
            return [], [TOO_DEEP.at_file(rel, too_deep[0], too_deep[1],
                                         message=f"the file nests more than {MAX_DEPTH} levels deep",
                                         hint="Flatten the structure; no Kubernetes object needs this depth.")]
    # `!` alone as a tag, or an anchor defined twice, need the composer that keeps them.
    tag_keeping = "!" in text and _NON_SPECIFIC_TAG.search(text) is not None
    loader_class = _TagKeepingLoader if tag_keeping else _Loader
    stand_ins: dict[str, str] = {}
    for _ in range(_MAX_REREADS):
        try:
            return _parse(rel, text, limits, require_object, source, loader_class, stand_ins, lists=lists)
        except _AnchorDefinedAgain:
            loader_class = _TagKeepingLoader
        except RecursionError:  # the Python composer on absurd nesting: the fast one reports it
            loader_class = _Loader
        except _GoReadsOn as where:
            # libyaml stopped where go-yaml reads on: the character it stopped at becomes one
            # libyaml reads on at, put back in the values (same length: the same marks).
            stand_in = where.replacement
            if stand_in is None:
                original = text[where.index]
                stand_in = next((s for s, o in stand_ins.items() if o == original), None)
                if stand_in is None:
                    stand_in = next(chr(c) for c in range(0xE000, 0xF900) if chr(c) not in text)
                    stand_ins[stand_in] = original
            text = text[:where.index] + stand_in + text[where.index + 1:]
    return _parse(rel, text, limits, require_object, source, loader_class, stand_ins, reread=False, lists=lists)


# A file is read again at most this many times (each time past one place where libyaml stops and
# go-yaml reads on); past that, libyaml's syntax error is reported.
_MAX_REREADS = 50


class _AnchorDefinedAgain(Exception):
    pass


class _GoReadsOn(Exception):
    """Where libyaml stops and go-yaml v2 reads on: in a flow collection, a plain scalar's `:`
    right before `,` `[` `]` `{` `}` (go-yaml keeps the `:` in the text); `\\'` in a
    double-quoted scalar (go-yaml's escape for `'`); `,` `[` `]` in a tag (go-yaml's tags may
    have them). `index`: the character to read on at; `replacement`: what to put there (in a
    tag, `.`: any tag with those characters is a tag go-yaml does not know, so is `.`), or None
    for a stand-in put back in the values."""

    def __init__(self, index: int, replacement: str | None = None):
        super().__init__(index)
        self.index, self.replacement = index, replacement


def _go_reads_on(text: str, error: yaml.MarkedYAMLError) -> _GoReadsOn | None:
    mark = error.problem_mark
    if mark is None or not 0 <= mark.index < len(text) - 1:
        return None
    if error.problem == "found unexpected ':'" and text[mark.index] == ":":
        return _GoReadsOn(mark.index)
    if error.problem == "found unknown escape character" and text[mark.index:mark.index + 2] == "\\'":
        return _GoReadsOn(mark.index)
    if error.context == "while scanning a tag" and error.problem == "did not find expected whitespace or line break" \
            and text[mark.index] in ",[]":
        return _GoReadsOn(mark.index, ".")
    return None


def _put_back(root: yaml.Node, stand_ins: dict[str, str]) -> None:
    """Scalar values with the characters their stand-ins replaced (a `\\'` escape: just `'`)."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if type(node) is _ScalarNode:
            for stand_in, original in stand_ins.items():
                if stand_in in node.value:
                    node.value = node.value.replace(stand_in + "'" if original == "\\" else stand_in,
                                                    "'" if original == "\\" else original)
        else:
            stack.extend(node.value if type(node) is _SequenceNode else [n for pair in node.value for n in pair])


def _parse(rel: str, text: str, limits: Limits, require_object: bool, source: PositionSource | None,
           loader_class: type, stand_ins: dict[str, str], reread: bool = True,
           lists: bool = True) -> tuple[list[Manifest], list[Finding]]:
    manifests: list[Manifest] = []
    problems: list[Finding] = []
    may_alias = "*" in text  # without an alias token every document is a tree
    # What libyaml parses and go-yaml does not: looked for only where the text has the characters.
    go_syntax = text if ("?" in text and ("[" in text or "{" in text)) or "\\/" in text \
        or ("!" in text and _FLOW_TAG.search(text)) else None
    directives = _yaml_directives(rel, text) if "%YAML" in text else {}
    loader = loader_class(text)
    try:
        index = 0
        while loader.check_node():
            node = loader.get_node()
            if stand_ins and node is not None:
                _put_back(node, stand_ins)
            if node is not None and not (isinstance(node, yaml.ScalarNode) and node.tag == _NULL_TAG):
                builder = _Builder(rel, index, limits, require_object, may_alias=may_alias,
                                   keep_positions=source is None, go_syntax=go_syntax,
                                   directive=directives.get(index))
                manifest, found = builder.document(node)
                if manifest is not None and source is not None:
                    del manifest.positions
                    manifest._source = source
                problems.extend(found)
                if manifest is not None and require_object and lists and _is_list(manifest):
                    items, found = _list_items(manifest, source)
                    manifests.extend(items)
                    problems.extend(found)
                elif manifest is not None:
                    manifests.append(manifest)
            index += 1
    except yaml.MarkedYAMLError as error:
        if loader_class is _Loader and "found duplicate anchor" in str(error.context):
            raise _AnchorDefinedAgain from None
        reads_on = _go_reads_on(text, error) if reread else None
        if reads_on is not None:
            raise reads_on from None
        problems.append(_syntax_finding(rel, text, error))
    except yaml.YAMLError as error:  # errors without a position (reader errors)
        problems.append(SYNTAX.at_file(rel, message=f"{rel} is not valid YAML: {error}"))
    finally:
        loader.dispose()
    return manifests, problems


def _yaml_directives(rel: str, text: str) -> dict[int, Finding]:
    """The documents whose `%YAML` directive go-yaml v2 refuses (it reads only 1.1; libyaml also
    1.2), by index, with the finding."""
    found: dict[int, Finding] = {}
    index = 0
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.DocumentStartEvent):
                if event.version not in (None, (1, 1)):
                    version = ".".join(map(str, event.version))
                    found[index] = SYNTAX.at_file(
                        rel, event.start_mark.line + 1 if event.start_mark is not None else 1, 1,
                        message=f"%YAML {version}: Kubernetes' YAML parser reads only YAML 1.1 "
                                "(found incompatible YAML document)",
                        hint="Remove the %YAML directive.")
            elif isinstance(event, yaml.DocumentEndEvent):
                index += 1
    except yaml.YAMLError:
        pass  # the composer reports it
    return found


def _is_list(manifest: Manifest) -> bool:
    # Argo CD's repo server applies the items of a list object and drops the list itself
    # (unstructured IsList/EachListItem); kubectl and kustomize do the same for `kind: *List`.
    return manifest.kind.endswith("List") and isinstance(manifest.data.get("items"), list)


def _list_items(wrapper: Manifest, source: PositionSource | None) -> tuple[list[Manifest], list[Finding]]:
    """The items of a list document, each a document of its own that keeps its own positions."""
    items: list[Manifest] = []
    problems: list[Finding] = []
    for i, data in enumerate(wrapper.data["items"]):
        if not isinstance(data, dict):
            positions = wrapper.positions if source is None else source.positions_of(wrapper.doc_index)
            line, column = positions.get(("items", i), positions.get((), (1, 1)))[:2]
            what = "a list" if isinstance(data, list) else "a scalar"
            problems.append(NOT_A_MAPPING.at_file(
                wrapper.path, line, column, field=f"items[{i}]",
                message=f"item {i + 1} of the {wrapper.kind} in document {wrapper.doc_index + 1} is {what}, "
                        "not a Kubernetes object; Argo CD fails to generate the manifests",
                hint="Each item must be one object with apiVersion, kind and metadata."))
            continue
        if not data:
            continue
        item = Manifest(wrapper.path, wrapper.doc_index, data)
        item.item = i
        if source is None:
            item.positions = ListItemSource.of(wrapper.positions, i)
        else:
            del item.positions
            item._source = ListItemSource(source, i)
        item.missing = missing_type(item)
        items.append(item)
    return items, problems


def _first_too_deep(text: str) -> tuple[int, int] | None:
    """Where nesting first exceeds MAX_DEPTH, found from the event stream, which (unlike
    composing) does not recurse: libyaml's composer would overflow the C stack on such input."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    mark = event.start_mark
                    return (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                depth -= 1
    except yaml.MarkedYAMLError as error:
        # Newer libyaml stops at its own nesting limit (1000) before we reach ours.
        if "nesting depth" in str(error.problem) and error.problem_mark is not None:
            return error.problem_mark.line + 1, error.problem_mark.column + 1
        return None  # the composer reports the syntax error with its position
    except yaml.YAMLError:
        return None
    return None


def _syntax_finding(rel: str, text: str, error: yaml.MarkedYAMLError) -> Finding:
    mark = error.problem_mark or error.context_mark
    line = (mark.line + 1) if mark else 1
    column = (mark.column + 1) if mark else 1
    lines = text.splitlines()
    # libyaml reports a tab as "found character that cannot start any token" somewhere near it;
    # say what is really wrong and point at the tab.
    for number in (line, line - 1):
        if 1 <= number <= len(lines):
            stripped = lines[number - 1]
            indent = stripped[: len(stripped) - len(stripped.lstrip(" \t"))]
            if "\t" in indent:
                return TAB_INDENT.at_file(rel, number, indent.index("\t") + 1,
                                          message="a tab is used for indentation; YAML allows only spaces",
                                          hint="Replace the tab with spaces.")
    problem = " ".join(filter(None, [error.context, error.problem]))
    return SYNTAX.at_file(rel, line, column, message=f"invalid YAML: {problem}",
                          hint="Fix the syntax at this line; `yamllint` shows more detail.")


_NULL_TAG, _STR_TAG = kube_yaml.NULL, kube_yaml.STR
_MERGE_KEY_TAGS = (kube_yaml.MERGE, kube_yaml.NON_SPECIFIC)


class _TooLarge(Exception):
    pass


class _TooDeep(Exception):
    pass


class _NotPlain(Exception):
    pass


class _TooAliased(Exception):
    pass


class _Unconvertible:
    """Stands for a key or value that JSON cannot hold, in the data being built: Kubernetes
    refuses the document only if one is still there once all of it is decoded."""

    __slots__ = ("where", "message", "hint", "text")

    def __init__(self, where: tuple[int, int], message: str, hint: str, text: str):
        self.where, self.message, self.hint, self.text = where, message, hint, text

    def __str__(self) -> str:  # in the field path of a finding below a refused key
        return self.text


_ScalarNode, _SequenceNode, _MappingNode = yaml.ScalarNode, yaml.SequenceNode, yaml.MappingNode


def _is_merge(mapping: yaml.MappingNode, index: int) -> bool:
    """go-yaml's isMerge for the index-th key of `mapping`: a plain (or `!`- or `!!merge`-tagged)
    `<<` scalar, written there; a quoted one, or an alias of a `<<` scalar, is an ordinary key."""
    key = mapping.value[index][0]
    if type(key) is not _ScalarNode or key.value != "<<" or key.tag not in _MERGE_KEY_TAGS:
        return False
    # An alias's node was written earlier: in a mapping every key and value written in place
    # starts where the one before it ended, or after.
    end = mapping.start_mark.index
    for i, (k, v) in enumerate(mapping.value):
        if k.start_mark.index < end:
            if i == index:
                return False
        else:
            end = k.end_mark.index
        if i == index:
            return True
        if v.start_mark.index >= end:
            end = v.end_mark.index
    return False


def _allowed_alias_ratio(decoded: int) -> float:
    """go-yaml v2's allowedAliasRatio (decode.go), float for float."""
    if decoded <= 400_000:
        return 0.99
    if decoded >= 4_000_000:
        return 0.10
    return 0.99 - 0.89 * (float(decoded - 400_000) / 3_600_000.0)


class _Builder:
    """Builds plain Python data from one composed document, recording positions and problems.

    Scalars and keys are typed as Kubernetes types them (wavegate.kube_yaml); what it refuses
    (yaml-not-json) drops the document, like a syntax error, after every such problem in it is
    reported."""

    def __init__(self, rel: str, index: int, limits: Limits, require_object: bool = True, may_alias: bool = True,
                 keep_positions: bool = True, go_syntax: str | None = None, directive: Finding | None = None):
        # go_syntax: the file's text, when it has what libyaml parses and go-yaml refuses (_go_syntax)
        self.go_syntax = go_syntax
        self.directive = directive
        self.require_object = require_object
        self.may_alias = may_alias
        self.keep_positions = keep_positions
        self.rel = rel
        self.index = index
        self.limits = limits
        self.positions: dict[tuple, tuple[int, int, int, int]] = {}
        self.problems: list[Finding] = []
        self.sizes: dict[int, int] = {}
        self.aliased = False  # _expanded_size met a node twice
        self.manifest: Manifest | None = None
        self.duplicates: list[tuple] = []
        self.refused: set[tuple[int, int]] = set()
        self.unconvertible = False

    def document(self, node: yaml.Node) -> tuple[Manifest | None, list[Finding]]:
        start = node.start_mark
        if self.directive is not None:
            return None, [self.directive]
        if self.go_syntax is not None:
            self._go_syntax(node, self.go_syntax)
        data = self._plain_document(node)
        if data is None:  # the general path: sizes, depth and shape checked first
            try:
                size = self._expanded_size(node, set(), 0) if self.may_alias else self._tree_size(node)
                if self.aliased:
                    self._go_alias_budget(node)
            except _TooLarge:
                size = self.limits.max_expanded_nodes + 1
            except _TooDeep:
                return None, [TOO_DEEP.at_file(self.rel, start.line + 1, start.column + 1,
                                               message=f"document {self.index + 1} nests more than {MAX_DEPTH} levels deep",
                                               hint="Flatten the structure; no Kubernetes object needs this depth.")]
            except _TooAliased:
                return None, [ALIAS_BOMB.at_file(self.rel, start.line + 1, start.column + 1,
                                                 message=f"document {self.index + 1} is mostly aliases expanded: Kubernetes' "
                                                         "YAML reader refuses it (document contains excessive aliasing)",
                                                 hint="Remove the nested anchors and aliases; write the values out.")]
            if size > self.limits.max_expanded_nodes:
                return None, [ALIAS_BOMB.at_file(self.rel, start.line + 1, start.column + 1,
                                                 message=f"document {self.index + 1} expands to more than "
                                                         f"{self.limits.max_expanded_nodes:,} nodes through aliases",
                                                 hint="Remove the nested anchors and aliases; write the values out.")]
        if not isinstance(node, yaml.MappingNode):
            what = "a list" if isinstance(node, yaml.SequenceNode) else "a scalar"
            return None, [NOT_A_MAPPING.at_file(self.rel, start.line + 1, start.column + 1,
                                                message=f"document {self.index + 1} is {what}, not a Kubernetes object",
                                                hint="Each document must be one object with apiVersion, kind and metadata.")]
        self.manifest = Manifest(self.rel, self.index, {}, self.positions)
        mark = (start.line + 1, start.column + 1)
        self.positions[()] = mark + mark
        if data is None:
            data = self._build(node, (), True)
        self.manifest.set_data(data)
        for line, column, key, first, child_path in self.duplicates:
            self.problems.append(DUPLICATE_KEY.at_file(
                self.rel, line, column, resource=self.manifest.ref, field=format_path(child_path),
                message=f"key {key!r} appears twice in this mapping (first at line {first}); only this last value counts",
                hint="Delete one of the two, keeping the value you mean."))
        if self.unconvertible:
            self._still_there(data)
        if self.refused:
            return None, self.problems
        return (self.manifest if kept_document(self.manifest, self.require_object) else None), self.problems

    def _plain_document(self, root: yaml.Node) -> dict | None:
        """The data of a plain document in one pass, or None when the general path must build it.

        Plain: a mapping without aliases (a tree), merge keys, duplicate or non-scalar keys,
        anything Kubernetes refuses, at most MAX_DEPTH deep and of at most max_expanded_nodes
        nodes, and no positions wanted (they are computed later by the general path). For such a
        document the general path finds no problem and builds the same data; this pass skips its
        separate size count and the paths it keeps for positions and duplicates."""
        if self.may_alias or self.keep_positions or self.refused or type(root) is not yaml.MappingNode:
            return None
        self._count = 0
        try:
            data = self._plain(root, 0)
        except (_NotPlain, kube_yaml.NotJSON):
            return None
        return data if self._count <= self.limits.max_expanded_nodes else None

    def _plain(self, node: yaml.Node, depth: int):
        self._count += 1
        kind = type(node)
        if kind is _ScalarNode:
            return node.value if node.tag == _STR_TAG else kube_yaml.value(node.tag, node.value)
        if depth >= MAX_DEPTH:  # its children would be too deep: the general path says so
            raise _NotPlain
        if kind is _MappingNode:
            result = {}
            for key_node, value_node in node.value:
                if type(key_node) is not _ScalarNode or key_node.tag in _MERGE_KEY_TAGS:
                    raise _NotPlain
                self._count += 1
                key = key_node.value if key_node.tag == _STR_TAG else kube_yaml.key(key_node.tag, key_node.value)
                result[key] = self._plain(value_node, depth + 1)
            if len(result) != len(node.value):  # a duplicate key
                raise _NotPlain
            return result
        if kind is _SequenceNode:
            return [self._plain(child, depth + 1) for child in node.value]
        raise _NotPlain

    def _tree_size(self, root: yaml.Node) -> int:
        """_expanded_size of a document without aliases (a tree), counted without recursion.

        In a tree of at most max_expanded_nodes nodes no subtree is too large, so the answer is
        the node count, or _TooDeep when some node is deeper than MAX_DEPTH; anything larger
        takes the general path, which decides between the two exactly as for any document."""
        count, deepest = 0, 0
        stack = [(root, 0)]
        pop, push = stack.pop, stack.append
        sequence, mapping = yaml.SequenceNode, yaml.MappingNode
        while stack:
            node, depth = pop()
            count += 1
            if depth > deepest:
                deepest = depth
            kind = type(node)
            if kind is mapping or isinstance(node, mapping):
                for key, value in node.value:
                    push((key, depth + 1))
                    push((value, depth + 1))
            elif kind is sequence or isinstance(node, sequence):
                for child in node.value:
                    push((child, depth + 1))
        if count > self.limits.max_expanded_nodes:
            return self._expanded_size(root, set(), 0)
        if deepest > MAX_DEPTH:
            raise _TooDeep
        return count

    def _expanded_size(self, node: yaml.Node, stack: set[int], depth: int) -> int:
        known = self.sizes.get(id(node))
        if known is not None:
            self.aliased = True
            return known
        if depth > MAX_DEPTH:
            raise _TooDeep
        if id(node) in stack:  # recursive alias: infinite expansion
            raise _TooLarge
        stack.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            size = 1
        elif isinstance(node, yaml.SequenceNode):
            size = 1 + sum(self._expanded_size(child, stack, depth + 1) for child in node.value)
        else:
            size = 1 + sum(self._expanded_size(k, stack, depth + 1) + self._expanded_size(v, stack, depth + 1)
                           for k, v in node.value)
        stack.discard(id(node))
        if size > self.limits.max_expanded_nodes:
            raise _TooLarge
        self.sizes[id(node)] = size
        return size

    def _go_alias_budget(self, root: yaml.Node) -> None:
        """_TooAliased where go-yaml v2 stops with "document contains excessive aliasing".

        go-yaml counts each node it decodes, and those decoded through an alias; it fails as soon
        as more than 100 came through aliases, more than 1,000 in all, and their share exceeds
        _allowed_alias_ratio. The same count here, but an alias's expansion is added at once: both
        counts grow by one per node inside it, so if the condition holds anywhere inside, it holds
        at its end. A node met again in the text's order is an alias; the first meeting defines it."""
        aliases: set[tuple[int, int]] = set()  # (id(parent), index of the child) that are aliases
        seen: set[int] = set()

        def mark(node):
            seen.add(id(node))
            children = node.value if type(node) is _SequenceNode else \
                [n for pair in node.value for n in pair] if type(node) is _MappingNode else ()
            for i, child in enumerate(children):
                if id(child) in seen:
                    aliases.add((id(node), i))
                else:
                    mark(child)

        mark(root)
        counts: dict[int, int] = {}

        def count(node) -> int:  # decode steps for one expansion of node
            known = counts.get(id(node))
            if known is None:
                known = 1
                if type(node) is _SequenceNode:
                    known += sum(((id(node), i) in aliases) + count(c) for i, c in enumerate(node.value))
                elif type(node) is _MappingNode:
                    for i, (k, v) in enumerate(node.value):
                        if _is_merge(node, i):
                            known += merged(v, (id(node), 2 * i + 1) in aliases)
                        else:
                            known += ((id(node), 2 * i) in aliases) + count(k)
                            known += ((id(node), 2 * i + 1) in aliases) + count(v)
                counts[id(node)] = known
            return known

        def merged(value, is_alias: bool) -> int:
            if is_alias or type(value) is _MappingNode:
                return is_alias + count(value)
            if type(value) is _SequenceNode:  # the list itself is not decoded, only its items
                return sum(((id(value), i) in aliases) + count(c) for i, c in enumerate(value.value))
            return 0

        decoded, through_aliases = 1, 0  # the document node

        def step(nodes: int, aliased: int) -> None:
            nonlocal decoded, through_aliases
            decoded += nodes
            through_aliases += aliased
            if through_aliases > 100 and decoded > 1000 and \
                    float(through_aliases) / float(decoded) > _allowed_alias_ratio(decoded):
                raise _TooAliased

        def occurrence(parent, index: int, child) -> None:
            if (id(parent), index) in aliases:
                step(1, 0)  # the alias node itself
                expansion = count(child)
                step(expansion, expansion)
            else:
                visit(child)

        def visit(node) -> None:
            step(1, 0)
            if type(node) is _SequenceNode:
                for i, child in enumerate(node.value):
                    occurrence(node, i, child)
            elif type(node) is _MappingNode:
                for i, (k, v) in enumerate(node.value):
                    if not _is_merge(node, i):
                        occurrence(node, 2 * i, k)
                        occurrence(node, 2 * i + 1, v)
                    elif (id(node), 2 * i + 1) in aliases or type(v) is not _SequenceNode:
                        occurrence(node, 2 * i + 1, v)
                    else:  # the items of a merged list, last first
                        for j in range(len(v.value) - 1, -1, -1):
                            occurrence(v, j, v.value[j])

        visit(root)

    def _build(self, node: yaml.Node, path: tuple, record: bool):
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node)
        if isinstance(node, yaml.SequenceNode):
            items = []
            for i, child in enumerate(node.value):
                child_path = path + (i,)
                if record and self.keep_positions:
                    mark = (child.start_mark.line + 1, child.start_mark.column + 1)
                    self.positions[child_path] = mark + mark
                items.append(self._build(child, child_path, record))
            return items
        assert isinstance(node, yaml.MappingNode), "a node is a scalar, a sequence or a mapping"
        return self._mapping(node, path, record)

    def _mapping(self, node: yaml.MappingNode, path: tuple, record: bool) -> dict:
        # As go-yaml: entries are set in order, so a key after `<<` overrides the merged one and a
        # key before it is overridden; the items of a merged list are merged last first.
        result: dict = {}
        seen: dict = {}
        for index, (key_node, value_node) in enumerate(node.value):
            if key_node.value == "<<" and _is_merge(node, index):
                if value_node.start_mark.index < key_node.start_mark.index and type(value_node) is not _MappingNode:
                    self._refuse(value_node, "the merge key `<<` needs a mapping or a list of mappings, not an alias of "
                                             f"{'a list' if type(value_node) is _SequenceNode else 'a scalar'}",
                                 "Merge an anchored mapping (`<<: *defaults`), or write the keys out.")
                    continue
                self._merge(value_node, path, result)
                continue
            key = self._key(key_node)
            child_path = path + (key,)
            if key in seen and record:
                self.duplicates.append((key_node.start_mark.line + 1, key_node.start_mark.column + 1,
                                        key, seen[key], child_path))
            seen[key] = key_node.start_mark.line + 1
            if record and self.keep_positions:
                self.positions[child_path] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1,
                                              value_node.start_mark.line + 1, value_node.start_mark.column + 1)
            result[key] = self._build(value_node, child_path, record)
        return result

    def _merge(self, value: yaml.Node, path: tuple, into: dict) -> None:
        sources = value.value[::-1] if type(value) is _SequenceNode else [value]
        for source in sources:
            if type(source) is not _MappingNode:
                what = "a list" if type(source) is _SequenceNode else f"`{source.value}`"
                self._refuse(source, f"the merge key `<<` needs a mapping or a list of mappings, not {what}",
                             "Merge an anchored mapping (`<<: *defaults`), or write the keys out.")
                continue
            into.update(self._mapping(source, path, False))

    def _key(self, node: yaml.Node):
        if type(node) is _ScalarNode:
            if node.tag == _STR_TAG:
                return node.value
            try:
                return kube_yaml.key(node.tag, node.value)
            except kube_yaml.NotJSON as refusal:
                return self._refuse(node, str(refusal), refusal.hint, refusal.decoding)
        what = "a list" if isinstance(node, yaml.SequenceNode) else "a mapping"
        return self._refuse(node, f"a mapping key is {what}; JSON keys, and so Kubernetes' keys, are text",
                            "Use a plain text key.")

    def _scalar(self, node: yaml.ScalarNode):
        if node.tag == _STR_TAG:
            return node.value
        try:
            return kube_yaml.value(node.tag, node.value)
        except kube_yaml.NotJSON as refusal:
            return self._refuse(node, str(refusal), refusal.hint, refusal.decoding)

    def _refuse(self, node: yaml.Node, message: str, hint: str, decoding: bool = True, rule=None):
        """Report what Kubernetes refuses (once per place, however often aliases repeat it); the
        document is dropped. What go-yaml refuses while decoding is refused at once; what only
        JSON cannot hold is a stand-in, refused if it is still in the data at the end."""
        where = (node.start_mark.line + 1, node.start_mark.column + 1)
        if not decoding:
            self.unconvertible = True
            return _Unconvertible(where, message, hint, str(node.value))
        if where not in self.refused:
            self.refused.add(where)
            self.problems.append((rule or NOT_JSON).at_file(self.rel, *where, message=message, hint=hint))
        return f"\0refused at {where[0]}:{where[1]}"

    def _still_there(self, data) -> None:
        """Refuse each _Unconvertible left in the built data."""
        stack = [data]
        while stack:
            item = stack.pop()
            if type(item) is dict:
                for key, value in item.items():
                    stack.append(key)
                    stack.append(value)
            elif type(item) is list:
                stack.extend(item)
            elif type(item) is _Unconvertible and item.where not in self.refused:
                self.refused.add(item.where)
                self.problems.append(NOT_JSON.at_file(self.rel, *item.where, message=item.message, hint=item.hint))

    def _go_syntax(self, root: yaml.Node, text: str) -> None:
        """Refuse what libyaml (which composed `root`) accepts and go-yaml v2 does not parse:
        a `?` inside a plain scalar in a flow collection (go-yaml ends the scalar there), the
        escape `\\/` in a double-quoted scalar. And _GoReadsOn for a tag right before `,` `[` `]`
        in a flow collection (go-yaml reads them as part of the tag). Only for files whose text
        has these characters."""
        seen: set[int] = set()
        stack: list[tuple[yaml.Node, yaml.CollectionNode | None]] = [(root, None)]
        while stack:
            node, parent = stack.pop()
            if parent is not None and node.start_mark.index < parent.start_mark.index:
                continue  # an alias of a node defined before: judged where it is defined
            if id(node) in seen:
                continue
            seen.add(id(node))
            in_flow = parent is not None and parent.flow_style
            if type(node) is _ScalarNode:
                if in_flow and not node.style and "?" in node.value:
                    self._refuse(node, f"`{node.value}` has a `?` inside [ ] or {{ }}: Kubernetes' YAML parser (go-yaml) "
                                       "ends the text there and fails (did not find expected ',')",
                                 "Quote the text.", rule=SYNTAX)
                elif node.style == '"' and "\\/" in text[node.start_mark.index:node.end_mark.index]:
                    raw = text[node.start_mark.index:node.end_mark.index]
                    if any(m.group(1) == "/" for m in re.finditer(r"\\(.)", raw, re.S)):
                        self._refuse(node, "`\\/` is not an escape for Kubernetes' YAML parser (go-yaml: found unknown "
                                           "escape character)", "Write `/` without the backslash.", rule=SYNTAX)
            elif isinstance(node, yaml.CollectionNode):  # (every node that is not a scalar)
                children = node.value if type(node) is _SequenceNode else [n for pair in node.value for n in pair]
                stack.extend((child, node) for child in reversed(children))
            if in_flow and text[node.start_mark.index:node.start_mark.index + 1] in ("&", "!"):
                tag = _TAG_TOKEN.match(text, node.start_mark.index)
                if tag:  # libyaml ended the tag at the first of these; go-yaml reads on
                    stops = [i for i in range(tag.start(1), tag.end(1)) if text[i] in ",[]"]
                    if stops:
                        raise _GoReadsOn(stops[0], ".")
