"""wavegate's whole ApplicationSet expansion against Argo CD's render called directly.

Hundreds of generated ApplicationSets (one list element each, a template placed in an annotation,
a label key, the source path and a Helm valuesObject) go through wavegate's path: the YAML file
read by wavegate's loader, the parameters passed to appset-batch, Argo CD's generator loop, the
answer turned into Applications, findings and template lines. The reference is Argo CD's own
`RenderTemplateParams`, called by the helper directly on the parameters Argo CD's list generator
makes of the element's YAML as the API server decodes it. Output must be identical, or the error
identical and reported at the template's line.
"""

from __future__ import annotations

import json
import random

import pytest

from wavegate.argocd.appset import Expander, is_applicationset
from wavegate.load import load
from wavegate.tools import find_tool

GO_CASES = 260
FAST_CASES = 60

# Scalars as YAML writes them: the loader must type each exactly as sigs.k8s.io/yaml does.
SCALARS = [
    "staging", "eu-west-1", "Hello World", "'quote\"d'", "\"it's\"", "ünïcödé", "\"multi\\nline\"",
    "'{{ .env }}'", "'  spaced  '", "''", "'a:b'", "'#hash'", "'*star'", "web/api", "UPPER_case",
    "0", "1", "42", "-7", "3.14", "1e3", "1000000", "12345678901234567890", "0x1F", "017", "0o17", "+12",
    "1_000", "true", "false", "yes", "no", "on", "off", "y", "n", "True", "~", "null", "2024-01-01",
    "2024-01-01T10:00:00Z", "12:30:00", "-.5", "'007'", "\"\\u00e9t\\u00e9\"",
]
STRINGS = [s for s in SCALARS if not s[0].isdigit() and s not in (
    "true", "false", "yes", "no", "on", "off", "y", "n", "True", "~", "null", "-7", "+12", "-.5")]
KEYS = ["env", "region", "name", "num", "flag", "tier"]

GO_ACTIONS = [
    "{{ .KEY }}", "{{.KEY}}", "{{ .nested.b.c }}", "{{ .nested.b }}", "{{ .nested.missing.x }}", "{{ .missing }}",
    "{{ index .list 1 }}", "{{ index .list 5 }}", "{{ .KEY | upper }}", "{{ .KEY | quote }}",
    "{{ .KEY | default \"dflt\" }}", "{{ .missing | default \"dflt\" }}", "{{ toJson .nested }}",
    "{{ toYaml .nested }}", "{{ .nested | toPrettyJson }}", "{{ normalize (toString .KEY) }}",
    "{{ slugify (toString .KEY) }}", "{{ toString .KEY | trunc 3 }}", "{{ toString .KEY | b64enc }}",
    "{{ sha256sum (toString .KEY) }}", "{{ printf \"%v-%T\" .KEY .KEY }}", "{{ .num | add 1 }}",
    "{{ typeOf .KEY }}", "{{ kindOf .KEY }}", "{{ join \",\" .list }}", "{{ len .list }}",
    "{{ if .flag }}yes{{ else }}no{{ end }}", "{{ range $i, $v := .list }}{{$i}}={{$v}};{{ end }}",
    "{{ hasKey . \"KEY\" }}", "{{ dig \"nested\" \"b\" \"c\" \"none\" . }}", "{{ env \"HOME\" }}",
    "{{ expandenv \"$HOME\" }}", "{{ getHostByName \"localhost\" }}", "{{ fromYaml \"a: 1\" | toJson }}",
    "{{ fromYamlArray \"[1, 2]\" | toJson }}", "{{ regexReplaceAll \"[^a-z]\" (toString .KEY) \"-\" }}",
    "{{ semverCompare \">=1.2\" \"1.3.0\" }}", "{{ toString .KEY | replace \"-\" \"_\" | title }}",
    "{{ ternary \"a\" \"b\" (eq (toString .KEY) \"staging\") }}", "{{ required \"need it\" .missing }}",
    "{{ fail \"boom\" }}", "{{ splitList \"-\" (toString .KEY) | first }}", "{{ .KEY.sub }}", "{{ . }}",
    "{{ .KEY | lower | nospace }}", "{{ list 1 2 | toJson }}", "{{ dict \"a\" .KEY | toJson }}",
    "{{ .list | last }}", "{{ coalesce .missing .KEY }}", "{{ empty .missing }}", "{{ .num | int64 | mul 2 }}",
    "{{ toYaml . }}", "{{ default \"x\" .flag }}", "{{ .KEY | squote }}", "{{ cat .KEY .missing }}",
    # syntax errors and removed functions
    "{{ .KEY ", "{{ end }}", "{{ if .KEY }}x", "{{ nosuchfunc .KEY }}", "{{ \"unterminated }}",
    # text around actions
    "-", "/", "é", "{{\"{{\"}}", "{{ \"\\\"\" }}", "plain", "  ", "{{- \" trimmed \" -}}",
]
FAST_ACTIONS = ["{{KEY}}", "{{ KEY }}", "{{values.tier}}", "{{missing}}", "{{}}", "{{ KEY", "}}", "{{{KEY}}}",
                "-", "text", "{{nested.b}}", "{{ values.tier }}"]
