"""cdk-nag 3 rule packs and their acknowledgements, in one place.

cdk-nag 3 runs as a policy-validation plugin (`Validations.of(app).add_plugins`), not as an Aspect; a
finding fails `app.synth()` unless acknowledged on the construct with a reason that stays in code.
"""

from __future__ import annotations

import aws_cdk as cdk
import cdk_nag
from constructs import IConstruct

PACKS = ("AwsSolutions", "HIPAA.Security")


def add_rule_packs(app: cdk.App) -> None:
    validations = cdk.Validations.of(app)
    # The acknowledgements (with their reasons) are also written into each resource's template
    # Metadata (cdk_nag.rules_to_suppress), so that reviewers of the templates see them.
    validations.add_plugins(
        cdk_nag.AwsSolutionsChecks(app, verbose=True, write_suppressions_to_cloud_formation=True)
    )
    validations.add_plugins(cdk_nag.HIPAASecurityChecks(app, verbose=True))


def acknowledge(construct: IConstruct, reason: str, *rules: str) -> None:
    """Acknowledge findings of `construct` and everything below it.

    `rules` are written as in the validation report, e.g. "AwsSolutions-IAM5[Resource::*]" or
    "HIPAA.Security-LambdaConcurrency"; the pack prefix is derived from the rule name.
    """
    validations = cdk.Validations.of(construct)
    for rule in rules:
        pack = "HIPAA.Security" if rule.startswith("HIPAA.Security-") else rule.split("-", 1)[0]
        validations.acknowledge(cdk.Acknowledgment(id=f"{pack}::{rule}", reason=reason))
