"""The merge-request note with the diff, as GitLab would show it: posted through python-gitlab to the
loopback GitLab API, its markdown rendered (CommonMark with tables and HTML, as GitLab's GLFM), and
every Mermaid diagram in it drawn by a real Mermaid (mermaid-cli driving headless Chromium,
scripts/install-tools --only mmdc; missing, the test fails)."""

from __future__ import annotations

import html
import json
import re
import subprocess
import textwrap
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from tests.gitlab_server import NOTE_LIMIT, GitLabServer
from tests.integration.test_diff import Repo, application, deployment
from wavegate.cli import main
from wavegate.cluster.tools import find_tool
from wavegate.diff.model import CHANGED, AppDiff, Diff, FieldChange, ObjectChange, ObjectKey, Step
from wavegate.diff.output import markdown
from wavegate.gitlab import GitLab, GitLabError
from wavegate.report.gitlab_note import MARKER, with_diff

pytestmark = pytest.mark.integration

TOKEN = "glpat-DiffNoteSecret-abc123"
SHA = "89abcdef0123456789abcdef0123456789abcdef"


def mermaid_blocks(rendered_html: str) -> list[str]:
    return [html.unescape(block) for block in
            re.findall(r'<pre><code class="language-mermaid">(.*?)</code></pre>', rendered_html, re.S)]


def draw(tmp_path: Path, diagrams: list[str]) -> subprocess.CompletedProcess:
    """Every diagram drawn by mermaid-cli in one browser: it reads a markdown file and writes an SVG
    per mermaid block, failing on the first one Mermaid cannot parse or lay out."""
    source = tmp_path / "diagrams.md"
    source.write_text("".join(f"```mermaid\n{d}\n```\n\n" for d in diagrams))
    return subprocess.run([str(find_tool("mmdc")), "-i", str(source), "-o", str(tmp_path / "drawn.md"), "-q"],
                          capture_output=True, text=True, timeout=240)


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    """A change touching every part of the diagram: hooks in two phases, several waves, a step with
    many unchanged objects (folded), an Application added and one removed, a prune."""
    tmp = tmp_path_factory.mktemp("story")
    many = "".join(f"---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings-{i}\ndata:\n  k: v\n"
                   for i in range(8))
    hook = textwrap.dedent("""\
        apiVersion: batch/v1
        kind: Job
        metadata:
          name: {name}
          annotations:
            argocd.argoproj.io/hook: {phase}
        spec:
          template:
            spec:
              restartPolicy: Never
              containers: [{{name: m, image: "registry.example.com/tool:1"}}]
        """)
    repo = Repo(tmp / "r", {
        "argocd/web.yaml": application("web", "apps/web"),
        "argocd/gone.yaml": application("gone", "apps/gone"),
        "apps/gone/config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: gone\n",
        "apps/web/deployment.yaml": deployment(wave="2"),
        "apps/web/settings.yaml": many,
        "apps/web/old.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: old\nspec:\n  ports: [{port: 80}]\n",
    })
    repo.remove("argocd/gone.yaml", "apps/gone/config.yaml", "apps/web/old.yaml")
    repo.write({
        "argocd/api.yaml": application("api", "apps/api"),
        "apps/api/deployment.yaml": deployment("api"),
        "apps/web/deployment.yaml": deployment(wave="2", replicas=4),
        "apps/web/hooks.yaml": hook.format(name="migrate", phase="PreSync") + "---\n"
                               + hook.format(name="smoke-test", phase="PostSync"),
        "apps/web/settings.yaml": many.replace("settings-3\ndata:\n  k: v", "settings-3\ndata:\n  k: changed"),
    })
    out = tmp / "diff.json"
    assert main(["diff", str(repo.root), "--base", "main", "--format", "json", "--output", str(out),
                 "--report", f"markdown={tmp / 'diff.md'}"]) == 0
    return out


def test_every_diagram_of_a_diff_is_valid_mermaid(story, tmp_path):
    diff = Diff.from_json(json.loads(story.read_text()))
    rendered = MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown(diff))
    diagrams = mermaid_blocks(rendered)
    assert len(diagrams) == 3  # web, api (added), gone (removed)
    web = next(d for d in diagrams if "migrate" in d)
    assert web.index('PreSync · wave 0') < web.index('Sync · wave 2') < web.index('PostSync') < web.index('"Prune"')
    assert '{{"+ hook Job shop/migrate"}}' in web  # a hook is a hexagon
    assert '"7 unchanged"' in web and '"~ ConfigMap shop/settings-3"' in web
    drawn = draw(tmp_path, diagrams)
    assert drawn.returncode == 0, drawn.stderr
    assert len(list(tmp_path.glob("drawn-*.svg"))) == 3


