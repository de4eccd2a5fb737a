"""The domain's errors carry their message as :class:`gong.i18n.Text`: English where machines and
logs read it (``message``, ``str()``), the reader's language where people do (``translated()``)."""

from __future__ import annotations

import pytest

from gong import i18n
from gong.domain.errors import Conflict, GongError, Invalid
from gong.domain.models import RateLimit, RobotKind
from gong.domain.robot_admin import required
from gong.domain.robots import check_settings
from gong.domain.users import clean_username
from gong.i18n import core


def _raised(action: object) -> GongError:
    assert callable(action)
    with pytest.raises(GongError) as caught:
        action()
    return caught.value


def test_the_message_stays_english_and_the_reader_gets_their_language() -> None:
    error = _raised(lambda: clean_username("Not A Name!"))
    english = (
        "a username is 1 to 64 characters: letters, digits, '_', '.', '@' or '-', starting with "
        "a letter or digit"
    )
    assert isinstance(error, Invalid)
    assert error.message == str(error) == english
    with i18n.use("zh-CN"):
        assert error.message == english
        assert error.translated() == (
            "用户名为 1 到 64 个字符，可包含字母、数字、'_'、'.'、'@' 或 '-'，并以字母或数字开头"
        )
    with i18n.use("en"):
        assert error.translated() == english


def test_parameters_and_words_inside_them_are_translated() -> None:
    error = _raised(lambda: required("  ", core.lazy("robot name")))
    assert error.message == "robot name cannot be empty"
    with i18n.use("zh-CN"):
        assert error.translated() == "机器人名称不能为空"

    error = _raised(
        lambda: check_settings(
            kind=RobotKind.CUSTOM,
            keywords=["ok"],
            signing=False,
            ip_allow=[],
            rate_limit=RateLimit(10**9, 60, 600),
        )
    )
    assert error.message.startswith("rate limit must be between 0 and ")
    assert error.message.endswith(", got 1000000000")
    with i18n.use("zh-CN"):
        assert error.translated().startswith("限流条数必须在 0 到 ")
        assert error.translated().endswith("之间，收到的是 1000000000")


def test_an_error_raised_again_as_another_keeps_its_words() -> None:
    first = Invalid(core.lazy("group %(id)s is dissolved", id=7))
    again = Conflict(first.text)
    assert again.message == "group 7 is dissolved"
    with i18n.use("zh-CN"):
        assert again.translated() == "群 7 已解散"


def test_a_plain_message_is_shown_as_it_is() -> None:
    error = Invalid("an address from the network layer")
    with i18n.use("zh-CN"):
        assert error.translated() == error.message == "an address from the network layer"