OPTIONS = [[], ["missingkey=error"], ["missingkey=zero"], ["missingkey=default"],
           ["missingkey=error", "missingkey=zero"]]


@pytest.fixture(scope="module")
def tool():
    return find_tool("appset-batch")  # missing: the test fails, never skips


def element_yaml(rng: random.Random, go: bool) -> str:
    """One list element, as YAML (a block mapping)."""
    if rng.random() < 0.04:
        return "{}"
    lines = []
    for key in rng.sample(KEYS, rng.randint(1, len(KEYS))):
        lines.append(f"{key}: {rng.choice(SCALARS if go else STRINGS)}")
    if go:
        if rng.random() < 0.7:
            lines += ["nested:", "  b:", f"    c: {rng.choice(SCALARS)}", f"    d: {rng.choice(SCALARS)}"]
        if rng.random() < 0.6:
            lines += ["list:"] + [f"  - {rng.choice(SCALARS)}" for _ in range(rng.randint(0, 4))]
            if lines[-1] == "list:":
                lines[-1] = "list: []"
    else:
        if rng.random() < 0.5:
            lines += ["values:", f"  tier: {rng.choice(STRINGS)}"]
        if rng.random() < 0.1:  # fasttemplate takes strings only: Argo CD's list generator refuses the rest
            lines.append(f"count: {rng.choice(['3', 'true', '[a]'])}")
    return "\n".join(lines)


def template_text(rng: random.Random, go: bool, keys: list[str]) -> str:
    actions = GO_ACTIONS if go else FAST_ACTIONS
    parts = []
    for _ in range(rng.randint(1, 3)):
        key = rng.choice(keys + ["missing"])
        parts.append(rng.choice(actions).replace("KEY", key))
    return "".join(parts)


def case(rng: random.Random, index: int, go: bool) -> dict:
    element = element_yaml(rng, go)
    keys = [line.split(":")[0] for line in element.splitlines() if line[:1].isalpha()] or ["env"]
    template = template_text(rng, go, keys)
    options = rng.choice(OPTIONS) if go else []
    labelled = rng.random() < 0.3
    tmpl = {
        "metadata": {"name": "diff", "annotations": {"out": template}},
        "spec": {"project": "default",
                 "source": {"repoURL": "https://gitlab.example.com/diff.git", "path": template,
                            "helm": {"valuesObject": {"outer": {"inner": template}}}},
                 "destination": {"server": "https://kubernetes.default.svc", "namespace": "diff"}},
    }
    if labelled:
        tmpl["metadata"]["labels"] = {template: "k"}
    q = json.dumps
    element_block = "\n".join(("          - " if i == 0 else "            ") + line
                              for i, line in enumerate(element.splitlines()))
    labels = f"      labels:\n        {q(template)}: k\n" if labelled else ""
    text = (
        "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata:\n"
        f"  name: d{index}\n  namespace: argocd\nspec:\n"
        f"  goTemplate: {'true' if go else 'false'}\n  goTemplateOptions: {q(options)}\n"
        "  generators:\n    - list:\n        elements:\n"
        f"{element_block}\n"
        "  template:\n    metadata:\n      name: diff\n      annotations:\n"
        f"        out: {q(template)}\n{labels}"
        "    spec:\n      project: default\n      source:\n        repoURL: https://gitlab.example.com/diff.git\n"
        f"        path: {q(template)}\n        helm:\n          valuesObject:\n            outer:\n"
        f"              inner: {q(template)}\n"
        "      destination:\n        server: https://kubernetes.default.svc\n        namespace: diff\n"
    )
    return {"name": f"d{index}", "text": text, "element": element, "template": tmpl, "go": go, "options": options}


