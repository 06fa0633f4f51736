"""Header summaries from SAM and VCF header text (also the text inside BAM, CRAM and BCF)."""

from __future__ import annotations

import re

from seqpipe.validators.result import HeaderSummary, ValidationResult

_VCF_STRUCTURED = re.compile(r"^##(\w+)=<(.*)>$")
# a value is a quoted string, a [list, of, values] or anything up to the next comma; matched from
# each field's start (an unanchored search over a long line of word characters is quadratic), with
# possessive repeats (a backtracking one keeps state per character: 245 MB for a 2 MB string)
_FIELD = re.compile(r'(\w+)=("[^"\\]*+(?:\\.[^"\\]*+)*+"|\[[^\]]*\]|[^,]*)(,|$)')


def structured_fields(body: str) -> list[tuple[str, str]] | None:
    """key=value pairs of a structured meta line (ID=x,length=1,Description="a, b"), values as
    written; None when the body is not such a list (unbalanced quotes, a field without '=')."""
    pairs, pos = [], 0
    while pos < len(body):
        match = _FIELD.match(body, pos)
        if match is None:
            return None
        pairs.append((match.group(1), match.group(2)))
        pos = match.end()
    return pairs


def sam_header(text: str, result: ValidationResult, header: HeaderSummary) -> None:
    samples: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line:
            continue
        if not line.startswith("@"):
            result.error(f"header line does not start with '@': {line[:60]!r}", line=number)
            continue
        record_type, *fields = line.split("\t")
        if record_type == "@CO":
            continue
        if len(record_type) != 3:
            result.error(f"malformed header record type {record_type!r}", line=number)
            continue
        tags: dict[str, str] = {}
        for item in fields:
            if len(item) < 3 or item[2] != ":":
                result.error(f"{record_type} field {item[:30]!r} is not TAG:VALUE", line=number)
                continue
            tags[item[:2]] = item[3:]
        if record_type == "@HD":
            # for CRAM the header's version is the container format's; SAM's own goes to details
            header.details["sam_version"] = tags.get("VN")
            header.version = header.version or tags.get("VN")
        elif record_type == "@SQ":
            name = tags.get("SN")
            if not name:
                continue  # reported by the line checks (sam_text)
            header.contigs.append(name)
            if "M5" in tags:
                header.reference_md5s[name] = tags["M5"].lower()
            if tags.get("UR") and header.reference is None:
                header.reference = tags["UR"]
        elif record_type == "@RG" and tags.get("SM") and tags["SM"] not in samples:
            samples.append(tags["SM"])
    header.samples = samples


def vcf_header(text: str, result: ValidationResult, header: HeaderSummary) -> bool:
    """Parse the meta lines and #CHROM line; False when the header is not complete in `text`."""
    lines = text.split("\n")
    if not lines[0].startswith("##fileformat=VCF"):
        result.error(f"first line must be ##fileformat=VCFv4.x, found {lines[0][:40]!r}", line=1)
        return True
    header.version = lines[0].split("=", 1)[1].strip()
    for number, line in enumerate(lines[:-1], start=1):
        line = line.rstrip("\r")
        if line.startswith("#CHROM"):
            columns = line.split("\t")
            fixed = ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO"]
            if columns[:8] != fixed:
                result.error("#CHROM line must have the 8 fixed tab-separated columns", line=number)
            if len(columns) > 8 and columns[8] != "FORMAT":
                result.error("sample columns must follow a FORMAT column", line=number)
            header.samples = columns[9:]
            if len(set(header.samples)) != len(header.samples):
                result.error("duplicate sample names in the #CHROM line", line=number)
            return True
        if not line.startswith("##"):
            result.error("header ends without a #CHROM line", line=number)
            return True
        structured = _VCF_STRUCTURED.match(line)
        if line.startswith("##reference="):
            header.reference = line.split("=", 1)[1]
        elif structured and structured.group(1) == "contig":
            # a missing ID or broken quoting is reported by the line checks (vcf_text)
            fields = dict(structured_fields(structured.group(2)) or [])
            if fields.get("ID"):
                header.contigs.append(fields["ID"])
                if "md5" in fields:
                    header.reference_md5s[fields["ID"]] = fields["md5"].strip('"').lower()
    return False
