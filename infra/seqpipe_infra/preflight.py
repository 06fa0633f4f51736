"""Account prerequisites this app relies on but does not create: GuardDuty with S3 protection, Security
Hub, and AWS Config recording with the HIPAA conformance pack.

Each is one per account and region and is usually run by the organization's security account (a
delegated administrator), so the app names them instead of creating them; `infra/scripts/preflight.py`
(and `deploy.sh` before every deployment) fails while one is missing. A check that cannot be answered
(no permission, an API error) counts as missing: the deployment does not go ahead on a guess.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

# The name AWS gives the sample pack ("Operational Best Practices for HIPAA Security"); deployed through
# an organization it is prefixed (OrgConformsPack-...), so a pack is recognized by this part of its name.
HIPAA_PACK_NAME_PART = "hipaa"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def check_account(client: Callable[[str], Any]) -> list[Check]:
    """The prerequisites of the account and region `client(service)` reaches."""
    return [
        _checked("GuardDuty with S3 protection", lambda: _guardduty(client("guardduty"))),
        _checked("Security Hub", lambda: _security_hub(client("securityhub"))),
        _checked("AWS Config recording", lambda: _config_recording(client("config"))),
        _checked("AWS Config HIPAA conformance pack", lambda: _hipaa_pack(client("config"))),
    ]


def _checked(name: str, check: Callable[[], tuple[bool, str]]) -> Check:
    try:
        ok, detail = check()
    except (ClientError, BotoCoreError) as error:
        return Check(name, False, f"could not be checked: {error}")
    return Check(name, ok, detail)


def _guardduty(guardduty: Any) -> tuple[bool, str]:
    detectors = guardduty.list_detectors()["DetectorIds"]
    if not detectors:
        return False, "no detector in this region: enable GuardDuty (or its delegated administrator)"
    for detector_id in detectors:
        detector = guardduty.get_detector(DetectorId=detector_id)
        features = {f["Name"]: f["Status"] for f in detector.get("Features", [])}
        s3 = features.get("S3_DATA_EVENTS") or detector.get("DataSources", {}).get("S3Logs", {}).get("Status")
        if detector["Status"] == "ENABLED" and s3 == "ENABLED":
            return True, f"detector {detector_id}: enabled, S3 protection on"
    return False, f"detector {', '.join(detectors)}: not enabled, or S3 protection off"


def _security_hub(securityhub: Any) -> tuple[bool, str]:
    try:
        hub = securityhub.describe_hub()
    except ClientError as error:
        if error.response["Error"]["Code"] in {"InvalidAccessException", "ResourceNotFoundException"}:
            return False, "this account is not subscribed to Security Hub in this region"
        raise
    return True, hub["HubArn"]


def _config_recording(config: Any) -> tuple[bool, str]:
    statuses = config.describe_configuration_recorder_status()["ConfigurationRecordersStatus"]
    recording = [s["name"] for s in statuses if s.get("recording")]
    if recording:
        return True, f"recorder {', '.join(recording)} recording"
    return False, "no configuration recorder is recording in this region"


def _hipaa_pack(config: Any) -> tuple[bool, str]:
    packs = [
        pack["ConformancePackName"]
        for page in config.get_paginator("describe_conformance_packs").paginate()
        for pack in page["ConformancePackDetails"]
    ]
    found = [name for name in packs if HIPAA_PACK_NAME_PART in name.lower()]
    if found:
        return True, ", ".join(found)
    return False, "no conformance pack for HIPAA Security (deploy AWS's Operational Best Practices for HIPAA)"
