"""In AWS the dashboard trusts only the load balancer's signed Cognito claims (`x-amzn-oidc-data`).

The load balancer's key server is played by a local HTTP server holding a key made here; the tokens
are built exactly as the load balancer builds them (ES256, base64url with padding, signer ARN)."""

from __future__ import annotations

import base64
import http.server
import json
import threading
import time
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from seqpipe.web.auth import AlbVerifier

ALB_ARN = (
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/seqpipe-dashboard/50dc6c495c0c9188"
)
KEY = ec.generate_private_key(ec.SECP256R1())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode()  # the load balancer keeps the '=' padding


def alb_token(claims: dict, signer: str = ALB_ARN, key: ec.EllipticCurvePrivateKey = KEY) -> str:
    header = {"alg": "ES256", "kid": "k-1", "signer": signer, "iss": "https://cognito-idp", "client": "c"}
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return f"{signing_input}.{_b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


@pytest.fixture
def key_server() -> Iterator[str]:
    pem = KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )

    class Keys(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = self.path == "/k-1"
            self.send_response(200 if found else 404)
            self.end_headers()
            self.wfile.write(pem if found else b"")

        def log_message(self, *args) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Keys)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/{{kid}}"
    server.shutdown()


@pytest.fixture
def alb_client(demo, key_server):
    from fastapi.testclient import TestClient

    from seqpipe.web.app import create_app

    app = create_app(alb=AlbVerifier("eu-west-1", ALB_ARN, key_url=key_server))
    with TestClient(app) as client:
        yield client


def test_a_user_signed_in_by_the_load_balancer_gets_the_pages(alb_client):
    token = alb_token({"sub": "u-1", "email": "ana@example.org", "exp": int(time.time()) + 60})
    response = alb_client.get("/", headers={"x-amzn-oidc-data": token})
    assert response.status_code == 200 and "signed in as ana@example.org" in response.text
    assert alb_client.get("/api/runs", headers={"x-amzn-oidc-data": token}).status_code == 200


def test_forged_expired_or_missing_load_balancer_claims_are_401(alb_client, token):
    later = int(time.time()) + 60
    other_key = ec.generate_private_key(ec.SECP256R1())
    cases = {
        "other signer": alb_token({"sub": "u", "exp": later}, signer=ALB_ARN.replace("seqpipe", "evil")),
        "bad signature": alb_token({"sub": "u", "exp": later}, key=other_key),
        "expired": alb_token({"sub": "u", "exp": int(time.time()) - 1}),
        "not a jwt": "garbage",
    }
    for name, value in cases.items():
        response = alb_client.get("/api/runs", headers={"x-amzn-oidc-data": value})
        assert response.status_code == 401, name
    assert alb_client.get("/api/runs").status_code == 401
    page = alb_client.get("/")
    assert page.status_code == 401 and "load balancer" in page.text and "<form" not in page.text
    # a local bearer token means nothing behind the load balancer
    response = alb_client.get("/api/runs", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401 and "load balancer" in response.json()["detail"]
