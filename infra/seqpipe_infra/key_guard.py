"""An alarm when anyone schedules a KMS key of the account for deletion or disables one.

Deleting the data key destroys every copy of the data it encrypts, and disabling it stops every run:
both are ordinary KMS API calls that an administrator can make. The trail records them as management
events, which reach EventBridge as "AWS API Call via CloudTrail"; the rule sends each to the alerts
topic with who did it, to which key, and when (a deletion waits 7-30 days: the time to cancel it).
Every key of the account is watched: the call names its key by id or ARN, and a key of another
workload scheduled for deletion deserves a look too.
"""

from __future__ import annotations

from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from seqpipe_infra.common import event_pattern
from seqpipe_infra.config import EnvConfig

KEY_EVENTS = ("ScheduleKeyDeletion", "DisableKey")


def key_event_pattern() -> dict:
    """The EventBridge pattern of the watched calls (also what the tests match events against)."""
    return {
        "source": ["aws.kms"],
        "detail-type": ["AWS API Call via CloudTrail"],
        "detail": {"eventSource": ["kms.amazonaws.com"], "eventName": list(KEY_EVENTS)},
    }


class KeyGuard(Construct):
    def __init__(
        self, scope: Construct, id: str, *, config: EnvConfig, topic: sns.ITopic, topic_key: kms.IKey
    ) -> None:
        super().__init__(scope, id)
        pattern = key_event_pattern()
        field = events.EventField.from_path
        self.rule = events.Rule(
            self,
            "KeyDeletionOrDisable",
            rule_name=f"{config.prefix}-kms-key-deletion",
            description="A KMS key of the account scheduled for deletion or disabled",
            event_pattern=event_pattern(pattern),
            targets=[
                targets.SnsTopic(
                    topic,
                    message=events.RuleTargetInput.from_text(
                        f"[{config.prefix}] KMS {field('$.detail.eventName')} on key "
                        f"{field('$.detail.requestParameters.keyId')} by "
                        f"{field('$.detail.userIdentity.arn')} at {field('$.detail.eventTime')}. "
                        "Cancel an unintended deletion (aws kms cancel-key-deletion) within its waiting "
                        "period, and re-enable the key (aws kms enable-key)."
                    ),
                )
            ],
        )
        # the topic is encrypted: EventBridge needs the key to publish to it
        topic_key.grant(iam.ServicePrincipal("events.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey")
