"""The origin repository (shared/reference/appmod-blueprints at 7e8ddfab) rendered the way Backstage
would: its GitOps template's skeleton with sample values, plus the Application and AppProject its
steps create. Tests use it to check wavegate, and our template, against real-world input."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.helpers import shared
from wavegate.scaffold.render import render_text, render_tree

TEMPLATES = ("reference", "appmod-blueprints", "at-7e8ddfab", "platform", "backstage", "templates", "cicd-pipeline")
SAMPLE_VALUES = {
    "appname": "web", "namespace": "team-web", "aws_region": "us-west-2", "aws_account_id": "123456789012",
    "gitlab_hostname": "gitlab.example.com", "argocd_hostname": "argocd.example.com", "git_username": "platform",
    "cluster_name": "peeks-hub-cluster", "aws_resource_prefix": "peeks", "dockerfile_path": ".",
    "deployment_path": "./deployment", "created_by": "jane",
}
REPO_URL = "https://gitlab.example.com/platform/web-cicd.git"


def origin_template() -> dict:
    return yaml.safe_load(shared(*TEMPLATES, "template-cicd-pipeline-gitops.yaml").read_text())


def render_origin(target: Path) -> list[str]:
    """Render the origin into `target`; returns the placeholders Backstage would render empty."""
    missing: list[str] = []
    render_tree(shared(*TEMPLATES, "skeleton"), target, {"values": SAMPLE_VALUES}, missing=missing)
    context = {
        "parameters": {k: SAMPLE_VALUES[k] for k in ("appname", "aws_region", "cluster_name", "dockerfile_path",
                                                    "deployment_path")},
        "steps": {"fetchSystem": {"output": {"entity": {"spec": {
            "gitlab_hostname": SAMPLE_VALUES["gitlab_hostname"], "gituser": SAMPLE_VALUES["git_username"],
            "argocd_hostname": SAMPLE_VALUES["argocd_hostname"], "aws_account_id": SAMPLE_VALUES["aws_account_id"]}}}}},
        "user": {"entity": {"metadata": {"name": SAMPLE_VALUES["created_by"]}}},
    }
    steps = {step["id"]: step for step in origin_template()["spec"]["steps"] if "id" in step}
    for step_id, name in (("create-argocd-app", "application.yaml"), ("create-argocd-project", "project.yaml")):
        out = target / "argocd" / name
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(render_text(steps[step_id]["input"]["manifest"], context, where=f"template:{step_id}",
                                   missing=missing))
    rgd = shared("reference", "appmod-blueprints", "at-7e8ddfab", "gitops", "addons", "charts", "kro",
                 "resource-groups", "cicd-pipeline", "cicd-pipeline.yaml")
    (target / ".wavegate.yaml").write_text(f"repoURL: {REPO_URL}\nschemas: [{rgd}]\n")
    return missing
