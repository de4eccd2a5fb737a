"""Web Push to accounts' browsers: RFC 8030 requests, VAPID (RFC 8292), payloads encrypted for
each browser (RFC 8291, ``aes128gcm``).

The VAPID key pair is made at first start and kept with the app's secrets
(``app_secrets.vapid_private_key``, the P-256 private key as base64url), so every instance
sharing the database signs with the same key and browsers' subscriptions outlive restarts.
Browsers subscribe with its public key (``GET /api/push/key``).

Each push is a ``POST`` to the subscription's endpoint, through the outbound guard
(:class:`~gong.outgoing.guard.GuardedTransport`, no redirects) like every request Gong makes;
the endpoint was checked by the guard when it was saved too. A batch sends at most one push per
browser and group (the newest message; a mention makes it urgent), since the browser shows one
notification per group. Logs name only an endpoint's origin: the rest of its URL, the
browser's keys and the JWT stay out of them.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import http_ece
import httpx
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02
from py_vapid.jwt import sign as sign_jwt

from gong.clock import Clock
from gong.config import Settings
from gong.domain.notify import Notification, Reason
from gong.domain.push import (
    MAX_FAILURES,
    PushStore,
    PushSubscription,
    push_payload,
    push_ttl,
    push_urgency,
    unb64url,
)
from gong.outgoing.guard import Guard, GuardedTransport

__all__ = [
    "CONCURRENCY",
    "PUSH_TIMEOUT_S",
    "TOKEN_LIFETIME_S",
    "VAPID_SECRET",
    "PushOutcome",
    "VapidKey",
    "WebPush",
    "new_vapid_secret",
]

log = logging.getLogger(__name__)

#: The name of the VAPID private key among the app's secrets.
VAPID_SECRET = "vapid_private_key"  # noqa: S105 - a name, not a secret
#: How long one push request may take, in seconds.
PUSH_TIMEOUT_S = 10.0
#: Push requests in flight at once.
CONCURRENCY = 16
#: A VAPID token is valid this long (RFC 8292 allows at most 24 hours) and reused for all but
#: its last hour.
TOKEN_LIFETIME_S = 12 * 3600
_TOKEN_MARGIN_S = 3600


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def new_vapid_secret() -> str:
    """A new VAPID private key: a P-256 scalar, base64url."""
    key = ec.generate_private_key(ec.SECP256R1())
    return _b64url(key.private_numbers().private_value.to_bytes(32, "big"))


@dataclass(frozen=True, slots=True)
class VapidKey:
    """The server's VAPID key pair."""

    vapid: Vapid02

    @classmethod
    def from_secret(cls, secret: str) -> VapidKey:
        return cls(Vapid02.from_raw(secret.encode("ascii")))

    @property
    def private_key(self) -> ec.EllipticCurvePrivateKey:
        key: ec.EllipticCurvePrivateKey = self.vapid.private_key
        return key

    @property
    def public_key(self) -> str:
        """The public key as browsers take it (``applicationServerKey``): the uncompressed
        point, base64url."""
        point = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return _b64url(point)

    def __repr__(self) -> str:
        return f"VapidKey(public={self.public_key})"


class PushOutcome:
    """What a push service answered, as far as the subscription is concerned."""

    OK = "ok"
    #: 404/410: the subscription is gone.
    GONE = "gone"
    FAILED = "failed"


def _contact(settings: Settings) -> str:
    """VAPID ``sub``: the server's public https URL, else a local mailbox."""
    base = settings.base_url
    return base if base.startswith("https://") else "mailto:gong@localhost"


