"""Random access to a file's bytes, local or on S3, counting what was read.

Quick validation only ever asks for a few ranges (head, tail, a header that may run on), so on S3 it
costs a handful of ranged GETs whatever the object's size.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from botocore.exceptions import ClientError

from seqpipe.aws.s3 import S3Uri, client, is_s3_uri


class ByteSource(Protocol):
    location: str
    size: int
    bytes_read: int

    def read(self, offset: int, length: int) -> bytes: ...

    def exists(self, location: str) -> bool:
        """Whether another file (an index: .bai, .tbi, .csi, .crai) exists beside this one."""
        ...

    def name(self) -> str: ...


class LocalSource:
    def __init__(self, path: str | Path) -> None:
        self.location = str(path)
        self.size = os.path.getsize(path)
        self.bytes_read = 0

    def read(self, offset: int, length: int) -> bytes:
        with open(self.location, "rb") as fh:
            fh.seek(max(offset, 0))
            data = fh.read(max(length, 0))
        self.bytes_read += len(data)
        return data

    def exists(self, location: str) -> bool:
        return os.path.exists(location)

    def name(self) -> str:
        return os.path.basename(self.location)


class S3Source:
    def __init__(self, uri: str) -> None:
        self.location = uri
        self.uri = S3Uri.parse(uri)
        self.s3 = client("s3")
        try:
            head = self.s3.head_object(Bucket=self.uri.bucket, Key=self.uri.key)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                raise FileNotFoundError(uri) from None
            raise
        self.size = head["ContentLength"]
        self.bytes_read = 0

    def read(self, offset: int, length: int) -> bytes:
        offset = max(offset, 0)
        end = min(offset + length, self.size) - 1
        if end < offset:
            return b""
        body = self.s3.get_object(Bucket=self.uri.bucket, Key=self.uri.key, Range=f"bytes={offset}-{end}")[
            "Body"
        ]
        data = body.read()
        self.bytes_read += len(data)
        return data

    def exists(self, location: str) -> bool:
        other = S3Uri.parse(location)
        response = self.s3.list_objects_v2(Bucket=other.bucket, Prefix=other.key, MaxKeys=1)
        return any(item["Key"] == other.key for item in response.get("Contents", []))

    def name(self) -> str:
        return self.uri.key.rsplit("/", 1)[-1]


def open_source(location: str | Path) -> ByteSource:
    return S3Source(str(location)) if is_s3_uri(str(location)) else LocalSource(location)


@contextmanager
def local_copy(source: ByteSource, suffix: str = "") -> Iterator[str]:
    """A local path with the whole content; S3 objects are streamed to temporary storage (deep mode)."""
    if isinstance(source, LocalSource):
        yield source.location
        return
    assert isinstance(source, S3Source)
    with tempfile.TemporaryDirectory(prefix="seqpipe-validate-") as tmp:
        path = os.path.join(tmp, source.name() or "object")
        body = source.s3.get_object(Bucket=source.uri.bucket, Key=source.uri.key)["Body"]
        with open(path, "wb") as out:
            shutil.copyfileobj(body, out, 8 * 1024 * 1024)
        source.bytes_read += source.size
        yield path
