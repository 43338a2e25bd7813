"""`wavegate promote --plan` as a user runs it, with no cluster to read the gates from."""

import subprocess

from tests.e2e.test_golden_path import MATRIX, run, write_values


def test_plan_without_a_reachable_cluster_shows_the_plan_and_blocks_on_the_health_gate(tmp_path):
    values = write_values(tmp_path / "values.yaml", **dict(MATRIX[3][1]))
    repo = tmp_path / "repo"
    assert run("-m", "wavegate", "init", repo, "--values", values, "--variant", "environments").returncode == 0
    pipeline = repo / "environments" / "dev" / "kro-cicd-pipeline.yaml"
    git = ["git", "-C", str(repo), "-c", "user.email=dev@example.com", "-c", "user.name=dev"]
    subprocess.run(git[:3] + ["init", "-q", "-b", "main"], check=True)
    subprocess.run(git + ["add", "-A"], check=True)
    subprocess.run(git + ["commit", "-qm", "generated"], check=True)
    pipeline.write_text(pipeline.read_text().replace("us-east-1", "us-west-2"))
    subprocess.run(git + ["commit", "-qam", "dev: move region"], check=True)

    done = run("-m", "wavegate", "promote", "--from", "dev", "--to", "staging", "--plan", cwd=repo,
               env={"KUBECONFIG": str(tmp_path / "missing-kubeconfig")})
    assert done.returncode == 1, done.stdout + done.stderr
    assert '/spec/aws/region: "us-east-1" → "us-west-2"' in done.stdout
    assert "healthy: FAILED: cannot read dev's Application" in done.stdout
    assert "--skip-gates" in done.stdout and "Traceback" not in done.stderr
