"""The output tree that erasure parses, against the files the real workflow writes; the sample ids it
reserves, in every sheet schema; no sample id in X-Ray annotations."""

from __future__ import annotations

import ast
from importlib import resources
from pathlib import Path

import pytest
import yaml
from workflow_layout import WorkflowFile, workflow_files

from seqpipe.output_tree import RESERVED_SAMPLE_IDS, Owner, is_sample_id, parse_output
from seqpipe.sheets import SheetError, load_sheets

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> list[WorkflowFile]:
    return workflow_files(tmp_path_factory.mktemp("layout"))


def test_every_file_the_workflow_writes_belongs_to_the_sample_or_group_its_job_is_for(written):
    assert len(written) > 300  # every output, log and benchmark of 137 jobs
    wrong = []
    for file in written:
        parsed = parse_output(file.path)
        if file.sample:
            expected = (Owner.SAMPLE, file.sample)
        elif file.group:
            expected = (Owner.GROUP, file.group)
        else:  # run-level: the reference, versions, the QC summary, the report, the manifest
            expected = (parsed.owner, None)
            if parsed.owner not in (Owner.RUN, Owner.QC_SUMMARY, Owner.MIXED):
                wrong.append((file.path, parsed))
            continue
        if (parsed.owner, parsed.name) != expected:
            wrong.append((file.path, parsed, expected))
    assert not wrong, wrong[:20]
    owners = {parse_output(f.path).owner for f in written if not f.sample and not f.group}
    assert owners == {Owner.RUN, Owner.QC_SUMMARY, Owner.MIXED}


def test_the_tree_is_found_below_any_outdir_and_a_source_archive_mixes_samples():
    assert parse_output("cram/A.cram").name == "A"
    assert parse_output("deep/er/results/align/A/L1.bam").name == "A"
    assert parse_output("snakemake-workflow-sources.0a1b.tar.xz").owner is Owner.MIXED
    # a sample called like a folder is a file name here, never the folder
    assert parse_output("results/align/qc/L1.bam") == parse_output("align/qc/L1.bam")
    assert parse_output("qc/samtools/S1.stats").name == "S1"


def _reserved_in(schema: dict, field: str) -> set[str]:
    return set(schema["properties"][field]["not"]["enum"])


def test_every_sheet_schema_reserves_the_folder_names_of_the_tree():
    samples = yaml.safe_load((REPO / "config" / "schemas" / "samples.schema.yaml").read_text())
    sheet = yaml.safe_load(resources.files("seqpipe.demux").joinpath("samplesheet.schema.yaml").read_text())
    assert _reserved_in(samples, "sample") == RESERVED_SAMPLE_IDS
    assert _reserved_in(sheet, "Sample_ID") == RESERVED_SAMPLE_IDS
    assert {"qc", "vcf", "calls", "sample", "cram", "logs", "unassigned"} <= RESERVED_SAMPLE_IDS
    assert not is_sample_id("qc") and is_sample_id("S1_qc") and not is_sample_id("S.1")


@pytest.mark.parametrize("name", ["qc", "vcf", "calls", "sample"])
def test_a_folder_named_sample_is_refused_naming_file_line_and_field(tmp_path: Path, name: str):
    (tmp_path / "samples.tsv").write_text(f"sample\nS1\n{name}\n")
    (tmp_path / "units.tsv").write_text(f"sample\tunit\tfq1\tfq2\nS1\tL1\ta\tb\n{name}\tL1\tc\td\n")
    with pytest.raises(SheetError) as refused:
        load_sheets(
            tmp_path / "samples.tsv", tmp_path / "units.tsv", REPO / "config" / "schemas", check_files=False
        )
    assert refused.value.problems == [
        f"{tmp_path / 'samples.tsv'} line 3, field 'sample': '{name}' is reserved: it is a folder name of "
        "the pipeline's outputs (Sample name: letters, digits, '_' and '-', and no folder name of the "
        "outputs; it becomes part of file names and the SM read-group tag.)"
    ]


def test_handlers_annotate_traces_with_run_ids_only_and_keep_responses_out_of_them():
    """X-Ray keeps traces 30 days, out of erasure's reach: annotations carry run ids only, and the
    handlers' responses (which name samples and their files) are not captured as trace metadata."""
    keys, handlers = set(), {}
    for path in (REPO / "src" / "seqpipe" / "handlers").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "put_annotation":
                keys |= {k.value.value for k in node.keywords if k.arg == "key"}
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "capture_lambda_handler":
                handlers[path.stem] = {k.arg: k.value.value for k in node.keywords}
    assert keys == {"run_id"}
    assert handlers == {
        name: {"capture_response": False}
        for name in ("validation_handler", "vcf_processor", "quality_metrics", "metadata_updater")
    }
