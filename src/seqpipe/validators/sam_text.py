"""Line-level SAM checks for deep mode on SAM text, where htslib is lenient.

samtools 1.16 accepts 68 of the 108 "failed" cases of the hts-specs SAM suite; these checks follow
the specification's header rules (@HD first and once; @SQ/@RG/@PG fields, values and uniqueness)
and record rules (field ranges, names against @SQ, CIGAR against SEQ, QUAL length, typed aux tags).
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Iterable

from seqpipe.validators.integers import INT32_MAX, parse_int
from seqpipe.validators.names import REFERENCE_NAME
from seqpipe.validators.result import MAX_ERRORS, ValidationResult

ALT_NAME = re.compile(r"^[0-9A-Za-z][0-9A-Za-z*+.@_|-]*$")
TAG = re.compile(r"^[A-Za-z][A-Za-z0-9]:[ -~]+$")
QNAME = re.compile(r"^(?:\*|[!-?A-~]{1,254})$")
CIGAR = re.compile(r"^(?:\*|(?:[0-9]+[MIDNSHPX=])++)$")
SEQ = re.compile(r"^(?:\*|[A-Za-z=.]+)$")
DATE = re.compile(
    r"^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])(?:[T ][0-2]\d:[0-5]\d(?::[0-5]\d(?:\.\d+)?)?"
    r"(?:Z|[+-][0-2]\d(?::?[0-5]\d)?)?)?$"
)
PLATFORMS = {
    "CAPILLARY",
    "DNBSEQ",
    "ELEMENT",
    "HELICOS",
    "ILLUMINA",
    "IONTORRENT",
    "LS454",
    "ONT",
    "PACBIO",
    "SINGULAR",
    "SOLID",
    "ULTIMA",
}
# SAMv1 §1.5: the regular expressions of the typed values ("10." is not a float there). Repeated
# groups are possessive (*+, ++) throughout: a backtracking repeat keeps state for every iteration,
# hundreds of MB for a field of a million items.
FLOAT = r"[-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?"
AUX_VALUE = {
    "A": re.compile(r"^[!-~]$"),
    "i": re.compile(r"^[-+]?\d+$"),
    "f": re.compile(f"^{FLOAT}$"),
    "Z": re.compile(r"^[ !-~]*$"),
    "H": re.compile(r"^(?:[0-9A-F]{2})*+$"),
    "B": re.compile(f"^[cCsSiIf](?:,{FLOAT})*+$"),
}
# older Picard wrote @RG DT as Java's Date.toString(): a date, though not ISO 8601
JAVA_DATE = re.compile(
    r"^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-3]\d "
    r"[0-2]\d:[0-5]\d:[0-5]\d [A-Z]{2,5} \d{4}$"
)


class SamTextChecker:
    def __init__(self, result: ValidationResult) -> None:
        self.result = result
        self.references: set[str] = set()
        self.alt_names: set[str] = set()
        self.read_groups: set[str] = set()
        self.programs: dict[str, str | None] = {}
        self.seen_hd = False

    def error(self, message: str, line: int, record: int | None = None) -> None:
        if len(self.result.errors) < MAX_ERRORS:
            self.result.error(message, line=line, record=record)

    def check(self, lines: Iterable[str], whole: bool = True) -> None:
        """Check lines (with or without their newline): a whole file, or (`whole` false) its start,
        where the header is complete only once an alignment line follows it."""
        record = 0
        for number, raw in enumerate(lines, start=1):
            line = raw.rstrip("\n").rstrip("\r")
            if line.startswith("@"):
                self.header(line, number)
            elif line:
                record += 1
                self.alignment(line.split("\t"), number, record)
            if len(self.result.errors) >= MAX_ERRORS:
                return
        if not whole and not record:
            return
        for program, previous in self.programs.items():
            if previous is not None and previous not in self.programs:
                self.error(f"@PG {program}: PP:{previous} names no @PG ID", 1)

    # ---- header ------------------------------------------------------------------------------------------

    def header(self, line: str, number: int) -> None:
        # the type first: an @CO comment is free text, and split into fields it may be millions of
        # them (a 32 MiB line of tabs took the deep check past its memory budget)
        kind, tab, rest = line.partition("\t")
        if kind == "@CO":
            return
        fields = rest.split("\t") if tab else []
        if kind == "@HD":
            if self.seen_hd or number != 1:
                self.error("@HD must be the first line and appear once", number)
            self.seen_hd = True
        if any(not TAG.match(f) for f in fields):
            return  # headers.sam_header already reports malformed TAG:VALUE fields
        tags = dict((f[:2], f[3:]) for f in fields)
        check = {"@HD": self.hd, "@SQ": self.sq, "@RG": self.rg, "@PG": self.pg}.get(kind)
        if check:
            check(tags, number)

    def hd(self, tags: dict[str, str], number: int) -> None:
        if not re.match(r"^\d+\.\d+$", tags.get("VN", "")):
            self.error("@HD VN must be present as <major>.<minor>", number)
        if tags.get("SO", "unknown") not in ("unknown", "unsorted", "queryname", "coordinate"):
            self.error(f"@HD SO:{tags['SO']} is not unknown, unsorted, queryname or coordinate", number)
        if tags.get("GO", "none") not in ("none", "query", "reference"):
            self.error(f"@HD GO:{tags['GO']} is not none, query or reference", number)
        if "SS" in tags and not re.match(
            r"^(?:coordinate|queryname|unsorted)(?::[A-Za-z0-9_-]+)++$", tags["SS"]
        ):
            self.error(f"@HD SS:{tags['SS']} is not <sort order>:<sub-sort>", number)

    def sq(self, tags: dict[str, str], number: int) -> None:
        name, length = tags.get("SN", ""), tags.get("LN", "")
        if not REFERENCE_NAME.match(name):
            self.error(f"@SQ SN:{name!r} is missing or not a valid reference name", number)
        if name in self.references or name in self.alt_names:
            self.error(f"@SQ SN:{name} appears twice", number)
        self.references.add(name)
        if not 0 < (parse_int(length, signed=False) or 0) <= INT32_MAX:
            self.error(f"@SQ {name}: LN:{length!r} must be an integer from 1 to 2^31-1", number)
        for alt in filter(None, tags.get("AN", "").split(",")) if "AN" in tags else ():
            if not ALT_NAME.match(alt) or alt in self.references or alt in self.alt_names:
                self.error(f"@SQ {name}: AN name {alt!r} is invalid or not distinct", number)
            self.alt_names.add(alt)
        if "AN" in tags and not tags["AN"]:
            self.error(f"@SQ {name}: empty AN", number)
        if (
            "AH" in tags
            and tags["AH"] != "*"
            and not re.match(
                r"^[0-9A-Za-z!#$%&+./:;?@^_|~-][0-9A-Za-z!#$%&*+./:;=?@^_|~-]*?(?::\d+-\d+)?$", tags["AH"]
            )
        ):
            self.error(f"@SQ {name}: AH:{tags['AH']} is not '*' or chr:start-end", number)
        if "M5" in tags and not re.match(r"^[0-9a-f]{32}$", tags["M5"]):
            self.error(f"@SQ {name}: M5 must be 32 lower-case hex digits", number)
        if tags.get("TP", "linear") not in ("linear", "circular"):
            self.error(f"@SQ {name}: TP:{tags['TP']} is not linear or circular", number)

    def rg(self, tags: dict[str, str], number: int) -> None:
        identifier = tags.get("ID")
        if not identifier:
            self.error("@RG without ID", number)
        elif identifier in self.read_groups:
            self.error(f"@RG ID:{identifier} appears twice", number)
        self.read_groups.add(identifier or "")
        date = tags.get("DT", "").strip()
        if "DT" in tags and not DATE.match(date):
            if not JAVA_DATE.match(date):
                self.error(f"@RG {identifier}: DT:{tags['DT']} is not a date (ISO 8601)", number)
            elif len(self.result.warnings) < MAX_ERRORS:
                self.result.warn(f"@RG {identifier}: DT:{tags['DT']} is not an ISO 8601 date", line=number)
        if "PI" in tags and not tags["PI"].isdigit():
            self.error(f"@RG {identifier}: PI:{tags['PI']} is not an integer", number)
        if "PL" in tags and tags["PL"].upper() not in PLATFORMS:
            self.error(f"@RG {identifier}: PL:{tags['PL']} is not a platform the specification lists", number)

    def pg(self, tags: dict[str, str], number: int) -> None:
        identifier = tags.get("ID")
        if not identifier:
            self.error("@PG without ID", number)
        elif identifier in self.programs:
            self.error(f"@PG ID:{identifier} appears twice", number)
        else:
            self.programs[identifier] = tags.get("PP")

    # ---- alignments --------------------------------------------------------------------------------------

    def alignment(self, fields: list[str], line: int, record: int) -> None:
        if len(fields) < 11:
            self.error(f"alignment line has {len(fields)} of the 11 mandatory fields", line, record)
            return
        qname, flag, rname, pos, mapq, cigar, rnext, pnext, tlen, seq, qual = fields[:11]
        problems = []
        if not QNAME.match(qname):
            problems.append(f"QNAME {qname[:30]!r} is invalid")
        if not _int_in(flag, 0, 65535):
            problems.append(f"FLAG {flag!r} is not 0..65535")
        known = not self.references or rname in self.references
        if rname != "*" and not (REFERENCE_NAME.match(rname) and known):
            problems.append(f"RNAME {rname!r} is not an @SQ name")
        if not _int_in(pos, 0, INT32_MAX):
            problems.append(f"POS {pos!r} is not 0..2^31-1")
        if not _int_in(mapq, 0, 255):
            problems.append(f"MAPQ {mapq!r} is not 0..255")
        if not CIGAR.match(cigar):
            problems.append(f"CIGAR {cigar[:30]!r} is malformed")
        elif cigar != "*":
            operations = re.findall(r"([0-9]+)([MIDNSHPX=])", cigar)
            problems += _clip_problems("".join(op for _, op in operations))
            query = sum(parse_int(n) or 0 for n, op in operations if op in "MIS=X")
            if seq != "*" and query != len(seq):
                problems.append(f"CIGAR consumes {query} bases, SEQ has {len(seq)}")
        if rnext not in ("*", "=") and (
            not REFERENCE_NAME.match(rnext) or (self.references and rnext not in self.references)
        ):
            problems.append(f"RNEXT {rnext!r} is not '=', '*' or an @SQ name")
        if not _int_in(pnext, 0, INT32_MAX):
            problems.append(f"PNEXT {pnext!r} is not 0..2^31-1")
        if not _int_in(tlen, -INT32_MAX, INT32_MAX):
            problems.append(f"TLEN {tlen!r} is out of range")
        if not SEQ.match(seq):
            problems.append("SEQ has characters outside letters, '=' and '.'")
        if qual != "*" and (not re.match(r"^[!-~]+$", qual) or (seq != "*" and len(qual) != len(seq))):
            problems.append("QUAL must be '*' or Phred+33 characters as many as SEQ")
        # a trailing tab (an empty last field) is common and harmless
        problems += _aux_problems(fields[11:-1] if fields[-1] == "" else fields[11:])
        for problem in problems:
            self.error(problem, line, record)


def _int_in(text: str, low: int, high: int) -> bool:
    value = parse_int(text)
    return value is not None and low <= value <= high


def _clip_problems(operations: str) -> list[str]:
    """SAMv1 §1.4 (CIGAR): H only first and/or last; S only with H between it and the ends."""
    inner = operations.strip("H")
    if "H" in inner:
        return ["CIGAR has H (hard clip) inside, not only at the ends"]
    if "S" in inner.strip("S"):
        return ["CIGAR has S (soft clip) inside, not only at the ends (or next to end H)"]
    return []


def _float32_problem(text: str) -> str | None:
    """A SAM 'f' value must be a single-precision float: not beyond its range, not underflowing to 0."""
    value = float(text)
    if math.isinf(value):
        return f"{text} is beyond the single-precision range"
    try:
        stored = struct.unpack("<f", struct.pack("<f", value))[0]
    except OverflowError:
        return f"{text} is beyond the single-precision range"
    return f"{text} underflows to 0 in single precision" if value and not stored else None


def _aux_problems(fields: list[str]) -> list[str]:
    problems, seen = [], set()
    for field in fields:
        match = re.match(r"^([A-Za-z][A-Za-z0-9]):([AifZHB]):(.*)$", field)
        if match is None:
            problems.append(f"optional field {field[:30]!r} is not TAG:TYPE:VALUE")
            continue
        tag, kind, value = match.groups()
        if tag in seen:
            problems.append(f"optional field {tag} appears twice")
        seen.add(tag)
        if not AUX_VALUE[kind].match(value):
            problems.append(f"optional field {tag}:{kind} has an invalid value {value[:30]!r}")
        elif kind == "i" and not _int_in(value, -(2**31), 2**32 - 1):
            problems.append(f"optional field {tag}:i value {value} is out of the 32-bit range")
        elif kind in "fB":
            numbers = [value] if kind == "f" else value[2:].split(",") if value.startswith("f,") else []
            problems += [f"optional field {tag}:{kind} {p}" for p in map(_float32_problem, numbers) if p]
    return problems
