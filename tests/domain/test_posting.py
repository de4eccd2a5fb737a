"""People posting: what :func:`~gong.domain.posting.person_message` accepts, and
:class:`~gong.domain.posting.Posting` as the runtime wires it (real hub, writer, inbox and
callbacks on a SQLite file; a real HTTP server on 127.0.0.1 stands in for a robot's service).

How a text names members and robots (``compose``, ``mentioned_robots``) is tested in
``tests/web/test_posting.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import orjson
import pytest

from gong.clock import ManualClock
from gong.config import Settings
from gong.domain.errors import Invalid
from gong.domain.models import Group, Member, Outgoing, Robot, SenderType
from gong.domain.posting import compose, person_message
from gong.domain.specs import RobotSpec
from gong.domain.users import User
from gong.protocol.limits import MAX_BODY_BYTES
from gong.runtime import Runtime
from gong.storage.accounts import Accounts
from tests.outgoing.callback_server import CallbackServer

# -- person_message --------------------------------------------------------------------------------


def test_people_post_text_and_markdown() -> None:
    text = person_message(
        orjson.dumps(
            {"msgtype": "text", "text": {"content": "hi @138"}, "at": {"atMobiles": ["138"]}}
        )
    )
    assert (text.msgtype, text.body_text()) == ("text", "hi @138")
    assert text.to_wire()["at"]["atMobiles"] == ["138"]
    markdown = person_message(
        orjson.dumps({"msgtype": "markdown", "markdown": {"title": "t", "text": "**b**"}})
    )
    assert (markdown.msgtype, markdown.body_text()) == ("markdown", "**b**")


@pytest.mark.parametrize(
    ("markdown", "title"),
    [
        # No title, or a blank one (the web composer sends none): the first line's words.
        ({"text": "## Composer markdown\n- **a**\n- b"}, "Composer markdown"),
        ({"title": "  ", "text": "- [the runbook](https://e.test/rb) *now*"}, "the runbook now"),
        ({"title": None, "text": "\n\n> 发布 **完成**"}, "发布 完成"),
        # A title the sender gave is theirs.
        ({"title": "## kept", "text": "# other"}, "## kept"),
    ],
)
def test_a_person_s_markdown_without_a_title_gets_its_first_line(
    markdown: dict[str, object], title: str
) -> None:
    message = person_message(orjson.dumps({"msgtype": "markdown", "markdown": markdown}))
    assert message.title() == title
    assert message.body_text() == markdown["text"]


def _text_of_size(size: int) -> bytes:
    head, tail = b'{"msgtype":"text","text":{"content":"', b'"}}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


def test_a_body_of_the_largest_size_is_read_one_byte_more_is_refused() -> None:
    assert len(_text_of_size(MAX_BODY_BYTES)) == MAX_BODY_BYTES
    assert person_message(_text_of_size(MAX_BODY_BYTES)).msgtype == "text"
    with pytest.raises(Invalid, match=f"^a message is at most {MAX_BODY_BYTES} bytes$"):
        person_message(_text_of_size(MAX_BODY_BYTES + 1))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"not json", "^the body is not JSON$"),
        (b"", "^the body is not JSON$"),
        (b"[]", '^people post "text" or "markdown" messages$'),
        (b'"text"', '^people post "text" or "markdown" messages$'),
        (b'{"text": {"content": "no msgtype"}}', '^people post "text" or "markdown" messages$'),
        (
            b'{"msgtype": "link", "link": {"title": "t", "text": "x", "messageUrl": "https://e.test"}}',
            '^people post "text" or "markdown" messages$',
        ),
        # A robot's message type, valid or not, is no person's.
        (b'{"msgtype": "feedCard", "feedCard": {"links": []}}', "people post"),
        # The type is a person's but the message is not valid: DingTalk's own wording.
        (b'{"msgtype": "text", "text": {}}', "text --》 content"),
        (b'{"msgtype": "markdown", "markdown": {"title": "x"}}', "markdown --》 text"),
        (b'{"msgtype": "markdown", "markdown": {"text": 5}}', "markdown"),
    ],
)
def test_what_people_may_not_post(raw: bytes, message: str) -> None:
    with pytest.raises(Invalid, match=message):
        person_message(raw)


# -- Posting ---------------------------------------------------------------------------------------


@dataclass
class World:
    runtime: Runtime
    group: Group
    zhang: Member
    li: Member
    user: User
    deploy: Robot  # with an outgoing callback
    deploy_bot: Robot  # without one
    off: Robot  # with one, disabled
    elsewhere: Robot  # with one, in another group
    bot: CallbackServer


@pytest.fixture
def bot() -> Iterator[CallbackServer]:
    server = CallbackServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def world(
    sqlite_settings: Settings, clock: ManualClock, bot: CallbackServer
) -> AsyncIterator[World]:
    # The robot's service listens on 127.0.0.1: internal addresses allowed.
    settings = sqlite_settings.model_copy(update={"outgoing_allow_private": True})
    runtime = await Runtime.open(settings, clock=clock)
    try:
        groups, robots = runtime.groups, runtime.robots
        group = await groups.create("ops")
        other = await groups.create("other")
        zhang = await groups.add_member(
            group.id, name="张三", mobile="13800000001", user_id="zhangsan"
        )
        li = await groups.add_member(group.id, name="李四", mobile="13800000002")
        outgoing = Outgoing(url=bot.url, token="tok")

        def spec(group_id: int, name: str, **more: object) -> RobotSpec:
            return RobotSpec(group_id, name, keywords=["k"], **more)  # type: ignore[arg-type]

        deploy = await robots.create(spec(group.id, "deploy", outgoing=outgoing))
        deploy_bot = await robots.create(spec(group.id, "deploy-bot"))
        off = await robots.create(spec(group.id, "off", outgoing=outgoing, enabled=False))
        elsewhere = await robots.create(spec(other.id, "elsewhere", outgoing=outgoing))
        user = await Accounts(runtime.engine, clock).create_user("alice", "not-a-real-hash")
        yield World(runtime, group, zhang, li, user, deploy, deploy_bot, off, elsewhere, bot)
    finally:
        await runtime.close()


async def test_a_post_is_stored_read_by_its_author_and_calls_back_the_robots_it_names(
    world: World, clock: ManualClock
) -> None:
    rt = world.runtime
    text = "@deploy @off @deploy-bot @elsewhere: @张三 please look"
    message = person_message(orjson.dumps(compose(text, [world.zhang, world.li])))
    clock.advance(1_234)

    posted = await rt.posting.post(
        user=world.user, group=world.group, member=world.li, message=message
    )

    assert posted.group_id == world.group.id
    # The group's robots named in the text, longest name at each @; not the other group's.
    assert [r.id for r in posted.robots] == [world.deploy.id, world.deploy_bot.id, world.off.id]
    # Called back: the enabled one with an outgoing URL, only.
    assert len(posted.callbacks) == 1
    call = await posted.callbacks[0]
    assert call is not None
    assert (call.robot_id, call.message_id, call.sender_user_id) == (
        world.deploy.id,
        posted.message_id,
        world.user.id,
    )
    assert [r.headers["token"] for r in world.bot.received] == ["tok"]

    stored = await rt.history.get_message(posted.message_id)
    assert stored.sender_type is SenderType.USER
    assert (stored.sender_user_id, stored.sender_name) == (world.user.id, "李四")
    assert stored.group_id == world.group.id and stored.robot_id is None
    assert stored.created_at == clock.now_ms()
    assert stored.content["text"]["content"] == text.replace("@张三", "@zhangsan")
    assert [(m["member_id"], m["via"]) for m in stored.mentions] == [(world.zhang.id, "userId")]

    conversation = await rt.inbox.conversation(world.user, world.group, world.li)
    assert (conversation.last_read_id, conversation.unread) == (posted.message_id, 0)


async def test_a_post_without_a_member_is_signed_with_the_username(world: World) -> None:
    rt = world.runtime
    message = person_message(b'{"msgtype": "markdown", "markdown": {"title": "t", "text": "hi"}}')
    posted = await rt.posting.post(user=world.user, group=world.group, member=None, message=message)
    assert (posted.robots, posted.callbacks) == ([], [])
    stored = await rt.history.get_message(posted.message_id)
    assert (stored.sender_name, stored.msgtype) == ("alice", "markdown")
    assert world.bot.received == []


async def test_nobody_posts_in_a_dissolved_group(world: World) -> None:
    rt = world.runtime
    group = await rt.groups.update(world.group.id, dissolved=True)
    message = person_message(b'{"msgtype": "text", "text": {"content": "@deploy hello"}}')
    with pytest.raises(Invalid, match=f"^group {group.id} is dissolved; nobody can post in it$"):
        await rt.posting.post(user=world.user, group=group, member=world.zhang, message=message)
    assert await rt.history.count_messages(group.id) == 0
    assert world.bot.received == []
    conversation = await rt.inbox.conversation(world.user, group, world.zhang)
    assert conversation.last_read_id == 0
