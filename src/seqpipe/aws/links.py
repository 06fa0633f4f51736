"""Presigned download links to S3 objects: the dashboard's MultiQC report, `seqpipe deliver`'s files.

S3 checks a presigned URL against the credentials that signed it: a link signed with temporary
credentials (a role's session, SSO, an instance or task role) stops working when they expire, whatever
its X-Amz-Expires says. So a link never promises more than its signing credentials allow: its lifetime
is capped at their expiry, and the Link says so. Only long-term access keys sign links that live the
whole 7 days SigV4 allows.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import boto3
from botocore.config import Config

from seqpipe.storage.s3 import S3Uri

# SigV4 presigned URLs live at most 7 days.
MAX_SECONDS = 7 * 86400
# Temporary credentials whose expiry is not known (a session token in the environment without
# AWS_CREDENTIAL_EXPIRATION): links are capped at the default role session, and may end sooner.
UNKNOWN_EXPIRY_SECONDS = 3600
# Links end this long before their credentials, so that clock skew never leaves a link that fails.
_SKEW = timedelta(seconds=60)


class CredentialsExpiring(RuntimeError):
    """The signing credentials expire too soon to sign a link that works."""


@dataclass(frozen=True)
class Link:
    url: str
    expires_at: datetime
    # why the link expires before the lifetime asked for (the signing credentials), None when it does not
    capped_by: str | None = None


@dataclass(frozen=True)
class SigningLimit:
    """How long links signed now can work: until `expires_at` (None: the 7 days of SigV4)."""

    expires_at: datetime | None
    credentials: str  # what signs, as said to the person who hands the links out


def presign(uri: str, seconds: int) -> Link:
    """A GET link to the object at `uri`, valid for `seconds` (at most MAX_SECONDS), or until the
    signing credentials expire if that is sooner (the Link's `capped_by` says so)."""
    if not 0 < seconds <= MAX_SECONDS:
        raise ValueError(f"presigned links live 1 s to 7 days, not {seconds} s")
    target = S3Uri.parse(uri)
    signer, credentials = _signer(
        os.environ.get("AWS_ENDPOINT_URL"), os.environ.get("AWS_DEFAULT_REGION"), _credential_source()
    )
    now = datetime.now(UTC)
    wanted = now + timedelta(seconds=seconds)
    limit = signing_limit(credentials, now)
    capped_by = None
    if limit.expires_at is not None and limit.expires_at - _SKEW < wanted:
        usable = int((limit.expires_at - _SKEW - now).total_seconds())
        if usable < 60:
            raise CredentialsExpiring(
                f"the signing credentials ({limit.credentials}) expire at {_iso(limit.expires_at)}: renew "
                "them before signing links"
            )
        seconds, capped_by = (
            usable,
            (
                f"signed with {limit.credentials}, which expire at {_iso(limit.expires_at)}; a link stops "
                "working when its signing credentials do. Sign with credentials that outlive the link for "
                "a longer one"
            ),
        )
    url = signer.generate_presigned_url(
        "get_object", Params={"Bucket": target.bucket, "Key": target.key}, ExpiresIn=seconds
    )
    return Link(url, now + timedelta(seconds=seconds), capped_by)


def signing_limit(credentials: Any, now: datetime) -> SigningLimit:
    """When links signed with `credentials` (botocore's) stop working."""
    if credentials is None:
        raise CredentialsExpiring("no AWS credentials to sign links with")
    frozen = credentials.get_frozen_credentials()  # refreshes refreshable credentials first
    if not frozen.token:
        return SigningLimit(None, "a long-term access key")
    # botocore keeps the expiry of refreshable credentials (role sessions, SSO, instance and task
    # roles, and environment credentials with AWS_CREDENTIAL_EXPIRATION) in this attribute only
    expiry = getattr(credentials, "_expiry_time", None)
    if isinstance(expiry, datetime):
        return SigningLimit(expiry.astimezone(UTC), "temporary credentials")
    return SigningLimit(
        now + timedelta(seconds=UNKNOWN_EXPIRY_SECONDS),
        "temporary credentials of unknown expiry (capped at 1 h; set AWS_CREDENTIAL_EXPIRATION to tell)",
    )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _credential_source() -> tuple[str | None, ...]:
    """What selects the credentials in the environment, so that a change of them gets a new signer."""
    return tuple(
        os.environ.get(name)
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SESSION_TOKEN", "AWS_CREDENTIAL_EXPIRATION", "AWS_PROFILE")
    )


@cache
def _signer(endpoint: str | None, region: str | None, source: tuple[str | None, ...]) -> tuple[Any, Any]:
    """One client per endpoint, region and credentials (keyed like seqpipe.storage.s3.client, so tests
    that move the endpoint get a fresh one), with the credentials it signs with."""
    session = boto3.Session()
    # SigV4 explicitly: with a custom endpoint botocore would otherwise presign with SigV2.
    return session.client("s3", config=Config(signature_version="s3v4")), session.get_credentials()
