"""Line-level VCF 4.x checks for deep mode, where htslib is lenient.

htslib reads many malformed VCFs without complaint (bcftools accepts 205 of the 224 "failed" cases
of the hts-specs VCF 4.3 suite), so deep mode also checks each line against the specification:
meta-information syntax, INFO/FORMAT definitions (including the reserved keys' Number and Type),
and every record's columns, alleles, INFO and sample values against those definitions.
Ordering questions (unsorted, duplicated records) are warnings: the specification only says
"should".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from seqpipe.validators.headers import structured_fields
from seqpipe.validators.integers import INT32_MAX, parse_int
from seqpipe.validators.names import REFERENCE_NAME
from seqpipe.validators.result import MAX_ERRORS, ValidationResult

INT32_MIN_VALID = -(2**31) + 8  # the 8 lowest values are reserved by BCF
KEY = re.compile(r"^(?:[A-Za-z_][0-9A-Za-z_.]*|1000G)$")
BASES = re.compile(r"^[ACGTNacgtn]+$")
ALT_BASES = re.compile(r"^[ACGTNacgtn*]+$")
BREAKEND = re.compile(r"^(?:[ACGTNacgtn]+[\[\]][^\[\]\s]+[\[\]]|[\[\]][^\[\]\s]+[\[\]][ACGTNacgtn]+)$")
SINGLE_BREAKEND = re.compile(r"^(?:\.[ACGTNacgtn]+|[ACGTNacgtn]+\.)$")
SYMBOLIC = re.compile(r"^<[^<>\s,]+>$")
GENOTYPE = re.compile(r"^[|/]?(?:\.|[0-9]+)(?:[|/](?:\.|[0-9]+))*+$")
FLOAT = re.compile(r"^[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|inf|infinity|nan)$", re.I)
STRUCTURED = re.compile(r"^##([^=]+)=<(.*)>$")
NUMBERS = re.compile(r"^(?:[0-9]+|A|R|G|\.)$")
TYPES = {"Integer", "Float", "Flag", "Character", "String"}
ALT_PREFIXES = {"DEL", "INS", "DUP", "INV", "CNV", "BND"}
DEFAULT_FIELDS = {
    "INFO": ("ID", "Number", "Type", "Description"),
    "FORMAT": ("ID", "Number", "Type", "Description"),
    "FILTER": ("ID", "Description"),
    "ALT": ("ID", "Description"),
}

# VCF 4.3 tables 1 and 2: reserved keys whose definition is fixed (SB left out: VCF 4.2 files use
# it as a single Float, and the conformance suite accepts that).
RESERVED_INFO = {
    "AA": ("1", "String"), "AC": ("A", "Integer"), "AD": ("R", "Integer"), "ADF": ("R", "Integer"),
    "ADR": ("R", "Integer"), "AF": ("A", "Float"), "AN": ("1", "Integer"), "BQ": ("1", "Float"),
    "CIGAR": ("A", "String"), "DB": ("0", "Flag"), "DP": ("1", "Integer"), "END": ("1", "Integer"),
    "H2": ("0", "Flag"), "H3": ("0", "Flag"), "MQ": ("1", "Float"), "MQ0": ("1", "Integer"),
    "NS": ("1", "Integer"), "SOMATIC": ("0", "Flag"), "VALIDATED": ("0", "Flag"),
    "1000G": ("0", "Flag"),
}  # fmt: skip
RESERVED_FORMAT = {
    "AD": ("R", "Integer"), "ADF": ("R", "Integer"), "ADR": ("R", "Integer"), "DP": ("1", "Integer"),
    "EC": ("A", "Integer"), "FT": ("1", "String"), "GL": ("G", "Float"), "GP": ("G", "Float"),
    "GQ": ("1", "Integer"), "GT": ("1", "String"), "HQ": ("2", "Integer"), "MQ": ("1", "Integer"),
    "PL": ("G", "Integer"), "PQ": ("1", "Integer"), "PS": ("1", "Integer"),
}  # fmt: skip
NON_NEGATIVE = {"AC", "AD", "ADF", "ADR", "AF", "AN", "DP", "END", "MQ0", "NS", "EC", "GQ", "BQ", "MQ"}


@dataclass(frozen=True)
class Definition:
    number: str
    type: str


# possessive repeats: a backtracking one keeps state per character (245 MB for a 2 MB quoted string)
QUOTED = re.compile(r'^"[^"\\]*+(?:\\.[^"\\]*+)*+"$')


class VcfTextChecker:
    def __init__(self, result: ValidationResult) -> None:
        self.result = result
        self.info: dict[str, Definition] = {}
        self.format: dict[str, Definition] = {}
        self.filters = {"PASS"}
        self.samples: list[str] = []
        self.seen_contigs: list[str] = []
        self.previous: tuple[str, int, str, str] | None = None
        self.structured_ids: dict[str, set[str]] = {}
        # VCF 4.3 made the reserved keys' definitions and typed values normative; older files
        # (GATK's and freebayes' 4.1/4.2 output) often differ, so there they are warnings.
        self.strict = False

    def error(self, message: str, line: int, record: int | None = None) -> None:
        if len(self.result.errors) < MAX_ERRORS:
            self.result.error(message, line=line, record=record)

    def definition_problem(self, message: str, line: int, record: int | None = None) -> None:
        if self.strict:
            self.error(message, line, record)
        else:
            self.warn(message, line)

    def check(self, lines: Iterable[str]) -> None:
        """Check lines (with or without their newline); the end of the file is checked elsewhere."""
        record = 0
        for number, raw in enumerate(lines, start=1):
            line = raw.rstrip("\n").rstrip("\r")
            if line.startswith("##"):
                self.meta(line, number)
            elif line.startswith("#"):
                self.samples = line.split("\t")[9:]
            elif line:
                record += 1
                self.record(line.split("\t"), number, record)
            if len(self.result.errors) >= MAX_ERRORS:
                return

    # ---- meta-information --------------------------------------------------------------------------------

    def meta(self, line: str, number: int) -> None:
        key, sep, value = line[2:].partition("=")
        if not sep or not key or not value.strip():
            self.error(f"meta line is not ##key=value: {line[:60]!r}", number)
            return
        if key == "fileformat":
            if value != value.strip() or " " in value:
                self.error("whitespace in ##fileformat", number)
            version = re.match(r"VCFv([0-9]+)\.([0-9]+)", value.strip())
            self.strict = version is not None and (parse_int(version[1]), parse_int(version[2])) >= (4, 3)
        if not value.startswith("<"):
            return
        structured = STRUCTURED.match(line)
        fields = structured_fields(structured.group(2)) if structured else None
        if fields is None:
            self.error(f"malformed ##{key}=<...> entry (unclosed '<' or unbalanced quotes)", number)
            return
        values = dict(fields)
        self.structured_rules(key, fields, number)
        if key in ("INFO", "FORMAT"):
            self.definition(key, values, number)
        elif key in ("FILTER", "ALT"):
            if "Description" in values and not QUOTED.match(values["Description"]):
                self.error(f"##{key} Description must be in double quotes", number)
            if key == "FILTER":
                self.filters.add(values.get("ID", ""))
            else:
                self.alt_definition(values.get("ID", ""), number)
        elif key == "contig":
            contig = values.get("ID", "")
            if contig and not REFERENCE_NAME.match(contig):
                self.error(f"contig ID {contig!r} has characters VCF does not allow", number)
        elif key == "META" and (
            not NUMBERS.match(values.get("Number", ""))
            or values.get("Type") not in TYPES
            or not re.match(r"^\[.*\]$", values.get("Values", ""))
        ):
            # §1.4.8: ##META=<ID=…,Type=…,Number=…,Values=[…]>, Number and Type as for INFO
            self.definition_problem(
                f"##META {values.get('ID', '')}: needs Number (integer, A, R, G or '.'), "
                f"Type ({', '.join(sorted(TYPES))}) and Values=[...]",
                number,
            )

    def structured_rules(self, key: str, fields: list[tuple[str, str]], number: int) -> None:
        """VCF 4.3 §1.4: every structured line has an ID, unique among the lines of its key; the
        lines the specification defines take extra fields only after their default fields, quoted."""
        identifier = dict(fields).get("ID")
        seen = self.structured_ids.setdefault(key, set())
        defaults = DEFAULT_FIELDS.get(key)
        if defaults and [name for name, _ in fields[: len(defaults)]] != list(defaults):
            self.error(f"##{key} fields must start {', '.join(defaults)}", number)
        elif defaults and any(
            not QUOTED.match(value) and name != "IDX" for name, value in fields[len(defaults) :]
        ):  # IDX=<n>: the dictionary position BCF headers carry (§6.2.1), numeric by definition
            self.definition_problem(f"##{key} {identifier}: extra fields must have quoted values", number)
        elif not identifier:
            # a contig without ID was never usable (BCF and indexes name contigs by it)
            report = self.error if key == "contig" else self.definition_problem
            report(f"##{key} has no ID (every structured meta line needs one)", number)
        if identifier and identifier in seen:
            self.definition_problem(f"##{key} ID {identifier} appears twice", number)
        seen.add(identifier or "")

    def definition(self, key: str, values: dict[str, str], number: int) -> None:
        identifier, count, type_ = values.get("ID", ""), values.get("Number", ""), values.get("Type", "")
        if not KEY.match(identifier):
            self.error(f"##{key} ID {identifier!r} is not a valid key", number)
        if not NUMBERS.match(count):
            self.error(f"##{key} {identifier}: Number {count!r} is not an integer, A, R, G or '.'", number)
        if type_ not in TYPES or (key == "FORMAT" and type_ == "Flag"):
            self.error(f"##{key} {identifier}: Type {type_!r} is not allowed", number)
        if not QUOTED.match(values.get("Description", "")):
            self.error(f"##{key} {identifier}: Description must be in double quotes", number)
        reserved = (RESERVED_INFO if key == "INFO" else RESERVED_FORMAT).get(identifier)
        if reserved and (count, type_) != reserved:
            self.definition_problem(
                f"##{key} {identifier} is reserved as Number={reserved[0]}, Type={reserved[1]} "
                f"(found Number={count}, Type={type_})",
                number,
            )
        (self.info if key == "INFO" else self.format)[identifier] = Definition(count, type_)

    def alt_definition(self, identifier: str, number: int) -> None:
        if not identifier or re.search(r"[\s,<>]", identifier):
            self.error(
                f"##ALT ID {identifier!r} must not contain whitespace, commas or angle brackets", number
            )
        elif ":" in identifier and identifier.split(":", 1)[0] not in ALT_PREFIXES:
            self.error(
                f"##ALT ID {identifier!r}: structured IDs start with one of {sorted(ALT_PREFIXES)}", number
            )

    # ---- records -----------------------------------------------------------------------------------------

    def record(self, columns: list[str], line: int, record: int) -> None:
        expected = 9 + len(self.samples) if self.samples else 8
        if len(columns) < 8 or (self.samples and len(columns) != expected):
            self.error(f"{len(columns)} columns, expected {expected}", line, record)
            return
        chrom, pos, ids, ref, alt, qual, filters, info = columns[:8]
        if not (REFERENCE_NAME.match(chrom) or SYMBOLIC.match(chrom)):
            self.error(f"CHROM {chrom!r} has characters VCF does not allow", line, record)
        position = parse_int(pos, signed=False)
        if position is None:
            self.error(f"POS {pos!r} is not a non-negative integer", line, record)
            return
        self.order(chrom, position, ref, alt, line, record)
        if ids != "." and (
            re.search(r"\s", ids) or "" in ids.split(";") or len(set(ids.split(";"))) < ids.count(";") + 1
        ):
            self.error(f"ID {ids!r}: ';'-separated, non-empty, unique, no whitespace", line, record)
        if not BASES.match(ref):
            self.error(f"REF {ref!r} must be bases (A, C, G, T, N)", line, record)
        alts = [] if alt == "." else alt.split(",")
        for allele in alts:
            if not (
                ALT_BASES.match(allele)
                or SYMBOLIC.match(allele)
                or BREAKEND.match(allele)
                or SINGLE_BREAKEND.match(allele)
            ):
                self.error(f"ALT allele {allele!r} is not bases, '*', <ID> or a breakend", line, record)
        if qual != "." and (not FLOAT.match(qual) or float(qual) < 0):
            self.error(f"QUAL {qual!r} must be '.' or a non-negative number", line, record)
        self.filter_column(filters, line, record)
        self.info_column(info, len(alts), line, record)
        if len(columns) > 8:
            self.sample_columns(columns[8], columns[9:], len(alts), line, record)

    def warn(self, message: str, line: int) -> None:
        if len(self.result.warnings) < MAX_ERRORS:
            self.result.warn(message, line=line)

    def order(self, chrom: str, pos: int, ref: str, alt: str, line: int, record: int) -> None:
        if self.previous and self.previous[0] == chrom:
            if pos < self.previous[1]:
                self.warn(f"records not sorted: {chrom}:{pos} after {chrom}:{self.previous[1]}", line=line)
            elif (chrom, pos, ref, alt) == self.previous:
                self.warn(f"duplicate record {chrom}:{pos} {ref}>{alt}", line=line)
        elif chrom in self.seen_contigs:
            self.warn(f"records of {chrom} are not contiguous", line=line)
        if chrom not in self.seen_contigs:
            self.seen_contigs.append(chrom)
        self.previous = (chrom, pos, ref, alt)

    def filter_column(self, filters: str, line: int, record: int) -> None:
        if filters in (".", "PASS"):
            return
        names = filters.split(";")
        if (
            "" in names
            or "." in names
            or "0" in names
            or re.search(r"\s", filters)
            or len(set(names)) < len(names)
        ):
            self.error(
                f"FILTER {filters!r}: ';'-separated unique names, no '.', '0' or whitespace", line, record
            )

    def info_column(self, info: str, n_alts: int, line: int, record: int) -> None:
        if info == ".":
            return
        keys: set[str] = set()
        for entry in info.split(";"):
            key, has_value, value = entry.partition("=")
            if not KEY.match(key) or re.search(r"\s", entry):
                self.error(f"INFO entry {entry[:40]!r} has an invalid key or whitespace", line, record)
                continue
            if key in keys:
                self.error(f"INFO key {key} appears twice", line, record)
            keys.add(key)
            definition = self.info.get(key) or (
                Definition(*RESERVED_INFO[key]) if key in RESERVED_INFO else None
            )
            if definition is None:
                continue  # undefined keys: htslib already warns; the record stays usable
            if definition.type == "Flag":
                if has_value and value not in ("0", "1"):
                    self.definition_problem(f"INFO {key} is a Flag and takes no value", line, record)
                continue
            quoted_string = definition.type == "String" and len(value) > 1 and value[0] == value[-1] == '"'
            self.values(
                f"INFO {key}",
                key,
                [value] if quoted_string else value.split(",") if has_value else [],
                definition,
                n_alts,
                None,
                line,
                record,
            )

    def sample_columns(
        self, format_column: str, samples: list[str], n_alts: int, line: int, record: int
    ) -> None:
        keys = format_column.split(":")
        if any(not KEY.match(k) for k in keys) or len(set(keys)) < len(keys):
            self.error(f"FORMAT {format_column!r}: keys must be valid and unique", line, record)
            return
        if "GT" in keys and keys[0] != "GT":
            self.error("FORMAT: GT must come first", line, record)
        for name, column in zip(self.samples, samples, strict=False):
            values = column.split(":")
            if len(values) > len(keys):
                self.error(f"sample {name}: more values than FORMAT keys", line, record)
                continue
            ploidy = None
            for key, value in zip(keys, values, strict=False):
                if key == "GT":
                    if not GENOTYPE.match(value):
                        self.error(f"sample {name}: GT {value!r} is malformed", line, record)
                        continue
                    alleles = [a for a in re.split(r"[|/]", value.lstrip("|/")) if a]
                    ploidy = len(alleles)
                    if n_alts and any(a != "." and (parse_int(a) or 0) > n_alts for a in alleles):
                        self.error(f"sample {name}: GT {value} refers to an allele beyond ALT", line, record)
                    continue
                definition = self.format.get(key) or (
                    Definition(*RESERVED_FORMAT[key]) if key in RESERVED_FORMAT else None
                )
                if definition is not None and value != ".":
                    self.values(
                        f"sample {name} {key}",
                        key,
                        value.split(","),
                        definition,
                        n_alts,
                        ploidy,
                        line,
                        record,
                    )

    def values(
        self,
        label: str,
        key: str,
        values: list[str],
        definition: Definition,
        n_alts: int,
        ploidy: int | None,
        line: int,
        record: int,
    ) -> None:
        # with ALT '.', per-allele counts are undefined (tools write e.g. AC=0)
        fixed = parse_int(definition.number, signed=False)
        expected = (
            expected_count(definition.number, n_alts, ploidy, len(values))
            if n_alts or fixed is not None
            else None
        )
        if expected is not None and len(values) != expected and values != ["."]:
            self.definition_problem(
                f"{label}: {len(values)} values, Number={definition.number} needs {expected}", line, record
            )
        for value in values:
            if value == ".":
                continue
            if definition.type == "Integer":
                number = parse_int(value)
                if number is None:
                    self.definition_problem(f"{label}: {value!r} is not an Integer", line, record)
                elif not INT32_MIN_VALID <= number <= INT32_MAX:
                    self.definition_problem(
                        f"{label}: {value} is outside the 32-bit range VCF allows", line, record
                    )
                elif key in NON_NEGATIVE and number < 0:
                    self.definition_problem(f"{label}: {value} must not be negative", line, record)
            elif definition.type == "Float":
                if not FLOAT.match(value):
                    self.definition_problem(f"{label}: {value!r} is not a Float", line, record)
                elif key in NON_NEGATIVE and float(value) < 0:
                    self.definition_problem(f"{label}: {value} must not be negative", line, record)
            elif definition.type == "Character" and len(value) != 1:
                self.definition_problem(f"{label}: {value!r} is not a single Character", line, record)
            elif key == "CIGAR" and not re.match(r"^(?:[0-9]+[MIDNSHPX=])++$", value):
                self.definition_problem(f"{label}: {value!r} is not a CIGAR string", line, record)


def expected_count(number: str, n_alts: int, ploidy: int | None, found: int) -> int | None:
    """How many values Number asks for; for G only as far as needed to compare with `found` (the
    number of genotypes, C(n_alts + ploidy, ploidy), has thousands of digits for a hostile ploidy)."""
    fixed = parse_int(number, signed=False)
    if fixed is not None:
        return fixed
    if number == "A":
        return n_alts
    if number == "R":
        return n_alts + 1
    if number == "G" and ploidy is not None:
        count = 1
        for i in range(1, ploidy + 1):
            count = count * (n_alts + i) // i  # C(n_alts + i, i), exact at every step
            if count > found:
                break
        return count
    return None
