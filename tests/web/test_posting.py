"""How a person's text names robots and members (shared by the composer's server side and
``gong post``)."""

from __future__ import annotations

from gong.domain.models import Member, Overflow, RateLimit, Robot, RobotKind
from gong.domain.posting import compose, mentioned_robots


def _robot(robot_id: int, name: str) -> Robot:
    return Robot(
        id=robot_id,
        group_id=1,
        name=name,
        kind=RobotKind.CUSTOM,
        access_token="t",
        secret=None,
        keywords=(),
        ip_allow=(),
        enabled=True,
        rate_limit=RateLimit(),
        overflow=Overflow.REJECT,
        avatar_url="",
        settings={},
        created_at=0,
        updated_at=0,
    )


def test_the_longest_robot_name_wins_at_one_at() -> None:
    deploy, deploy_bot, ci = _robot(1, "deploy"), _robot(2, "deploy-bot"), _robot(3, "CI")
    robots = [deploy, deploy_bot, ci]
    assert mentioned_robots("@deploy-bot status", robots) == [deploy_bot]
    assert mentioned_robots("@deploy now, then @deploy-bot", robots) == [deploy, deploy_bot]
    assert mentioned_robots("@CI and @deploy", robots) == [deploy, ci]
    assert mentioned_robots("deploy-bot", robots) == []


def test_compose_writes_mentions_as_the_composer_does() -> None:
    members = [
        Member(1, 1, "张三", "13800000001", "zhangsan", 0),
        Member(2, 1, "李四", "13800000002", None, 0),
        Member(3, 1, "李四四", "13800000004", None, 0),
    ]
    assert compose("@张三 @李四四 @李四 ping @all", members) == {
        "msgtype": "text",
        "text": {"content": "@zhangsan @13800000004 @13800000002 ping @all"},
        "at": {
            "atMobiles": ["13800000004", "13800000002"],
            "atUserIds": ["zhangsan"],
            "isAtAll": True,
        },
    }
    assert compose("**hi**", members, markdown=True) == {
        "msgtype": "markdown",
        "markdown": {"title": "hi", "text": "**hi**"},
    }
