"""wavegate on the repository the golden path came from (shared/reference/appmod-blueprints, two
snapshots), as a whole: every file it holds (Backstage templates, ApplicationSets, kro charts)
is read and judged, and a run ends with findings, never an internal error."""

from __future__ import annotations

import shutil

import pytest

from tests.helpers import shared
from wavegate import pipeline
from wavegate.findings import Severity


@pytest.mark.parametrize("snapshot", ["at-7e8ddfab", "at-fcc75366"])
def test_each_snapshot_is_validated_whole(tmp_path, snapshot):
    root = tmp_path / snapshot
    shutil.copytree(shared("reference", "appmod-blueprints", snapshot), root)
    run = pipeline.validate(pipeline.Options(root=root, cache=False))
    assert not [f for f in run.findings if f.rule == "internal-error"]
    # The platform template's skeleton is rendered, and what only Backstage knows is said as such.
    assert [f for f in run.findings if f.rule == "backstage-value-unknown" and f.severity == Severity.INFO]
    assert run.resources > 0
