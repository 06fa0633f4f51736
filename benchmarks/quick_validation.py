"""Quick validation of S3 objects from 1 MB to 5 GiB: bytes read and time, against reading it all.

    .venv/bin/python benchmarks/quick_validation.py                 # 1M, 64M, 1G, 5G; BAM and VCF.gz
    .venv/bin/python benchmarks/quick_validation.py --sizes 1M,100M --json

Objects are valid BGZF files (a real BAM header or VCF header, then record blocks, then the EOF
block) built in the local S3 by multipart upload: the first and last parts are sent, the parts in
between are server-side copies of one 64 MiB part, so a 5 GiB object costs no 5 GiB transfer.
The local S3 is moto started through tests/support/moto_launch.py with MOTO_S3_LARGE_OBJECTS=1
(ranged GETs and multipart completion without loading whole objects into memory; see there).
"Full read" streams the whole object with 64 MiB ranged GETs, as a checksum or deep check must.
Memory: Python peak allocation (tracemalloc) during each quick validation, and the local S3
server's peak RSS at the end. Exits with status 1 when an object is not valid or quick mode read more
than seqpipe.validators.quick.QUICK_READ_LIMIT (1 MiB) of it.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time
import tracemalloc
import zlib
from pathlib import Path

import boto3
import requests
from botocore.config import Config

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "dataplane" / "data"
LAUNCHER = REPO / "tests" / "support" / "moto_launch.py"
MiB = 1024 * 1024
PART = 64 * MiB
BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
SIZES = {"K": 1024, "M": MiB, "G": 1024 * MiB}


def parse_size(text: str) -> int:
    return int(float(text[:-1]) * SIZES[text[-1].upper()]) if text[-1].upper() in SIZES else int(text)


def bgzf_block(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    payload = compressor.compress(data) + compressor.flush()
    header = b"\x1f\x8b\x08\x04\x00\x00\x00\x00\x00\xff\x06\x00BC\x02\x00" + struct.pack(
        "<H", len(payload) + 25
    )
    return header + payload + struct.pack("<II", zlib.crc32(data), len(data))


def bgzf(data: bytes) -> bytes:
    return b"".join(bgzf_block(data[i : i + 65280]) for i in range(0, len(data), 65280))


def bam_parts() -> tuple[bytes, bytes]:
    """(header bytes, record bytes) of a real BAM, decompressed."""
    raw = (DATA / "ok.bam").read_bytes()
    data, pos = b"", 0
    while pos < len(raw):
        member = zlib.decompressobj(31)
        data += member.decompress(raw[pos:])
        pos = len(raw) - len(member.unused_data)
    (l_text,) = struct.unpack_from("<i", data, 4)
    (n_ref,) = struct.unpack_from("<i", data, 8 + l_text)
    end = 12 + l_text
    for _ in range(n_ref):
        (l_name,) = struct.unpack_from("<i", data, end)
        end += 8 + l_name
    return data[:end], data[end:]


def vcf_parts() -> tuple[bytes, bytes]:
    text = (DATA / "NA12891.vcf").read_bytes()
    body_at = text.index(b"\n", text.index(b"#CHROM")) + 1
    return text[:body_at], text[body_at:]


def record_block(records: bytes) -> bytes:
    """One BGZF block of whole records (~60 KiB decompressed)."""
    return bgzf_block(records * max(1, 60_000 // len(records)))


def put_object(
    s3, bucket: str, key: str, header: bytes, block: bytes, size: int, filler: tuple[str, int]
) -> int:
    """A valid BGZF object of about `size` bytes; `filler` = (key, length) of the middle parts' source."""
    filler_key, part = filler
    head = bgzf(header)
    if size < 2 * part:
        body = head + block * max(0, (size - len(head) - len(BGZF_EOF)) // len(block)) + BGZF_EOF
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        return len(body)
    first = head + block * ((part - len(head)) // len(block))
    middle_count = (size - len(first) - len(BGZF_EOF)) // part - 1
    last = block * ((size - len(first) - middle_count * part - len(BGZF_EOF)) // len(block)) + BGZF_EOF
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    common = {"Bucket": bucket, "Key": key, "UploadId": upload}
    parts = [{"PartNumber": 1, "ETag": s3.upload_part(**common, PartNumber=1, Body=first)["ETag"]}]
    for number in range(2, middle_count + 2):
        copied = s3.upload_part_copy(
            **common, PartNumber=number, CopySource={"Bucket": bucket, "Key": filler_key}
        )
        parts.append({"PartNumber": number, "ETag": copied["CopyPartResult"]["ETag"]})
    number = middle_count + 2
    parts.append(
        {"PartNumber": number, "ETag": s3.upload_part(**common, PartNumber=number, Body=last)["ETag"]}
    )
    s3.complete_multipart_upload(**common, MultipartUpload={"Parts": parts})
    return len(first) + middle_count * part + len(last)


def full_read(s3, bucket: str, key: str, size: int) -> float:
    start = time.perf_counter()
    for offset in range(0, size, PART):
        end = min(offset + PART, size) - 1
        s3.get_object(Bucket=bucket, Key=key, Range=f"bytes={offset}-{end}")["Body"].read()
    return time.perf_counter() - start


def start_server() -> tuple[subprocess.Popen, str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = dict(os.environ, MOTO_S3_LARGE_OBJECTS="1")
    log = open(Path(tempfile.gettempdir()) / f"moto-benchmark-{port}.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, str(LAUNCHER), str(port)], stdout=log, stderr=subprocess.STDOUT, env=env
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            requests.get(url + "/moto-api/", timeout=0.5)
            return proc, url
        except requests.ConnectionError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("moto did not start")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1M,64M,1G,5G", help="comma-separated sizes (K/M/G = KiB/MiB/GiB)")
    parser.add_argument("--formats", default="BAM,VCF", help="BAM and/or VCF (bgzipped)")
    parser.add_argument("--no-full-read", action="store_true", help="skip the whole-object read")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args()

    proc, url = start_server()
    os.environ.update(
        AWS_ENDPOINT_URL=url,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
    )
    from seqpipe.validators import validate
    from seqpipe.validators.quick import QUICK_READ_LIMIT

    rows = []
    try:
        # completing a 5 GiB upload copies 5 GiB inside the server: no read timeout, no retried completion
        s3 = boto3.client("s3", config=Config(read_timeout=1800, retries={"total_max_attempts": 1}))
        s3.create_bucket(Bucket="bench")
        for fmt in args.formats.split(","):
            header, records = bam_parts() if fmt == "BAM" else vcf_parts()
            block = record_block(records)
            filler = block * (PART // len(block))  # whole blocks, so every part is valid BGZF
            s3.put_object(Bucket="bench", Key=f"filler-{fmt}", Body=filler)
            for text in args.sizes.split(","):
                key = f"{fmt.lower()}-{text}.{'bam' if fmt == 'BAM' else 'vcf.gz'}"
                created = time.perf_counter()
                actual = put_object(
                    s3, "bench", key, header, block, parse_size(text), (f"filler-{fmt}", len(filler))
                )
                created = time.perf_counter() - created
                tracemalloc.start()
                start = time.perf_counter()
                result = validate(f"s3://bench/{key}")
                quick_seconds = time.perf_counter() - start
                peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
                row = {
                    "format": fmt,
                    "size_bytes": actual,
                    "valid": result.valid,
                    "errors": [str(e) for e in result.errors],
                    "quick_bytes_read": result.bytes_read,
                    "quick_seconds": round(quick_seconds, 4),
                    "quick_peak_python_mib": round(peak / MiB, 2),
                    "create_seconds": round(created, 1),
                }
                if not args.no_full_read:
                    row["full_read_seconds"] = round(full_read(s3, "bench", key, actual), 2)
                rows.append(row)
                s3.delete_object(Bucket="bench", Key=key)
                if not args.json:
                    print_row(row)
    finally:
        peak_rss = server_peak_rss_mib(proc.pid)
        proc.terminate()
        proc.wait(10)
    if args.json:
        print(json.dumps({"objects": rows, "server_peak_rss_mib": peak_rss}, indent=2))
    else:
        print(f"local S3 server peak RSS: {peak_rss} MiB")
    beyond = [r for r in rows if not r["valid"] or r["quick_bytes_read"] > QUICK_READ_LIMIT]
    if beyond:
        raise SystemExit(f"invalid, or more than {QUICK_READ_LIMIT:,} bytes read: {beyond}")


def server_peak_rss_mib(pid: int) -> int | None:
    """High-water mark of the server's resident memory (Linux), to show objects were not loaded whole."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    line = next((line for line in status.splitlines() if line.startswith("VmHWM:")), None)
    return int(line.split()[1]) // 1024 if line else None


def print_row(row: dict) -> None:
    full = f"{row['full_read_seconds']:8.2f} s" if "full_read_seconds" in row else "       -"
    print(
        f"{row['format']:4} {row['size_bytes'] / MiB:10.1f} MiB  valid={row['valid']!s:5}  "
        f"quick: {row['quick_bytes_read']:>7,} bytes {row['quick_seconds'] * 1000:7.1f} ms "
        f"(peak {row['quick_peak_python_mib']:.2f} MiB)  full read: {full}",
        flush=True,
    )


if __name__ == "__main__":
    main()