def present(data, path: tuple) -> bool:
    """Whether `path` is in `data` (a field rendered empty is left out of an Application)."""
    for step in path:
        if not isinstance(data, dict) or step not in data:
            return False
        data = data[step]
    return True


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if line.lstrip().startswith(needle))


def test_expansion_equals_argo_cds_render_on_generated_templates(tool, tmp_path):
    rng = random.Random(20260812)
    cases = [case(rng, i, True) for i in range(GO_CASES)] + \
            [case(rng, GO_CASES + i, False) for i in range(FAST_CASES)]
    for c in cases:
        (tmp_path / f"{c['name']}.yaml").write_text(c["text"], encoding="utf-8")
    repo = load(tmp_path)
    assert not [p for p in repo.problems if p.severity >= 3], repo.problems
    by_name = {m.name: m for m in repo.manifests if is_applicationset(m)}
    outcomes = {"rendered": 0, "error": 0}
    mismatches = []
    with Expander(tmp_path, "https://gitlab.example.com/diff.git", [], binary=tool) as expander:
        for c in cases:
            reference = expander.ask({"render": {"template": c["template"], "element": c["element"],
                                                 "goTemplate": c["go"], "options": c["options"],
                                                 "namespace": "argocd"}})
            expansion = expander.expand(by_name[c["name"]])
            problem = compare(c, reference, expansion)
            if problem:
                mismatches.append(f"{c['name']}: {problem}\n{c['text']}")
            outcomes["rendered" if "application" in reference else "error"] += 1
    assert not mismatches, f"{len(mismatches)} of {len(cases)} differ; first:\n" + "\n".join(mismatches[:3])
    # the corpus exercises both outcomes in earnest
    assert outcomes["rendered"] > 120 and outcomes["error"] > 60, outcomes


def compare(c: dict, reference: dict, expansion) -> str:
    if "application" in reference:
        if expansion.problems:
            return f"wavegate reports {expansion.problems[0].message!r}, Argo CD renders"
        if len(expansion.generated) != 1:
            return f"{len(expansion.generated)} Applications generated"
        generated = expansion.generated[0]
        if generated.data != reference["application"]:
            return (f"output differs:\n  wavegate: {json.dumps(generated.data)}\n"
                    f"  argo cd:  {json.dumps(reference['application'])}")
        for path, needle in ((("metadata", "annotations", "out"), "out:"), (("spec", "source", "path"), "path:"),
                             (("spec", "source", "helm", "valuesObject", "outer", "inner"), "inner:")):
            if present(generated.data, path) and generated.location(path)[1] != line_of(c["text"], needle):
                return f"{path} is located at line {generated.location(path)[1]}"
        return ""
    error = reference["renderError"]
    if expansion.generated:
        return f"wavegate generates {expansion.generated[0].data}, Argo CD fails: {error}"
    if len(expansion.problems) != 1:
        return f"{len(expansion.problems)} findings for Argo CD's error {error!r}"
    finding = expansion.problems[0]
    if finding.rule != "applicationset-generation-failed" or not finding.message.endswith(": " + error):
        return f"message {finding.message!r}, Argo CD's error {error!r}"
    # a template error at the first template field, a generator error at the generator
    expected = line_of(c["text"], "- list:") if error.startswith("error parsing") else line_of(c["text"], "out:")
    if finding.line != expected:
        return f"error at line {finding.line}, expected {expected}"
    return ""
