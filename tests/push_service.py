"""A push service for tests, speaking RFC 8030 on 127.0.0.1 (the one allowed fake: real push
services are remote).

It plays both ends a real one joins: :meth:`PushService.subscribe` does what a browser and its
push service do when a page calls ``pushManager.subscribe`` (a P-256 key pair and a 16-byte auth
secret made here, an endpoint URL of this service, the application server key remembered); and
it receives the application server's pushes, checking them as a push service does and
decrypting them as the browser would:

- ``POST /push/<id>`` only, with a ``TTL`` header (400 without) and ``Content-Encoding:
  aes128gcm``; the answer is ``201 Created`` with a ``Location`` of the message;
- ``Authorization: vapid t=<JWT>, k=<key>`` (RFC 8292): ``k`` is the key the subscription was
  made with, the JWT is ES256 and its signature checks out with ``k``, ``aud`` is the
  endpoint's origin, ``exp`` is in the future (at most 24 hours away), ``sub`` is there — else
  403;
- the body is decrypted (RFC 8291 / RFC 8188), written out here with ``cryptography``'s
  primitives rather than the library Gong encrypts with, so the two check each other;
- a message lives for its TTL (:meth:`PushService.messages` shows those still alive);
- :meth:`PushService.gone` makes an endpoint answer ``410 Gone`` from then on.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from tests.helpers import serve_in_thread, stop_server

__all__ = ["PushService", "Pushed", "Subscription", "b64url", "unb64url"]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _point(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def _hkdf(salt: bytes, info: bytes, length: int, secret: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(secret)


@dataclass
class Subscription:
    """What the browser keeps (the private key, the auth secret) and what it hands the page."""

    id: str
    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes
    #: The application server key the page subscribed with (base64url).
    server_key: str
    gone: bool = False

    @property
    def p256dh(self) -> str:
        return b64url(_point(self.private_key.public_key()))

    def to_json(self) -> dict[str, Any]:
        """As ``PushSubscription.toJSON()`` gives it in a browser."""
        return {
            "endpoint": self.endpoint,
            "expirationTime": None,
            "keys": {"p256dh": self.p256dh, "auth": b64url(self.auth)},
        }

    def decrypt(self, body: bytes) -> bytes:
        """RFC 8291: the aes128gcm header, then one record, keyed from ECDH and the auth secret.

        Raises:
            ValueError: the body is not a message for this subscription.
        """
        salt, rs, id_length = body[:16], int.from_bytes(body[16:20], "big"), body[20]
        sender = body[21 : 21 + id_length]
        records = body[21 + id_length :]
        if id_length != 65 or not records or len(records) > rs:
            raise ValueError("not one aes128gcm record keyed by a P-256 public key")
        sender_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), sender)
        shared = self.private_key.exchange(ec.ECDH(), sender_key)
        info = b"WebPush: info\x00" + _point(self.private_key.public_key()) + sender
        ikm = _hkdf(self.auth, info, 32, shared)
        cek = _hkdf(salt, b"Content-Encoding: aes128gcm\x00", 16, ikm)
        nonce = _hkdf(salt, b"Content-Encoding: nonce\x00", 12, ikm)
        plain = AESGCM(cek).decrypt(nonce, records, None).rstrip(b"\x00")
        if not plain.endswith(b"\x02"):  # the last record's delimiter
            raise ValueError("the record is not the last one")
        return plain[:-1]


@dataclass
class Pushed:
    """One message the service accepted."""

    subscription: str
    payload: dict[str, Any]
    headers: dict[str, str]
    claims: dict[str, Any]
    ttl: int
    received: float = field(default_factory=time.monotonic)

    @property
    def alive(self) -> bool:
        return time.monotonic() < self.received + self.ttl


class PushService:
    def __init__(self) -> None:
        self._subscriptions: dict[str, Subscription] = {}
        self._pushed: list[Pushed] = []
        #: Every request per subscription id, with the status answered.
        self.requests: dict[str, list[int]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._server: ThreadingHTTPServer | None = None

    # -- the browser's side --------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def subscribe(self, server_key: str) -> Subscription:
        """What ``pushManager.subscribe({applicationServerKey})`` makes."""
        sid = f"s{next(self._ids)}"
        subscription = Subscription(
            id=sid,
            endpoint=f"{self.url}/push/{sid}",
            private_key=ec.generate_private_key(ec.SECP256R1()),
            auth=os.urandom(16),
            server_key=server_key,
        )
        with self._lock:
            self._subscriptions[sid] = subscription
        return subscription

    def gone(self, subscription: Subscription) -> None:
        """The browser unsubscribed: its endpoint answers 410 from now on."""
        with self._lock:
            subscription.gone = True

    def messages(self, subscription: Subscription) -> list[Pushed]:
        """The messages for a subscription whose TTL has not run out."""
        with self._lock:
            return [p for p in self._pushed if p.subscription == subscription.id and p.alive]

    def wait(self, subscription: Subscription, count: int, timeout: float = 10.0) -> list[Pushed]:
        """Wait until ``count`` messages reached a subscription; all of them."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [p for p in self._pushed if p.subscription == subscription.id]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"{len(found)} of {count} pushes reached {subscription.id}: "
                        f"{[p.payload for p in found]}; requests {self.requests}"
                    )
                self._changed.wait(left)

    # -- the push service's side ---------------------------------------------------------------

    def check_vapid(self, subscription: Subscription, authorization: str) -> dict[str, Any]:
        """The claims of a valid ``vapid`` authorization for this subscription.

        Raises:
            ValueError: naming what is wrong.
        """
        scheme, _, params = authorization.partition(" ")
        if scheme.lower() != "vapid":
            raise ValueError(f"scheme {scheme!r} is not vapid")
        parts = dict(p.strip().split("=", 1) for p in params.split(",") if "=" in p)
        token, key = parts.get("t", ""), parts.get("k", "")
        if key != subscription.server_key:
            raise ValueError("k is not the key the subscription was made with")
        head, claims_text, signature = token.split(".")
        header = json.loads(unb64url(head))
        if header.get("alg") != "ES256":
            raise ValueError(f"alg {header.get('alg')!r} is not ES256")
        raw = unb64url(signature)
        if len(raw) != 64:
            raise ValueError("an ES256 signature is 64 bytes")
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(key))
        try:
            public.verify(der, f"{head}.{claims_text}".encode(), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            raise ValueError("the JWT's signature does not verify with k") from None
        claims: dict[str, Any] = json.loads(unb64url(claims_text))
        if claims.get("aud") != self.url:
            raise ValueError(f"aud {claims.get('aud')!r} is not {self.url}")
        now = time.time()
        if not now < float(claims.get("exp", 0)) <= now + 86_400:
            raise ValueError("exp is not within the next 24 hours")
        if not claims.get("sub"):
            raise ValueError("no sub")
        return claims

    def _receive(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, str, str]:
        """``(status, Location, reason)`` for one request."""
        sid = path.removeprefix("/push/")
        with self._lock:
            subscription = self._subscriptions.get(sid) if path.startswith("/push/") else None
        if subscription is None:
            return 404, "", "no such subscription"
        if subscription.gone:
            return 410, "", "unsubscribed"
        ttl = headers.get("ttl", "")
        if not ttl.isdigit():
            return 400, "", "TTL is required"
        if headers.get("content-encoding") != "aes128gcm":
            return 400, "", "Content-Encoding must be aes128gcm"
        try:
            claims = self.check_vapid(subscription, headers.get("authorization", ""))
        except ValueError as exc:
            return 403, "", f"VAPID: {exc}"
        try:
            payload = json.loads(subscription.decrypt(body))
        except Exception as exc:
            return 400, "", f"cannot decrypt: {exc}"
        number = next(self._ids)
        with self._changed:
            self._pushed.append(Pushed(sid, payload, headers, claims, int(ttl)))
            self._changed.notify_all()
        return 201, f"/message/{number}", "created"

    def start(self) -> PushService:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, location, reason = service._receive(self.path, headers, body)
                with service._changed:
                    service.requests.setdefault(self.path.removeprefix("/push/"), []).append(status)
                    service._changed.notify_all()
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                text = reason.encode()
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        self._server = serve_in_thread(Handler)
        return self

    def stop(self) -> None:
        stop_server(self._server)
        self._server = None
