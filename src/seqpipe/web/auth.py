"""Who may use the dashboard: bearer tokens outside AWS, Cognito through the load balancer in AWS.

A token is `<payload>.<signature>`: the payload (base64url JSON: subject, expiry) signed with
HMAC-SHA256 under SEQPIPE_DASHBOARD_SECRET. The server keeps no token list; a token is valid while
its signature matches and its expiry is in the future. In AWS the dashboard sits behind an
Application Load Balancer that signs users in with Cognito (docs/dashboard.md); `AlbVerifier`
checks the claims it forwards, and these tokens are not used.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
import urllib.request
from dataclasses import dataclass
from typing import Any

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


# ---- behind an Application Load Balancer with Cognito (AWS) -----------------------------------
ALB_DATA_HEADER = "x-amzn-oidc-data"
ALB_KEY_URL = "https://public-keys.auth.elb.{region}.amazonaws.com/{kid}"
_KID = re.compile(r"^[A-Za-z0-9-]{1,128}$")


class AlbVerifier:
    """Checks the user claims the load balancer adds after Cognito sign-in (`x-amzn-oidc-data`).

    The header is an ES256 JWT signed by the load balancer; its public key is published per region
    and key id. Checking the signer ARN and the signature makes the header unforgeable even if the
    dashboard were reached without going through the load balancer.
    """

    def __init__(self, region: str, alb_arn: str, key_url: str = ALB_KEY_URL) -> None:
        self.region, self.alb_arn, self.key_url = region, alb_arn, key_url
        self._keys: dict[str, Any] = {}

    def _public_key(self, kid: str) -> Any:
        from cryptography.hazmat.primitives.serialization import load_pem_public_key

        if not _KID.match(kid):
            raise InvalidToken("invalid load balancer token (bad key id)")
        if kid not in self._keys:
            url = self.key_url.format(region=self.region, kid=kid)
            with urllib.request.urlopen(url, timeout=5) as response:
                self._keys[kid] = load_pem_public_key(response.read())
        return self._keys[kid]

    def verify(self, token: str, now: float | None = None) -> Identity:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

        parts = token.split(".")
        if len(parts) != 3:
            raise InvalidToken("invalid load balancer token (not a JWT)")
        try:
            header = json.loads(_unb64(parts[0]))
            claims = json.loads(_unb64(parts[1]))
            signature = _unb64(parts[2])
        except ValueError as error:
            raise InvalidToken("invalid load balancer token (malformed)") from error
        if header.get("alg") != "ES256" or header.get("signer") != self.alb_arn or len(signature) != 64:
            raise InvalidToken("invalid load balancer token (not signed by this dashboard's load balancer)")
        der = encode_dss_signature(
            int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        )
        try:
            self._public_key(str(header.get("kid", ""))).verify(
                der, f"{parts[0]}.{parts[1]}".encode(), ec.ECDSA(hashes.SHA256())
            )
        except InvalidSignature as error:
            raise InvalidToken("invalid load balancer token (bad signature)") from error
        expires = int(claims.get("exp") or header.get("exp") or 0)
        if expires <= (time.time() if now is None else now):
            raise InvalidToken("session expired; reload the page to sign in again")
        return Identity(
            subject=str(claims.get("email") or claims.get("sub") or "unknown"), expires_at=expires
        )