class WebPush:
    """Sends notifications to the push subscriptions of the accounts they are for."""

    def __init__(
        self,
        settings: Settings,
        store: PushStore,
        key: VapidKey,
        clock: Clock,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.store = store
        self.key = key
        self.clock = clock
        self.guard = Guard(settings, subject="the push endpoint")
        self.allow_http = settings.outgoing_allow_private
        self.contact = _contact(settings)
        self._client = httpx.AsyncClient(
            transport=transport or GuardedTransport(self.guard),
            timeout=PUSH_TIMEOUT_S,
            follow_redirects=False,
            trust_env=False,
        )
        self._tokens: dict[str, tuple[str, int]] = {}
        self._slots = asyncio.Semaphore(CONCURRENCY)

    async def close(self) -> None:
        await self._client.aclose()

    async def check_endpoint(self, endpoint: str) -> None:
        """Check where a subscription's endpoint points before it is saved.

        Raises:
            TargetRefused: it points at this server or an address outbound requests may not
                reach.
        """
        await self.guard.check_url(endpoint)

    def authorization(self, audience: str) -> str:
        """The ``Authorization`` header for a push service (``vapid t=<JWT>, k=<key>``)."""
        now_s = self.clock.now_ms() // 1000
        cached = self._tokens.get(audience)
        if cached is None or cached[1] - now_s < _TOKEN_MARGIN_S:
            claims = {"aud": audience, "exp": now_s + TOKEN_LIFETIME_S, "sub": self.contact}
            cached = (str(sign_jwt(claims, self.key.private_key)), now_s + TOKEN_LIFETIME_S)
            self._tokens[audience] = cached
        return f"vapid t={cached[0]}, k={self.key.public_key}"

    @staticmethod
    def encrypt(subscription: PushSubscription, payload: bytes) -> bytes:
        """``payload`` encrypted for the subscription's browser alone (RFC 8291 aes128gcm)."""
        sender = ec.generate_private_key(ec.SECP256R1())
        body: bytes = http_ece.encrypt(
            payload,
            private_key=sender,
            dh=unb64url(subscription.p256dh),
            auth_secret=unb64url(subscription.auth),
            version="aes128gcm",
        )
        return body

    async def push(self, subscription: PushSubscription, notification: Notification) -> str:
        """Send one notification to one browser; a :class:`PushOutcome`."""
        payload = orjson.dumps(push_payload(notification))
        headers = {
            "Authorization": self.authorization(subscription.origin),
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "TTL": str(push_ttl(notification.reason)),
            "Urgency": push_urgency(notification.reason),
            "Topic": f"group-{notification.group_id}",
        }
        try:
            async with self._slots:
                answer = await self._client.post(
                    subscription.endpoint,
                    content=self.encrypt(subscription, payload),
                    headers=headers,
                )
        except Exception as exc:
            log.info("push to %s failed: %s", subscription.origin, type(exc).__name__)
            return PushOutcome.FAILED
        if answer.status_code in (200, 201, 202):
            return PushOutcome.OK
        if answer.status_code in (404, 410):
            return PushOutcome.GONE
        log.info("push to %s refused: HTTP %d", subscription.origin, answer.status_code)
        return PushOutcome.FAILED

    async def deliver(self, notifications: list[Notification]) -> None:
        """Push a batch of notifications (the notifier's Web Push delivery)."""
        subscriptions = await self.store.of_users({n.user_id for n in notifications})
        if not subscriptions:
            return
        newest = _newest_per_group(notifications)
        jobs: list[tuple[PushSubscription, Notification]] = [
            (s, n) for s in subscriptions for n in newest.get(s.user_id, [])
        ]
        outcomes = await asyncio.gather(*(self.push(s, n) for s, n in jobs))
        by_subscription: dict[int, set[str]] = {}
        for (subscription, _), outcome in zip(jobs, outcomes, strict=True):
            by_subscription.setdefault(subscription.id, set()).add(outcome)
        delivered: list[int] = []
        for subscription in subscriptions:
            found = by_subscription.get(subscription.id)
            if not found:
                continue
            if PushOutcome.GONE in found:
                await self.store.remove(subscription.endpoint)
                log.info("push subscription %d gone (%s)", subscription.id, subscription.origin)
            elif PushOutcome.OK in found:
                delivered.append(subscription.id)
            elif await self.store.failed(subscription.id, MAX_FAILURES):
                log.info(
                    "push subscription %d dropped after %d failures (%s)",
                    subscription.id,
                    MAX_FAILURES,
                    subscription.origin,
                )
        await self.store.delivered(delivered, self.clock.now_ms())


def _newest_per_group(notifications: Sequence[Notification]) -> dict[int, list[Notification]]:
    """Per account, one notification per group (the browser shows one per group): the newest
    mention, else the newest message."""
    chosen: dict[tuple[int, int], Notification] = {}
    for n in notifications:
        key = (n.user_id, n.group_id)
        before = chosen.get(key)
        if before is None or _rank(n) > _rank(before):
            chosen[key] = n
    per_user: dict[int, list[Notification]] = {}
    for (user_id, _), n in sorted(chosen.items()):
        per_user.setdefault(user_id, []).append(n)
    return per_user


def _rank(n: Notification) -> tuple[bool, int]:
    return n.reason is not Reason.GROUP, n.message_id
