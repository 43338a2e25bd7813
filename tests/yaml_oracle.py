"""The YAML differential: generated documents judged by sigs.k8s.io/yaml and by a loader.

sigs.k8s.io/yaml's YAMLToJSON is how kubectl, the Argo CD repo server and the API server read
YAML; `yaml-oracle` (scripts/oracles/yaml, built by scripts/install-tools) runs it on a batch of
documents. `differences(load)` runs any loader on the same documents: a loader is a callable from one
YAML document's text to an `Outcome` (its JSON-typed data, or that it refuses the document).
Every case must agree (same acceptance, same data, types included: `1` is not `1.0` nor `True`),
or be a named, deliberate difference (DELIBERATE). wavegate's loader is `wavegate_loader()`, its native
loader `wavegate_loader(native=True)`; both pass the same `differences`.
"""

from __future__ import annotations

import base64
import json
import random
import re
import subprocess
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from wavegate.cluster import find_tool


@dataclass(frozen=True)
class Outcome:
    """What a loader made of one document: `data` when it accepted it, else `refused` with the
    rule ids (or any names) that refused it."""

    data: object = None
    refused: tuple[str, ...] = ()


@dataclass(frozen=True)
class Case:
    family: str  # which generator made it (for the report)
    text: str


@dataclass(frozen=True)
class Difference:
    case: Case
    oracle: dict
    outcome: Outcome

    def __str__(self) -> str:
        return f"[{self.case.family}] {self.case.text!r}\n    sigs.k8s.io/yaml: {self.oracle}\n    loader: {self.outcome}"


@dataclass
class Report:
    cases: int = 0
    differences: list[Difference] = field(default_factory=list)
    deliberate: Counter = field(default_factory=Counter)  # name -> cases
    refusals: Counter = field(default_factory=Counter)  # sigs.k8s.io/yaml's reasons (the error's start) -> cases


Loader = Callable[[str], Outcome]

# Where a loader may differ from sigs.k8s.io/yaml on purpose: name -> (why, does it apply to
# this case, the oracle's answer and the loader's outcome).
DELIBERATE: dict[str, tuple[str, Callable[[Case, dict, Outcome], bool]]] = {
    "keys-equal-only-as-json": (
        "Two keys of one mapping that differ in YAML but become the same JSON key (1 and '1', true "
        "and 'true', two .nan): YAMLToJSON keeps one of the values, chosen by Go's random map "
        "order (so even whether it fails can be chance). wavegate reports yaml-duplicate-key and "
        "keeps the last.",
        lambda case, oracle, outcome: oracle.get("ambiguous", False)),
    "content-after-the-document": (
        "YAMLToJSON reads one document and ignores whatever follows its root node, even text that "
        "is not YAML (a line indented less than the first key, a second root). kubectl and Argo CD "
        "then silently drop it; wavegate reports the syntax error at that line.",
        lambda case, oracle, outcome: "error" not in oracle and "yaml-syntax" in outcome.refused
        and _error_after_first_document(case.text)),
    "empty-collection-first-key": (
        "go-yaml v2 reads `{}: v` or `[]: v` at the very start of a document as the empty "
        "collection alone (its parser loses the key and what follows); a list or mapping as a key "
        "is refused everywhere else, and wavegate refuses it here too (yaml-not-json).",
        lambda case, oracle, outcome: oracle.get("json") in ("{}", "[]") and "yaml-not-json" in outcome.refused
        and re.match(r"\s*(\{\s*\}|\[\s*\])\s*:", case.text) is not None),
    "safety-limits": (
        "wavegate refuses documents nested deeper than 200 levels or expanding to more than a "
        "million nodes (yaml-too-deep, yaml-alias-bomb); go-yaml allows 10,000 levels and refuses "
        "aliasing by its ratio rule only, so it may accept some of these.",
        lambda case, oracle, outcome: "error" not in oracle and case.family == "limits"
        and bool({"yaml-too-deep", "yaml-alias-bomb"} & set(outcome.refused))),
}


