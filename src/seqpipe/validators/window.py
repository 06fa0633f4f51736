"""The start of a file as quick mode sees it: raw bytes read so far and, for gzip/BGZF, their
decompressed content (capped); it grows ×4 on demand up to a limit, reading only the new bytes."""

from __future__ import annotations

from seqpipe.storage.location import Location
from seqpipe.validators import binary
from seqpipe.validators.result import ValidationResult

FIRST_READ = 64 * 1024


class Window:
    def __init__(self, source: Location, limit: int) -> None:
        self.source = source
        self.limit = limit
        self.raw = b""
        self._extend(min(FIRST_READ, limit))

    def _extend(self, wanted: int) -> None:
        self.raw += self.source.read(len(self.raw), wanted - len(self.raw))
        self.at_end = len(self.raw) >= self.source.size
        self.compressed = self.raw[:2] == binary.GZIP_MAGIC
        self.bgzf = binary.is_bgzf(self.raw)
        self.error: binary.DecodeError | None = None
        self.complete = True  # the compressed data ended on a member boundary
        if not self.compressed:
            self.data = self.raw
            return
        try:
            self.data, self.complete = binary.inflate(self.raw)
        except binary.DecodeError as exc:
            self.error = exc
            self.data, self.complete = binary.inflate(self.raw[: exc.offset])  # the members before it

    @property
    def capped(self) -> bool:
        """Decompression stopped at its output cap: there is more content than the window shows."""
        return self.compressed and len(self.data) >= binary.INFLATE_LIMIT

    @property
    def whole(self) -> bool:
        """The window holds the file's whole content."""
        return self.at_end and self.error is None and self.complete and not self.capped

    @property
    def truncated(self) -> bool:
        """The whole file was read and its gzip stream stops inside a member."""
        return (
            self.compressed and self.at_end and self.error is None and not self.complete and not self.capped
        )

    def grow(self, limit: int | None = None) -> bool:
        """Read 4 times as much (up to the limit); False when nothing more can be had."""
        limit = min(limit or self.limit, self.limit)
        if self.at_end or self.error is not None or self.capped or len(self.raw) >= limit:
            return False
        self._extend(min(len(self.raw) * 4, limit))
        return True

    def lines(self) -> list[str]:
        """The window's complete lines, without newlines (the last one may be cut unless `whole`)."""
        lines = self.data.decode("utf-8", "replace").split("\n")
        if self.whole:
            return lines[:-1] if lines[-1] == "" else lines
        return lines[:-1]

    def tail(self, length: int) -> bytes:
        """The last `length` bytes of the file (from the window when it holds them)."""
        size = self.source.size
        length = min(length, size)
        if self.at_end:
            return self.raw[size - length : size]
        return self.source.read(size - length, length)

    def report_cut(self, what: str, result: ValidationResult) -> bool:
        """A structure runs past the window: the file is truncated (an error; a decompression error
        is reported already), or it is longer than quick mode reads (a limit of the check, not a
        defect: a warning). True for the warning: the checks that do not need it go on."""
        if self.error is not None:
            return False
        if self.at_end and not self.capped:
            result.error(f"{what} is truncated: the file ends inside it", offset=self.source.size)
            return False
        result.warn(f"{what} is longer than the quick-mode window; it was not checked to its end")
        return True
