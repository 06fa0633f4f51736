"""Structural check of an Illumina run folder (local directory or S3 prefix).

RunInfo.xml must parse; the run must be complete (RTAComplete.txt); every lane must have its
BaseCalls folder with one folder per cycle. Deep mode also requires base-call files in every cycle
folder. Decoding BCL/CBCL content belongs to the demultiplexing step (seqpipe.demux).
"""

from __future__ import annotations

import os
import re
import tempfile

from seqpipe.aws.s3 import S3Uri, client, is_s3_uri
from seqpipe.demux.errors import DemuxError
from seqpipe.demux.runinfo import parse_run_info
from seqpipe.validators.result import ValidationResult

_CYCLE = re.compile(r"^C(\d+)\.1$")
_BASECALL_FILE = re.compile(r"\.(bcl|bcl\.gz|bcl\.bgzf|cbcl)$")


class RunFolder:
    """Directory listing and file reading over a local folder or an S3 prefix."""

    def __init__(self, location: str) -> None:
        self.location = location.rstrip("/")
        self.s3 = is_s3_uri(location)

    def _uri(self, relative: str) -> S3Uri:
        return S3Uri.parse(self.location).join(relative)

    def exists(self, relative: str) -> bool:
        if not self.s3:
            return os.path.exists(os.path.join(self.location, relative))
        uri = self._uri(relative)
        response = client("s3").list_objects_v2(Bucket=uri.bucket, Prefix=uri.key, MaxKeys=1)
        return bool(response.get("KeyCount"))

    def listdir(self, relative: str) -> list[str]:
        if not self.s3:
            path = os.path.join(self.location, relative)
            return sorted(os.listdir(path)) if os.path.isdir(path) else []
        uri = self._uri(relative)
        prefix = uri.key + "/"
        names: list[str] = []
        pages = (
            client("s3")
            .get_paginator("list_objects_v2")
            .paginate(Bucket=uri.bucket, Prefix=prefix, Delimiter="/")
        )
        for page in pages:
            names += [p["Prefix"][len(prefix) :].rstrip("/") for p in page.get("CommonPrefixes", [])]
            names += [o["Key"][len(prefix) :] for o in page.get("Contents", [])]
        return sorted(names)

    def read_bytes(self, relative: str) -> bytes:
        if not self.s3:
            with open(os.path.join(self.location, relative), "rb") as fh:
                return fh.read()
        uri = self._uri(relative)
        return client("s3").get_object(Bucket=uri.bucket, Key=uri.key)["Body"].read()


def is_run_folder(location: str) -> bool:
    folder = RunFolder(location)
    if not folder.s3 and not os.path.isdir(location):
        return False
    return folder.exists("RunInfo.xml")


def check_run_folder(location: str, result: ValidationResult, deep: bool) -> None:
    folder = RunFolder(location)
    result.format = "BCL"
    if not folder.exists("RunInfo.xml"):
        result.error("RunInfo.xml missing: not an Illumina run folder")
        return
    with tempfile.TemporaryDirectory(prefix="seqpipe-runinfo-") as tmp:
        local = os.path.join(tmp, "RunInfo.xml")
        with open(local, "wb") as fh:
            fh.write(folder.read_bytes("RunInfo.xml"))
        result.bytes_read += os.path.getsize(local)
        try:
            run_info = parse_run_info(local)
        except DemuxError as exc:
            result.error(str(exc).replace(local, "RunInfo.xml"))
            return
    cycles = run_info.total_cycles
    result.header.details.update(
        run_id=run_info.run_id,
        flowcell=run_info.flowcell,
        instrument=run_info.instrument,
        lanes=run_info.lane_count,
        reads=[f"{r.cycles}{'i' if r.is_index else 'r'}" for r in run_info.reads],
        cycles=cycles,
    )
    if not folder.exists("RTAComplete.txt"):
        result.error("RTAComplete.txt missing: the instrument has not finished writing the run")
    basecalls = "Data/Intensities/BaseCalls"
    for lane in range(1, run_info.lane_count + 1):
        lane_dir = f"{basecalls}/L{lane:03d}"
        entries = folder.listdir(lane_dir)
        if not entries:
            result.error(f"{lane_dir} missing or empty")
            continue
        present = sorted(int(m.group(1)) for m in map(_CYCLE.match, entries) if m)
        missing = sorted(set(range(1, cycles + 1)) - set(present))
        if missing:
            shown = ", ".join(map(str, missing[:10])) + (" …" if len(missing) > 10 else "")
            result.error(f"{lane_dir}: {len(missing)} of {cycles} cycle folders missing (C{shown})")
        if deep:
            for cycle in present:
                if not any(_BASECALL_FILE.search(name) for name in folder.listdir(f"{lane_dir}/C{cycle}.1")):
                    result.error(f"{lane_dir}/C{cycle}.1 holds no base-call files")
