"""The real-world check: the origin skeleton (appmod-blueprints 7e8ddfab), rendered as Backstage
would render it, together with the Application and AppProject its GitOps template creates.

Every finding wavegate reports on it is listed here with why it is a true defect, so a rule that
starts or stops firing on real input shows up as a failing test."""

from tests.helpers import check_repo
from tests.origin import REPO_URL, render_origin
from wavegate.findings import Finding

TRIAGE = {
    ("argocd-finalizer-as-annotation", "argocd/application.yaml", 14):
        "the template writes the resources finalizer as an annotation, which Argo CD never reads: no cascading delete",
    ("policy-violation", "argocd/application.yaml", 3):
        "same defect seen by the security policy: the Application has no resources finalizer in metadata.finalizers",
    ("ignore-differences-status-redundant", "argocd/application.yaml", 42):
        "(info) Argo CD 3 already ignores /status of every resource; the entry is noise the seed believed was needed",
    ("policy-violation", "argocd/project.yaml", 15):
        "the team AppProject may deploy into the argocd namespace, i.e. create Applications that escape the project",
    ("policy-violation", "argocd/project.yaml", 29):
        "the team AppProject allows every cluster-scoped kind (group *, kind *): ClusterRoleBindings included",
    ("policy-violation", "manifests/argo-app-dev.yaml", 19):
        "the dev Application uses the 'default' project, which bypasses the team project's restrictions",
    ("policy-violation", "manifests/argo-app-prod.yaml", 19):
        "the prod Application uses the 'default' project as well",
    ("schema-unknown-kind", "manifests/bus.yaml", 3):
        "(warning) Argo Events kinds: no CRD is given, so they pass unchecked; the finding says so instead of passing silently",
    ("schema-unknown-kind", "manifests/cicd-pipeline.yaml", 2): "(warning) Argo Events EventSource, no CRD given",
    ("schema-unknown-kind", "manifests/cicd-pipeline.yaml", 20): "(warning) Argo Events Sensor, no CRD given",
    ("schema-unknown-kind", "manifests/gitlab-external-secret.yaml", 2): "(warning) External Secrets kind, no CRD given",
    ("schema-unknown-kind", "manifests/workflow-rbac.yaml", 80): "(warning) ACK IAM Policy, no CRD given",
    ("schema-unknown-kind", "manifests/workflow-rbac.yaml", 109): "(warning) ACK IAM Role, no CRD given",
    ("schema-unknown-kind", "manifests/workflow-rbac.yaml", 143):
        "PodIdentityAssociation is an EKS kind, not IAM: it only got the IAM apiVersion because the '---' before it is missing",
    ("argocd-tracking-label-in-git", "manifests/kro-cicd-pipeline.yaml", 11):
        "argocd.argoproj.io/instance written by hand: under label tracking it claims the object for an app by name",
    ("argocd-tracking-label-in-git", "manifests/namespace.yaml", 10): "the same hand-written tracking label on the Namespace",
    ("kro-instance-as-hook", "manifests/kro-cicd-pipeline.yaml", 21):
        "the CICDPipeline is a Sync hook with BeforeHookCreation: every sync deletes it and kro deletes all it created",
    ("object-duplicate", "manifests/workflow-rbac.yaml", 4):
        "workflow-rbac.yaml defines the team Namespace a second time, without the sync-wave: one silently wins",
    ("yaml-duplicate-key", "manifests/workflow-rbac.yaml", 143):
        "a missing '---' merges two objects: the RolePolicyAttachment's kind is silently replaced (it is never created)",
    ("yaml-duplicate-key", "manifests/workflow-rbac.yaml", 144): "same merge: metadata of the lost object replaced",
    ("yaml-duplicate-key", "manifests/workflow-rbac.yaml", 147): "same merge: spec of the lost object replaced",
    ("render-not-rendered", "manifests/argo-app-dev.yaml", 24):
        "(info) the dev Application deploys another repository (its repoURL template renders an empty group), "
        "which wavegate cannot render here: it says so instead of passing silently",
    ("render-not-rendered", "manifests/argo-app-prod.yaml", 24): "(info) the same for the prod Application",
}


def key(finding: Finding) -> tuple:
    return (finding.rule, finding.path, finding.line)


def test_every_finding_on_the_origin_is_a_triaged_true_defect(tmp_path):
    render_origin(tmp_path)
    findings = check_repo(tmp_path, repo_url=REPO_URL)
    assert sorted(map(key, findings)) == sorted(TRIAGE), "a finding appeared or disappeared; triage it"
    assert all(justification for justification in TRIAGE.values())


def test_the_origin_skeleton_reads_a_value_its_template_never_passes(tmp_path):
    # Backstage renders values.gituser as an empty string: the dev/prod Applications point at
    # https://gitlab.example.com//web, a repository that does not exist.
    assert render_origin(tmp_path) == ["manifests/argo-app-dev.yaml:24: values.gituser",
                                       "manifests/argo-app-prod.yaml:24: values.gituser"]
    assert "repoURL: https://gitlab.example.com//web" in (tmp_path / "manifests" / "argo-app-dev.yaml").read_text()
