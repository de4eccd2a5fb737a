"""The web app's notifications, started with the server: the notifier
(:class:`gong.domain.notify.Notifier`) and its two deliveries.

- **Live**: a ``notify`` event on the account's own channel
  (:func:`gong.domain.service.user_channel`); every open page of the account receives it
  through ``/events`` (``event: notify``) and raises a desktop notification.
- **Web Push**: :class:`gong.outgoing.push.WebPush`, to the browsers the account subscribed,
  for when no page is open.

Only the server runs the notifier (never a CLI command), one instance at a time.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx
import orjson

from gong import i18n
from gong.domain.models import StoredMessage
from gong.domain.notify import Notification, Notifier
from gong.domain.service import user_channel
from gong.outgoing.push import VAPID_SECRET, VapidKey, WebPush, new_vapid_secret
from gong.storage.notify import SqlNotifyStore
from gong.storage.push import SqlPushStore
from gong.web.render import preview
from gong.web.site import Web

__all__ = ["NOTIFY_PREFIX", "Notifications", "notify_event", "open_notifications"]

#: How every published notification starts: ``/events`` knows one by it without decoding it.
NOTIFY_PREFIX = b'{"type":"notify",'


def notify_event(notification: Notification) -> bytes:
    """The published event of a notification (``/events`` turns it into ``event: notify``);
    ``type`` comes first, so it starts with :data:`NOTIFY_PREFIX`."""
    return orjson.dumps(
        {"type": "notify", "user_id": notification.user_id, **notification.to_json()}
    )


def _describe(message: StoredMessage, language: str) -> str:
    with i18n.use(language):
        return preview(message)


@dataclass(slots=True)
class Notifications:
    notifier: Notifier
    push: WebPush
    subscriptions: SqlPushStore

    async def stop(self) -> None:
        """Finish the batch being delivered, then stop."""
        await self.notifier.stop()
        await self.push.close()


async def open_notifications(
    web: Web, *, transport: httpx.AsyncBaseTransport | None = None, start: bool = True
) -> Notifications:
    """The notifier with its deliveries (started unless ``start`` is off), and the VAPID key
    (made at the first start)."""
    runtime = web.runtime
    key = VapidKey.from_secret(await web.accounts.secret(VAPID_SECRET, new_vapid_secret))
    subscriptions = SqlPushStore(runtime.engine, runtime.clock)
    push = WebPush(runtime.settings, subscriptions, key, runtime.clock, transport=transport)
    broker = runtime.broker

    async def live(notifications: list[Notification]) -> None:
        for notification in notifications:
            await broker.publish(user_channel(notification.user_id), notify_event(notification))

    notifier = Notifier(
        store=SqlNotifyStore(runtime.engine, runtime.settings.default_language),
        clock=runtime.clock,
        deliveries=[live, push.deliver],
        describe=_describe,
        holder=uuid.uuid4().hex,
    )
    if start:
        notifier.start()
    return Notifications(notifier, push, subscriptions)
