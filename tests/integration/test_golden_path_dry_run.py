"""The golden path applied for real: `wavegate init` output, dry-run on the local control plane."""

import json

import pytest

from tests.e2e.test_golden_path import KRO_SCHEMAS, MATRIX, run, write_values

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("variant, values", MATRIX, ids=[f"{v}-{vals['appname'][:12]}" for v, vals in MATRIX])
def test_init_output_applies_cleanly_on_the_local_control_plane(tmp_path, variant, values):
    target = tmp_path / "repo"
    values_file = write_values(tmp_path / "values.yaml", **values)
    args = ["-m", "wavegate", "init", target, "--values", values_file]
    if variant != "single":
        args += ["--variant", variant]
    created = run(*args)
    assert created.returncode == 0, created.stdout + created.stderr
    done = run("-m", "wavegate", "dry-run", target, "--cluster", "local", "--schemas", KRO_SCHEMAS,
               "--format", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["findings"] == []
    # Every Application's resources were applied (Namespace and CICDPipeline per environment), and
    # the AppProject and the Applications themselves.
    assert report["summary"]["resources"] == (2 + 2 if variant == "single" else 6 + 1 + 3)
