"""wavegate's loader reads YAML exactly as Kubernetes does: on 100,000 generated documents it
agrees with sigs.k8s.io/yaml v1.6.0 (the yaml-oracle built by scripts/install-tools), the reader
of kubectl, the Argo CD repo server and the API server. Every disagreement is a failure, except
the named deliberate ones in tests/yaml_oracle.py (DELIBERATE), each with its reason.

The harness (tests/yaml_oracle.py) takes any loader: the native loader (wavegate.load_native,
with the Python path where it hands over) and the Python path alone are both held to it."""

from __future__ import annotations

import time
from collections import Counter

import pytest
import yaml

from tests import yaml_oracle
from tests.yaml_oracle import DELIBERATE, Outcome, compare, generate, wavegate_loader

pytestmark = pytest.mark.integration

CASES = 100_000


def test_the_loader_reads_yaml_as_sigs_k8s_io_yaml_does():
    start = time.monotonic()
    cases = generate(CASES)
    # The native loader (what `load` uses where it was built) and the Python path's one-pass
    # builder on every case; the general path (positions kept) on every tenth: the unit tests hold
    # the paths together on the rest.
    reports = compare({"native": wavegate_loader(True, native=True), "one-pass": wavegate_loader(True),
                       "general": wavegate_loader(False)}, cases, every={"general": 10})
    elapsed = time.monotonic() - start
    for name, report in reports.items():
        shown = "\n".join(str(d) for d in report.differences[:20])
        assert not report.differences, (
            f"{name} path: {len(report.differences)} of {report.cases} documents read unlike sigs.k8s.io/yaml "
            f"(families: {dict(Counter(d.case.family for d in report.differences))}):\n{shown}")
        assert set(report.deliberate) <= set(DELIBERATE)

    # What was compared: every family, every YAML 1.1/1.2 form of the vocabulary, and documents
    # sigs.k8s.io/yaml refuses for each of its reasons as well as more than half it accepts.
    report = reports["one-pass"]
    assert report.cases == len(cases) >= CASES
    assert set(Counter(case.family for case in cases)) == {
        "value", "key", "flow", "explicit", "document", "aliases", "limits", "float-key", "syntax"}
    every_text = "".join(case.text for case in cases)
    for form in yaml_oracle.BOOLEANS + yaml_oracle.NULLS[:-1] + yaml_oracle.INTEGERS + yaml_oracle.FLOATS \
            + yaml_oracle.TIMESTAMPS + yaml_oracle.TAGS:
        assert form in every_text, form
    for reason in ("invalid map key", "unsupported map key of type", "json: unsupported value", "cannot decode !!",
                   "map merge requires map or seq", "document contains excessive a", "did not find expected ',' or",
                   "found unknown escape characte", "found incompatible YAML docum", "!!binary value contains inval"):
        assert any(found.startswith(reason) for found in report.refusals), (reason, report.refusals)
    assert sum(report.refusals.values()) < len(cases) / 2
    # The native loader read most documents itself (it hands the rest to the Python path).
    from wavegate import load_native

    natively = sum(load_native.readable(c.text) and load_native.parse(c.text, 200, 10**6) is not None for c in cases)
    assert natively > len(cases) / 2, natively
    print(f"\n{len(cases):,} documents in {elapsed:.1f} s; deliberate differences: {dict(report.deliberate)}")


def test_a_loader_that_reads_yaml_as_pyyaml_does_is_caught():
    # The harness is not vacuous: PyYAML's YAML 1.1 typing (sexagesimal 12:30:00, yes/no but not
    # y/n, 0o17 as text, 1e3 as text, timestamps as dates) disagrees on many documents.
    def pyyaml(text: str) -> Outcome:
        try:
            data = yaml.load(text, Loader=yaml.CSafeLoader)
        except yaml.YAMLError:
            return Outcome(refused=("yaml",))
        except Exception:  # noqa: BLE001 - a date or unhashable key: refused for this comparison
            return Outcome(refused=("constructor",))
        return Outcome(data=data) if isinstance(data, dict) else Outcome(refused=("yaml-not-a-mapping",))

    cases = [c for c in generate(5_000, seed=3) if c.family in ("value", "key")]
    report = compare({"pyyaml": pyyaml}, cases)["pyyaml"]
    texts = {d.case.text for d in report.differences}
    assert {"v: y\n", "v: 12:30:00\n", "v: 0o17\n", "v: 1e3\n"} <= texts
