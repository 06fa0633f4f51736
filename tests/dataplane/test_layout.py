"""The buckets' key layout (seqpipe.aws.layout) is the one the state machine and the read side use."""

from __future__ import annotations

import re
from typing import Any

import pytest

from seqpipe.aws.layout import manifest_key, report_under, run_output_uri, storage_of
from seqpipe.orchestration.state_machine import StateMachineRefs, build_definition

FORMAT = re.compile(r"^States\.Format\('([^']*)', \$\.run_id\)$")


def _strings(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [s for value in node.values() for s in _strings(value)]
    if isinstance(node, list):
        return [s for value in node for s in _strings(value)]
    return [node] if isinstance(node, str) else []


def test_a_runs_outputs_are_one_prefix_of_the_processed_bucket():
    assert run_output_uri("proc", "r1") == "s3://proc/runs/r1/results"
    assert storage_of(run_output_uri("proc", "r1")) == ("s3://proc/runs/r1", "results")
    assert report_under("s3://proc/runs/r1/results/") == "s3://proc/runs/r1/results/qc/multiqc_report.html"
    assert manifest_key("r1") == "r1/manifest.json"
    for bucket, run_id in (("proc", "a/b"), ("proc/x", "r1"), ("proc", ""), ("", "r1")):
        with pytest.raises(ValueError, match="single path segments"):
            run_output_uri(bucket, run_id)
    for uri in ("s3://proc", "s3://proc/", "/local/results"):
        with pytest.raises(ValueError, match="s3://bucket/prefix/outdir"):
            storage_of(uri)


def test_the_state_machine_sends_every_run_output_where_the_layout_puts_it():
    refs = StateMachineRefs(*(f"ref-{i}" for i in range(7)), processed_bucket="proc", delivery_bucket="dlv")
    formats = [s for s in _strings(build_definition(refs)) if s.startswith("States.Format")]
    # the head job's SEQPIPE_OUTPUT_URI, and the output_uri of CollectQC and Finalize
    assert len(formats) == 3
    for expression in formats:
        template = FORMAT.match(expression)
        assert template, expression
        assert template.group(1).replace("{}", "RUN_7") == run_output_uri("proc", "RUN_7")
