"""Backstage Templates kept beside manifests: skeletons rendered with the template's defaults and
validated as the repository they become, findings at the skeleton's lines."""

from tests.helpers import check_repo, with_rule, write_repo
from wavegate.findings import Severity

TEMPLATE = """
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: service
spec:
  owner: platform
  type: service
  parameters:
    - title: Service
      required: [name]
      properties:
        name: {type: string, default: shop}
        team: {type: string}
        replicas: {type: integer, default: 2}
  steps:
    - id: fetch
      action: fetch:template
      input:
        url: ./skeleton
        values:
          name: ${{ parameters.name }}
          team: ${{ parameters.team }}
          replicas: ${{ parameters.replicas }}
          owner: ${{ user.entity.metadata.name }}
"""
DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${{ values.name }}
  labels:
    team: ${{ values.team }}
    owner: ${{ values.owner }}
spec:
  replicas: ${{ values.replicas }}
  selector:
    matchLabels: {app: "${{ values.name }}"}
  template:
    metadata:
      labels: {app: "${{ values.name }}"}
    spec:
      containers:
        - name: app
          image: registry.example.com/${{ values.name }}:1.0.0
"""
CLEAN_MANIFEST = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata: {a: b}\n"


def repo(tmp_path, deployment=DEPLOYMENT):
    return write_repo(tmp_path, {"template/template.yaml": TEMPLATE, "template/skeleton/deploy.yaml": deployment,
                                 "manifests/cm.yaml": CLEAN_MANIFEST})


def test_placeholders_never_reach_the_schema_or_policy_checks(tmp_path):
    findings = check_repo(repo(tmp_path))
    assert [f for f in findings if f.severity >= Severity.WARNING] == []
    assert not [f for f in findings if "${{" in f.message]


def test_each_unknown_value_is_reported_once_where_it_is_first_used(tmp_path):
    findings = with_rule(check_repo(repo(tmp_path)), "backstage-value-unknown")
    assert sorted((f.path, f.line) for f in findings) == [("template/skeleton/deploy.yaml", 6),
                                                          ("template/skeleton/deploy.yaml", 7)]
    assert all(f.severity == Severity.INFO for f in findings)
    team = next(f for f in findings if f.line == 6)
    assert "parameters.team" in team.message and "no default" in team.message


def test_a_skeleton_defect_is_found_at_the_skeleton_line(tmp_path):
    broken = DEPLOYMENT.replace("  replicas: ${{ values.replicas }}", "  replicas: ${{ values.replicas }}\n  replics: 1")
    [finding] = with_rule(check_repo(repo(tmp_path, broken)), "schema-unknown-field")
    assert (finding.path, finding.line) == ("template/skeleton/deploy.yaml", 10)


def test_lines_that_use_an_unknown_value_are_not_judged(tmp_path):
    # team has no default: a label value that would be invalid with the real value is not guessed at
    broken = DEPLOYMENT.replace("    team: ${{ values.team }}", "    team: ${{ values.team }} and more")
    assert [f for f in check_repo(repo(tmp_path, broken)) if f.severity >= Severity.WARNING] == []


def test_a_placeholder_wavegate_cannot_render_is_one_info_finding(tmp_path):
    broken = DEPLOYMENT.replace("${{ values.name }}:1.0.0", "${{ values.name | capitalize }}:1.0.0")
    [finding] = with_rule(check_repo(repo(tmp_path, broken)), "render-not-rendered")
    assert finding.path == "template/skeleton/deploy.yaml" and finding.line == 18


def test_a_value_made_from_several_user_fields_is_unknown_and_its_lines_are_not_judged(tmp_path):
    """The platform's own template names its creator from the first user field that is set: such
    a value is known only when the template runs, so its lines are left alone, and nothing crashes."""
    template = TEMPLATE.replace("owner: ${{ user.entity.metadata.name }}", (
        'owner: ${{ (user.entity.spec.profile.displayName | default(user.entity.metadata.name) | '
        'default("someone")) | replace(" ", "-") }}'))
    root = write_repo(tmp_path, {"template/template.yaml": template, "template/skeleton/deploy.yaml": DEPLOYMENT,
                                 "manifests/cm.yaml": CLEAN_MANIFEST})
    findings = check_repo(root)
    assert [f for f in findings if f.severity >= Severity.WARNING] == []
    [owner] = [f for f in with_rule(findings, "backstage-value-unknown") if f.line == 7]
    assert "values.owner is made from user.entity.spec.profile.displayName" in owner.message


def test_a_template_value_wavegate_cannot_read_is_reported_not_a_crash(tmp_path):
    template = TEMPLATE.replace("owner: ${{ user.entity.metadata.name }}", "owner: ${{ (user.ref | lower }}")
    root = write_repo(tmp_path, {"template/template.yaml": template, "template/skeleton/deploy.yaml": DEPLOYMENT,
                                 "manifests/cm.yaml": CLEAN_MANIFEST})
    [owner] = [f for f in with_rule(check_repo(root), "backstage-value-unknown") if f.line == 7]
    assert "not closed" in owner.message
