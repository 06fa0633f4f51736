"""config/multiqc.yaml: each caller the config allows has its own bcftools instance in the report."""

from __future__ import annotations

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def test_every_caller_has_a_bcftools_instance_that_names_its_samples_plainly() -> None:
    schema = yaml.safe_load((REPO / "config/schemas/config.schema.yaml").read_text())
    callers = set(schema["properties"]["calling"]["properties"]["callers"]["items"]["enum"])
    multiqc = yaml.safe_load((REPO / "config/multiqc.yaml").read_text())
    instances = {
        entry["bcftools"]["anchor"]: entry["bcftools"]
        for entry in multiqc["module_order"]
        if isinstance(entry, dict) and "bcftools" in entry
    }
    per_caller = {anchor.removeprefix("bcftools_") for anchor in instances} - {"joint"}
    assert per_caller == callers
    cleaned = {(e["module"], e["pattern"]) for e in multiqc["extra_fn_clean_exts"] if isinstance(e, dict)}
    for caller in callers:
        assert instances[f"bcftools_{caller}"]["path_filters"] == [f"*.{caller}.stats"]
        assert (f"bcftools_{caller}", f".{caller}") in cleaned
    assert instances["bcftools_joint"]["generalstats"] is False
