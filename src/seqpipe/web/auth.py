"""Bearer tokens for the dashboard when it runs outside AWS.

A token is `<payload>.<signature>`: the payload (base64url JSON: subject, expiry) signed with
HMAC-SHA256 under SEQPIPE_DASHBOARD_SECRET. The server keeps no token list; a token is valid while
its signature matches and its expiry is in the future. In AWS the dashboard sits behind Cognito or
IAM instead (docs/dashboard.md), and these tokens are not used.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

COOKIE_NAME = "seqpipe_token"


class InvalidToken(Exception):
    """The request carries no usable token; the message says which problem (shown with the 401)."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: str, payload: str) -> str:
    return _b64(hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest())


@dataclass(frozen=True)
class Identity:
    subject: str
    expires_at: int


def issue_token(secret: str, subject: str, ttl_seconds: int, now: float | None = None) -> str:
    expires = int((time.time() if now is None else now) + ttl_seconds)
    payload = _b64(json.dumps({"sub": subject, "exp": expires}, separators=(",", ":")).encode())
    return f"{payload}.{_sign(secret, payload)}"


def verify_token(secret: str, token: str, now: float | None = None) -> Identity:
    payload, _, signature = token.partition(".")
    if not payload or not signature or not hmac.compare_digest(_sign(secret, payload), signature):
        raise InvalidToken("invalid token (not issued by this dashboard)")
    try:
        claims = json.loads(_unb64(payload))
        identity = Identity(subject=str(claims["sub"]), expires_at=int(claims["exp"]))
    except (ValueError, KeyError, TypeError) as error:
        raise InvalidToken("invalid token (malformed payload)") from error
    if identity.expires_at <= (time.time() if now is None else now):
        expired = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(identity.expires_at))
        raise InvalidToken(f"token expired at {expired}; ask for a new one (seqpipe dashboard token)")
    return identity


def bearer_token(authorization: str | None, cookie: str | None) -> str:
    """The token from `Authorization: Bearer …` (API clients) or the login cookie (browsers)."""
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise InvalidToken("the Authorization header must be 'Bearer <token>'")
        return token.strip()
    if cookie:
        return cookie
    raise InvalidToken("missing token: send 'Authorization: Bearer <token>' or log in at /login")