def test_the_mermaid_check_fails_on_a_diagram_mermaid_cannot_parse(tmp_path):
    """The control: the same check refuses a broken diagram, so a pass above means something."""
    drawn = draw(tmp_path, ['flowchart LR\n  subgraph s0["Sync · wave 0"\n    a["x"]\n'])
    assert drawn.returncode != 0 and "Parse error" in drawn.stderr


def test_the_note_as_gitlab_shows_it(story, tmp_path, monkeypatch):
    findings = tmp_path / "wavegate.json"
    findings.write_text(json.dumps({"version": 1, "findings": [], "summary": {"files": 3, "resources": 12}}))
    with GitLabServer(token=TOKEN) as server:
        project = server.add_project("platform/shop", branches=("main", "feature"))
        server.add_merge_request(project["id"], "feature")
        for name, value in {"CI_SERVER_URL": server.url, "GITLAB_TOKEN": TOKEN, "CI_PROJECT_ID": str(project["id"]),
                            "CI_MERGE_REQUEST_IID": "1", "CI_PROJECT_URL": "https://gitlab.example.com/platform/shop",
                            "CI_COMMIT_SHA": SHA, "CI_JOB_URL": "https://gitlab.example.com/platform/shop/-/jobs/9"}.items():
            monkeypatch.setenv(name, value)
        assert main(["report", "--gitlab-note", "--input", str(findings), "--diff", str(story)]) == 0
        assert main(["report", "--gitlab-note", "--input", str(findings), "--diff", str(story)]) == 0  # updated in place
        [note] = server.notes[(project["id"], 1)]
    body = note["body"]
    assert body.startswith(MARKER) and "no findings" in body
    page = MarkdownIt("commonmark", {"html": True}).enable("table").render(body)
    assert page.count("<details>") == 3 and page.count("<summary>") == 3
    assert "<summary><b>web</b> (changed: 2 added, 2 changed, 1 removed)</summary>" in page
    assert "<td>api</td>\n<td>added</td>" in page and "<td>gone</td>\n<td>removed</td>" in page
    assert '<code class="language-diff">' in page and "+  replicas: 4" in html.unescape(page)
    assert 'href="https://gitlab.example.com/platform/shop/-/blob/' not in page or SHA in page
    drawn = draw(tmp_path, mermaid_blocks(page))
    assert drawn.returncode == 0, drawn.stderr
    assert body.index("wavegate diff") < body.index("This note is updated by every pipeline")


def big_diff(applications: int, diff_size: int) -> Diff:
    apps = []
    for i in range(applications):
        key = ObjectKey("apps", "Deployment", "shop", f"web-{i}")
        obj = ObjectChange(key, CHANGED, "apps/v1", path=f"apps/web-{i}/deployment.yaml", line=1,
                           fields=[FieldChange("/spec/replicas", "replace", 1, 2, path="x.yaml", line=6)],
                           diff="+" + "x" * diff_size)
        apps.append(AppDiff(f"web-{i}", CHANGED, objects=[obj], steps=[Step("Sync", 0, [(key, CHANGED, False)])]))
    return Diff("main", "working tree", applications=apps)


def test_a_diff_past_gitlabs_note_limit_is_cut_and_says_where_the_rest_is(tmp_path):
    diff = big_diff(40, 60_000)  # 2.4 MB of rendered diff
    findings_part = f"{MARKER}\n### ✅ wavegate: no findings in 3 files\n\n<sub>This note is updated by every pipeline.</sub>\n"
    body = with_diff(findings_part, diff, artifact_url="https://gitlab.example.com/p/-/jobs/9/artifacts/file/wavegate-diff.md")
    assert len(body) <= NOTE_LIMIT
    assert "Cut to stay under GitLab's note size limit" in body
    assert "[the full diff](https://gitlab.example.com/p/-/jobs/9/artifacts/file/wavegate-diff.md)" in body
    assert body.count("| web-") == 40  # every Application is in the table
    with_rendered_diff = body.count("```diff")
    assert 0 < with_rendered_diff < 40 and "Rendered diff cut to keep the note under" in body
    with GitLabServer(token=TOKEN) as server:
        project = server.add_project("platform/shop", branches=("main", "feature"))
        server.add_merge_request(project["id"], "feature")
        gitlab = GitLab(server.url, TOKEN)
        gitlab.upsert_summary_note(project["id"], 1, body, MARKER)  # accepted
        uncut = with_diff(findings_part, diff, limit=10**9)
        assert len(uncut) > NOTE_LIMIT
        with pytest.raises(GitLabError):
            gitlab.upsert_summary_note(project["id"], 1, uncut, MARKER)  # what GitLab would refuse


def test_markdown_without_a_budget_is_the_whole_diff():
    diff = big_diff(3, 1000)
    text = markdown(diff)
    assert text.count("<details>") == 3 and "Cut" not in text
