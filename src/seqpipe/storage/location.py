"""A file or folder, local or on S3, behind one interface: ranged and whole reads, listing, a local copy.

Quick validation asks for a few ranges of a file (head, tail, a header that may run on), so on S3 it
costs a handful of ranged GETs whatever the object's size; the run-folder check lists folders and
reads RunInfo.xml; the QC recorder reads a run's summary. `locate` is the one place that decides
between a local path and an S3 object; a Location counts the bytes read through it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from functools import cached_property
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from seqpipe.storage.checksums import CHUNK
from seqpipe.storage.s3 import S3Uri, client, is_missing, is_s3_uri


def locate(location: str | Path) -> Location:
    """The Location of a local path or an s3:// URI."""
    text = str(location)
    return S3Location(text) if is_s3_uri(text) else LocalLocation(text)


class Location(ABC):
    def __init__(self, location: str) -> None:
        self.location = location
        self.bytes_read = 0

    def __str__(self) -> str:
        return self.location

    @property
    def name(self) -> str:
        return self.location.rstrip("/").rsplit("/", 1)[-1]

    @cached_property
    def size(self) -> int:
        """Size in bytes; FileNotFoundError when there is no file."""
        return self._size()

    def read(self, offset: int = 0, length: int | None = None) -> bytes:
        """`length` bytes from `offset` (to the end without a length); fewer at the end of the file."""
        data = self._read(max(offset, 0), length if length is None else max(length, 0))
        self.bytes_read += len(data)
        return data

    def read_text(self) -> str:
        return self.read().decode()

    @abstractmethod
    def join(self, *parts: str) -> Location:
        """The location of a file or folder below this folder."""

    @abstractmethod
    def exists(self) -> bool:
        """Whether a file (not a folder) is here."""

    @abstractmethod
    def listdir(self) -> list[str]:
        """Names of the files and folders directly below this folder, sorted; empty when there are none."""

    @abstractmethod
    def _size(self) -> int: ...

    @abstractmethod
    def _read(self, offset: int, length: int | None) -> bytes: ...

    @abstractmethod
    def local_path(self) -> AbstractContextManager[str]:
        """A local path with the whole content: the file itself, or a temporary copy of an S3 object."""


class LocalLocation(Location):
    def join(self, *parts: str) -> LocalLocation:
        return LocalLocation(os.path.join(self.location, *parts))

    def exists(self) -> bool:
        return os.path.isfile(self.location)

    def listdir(self) -> list[str]:
        return sorted(os.listdir(self.location)) if os.path.isdir(self.location) else []

    def _size(self) -> int:
        return os.path.getsize(self.location)

    def _read(self, offset: int, length: int | None) -> bytes:
        with open(self.location, "rb") as fh:
            fh.seek(offset)
            return fh.read() if length is None else fh.read(length)

    @contextmanager
    def local_path(self) -> Iterator[str]:
        yield self.location


class S3Location(Location):
    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.uri = S3Uri.parse(location)

    def join(self, *parts: str) -> S3Location:
        return S3Location(str(self.uri.join(*parts)))

    def exists(self) -> bool:
        # a listing (s3:ListBucket) rather than a HEAD: the object itself may be unreadable by policy
        response = client("s3").list_objects_v2(Bucket=self.uri.bucket, Prefix=self.uri.key, MaxKeys=1)
        return any(item["Key"] == self.uri.key for item in response.get("Contents", []))

    def listdir(self) -> list[str]:
        prefix = self.uri.key.rstrip("/") + "/"
        pages = (
            client("s3")
            .get_paginator("list_objects_v2")
            .paginate(Bucket=self.uri.bucket, Prefix=prefix, Delimiter="/")
        )
        names: list[str] = []
        for page in pages:
            names += [p["Prefix"][len(prefix) :].rstrip("/") for p in page.get("CommonPrefixes", [])]
            names += [o["Key"][len(prefix) :] for o in page.get("Contents", [])]
        return sorted(names)

    def _size(self) -> int:
        try:
            return client("s3").head_object(Bucket=self.uri.bucket, Key=self.uri.key)["ContentLength"]
        except ClientError as error:
            if is_missing(error):
                raise FileNotFoundError(self.location) from None
            raise

    def _read(self, offset: int, length: int | None) -> bytes:
        if length is None and offset == 0:
            return self._get().read()
        end = self.size if length is None else min(offset + length, self.size)
        if end <= offset:
            return b""
        return self._get(Range=f"bytes={offset}-{end - 1}").read()

    def _get(self, **ranged: str) -> Any:
        """The object's body (botocore's StreamingBody), whole or the given Range."""
        try:
            return client("s3").get_object(Bucket=self.uri.bucket, Key=self.uri.key, **ranged)["Body"]
        except ClientError as error:
            if is_missing(error):
                raise FileNotFoundError(self.location) from None
            raise

    @contextmanager
    def local_path(self) -> Iterator[str]:
        with tempfile.TemporaryDirectory(prefix="seqpipe-copy-") as tmp:
            path = os.path.join(tmp, self.name or "object")
            with open(path, "wb") as out:
                shutil.copyfileobj(self._get(), out, CHUNK)
            self.bytes_read += os.path.getsize(path)
            yield path
