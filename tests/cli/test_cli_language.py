"""``gong`` speaks Chinese or English: the environment's language (``LANGUAGE``, ``LC_ALL``,
``LC_MESSAGES``, ``LANG``), else ``GONG_DEFAULT_LANGUAGE``, else Chinese. Each test runs the real
command in a child process against a real data directory, as a person would."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gong import i18n
from gong.cli import language

#: The variables that name a language; each test sets the ones it means.
_LANGUAGE_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG", "GONG_DEFAULT_LANGUAGE")

ZH = {"LANGUAGE": "zh_CN.UTF-8"}
EN = {"LANGUAGE": "en"}


def gong(
    data_dir: Path, language: dict[str, str], *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``gong ARGS`` in a child process speaking what ``language`` asks for (and nothing else),
    on a wide terminal (help texts are not wrapped)."""
    env = {k: v for k, v in os.environ.items() if k not in _LANGUAGE_VARIABLES}
    env.update({"LANG": "C.UTF-8", "COLUMNS": "300", "GONG_DATA_DIR": str(data_dir), **language})
    env.pop("GONG_DATABASE_URL", None)
    command = shutil.which("gong", path=str(Path(sys.executable).parent)) or "gong"
    return subprocess.run(
        [command, *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def test_results_are_written_in_the_language_asked_for(data_dir: Path) -> None:
    made = gong(data_dir, ZH, "group", "create", "运维")
    assert made.returncode == 0, made.stderr
    assert made.stdout == "已创建群 1“运维”\n"
    shown = gong(data_dir, ZH, "group", "show", "1")
    assert shown.stdout.splitlines() == [
        "群 1“运维”",
        "  时区：      服务器的时区",
        "  消息保留：  永久",
    ]

    made = gong(data_dir, EN, "group", "create", "ops")
    assert made.stdout == "group 2 “ops” created\n"
    shown = gong(data_dir, EN, "group", "show", "2")
    assert shown.stdout.splitlines() == [
        "group 2 “ops”",
        "  times in:        the server's time zone",
        "  keeps messages:  forever",
    ]


def test_errors_from_the_rules_are_written_in_the_language_asked_for(data_dir: Path) -> None:
    missing = gong(data_dir, ZH, "group", "show", "99")
    assert missing.returncode == 1
    assert missing.stderr == "错误：群 99 不存在\n"
    assert missing.stdout == ""
    missing = gong(data_dir, EN, "group", "show", "99")
    assert missing.returncode == 1
    assert missing.stderr == "error: group 99 does not exist\n"

    bad = gong(
        data_dir, ZH, "user", "create", "Not A Name!", "--password-stdin", stdin="long-enough\n"
    )
    assert bad.returncode == 1
    assert "错误：用户名为 1 到 64 个字符" in bad.stderr
    short = gong(data_dir, ZH, "member", "add", "99", "--name", "")
    assert short.returncode == 1
    assert short.stderr == "错误：成员名称不能为空\n"


def test_help_is_written_in_the_language_asked_for(data_dir: Path) -> None:
    chinese = gong(data_dir, ZH, "group", "--help")
    assert chinese.returncode == 0
    assert "创建、查看和修改群。" in chinese.stdout
    assert "创建群，并输出群 ID。" in chinese.stdout
    assert "Create, list and change groups." not in chinese.stdout
    english = gong(data_dir, EN, "group", "--help")
    assert "Create, list and change groups." in english.stdout
    assert "Create a group; prints its id." in english.stdout
    options = gong(data_dir, ZH, "robot", "create", "--help")
    assert "要求加签。" in options.stdout
    assert "输出便于程序读取的 JSON。" in options.stdout


def test_json_is_the_same_in_every_language(data_dir: Path) -> None:
    made = [gong(data_dir, lang, "group", "create", "ops", "--json") for lang in (ZH, EN)]
    assert [json.loads(m.stdout) for m in made] == [
        {"id": 1, "name": "ops"},
        {"id": 2, "name": "ops"},
    ]
    listed = [gong(data_dir, lang, "group", "list", "--json").stdout for lang in (ZH, EN)]
    assert listed[0] == listed[1]
    refused = [gong(data_dir, lang, "group", "show", "99", "--json") for lang in (ZH, EN)]
    assert [r.returncode for r in refused] == [1, 1]
    assert refused[0].stdout == refused[1].stdout
    assert json.loads(refused[0].stdout) == {
        "error": {"code": "not_found", "message": "group 99 does not exist"}
    }


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({}, "已创建群 1“ops”\n"),  # nothing asked for: Chinese
        ({"GONG_DEFAULT_LANGUAGE": "en"}, "group 1 “ops” created\n"),
        ({"GONG_DEFAULT_LANGUAGE": "zh-CN"}, "已创建群 1“ops”\n"),
        # The environment's language comes first, in any of its variables.
        ({"GONG_DEFAULT_LANGUAGE": "zh-CN", "LANG": "en_US.UTF-8"}, "group 1 “ops” created\n"),
        ({"GONG_DEFAULT_LANGUAGE": "en", "LC_ALL": "zh_CN.UTF-8"}, "已创建群 1“ops”\n"),
        # A language Gong does not speak is passed over.
        ({"GONG_DEFAULT_LANGUAGE": "en", "LANGUAGE": "fr_FR:zh_CN"}, "已创建群 1“ops”\n"),
        ({"GONG_DEFAULT_LANGUAGE": "en", "LANGUAGE": "de_DE"}, "group 1 “ops” created\n"),
    ],
)
def test_where_the_language_comes_from(
    data_dir: Path, environment: dict[str, str], expected: str
) -> None:
    made = gong(data_dir, environment, "group", "create", "ops")
    assert made.returncode == 0, made.stderr
    assert made.stdout == expected


def test_the_settings_files_choose_when_the_environment_does_not(data_dir: Path) -> None:
    data_dir.mkdir(parents=True)
    (data_dir / "gong.env").write_text("GONG_DEFAULT_LANGUAGE=en\n")
    assert gong(data_dir, {}, "group", "create", "ops").stdout == "group 1 “ops” created\n"
    assert gong(data_dir, ZH, "group", "create", "ops").stdout == "已创建群 2“ops”\n"
    # Settings that are not valid leave the choice to Chinese; the command says what is wrong.
    (data_dir / "gong.env").write_text("GONG_DEFAULT_LANGUAGE=fr\n")
    refused = gong(data_dir, {}, "group", "list")
    assert refused.returncode != 0
    assert "GONG_DEFAULT_LANGUAGE" in refused.stderr or "default_language" in refused.stderr


def test_the_language_rule(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in _LANGUAGE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GONG_DATA_DIR", str(tmp_path / "data"))
    assert language() == i18n.DEFAULT_LANGUAGE == "zh-CN"
    monkeypatch.setenv("GONG_DEFAULT_LANGUAGE", "en")
    assert language() == "en"
    monkeypatch.setenv("LC_MESSAGES", "zh_TW.UTF-8")
    assert language() == "zh-CN"
    monkeypatch.setenv("LANGUAGE", "en_GB:zh_CN")
    assert language() == "en"
