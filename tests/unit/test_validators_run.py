"""The runner: a bug in one check becomes a finding, and the other checks still report."""

import wavegate.validators as validators
from tests.helpers import check_repo, with_rule, write_repo

BAD_WAVE = 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: web\n  annotations:\n    argocd.argoproj.io/sync-wave: "x"\n'


def test_a_check_that_raises_is_an_internal_error_finding_and_others_still_run(tmp_path, monkeypatch):
    def broken(repo, ctx):
        raise KeyError("spec")

    real = validators.checks
    monkeypatch.setattr(validators, "checks", lambda: [("broken", broken), *real()])
    write_repo(tmp_path, {"ns.yaml": BAD_WAVE})
    findings = check_repo(tmp_path)
    [internal] = with_rule(findings, "internal-error")
    assert "check 'broken' failed: KeyError" in internal.message and "--debug" in internal.hint
    assert with_rule(findings, "sync-wave-not-integer")


def test_no_internal_error_on_a_healthy_run(tmp_path):
    write_repo(tmp_path, {"ns.yaml": BAD_WAVE})
    assert with_rule(check_repo(tmp_path), "internal-error") == []
