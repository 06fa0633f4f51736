"""Reference sequence names as SAM (§1.2.1) allows them; VCF 4.3 (§1.4.7) takes the same rule for
contigs: ':' and '*' allowed, '*' and '=' not first."""

from __future__ import annotations

import re

REFERENCE_NAME = re.compile(r"^[0-9A-Za-z!#$%&+./:;?@^_|~-][0-9A-Za-z!#$%&*+./:;=?@^_|~-]*$")