def _error_after_first_document(text: str) -> bool:
    """libyaml ends the first document before its error (so go-yaml, which stops there, never sees it)."""
    import yaml

    try:
        for event in yaml.parse(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
            if isinstance(event, yaml.DocumentEndEvent):
                return True
    except yaml.YAMLError:
        return False
    return False


class Oracle:
    """yaml-oracle running on `texts` in the background (it starts at once; a loader can run
    meanwhile on the other CPU); `answers()` waits for sigs.k8s.io/yaml's answer to each:
    {"json": text} or {"error": message}, and "ambiguous" (see DELIBERATE). Fails when the
    oracle is not installed."""

    def __init__(self, texts: list[str]):
        self.count = len(texts)
        self.process = subprocess.Popen([str(find_tool("yaml-oracle"))], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.output: list[str] = []
        self.reader = threading.Thread(target=lambda: self.output.append(self.process.stdout.read()), daemon=True)
        self.reader.start()
        self.writer = threading.Thread(target=self._write, args=(texts,), daemon=True)
        self.writer.start()

    def _write(self, texts: list[str]) -> None:
        try:
            with self.process.stdin as stdin:
                for text in texts:
                    stdin.write(json.dumps(text) + "\n")
        except BrokenPipeError:  # the oracle died (answers() says so) or was stopped
            pass

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()

    def answers(self) -> list[dict]:
        self.writer.join()
        self.reader.join()
        stderr = self.process.stderr.read()
        assert self.process.wait() == 0, f"yaml-oracle failed: {stderr}"
        answers = []
        for line in self.output[0].split("\n")[:-1]:  # (not splitlines: U+0085 and friends are in the text)
            answer = json.loads(line)
            if "json" in answer:
                answer["json"] = json.dumps(answer["json"])  # kept as text: parsed again with exact types
            answers.append(answer)
        assert len(answers) == self.count, stderr
        return answers


def run_oracle(texts: list[str]) -> list[dict]:
    return Oracle(texts).answers()


def compare(loaders: dict[str, Loader], cases: list[Case], every: dict[str, int] | None = None) -> dict[str, Report]:
    """Run each loader on the cases (`every[name] = n`: on every n-th case only) while the oracle
    runs on all of them, and compare."""
    oracle = Oracle([case.text for case in cases])
    every = every or {}
    try:
        outcomes = {name: [load(case.text) for case in cases[::every.get(name, 1)]] for name, load in loaders.items()}
    except BaseException:
        oracle.stop()
        raise
    answers = oracle.answers()
    return {name: judge(cases[::every.get(name, 1)], answers[::every.get(name, 1)], outcomes[name])
            for name in loaders}


def differences(load: Loader, cases: list[Case] | None = None) -> list[Difference]:
    """The cases (by default `generate()`) where `load` and sigs.k8s.io/yaml disagree, beyond DELIBERATE."""
    return compare({"loader": load}, cases if cases is not None else generate())["loader"].differences


def judge(cases: list[Case], answers: list[dict], outcomes: list[Outcome]) -> Report:
    report = Report(cases=len(cases))
    for case, answer, outcome in zip(cases, answers, outcomes, strict=True):
        if "error" in answer:
            report.refusals[re.sub(r"^yaml: (line \d+: )?", "", answer["error"])[:30]] += 1
        if _agrees(answer, outcome):
            continue
        for name, (_, applies) in DELIBERATE.items():
            if applies(case, answer, outcome):
                report.deliberate[name] += 1
                break
        else:
            report.differences.append(Difference(case, answer, outcome))
    return report


def _agrees(answer: dict, outcome: Outcome) -> bool:
    if answer.get("ambiguous"):
        return False  # see DELIBERATE
    if "error" in answer:
        return bool(outcome.refused)
    expected = json.loads(answer["json"])
    if type(expected) is not dict:  # not an object: a loader of manifests says so
        return outcome.refused == (("no-document",) if expected is None else ("yaml-not-a-mapping",))
    return not outcome.refused and same(expected, outcome.data)


def same(a, b) -> bool:
    """Equal as JSON values, types included (True is not 1, 1 is not 1.0)."""
    if type(a) is not type(b):
        return False
    if type(a) is dict:
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if type(a) is list:
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def _same_keys(a, b) -> bool:
    return type(a) is type(b) is dict and a.keys() == b.keys()


def wavegate_loader(lazy_positions: bool = True, native: bool = False) -> Loader:
    """wavegate.load as a Loader. With native=False, the Python path: lazy_positions=True is its
    one-pass builder, False its general path (positions kept). With native=True, the native loader
    (wavegate.load_native) reads what it can and the Python path the rest, as `load` does."""
    from wavegate import load_native
    from wavegate.load import parse_documents

    if native:
        from tests.helpers import require_native_loader

        require_native_loader()

    def load(text: str) -> Outcome:
        saved, load_native.AVAILABLE = load_native.AVAILABLE, native
        try:
            manifests, problems = parse_documents("case.yaml", text, require_object=False,
                                                  lazy_positions=lazy_positions)
        finally:
            load_native.AVAILABLE = saved
        refused = tuple(p.rule for p in problems if p.rule != "yaml-duplicate-key")
        if refused or not manifests:
            return Outcome(refused=refused or ("no-document",))
        return Outcome(data=manifests[0].data)

    return load


# ---- the generator ---------------------------------------------------------------------------

def _variants(*words: str) -> list[str]:
    out = []
    for word in words:
        out += [word, word.capitalize(), word.upper(), word[:1] + word[1:].upper(), word.swapcase()]
    return sorted(set(out))


BOOLEANS = _variants("y", "n", "yes", "no", "true", "false", "on", "off")
NULLS = ["~", "null", "Null", "NULL", "nULL", "nuLL", ""]
INTEGERS = [
    "0", "-0", "+0", "00", "007", "08", "09", "010", "0o17", "0O17", "0o8", "-0o17", "+0o17", "0x1F", "0X1f", "0x",
    "0xg", "-0x1F", "0b101", "0B101", "-0b101", "+0b101", "0b2", "0b", "1_000", "1__000", "_1000", "1000_",
    "0x_1F", "0b_1", "1_0_0", "+12", "-12", "12", "1:30", "190:20:30", "-1:30", "1:60", "12:30:00", "1:2:3:4",
    "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
    "18446744073709551615", "18446744073709551616", "-18446744073709551616", "0xFFFFFFFFFFFFFFFF",
    "0x10000000000000000", "0o1777777777777777777777", "0b" + "1" * 64, "0b" + "1" * 65, "-0b" + "1" * 63,
    "123456789012345678901234567890", "0777", "0o777", "1e3", "1E3", "1e+3", "1E+3", "1e-3", "1e03",
]
FLOATS = [
    "1.5", "-1.5", "+1.5", "1.", "-1.", ".5", "-.5", "+.5", "0.5", "00.5", "1.0", "1.50", "100.0", "1e3", "1.0e+3",
    "1.5e3", "1.5E-3", "6.8523015e+5", "685.230_15e+03", "685_230.15", "190:20:30.15", "1e400", "-1e400",
    "1e-400", "1e21", "1e20", "999999999999999999999.0", "1e-6", "1e-7", "0.000001", "0.0000001", "1.7976931348623157e308",
    "4.9e-324", "2.5e-324", ".inf", ".Inf", ".INF", ".iNf", "-.inf", "+.inf", "-.Inf", "+.INF", "-.iNF", ".nan", ".NaN",
    ".NAN", ".naN", "+.nan", "-.nan", "inf", "nan", "NaN", "Infinity", "-Infinity", "0x1p3", "1e", "1e+", "e3", ".e3",
    ".", "..", "1.2.3", "._5", ".5_0", ".5_", "._", ".5e_3", ".5e3_0", "1_000.5", "1._5", "0.1_0e1_0", "3.14159265358979",
    "123456789.123456789", "0.1", "0.2", "0.30000000000000004", "1e16", "1e17", "12345678901234567890.5",
    "-0.0", "+0.0", "0.0", "-0.0e0", "1.e3", "1.e+3",
]
TIMESTAMPS = [
    "2001-12-14", "2001-12-14t21:59:43.10-05:00", "2001-12-14T21:59:43.10-05:00", "2001-12-14 21:59:43.10 -5",
    "2001-12-14 21:59:43.10", "2001-12-15T02:59:43.1Z", "2001-12-15T02:59:43Z", "2001-12-15 2:59:43.10",
    "2002-12-14", "2001-1-1", "2001-01-01", "2001-1-01T1:2:3Z", "2001-02-29", "2000-02-29", "1900-02-29",
    "2001-13-01", "2001-00-10", "2001-12-00", "2001-12-32", "2001-04-31", "2001-12-14T24:00:00Z", "2001-12-14T23:60:00Z",
    "2001-12-14T23:59:60Z", "2001-12-14T21:59:43+25:00", "2001-12-14T21:59:43+24:00", "2001-12-14T21:59:43+05:61",
    "2001-12-14T21:59:43+0500", "2001-12-14T21:59:43,5Z", "2001-12-14T21:59:43.123456789012Z", "2001-12-14  21:59:43",
    "2001-12-14 21:59", "20011214", "2001-12-14T21:59:43", "2001-12-14X21:59:43Z", "12001-12-14", "201-12-14",
    "2001-123-14", "2001-12-144", "0000-01-01", "9999-12-31T23:59:59.999999999Z", "2001-12-14Z", "2001-12-14 ",
]
WORDS = [
    "<<", "<", "=", "==", "-", "+", "~~", "nginx:1.27", "v1", "apps/v1", "name", "onion", "offset", "yesterday",
    "nope", "trueish", "Yesno", "8080", "80/TCP", "1.27.3", "10.0.0.1", "192.168.0.0/16", "100m", "1Gi", "0.5Gi",
    "é", "日本", "a b", "x:y", "http://example.com", "*.example.com", "@at", "`tick`", "%pct", "#hash", "a #b",
    "!bang", "&amp", "|pipe", ">gt", "?q", ":colon", ",comma", "[x]", "{x}", "'q'", '"q"', "multi\nline",
    "tab\there", " lead", "trail ", "n\u00e9", "\u2028", "null ", " true",
]
ALPHABET = "0123456789+-._:eExXoObB~yYnNtTfFaAzZ <=éi"
TAGS = ["!!str", "!!int", "!!float", "!!bool", "!!null", "!!timestamp", "!!binary", "!", "!custom", "!!merge",
        "!!seq", "!!map", "!<tag:yaml.org,2002:int>", "!<!>", "!!python/none", "!!value"]
VOCABULARY = BOOLEANS + NULLS + INTEGERS + FLOATS + TIMESTAMPS + WORDS


def _random_scalar(rnd: random.Random) -> str:
    roll = rnd.random()
    if roll < 0.45:
        return rnd.choice(VOCABULARY)
    if roll < 0.65:  # a vocabulary word, one character changed
        word = list(rnd.choice(VOCABULARY) or "x")
        word[rnd.randrange(len(word))] = rnd.choice(ALPHABET)
        return "".join(word)
    if roll < 0.8:
        return "".join(rnd.choice(ALPHABET) for _ in range(rnd.randint(1, 9)))
    if roll < 0.9:  # a number of random shape
        sign = rnd.choice(["", "-", "+"])
        digits = "".join(rnd.choice("0123456789_") for _ in range(rnd.randint(1, 25)))
        tail = rnd.choice(["", ".", "." + str(rnd.randint(0, 999999)), f"e{rnd.randint(-330, 330)}",
                           f"E+{rnd.randint(0, 30)}", f".{rnd.randint(0, 99)}e-{rnd.randint(0, 30)}"])
        return sign + rnd.choice(["", "0", "0x", "0o", "0b", "."]) + digits + tail
    return rnd.choice(VOCABULARY) + rnd.choice(["", "_", ":", ".", "-", "e", " "]) + rnd.choice(VOCABULARY)


def _binary(rnd: random.Random) -> str:
    data = bytes(rnd.randrange(256) for _ in range(rnd.randint(0, 12)))
    text = base64.b64encode(data).decode()
    roll = rnd.random()
    if roll < 0.2 and text:  # damage it
        i = rnd.randrange(len(text))
        text = text[:i] + rnd.choice("=!A_ \n-") + text[i + 1:]
    elif roll < 0.3:
        text = text.rstrip("=")
    elif roll < 0.4 and len(text) > 4:
        text = text[:4] + "\n" + text[4:]
    return text


def _double_quoted(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _single_quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _styled(rnd: random.Random, text: str, block_ok: bool = True) -> str:
    """`text` as a plain, quoted or block scalar (block only where a value may start a block)."""
    roll = rnd.random()
    if roll < 0.6 and "\n" not in text:
        return text
    if roll < 0.75:
        return _single_quoted(text)
    if roll < 0.9 or not block_ok:
        return _double_quoted(text)
    return rnd.choice(["|", ">", "|-", ">+"]) + "\n" + "".join(f"  {line}\n" for line in text.split("\n"))


def _scalar_text(rnd: random.Random, block_ok: bool = True) -> str:
    tag = rnd.choice(TAGS) if rnd.random() < 0.2 else ""
    text = _binary(rnd) if tag == "!!binary" and rnd.random() < 0.7 else _random_scalar(rnd)
    styled = _styled(rnd, text, block_ok)
    return f"{tag} {styled}" if tag else styled


def _scalar_cases(rnd: random.Random, count: int) -> list[Case]:
    cases = []
    for i in range(count):
        form = i % 6
        if form == 0:  # every vocabulary word as a plain value, in order, then random ones
            word = VOCABULARY[(i // 6) % len(VOCABULARY)] if i // 6 < len(VOCABULARY) else _random_scalar(rnd)
            cases.append(Case("value", f"v: {word}\n" if "\n" not in word else f"v: {_double_quoted(word)}\n"))
        elif form == 1:
            cases.append(Case("value", f"v: {_scalar_text(rnd)}\n"))
        elif form == 2:  # as a key
            word = VOCABULARY[(i // 6) % len(VOCABULARY)] if i // 6 < len(VOCABULARY) else _random_scalar(rnd)
            key = word if "\n" not in word else _double_quoted(word)
            cases.append(Case("key", f"{key}: v\n"))
        elif form == 3:
            cases.append(Case("key", f"{_scalar_text(rnd, block_ok=False)}: v\n"))
        elif form == 4:  # in flow collections
            items = ", ".join(_scalar_text(rnd, block_ok=False) for _ in range(rnd.randint(1, 3)))
            key = _scalar_text(rnd, block_ok=False)
            cases.append(Case("flow", rnd.choice([f"v: [{items}]\n", f"{{{key}: {items.split(', ')[0]}}}\n",
                                                  f"v: {{{key}: x}}\n"])))
        else:  # explicit keys and sequences
            cases.append(Case("explicit", rnd.choice([
                f"? {_scalar_text(rnd, block_ok=False)}\n: {_scalar_text(rnd)}\n",
                f"v:\n- {_scalar_text(rnd)}\n- {_scalar_text(rnd)}\n",
                f"v:\n  {_scalar_text(rnd, block_ok=False)}: {_scalar_text(rnd)}\n  k: x\n"])))
    return cases


class _DocumentWriter:
    """Random nested documents with anchors, aliases, merge keys and odd keys, in block and flow style."""

    KEYS = ["a", "b", "c", "name", "1", "2.5", "true", "y", "no", "~", "null", "''", '""', "'1'", "0x10", "1e3",
            "<<", "'<<'", "!!str 1", "!!int '2'", "2001-12-14", ".inf", ".nan", "9223372036854775808",
            "-1", "on", "? [a]", "? {a: 1}", "!custom k", "! 1", "18446744073709551615", "1.0", "1", "01"]

    def __init__(self, rnd: random.Random):
        self.rnd = rnd
        self.anchors: list[tuple[str, str]] = []  # (name, "map" | "seq" | "scalar")
        self.serial = 0

    def key(self) -> str:
        if self.anchors and self.rnd.random() < 0.05:
            return "*" + self.rnd.choice(self.anchors)[0] + " "
        key = self.rnd.choice(self.KEYS) if self.rnd.random() < 0.8 else _scalar_text(self.rnd, block_ok=False)
        return key

    def anchor(self, kind: str) -> str:
        if self.rnd.random() < 0.25:
            name = f"a{self.rnd.randint(0, 3) if self.rnd.random() < 0.2 else self.serial}"  # some defined again
            self.serial += 1
            self.anchors.append((name, kind))
            return f"&{name} "
        return ""

    def flow(self, depth: int) -> str:
        roll = self.rnd.random()
        if self.anchors and roll < 0.1:
            return "*" + self.rnd.choice(self.anchors)[0]
        if depth > 3 or roll < 0.5:
            return self.anchor("scalar") + _scalar_text(self.rnd, block_ok=False)
        if roll < 0.75:
            prefix = self.anchor("seq")
            return prefix + "[" + ", ".join(self.flow(depth + 1) for _ in range(self.rnd.randint(0, 3))) + "]"
        prefix = self.anchor("map")
        return prefix + "{" + ", ".join(f"{self.flow_key()}: {self.flow(depth + 1)}"
                                        for _ in range(self.rnd.randint(0, 3))) + "}"

    def flow_key(self) -> str:
        key = self.key()
        return key if not key.startswith("?") else key[2:]

    def merge(self) -> str:
        maps = [name for name, kind in self.anchors if kind == "map"]
        roll = self.rnd.random()
        if maps and roll < 0.5:
            return "*" + self.rnd.choice(maps)
        if maps and roll < 0.7:
            return "[" + ", ".join("*" + self.rnd.choice(maps) for _ in range(self.rnd.randint(1, 3))) + "]"
        if roll < 0.85:
            return "{" + f"{self.flow_key()}: {self.flow(3)}" + "}"
        return self.flow(2)  # anything: often not a mapping

    def block(self, indent: int, depth: int) -> list[str]:
        lines = []
        pad = " " * indent
        for _ in range(self.rnd.randint(1, 4)):
            roll = self.rnd.random()
            if roll < 0.1:
                lines.append(f"{pad}<<: {self.merge()}")
                continue
            key = self.key()
            if key.startswith("? "):
                lines.append(f"{pad}{key}")
                lines.append(f"{pad}: {self.flow(depth + 1)}")
                continue
            if depth < 3 and roll < 0.35:
                lines.append(f"{pad}{key}: {self.anchor('map')}".rstrip())
                lines += self.block(indent + 2, depth + 1)
            elif depth < 3 and roll < 0.5:
                lines.append(f"{pad}{key}: {self.anchor('seq')}".rstrip())
                for _ in range(self.rnd.randint(1, 3)):
                    lines.append(f"{pad}- {self.flow(depth + 1)}")
            else:
                lines.append(f"{pad}{key}: {self.flow(depth + 1)}")
        return lines


def _document_cases(rnd: random.Random, count: int) -> list[Case]:
    cases = []
    for _ in range(count):
        writer = _DocumentWriter(rnd)
        cases.append(Case("document", "\n".join(writer.block(0, 0)) + "\n"))
    return cases


def _alias_cases() -> list[Case]:
    """Documents around go-yaml's excessive-aliasing rule (more than 100 aliased nodes, more than
    1,000 decoded, and more than 99 % of them through aliases): lists of lists of aliases, so the
    share of aliased nodes crosses 0.99 for some of them, with and without merge keys."""
    cases = []
    for levels in (1, 2, 3, 4):
        for fanout in (2, 3, 4, 6, 10):
            for uses in (1, 2, 5, 20):
                if fanout ** levels * uses > 20_000:
                    continue
                lines = ["l0: &l0 [" + ", ".join(["x"] * fanout) + "]"]
                lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * fanout) + "]" for i in range(1, levels)]
                top = f"*l{levels - 1}"
                cases.append(Case("aliases", "\n".join(lines + [f"u{j}: {top}" for j in range(uses)]) + "\n"))
                cases.append(Case("aliases", "m: &m {a: 1, b: [1, 2]}\n" + "\n".join(
                    lines + [f"u{j}: {{<<: *m, c: {top}}}" for j in range(uses)]) + "\n"))
    return cases


def _float_key_cases(rnd: random.Random, count: int) -> list[Case]:
    """Floats as keys: sigs.k8s.io/yaml writes them with 32-bit precision ('g' format)."""
    cases = []
    for _ in range(count):
        mantissa = rnd.choice([rnd.random(), rnd.randint(1, 10**rnd.randint(1, 12)), rnd.random() * 10**rnd.randint(0, 9)])
        number = mantissa * 10.0 ** rnd.randint(-45, 40) if rnd.random() < 0.5 else mantissa
        text = rnd.choice([repr(number), f"{number:.{rnd.randint(1, 12)}e}", f"{number:.{rnd.randint(0, 9)}f}"])
        cases.append(Case("float-key", f"{rnd.choice(['', '-', '+'])}{text}: v\n"))
    return cases


# Where libyaml and go-yaml v2 read the same characters differently: plain scalars with `:` or `?`
# in flow collections, escapes, tags next to flow indicators, directives, anchors defined again.
SYNTAX_TEMPLATES = [
    "v: [{a}:]\n", "v: [{a}:, {b}]\n", "v: {{{a}: {b}:}}\n", "v: [{a}:{b}]\n", "v: [{a}?{b}]\n", "v: [{a} ?{b}]\n",
    "v: {{{a}?: {b}}}\n", "v: [{a}:[{b}]]\n", "v: [{a}:{{{b}}}]\n", "v: \"{a}\\'{b}\"\n", "v: \"{a}\\/{b}\"\n",
    "v: \"{a}\\\\/\"\n", "v: [!t, {a}]\n", "v: [!t,{a}]\n", "v: [!!str, {a}]\n", "v: [&x {a}, *x]\n", "!t,{a}: {b}\n",
    "v: !t,{a} {b}\n", "v: !t[{a}] {b}\n", "v: [!t[{a}] {b}]\n", "%YAML 1.2\n---\nv: {a}\n", "%YAML 1.1\n---\nv: {a}\n",
    "a: &x {a}\nb: &x {b}\nc: *x\n", "v: ! {a}\n", "v: !<!> {a}\n", "! {a}: {b}\n", "v: [! {a}, {b}]\n",
    "v: [{a}: {b}]\n", "v: [? {a}]\n", "v: [?]\n", "v: {{? {a}}}\n", "v: [{a}\n  ?{b}]\n", "v: '{a}'\n",
    "<<: [&m {{{a}: 1}}, *m]\nk: {b}\n", "b: &l [{a}]\n<<: *l\n", "b: &s {a}\n<<: *s\n", "a: 1\n<<: {{a: {b}}}\n",
    "v: !!binary QR==\n", "v: !!binary QQ\n", "v: !!binary QQ==QQ==\n", "v: !!binary =QUJD\n", "v: !!binary |\n  QUJD\n  QQ==\n",
    "a: &m <<\nb:\n  *m : {a}\n", "a: &m <<\nb: {{*m : {a}}}\n", "a: &m !!merge <<\nb: {{*m : {{x: {a}}}}}\n",
    "v: !!binary \"QUJD\\rQQ==\"\n", "v: !!binary \"QUJD\\tQQ==\"\n", "v: !!binary /w==\n", "v: !!binary wyg=\n",
    # a `?` outside every flow collection, with one beside it (CEL in policies and RGDs), and inside
    "v: \"{a} ? {b}\"\nw: [{a}]\n", "v: >-\n  x.?{a}\nw: {{k: {b}}}\n", "v: x ? {a}\nw: [{b}]\n",
    "v: |\n  [{a}?]\nw: [{b}]\n", "v: '[?{a}]'\nw: {{k: [{b}]}}\n", "v: [{a}] # what?\nw: {b}\n",
    "? {a}\n: [{b}]\n", "v: [{a}, \"{b}?\"]\n", "v: [{a}, # what?\n  {b}]\n", "v: {{k: '{a}?'}}\n",
    "v: [[{a}], [{b}?]]\nw: x\n", "v: ?{a}\nw: [{b}]\n", "v: [{a}]\n? {b}\n: c\n",
]


def _syntax_cases(rnd: random.Random, count: int) -> list[Case]:
    words = ["a", "x1", "1", "http://h", "y", "b:c", "~", "1.5", "-", "a b", "0x1F"]
    return [Case("syntax", rnd.choice(SYNTAX_TEMPLATES).format(a=rnd.choice(words), b=rnd.choice(words)))
            for _ in range(count)]


def _limit_cases() -> list[Case]:
    return [Case("limits", "a: " + "[" * depth + "]" * depth + "\n") for depth in (199, 200, 201, 500)]


def generate(count: int = 100_000, seed: int = 13) -> list[Case]:
    """`count` cases (at least), the same for the same seed: scalars as values and keys in every
    style and tag, whole documents, and the alias and limit cases."""
    rnd = random.Random(seed)
    fixed = _alias_cases() + _limit_cases() + _float_key_cases(rnd, count // 50) + _syntax_cases(rnd, count // 50)
    documents = _document_cases(rnd, count // 5)
    return fixed + documents + _scalar_cases(rnd, max(0, count - len(fixed) - len(documents)))
