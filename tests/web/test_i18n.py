"""The web app in Chinese and English: nothing untranslated, complete catalogues, the language
each person gets (the account's choice, else ``Accept-Language``, else ``GONG_DEFAULT_LANGUAGE``)
and live messages drawn in each reader's language."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path

import httpx
import orjson
import pytest

from gong import i18n
from gong.clock import ManualClock
from gong.config import Settings
from gong.domain.service import message_event
from gong.domain.users import Preferences
from gong.i18n_extract import check, compiled_problems
from gong.protocol.errors import Errors
from gong.web.app import GongApp, create_app
from gong.web.pages.robots import REASONS
from gong.web.render import STATIC, environment
from gong.web.site import Frames
from tests.conftest import make_client
from tests.helpers import ADMIN_TOKEN, create_robot
from tests.web.webapp import HTML, make_user, sign_in

TEMPLATES = STATIC.parent / "templates"

# -- no untranslated literal in a template -------------------------------------------------------

#: Words that are the same in every language: the brand, a format's name, DingTalk's field name.
SAME_IN_EVERY_LANGUAGE = ("Gong", "Markdown", "userId", "HTTP")
#: Attributes people read (or hear, with a screen reader).
READ_ATTRIBUTES = {"placeholder", "title", "aria-label", "alt", "label"}
#: A Jinja construct in the template's text: nothing to translate there.
MARK = "§"
_LETTERS = re.compile(r"[A-Za-z\u3400-\u9fff]")
_URL = re.compile(r"https?://\S*")
#: Blocks that fill in a class or attributes of a tag in the template extended.
ATTRIBUTE_BLOCKS = {"body_class", "app_class", "body_data"}
_ATTRIBUTE = re.compile(r'([\w:-]+)="([^"]*)"')
_SAME = re.compile(r"\b(?:" + "|".join(SAME_IN_EVERY_LANGUAGE) + r")\b")


def _words(text: str) -> bool:
    """Whether ``text`` holds words to translate (an example URL does not)."""
    return bool(_LETTERS.search(_SAME.sub("", _URL.sub("", text))))


def _template_html(source: str) -> str:
    """The template's own HTML: its text as written, each Jinja construct one mark, on the same
    lines (so the parser's line numbers are the template's)."""
    env = environment()
    out: list[str] = []
    line = 1
    previous = ""
    skipping = False  # in a block of class names or attributes
    for lineno, kind, value in env.lex(source):
        if kind == "name" and previous == "block":
            skipping = value in ATTRIBUTE_BLOCKS
        elif kind == "name" and value == "endblock":
            skipping = False
        if kind != "whitespace":
            previous = value if kind == "name" else ""
        if kind == "data" and skipping:
            out.append(MARK)
        elif kind == "data":
            out.append("\n" * max(0, lineno - line))
            line = max(line, lineno)
            out.append(value)
            line += value.count("\n")
        elif kind in ("variable_begin", "block_begin"):
            out.append(MARK)
    return "".join(out)


class _Literals(HTMLParser):
    """Collects the text nodes and read attributes that hold words."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str]] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        kind = dict(attrs).get("type") or ""
        for name, value in attrs:
            read = name in READ_ATTRIBUTES or (
                name == "value" and tag == "input" and kind in ("submit", "button", "reset")
            )
            if read and value and _words(value):
                self.found.append((self.getpos()[0], f"{tag} {name}={value!r}"))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        # A block that fills in attributes of a tag in another template (``body_data``).
        for name, value in _ATTRIBUTE.findall(data):
            if name in READ_ATTRIBUTES and _words(value):
                self.found.append((self.getpos()[0], f"{name}={value!r}"))
        if _words(_ATTRIBUTE.sub("", data)):
            self.found.append((self.getpos()[0], repr(data.strip())))


def _untranslated(source: str) -> list[tuple[int, str]]:
    parser = _Literals()
    parser.feed(_template_html(source))
    parser.close()
    return parser.found


@pytest.mark.parametrize(
    "template", sorted(p.name for p in TEMPLATES.glob("*.html")), ids=lambda name: name
)
def test_templates_hold_no_untranslated_words(template: str) -> None:
    source = (TEMPLATES / template).read_text(encoding="utf-8")
    found = _untranslated(source)
    assert not found, "\n".join(f"{template}:{line}: {text}" for line, text in found)


def test_the_template_check_finds_words() -> None:
    """The check itself: literal text and read attributes are caught, with their line."""
    source = (
        '{% block body_class %}wide-page{% endblock %}{% if x %}\n<p title="Close">{{ _("Fine") }}</p>\n<p>Gong · {{ n }} members</p>\n'
        '<input type="submit" value="Go"><input placeholder="{{ _("Name") }}">\n<p>保存</p>\n'
        "{% endif %}"
    )
    assert _untranslated(source) == [
        (2, "p title='Close'"),
        (3, "'Gong · § members'"),
        (4, "input value='Go'"),
        (5, "'保存'"),
    ]


# -- no untranslated words in the scripts --------------------------------------------------------

#: Where a string is shown to people whatever it says.
_SHOWN = re.compile(
    r"(?:\.(?:textContent|innerText|title|placeholder|alt|ariaLabel)\s*=\s*"
    r"|setAttribute\(\s*[\"'](?:aria-label|title|placeholder|alt)[\"']\s*,\s*"
    r"|\b(?:alert|confirm|prompt)\(\s*)$"
)
#: A string handed to the translators: t("…"), tn("…", "…", n).
_TRANSLATED = re.compile(r"\b(?:t|tn)\(\s*$|\btn\(\s*\"(?:[^\"\\]|\\.)*\"\s*,\s*$")
#: Strings for the script itself.
SCRIPT_WORDS = {"use strict"}
#: Not words: selectors, URLs, markup, CSS values, class lists.
_NOT_WORDS = re.compile(r"[#.\[\]=/<>{}$@]|^[\w-]*$")
#: Words for people: two words with a space between them, or any Chinese.
_PROSE = re.compile(r"[A-Za-z]+\s+\S*[A-Za-z]|[\u3400-\u9fff]")
_CLASSY = re.compile(r"(?:className\s*=\s*|classList\.\w+\(\s*)$")
_CSS_VALUE = re.compile(r"^(?:\s*-?[\d.]+(?:px|em|rem|%|s|ms)?)+\s*$")


def _strings(source: str) -> Iterator[tuple[int, int, str]]:
    """``(offset, line, value)`` of each string literal of a script (comments and regular
    expression literals skipped)."""
    i, n = 0, len(source)
    last = ""  # the last significant character, to tell a regex literal from a division
    while i < n:
        c = source[i]
        if source.startswith("//", i):
            i = source.find("\n", i)
            i = n if i < 0 else i
        elif source.startswith("/*", i):
            i = source.index("*/", i) + 2
        elif c in "\"'`":
            j = i + 1
            while source[j] != c:
                j += 2 if source[j] == "\\" else 1
            yield i, source.count("\n", 0, i) + 1, source[i + 1 : j]
            i, last = j + 1, c
        elif c == "/" and (not last or last in "(,=:[!&|?{};+-*%<>~^"):
            j, in_class = i + 1, False
            while in_class or source[j] != "/":
                if source[j] == "\\":
                    j += 1
                elif source[j] == "[":
                    in_class = True
                elif source[j] == "]":
                    in_class = False
                j += 1
            i, last = j + 1, "/"
        else:
            if not c.isspace():
                last = c
            i += 1


def _untranslated_script(source: str) -> list[tuple[int, str]]:
    found = []
    for offset, line, value in _strings(source):
        before = source[max(0, offset - 200) : offset]
        if not _LETTERS.search(value) or _TRANSLATED.search(before):
            continue
        shown = _SHOWN.search(before)
        prose = (
            bool(_PROSE.search(value))
            and value not in SCRIPT_WORDS
            and not _NOT_WORDS.search(value)
            and not _CLASSY.search(before)
            and not _CSS_VALUE.match(value)
        )
        if shown or prose:
            found.append((line, value))
    return found


@pytest.mark.parametrize(
    "script", sorted(p.name for p in STATIC.glob("*.js")), ids=lambda name: name
)
def test_scripts_translate_what_they_show(script: str) -> None:
    found = _untranslated_script((STATIC / script).read_text(encoding="utf-8"))
    assert not found, "\n".join(f"{script}:{line}: {value!r}" for line, value in found)


def test_the_script_check_finds_words() -> None:
    source = "\n".join(
        [
            'el.textContent = "Saved";',
            'el.textContent = t("Saved");',
            'button.setAttribute("aria-label", "Close the menu");',
            'var x = tn("%(n)s new", "%(n)s new", n);',
            'if (!window.confirm("Delete it?")) return;',
            'var help = "the server cannot be reached";',
            'var sel = ".msg-status, .msg-recall"; el.className = "bubble bubble-recalled";',
            'var re = /"not a string"/g; // "a comment"',
            'var margin = "200px 0px 0px 0px";',
        ]
    )
    assert _untranslated_script(source) == [
        (1, "Saved"),
        (3, "Close the menu"),
        (5, "Delete it?"),
        (6, "the server cannot be reached"),
    ]


# -- complete catalogues -------------------------------------------------------------------------


@pytest.mark.parametrize("domain", i18n.DOMAINS)
def test_catalogues_are_complete(domain: str) -> None:
    """Every marked message has its translation in every language (``make messages`` adds new
    ones; a translator fills the Chinese)."""
    assert check(domain) == []


@pytest.mark.parametrize("domain", i18n.DOMAINS)
def test_compiled_catalogues_match_their_sources(domain: str) -> None:
    """What the server reads (``.mo``, ``js.json``) says what the ``.po`` files say
    (``make messages`` compiles them)."""
    assert compiled_problems(domain) == []


def test_every_refusal_reason_has_words() -> None:
    assert set(REASONS) >= {e.name for e in Errors.all()}
    with i18n.use("zh-CN"):
        assert REASONS["keyword"].translated() == "消息中不包含机器人的任何关键词"
    assert str(REASONS["keyword"]) == "the message contains none of the robot's keywords"


# -- the language each person gets ---------------------------------------------------------------

MakeApp = Callable[[str], Awaitable[GongApp]]


@pytest.fixture
async def make_app(tmp_path: Path) -> AsyncIterator[MakeApp]:
    """Start a Gong whose ``GONG_DEFAULT_LANGUAGE`` is the one given."""
    started: list[GongApp] = []

    async def make(default_language: str) -> GongApp:
        settings = Settings(
            data_dir=tmp_path / f"data-{len(started)}",
            admin_token=ADMIN_TOKEN,
            public_url="http://gong.test",
            default_language=default_language,
        )
        gong = create_app(settings, clock=ManualClock(1_800_000_000_000))
        await gong.startup()
        started.append(gong)
        return gong

    yield make
    for gong in started:
        await gong.shutdown()


def _lang(html: str) -> str:
    found = re.search(r'<html lang="([^"]+)"', html)
    assert found, "no <html lang>"
    return found.group(1)


def _sign_in_button(html: str) -> str:
    found = re.search(r'<button type="submit" class="primary">([^<]+)</button>', html)
    assert found, "no sign-in button"
    return found.group(1)


def test_chinese_unless_configured_otherwise() -> None:
    assert Settings.model_fields["default_language"].default == "zh-CN"


@pytest.mark.parametrize(
    ("default", "accept", "language", "button"),
    [
        ("zh-CN", None, "zh-CN", "登录"),
        ("en", None, "en", "Sign in"),
        ("zh-CN", "en-US,en;q=0.9", "en", "Sign in"),
        ("en", "zh-CN,zh;q=0.9,en;q=0.8", "zh-CN", "登录"),
        # q-values, not the order, decide; q=0 means "not this"; unknown languages are skipped.
        ("en", "en;q=0.4, zh-CN;q=0.8", "zh-CN", "登录"),
        ("zh-CN", "zh;q=0, en", "en", "Sign in"),
        ("zh-CN", "fr-FR, de;q=0.9, en;q=0.5", "en", "Sign in"),
        ("en", "fr-FR, de;q=0.9", "en", "Sign in"),
        ("en", "zh-TW", "zh-CN", "登录"),
    ],
)
async def test_the_sign_in_page_speaks_the_browsers_language(
    make_app: MakeApp, default: str, accept: str | None, language: str, button: str
) -> None:
    app = await make_app(default)
    async with make_client(app) as client:
        headers = {"Accept-Language": accept} if accept else {}
        page = await client.get("/login", headers=headers)
    assert page.status_code == 200
    assert _lang(page.text) == language
    assert _sign_in_button(page.text) == button
    assert f'src="/i18n/{language}.js?v=' in page.text


async def test_the_accounts_choice_comes_first(make_app: MakeApp) -> None:
    app = await make_app("zh-CN")
    user = await make_user(app, "lin")
    async with make_client(app) as client:
        csrf = sign_in(client, app, user)
        chinese = await client.get("/", headers={**HTML, "Accept-Language": "zh-CN"})
        assert _lang(chinese.text) == "zh-CN"
        assert "退出登录" in chinese.text and 'placeholder="搜索消息"' in chinese.text
        assert "Sign out" not in chinese.text

        # The account chooses English: it beats the browser's Chinese, on every page.
        saved = await client.post(
            "/account",
            data={"csrf_token": csrf, "language": "en", "theme": ""},
            headers={"Accept-Language": "zh-CN"},
        )
        assert (saved.status_code, saved.headers["location"]) == (303, "/account?saved=1")
        for path in ("/", "/account?saved=1", "/search?q=xy"):
            english = await client.get(path, headers={**HTML, "Accept-Language": "zh-CN"})
            assert english.status_code == 200, path
            assert _lang(english.text) == "en", path
            assert "Sign out" in english.text and "退出登录" not in english.text, path
        saved_page = await client.get("/account?saved=1", headers={"Accept-Language": "zh-CN"})
        assert "<h1>Your settings</h1>" in saved_page.text and "Saved." in saved_page.text

        # Back to "as the browser asks": the browser's language again.
        await client.post("/account", data={"csrf_token": csrf, "language": "", "theme": ""})
        again = await client.get("/", headers={**HTML, "Accept-Language": "en;q=0.5, zh"})
        assert _lang(again.text) == "zh-CN"


async def test_a_language_gong_does_not_speak_is_refused_clearly(make_app: MakeApp) -> None:
    app = await make_app("en")
    user = await make_user(app, "lin")
    async with make_client(app) as client:
        csrf = sign_in(client, app, user)
        refused = await client.post(
            "/account", data={"csrf_token": csrf, "language": "xx"}, headers=HTML
        )
        assert refused.status_code == 422
        assert refused.headers["content-type"].startswith("text/html")
        assert _lang(refused.text) == "en"
        assert "422 · Not valid" in refused.text and "zh-CN, en" in refused.text
        # Nothing changed.
        assert app.web is not None
        assert (await app.web.accounts.get_user(user.id)).preferences.language is None

        chinese = await client.post(
            "/account",
            data={"csrf_token": csrf, "language": "xx"},
            headers={**HTML, "Accept-Language": "zh-CN"},
        )
        assert chinese.status_code == 422
        assert _lang(chinese.text) == "zh-CN" and "内容不合法" in chinese.text


async def test_error_pages_speak_the_readers_language(make_app: MakeApp) -> None:
    app = await make_app("en")
    user = await make_user(app, "lin")
    async with make_client(app) as client:
        missing = await client.get("/no/such/page", headers={**HTML, "Accept-Language": "zh"})
        assert missing.status_code == 404
        assert _lang(missing.text) == "zh-CN"
        assert "找不到页面" in missing.text and "返回我的群" in missing.text

        # Signed in, the account's choice holds on pages no route answers too.
        assert app.web is not None
        await app.web.accounts.update_preferences(user.id, Preferences("zh-CN"))
        sign_in(client, app, user)
        no_group = await client.get("/groups/999", headers=HTML)
        assert no_group.status_code == 404 and _lang(no_group.text) == "zh-CN"
        nowhere = await client.get("/nowhere", headers=HTML)
        assert nowhere.status_code == 404 and "这个地址没有内容。" in nowhere.text


async def test_the_web_apps_json_errors_carry_the_readers_words(make_app: MakeApp) -> None:
    app = await make_app("zh-CN")
    admin = await make_user(app, "root", admin=True)
    group = await app.runtime.groups.create("ops")
    url = f"/api/groups/{group.id}/messages"
    async with make_client(app) as client:
        sign_in(client, app, admin)
        answer = await client.post(url, json={}, headers={"X-CSRF-Token": "stale"})
        assert answer.status_code == 403
        assert answer.json()["error"] == {
            "code": "csrf",
            "message": "the form expired or did not come from this site; reload and try again",
            "text": "表单已过期或并非来自本站，请刷新后重试",
        }
    # A script with an admin token gets the documented English body, unchanged.
    async with make_client(app) as script:
        answer = await script.post(
            f"{url}?as_user=root",
            content=b"{",
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}", "Accept-Language": "zh-CN"},
        )
        assert answer.json()["error"] == {"code": "invalid", "message": "the body is not JSON"}


async def test_the_scripts_words_are_served_per_language(client: httpx.AsyncClient) -> None:
    chinese = await client.get("/i18n/zh-CN.js")
    assert chinese.status_code == 200
    assert chinese.headers["content-type"].startswith("text/javascript")
    assert "immutable" in chinese.headers["cache-control"]
    prefix = b"window.GONG_MESSAGES="
    assert chinese.content.startswith(prefix)
    messages = orjson.loads(chinese.content[len(prefix) :].rstrip(b";\n"))
    assert messages["Today"] == "今天" and messages["Yesterday"] == "昨天"
    assert messages["Show %(n)s more"] == ["再显示 %(n)s 条"]
    english = await client.get("/i18n/en.js")
    assert english.status_code == 200 and b'"Today":"Today"' in english.content
    missing = await client.get("/i18n/xx.js")
    assert missing.status_code == 404
    assert (await client.get("/i18n/xx.js", headers=HTML)).status_code == 404


async def test_times_are_written_in_the_groups_zone(
    app: GongApp, client: httpx.AsyncClient
) -> None:
    """The page tells its script the group's time zone (else the server's)."""
    admin = await make_user(app, "root", admin=True)
    shanghai = await app.runtime.groups.create("sh")
    await app.runtime.groups.update(shanghai.id, timezone="Asia/Shanghai")
    plain = await app.runtime.groups.create("plain")
    sign_in(client, app, admin)
    server = app.runtime.settings.timezone
    page = await client.get(f"/groups/{shanghai.id}", headers=HTML)
    assert f'id="chat" data-group-id="{shanghai.id}" data-timezone="Asia/Shanghai"' in page.text
    assert f'data-timezone="{server}"' in page.text  # <body>, and the plain group's row
    other = await client.get(f"/groups/{plain.id}", headers=HTML)
    assert f'data-group-id="{plain.id}" data-timezone="{server}"' in other.text


# -- live messages in each reader's language -----------------------------------------------------


async def test_live_frames_are_drawn_in_each_readers_language(
    app: GongApp, client: httpx.AsyncClient
) -> None:
    runtime = app.runtime
    group = await runtime.groups.create("ops")
    robot = await create_robot(runtime, group.id, name="CI", keywords=["CI"])
    sent = await client.post(
        f"/robot/send?access_token={robot.access_token}",
        json={"msgtype": "text", "text": {"content": "CI build 42 passed"}},
    )
    assert sent.json()["errcode"] == 0
    [stored] = await runtime.history.list_messages(group.id, limit=1)
    event = orjson.dumps(message_event(stored.id, stored))
    assert app.web is not None
    frames = Frames(app.web.env)

    def frame(language: str) -> dict[str, object]:
        with i18n.use(language):
            found = frames.from_event(event)
        assert found is not None
        return dict(orjson.loads(found[1]))

    chinese, english = frame("zh-CN"), frame("en")
    assert '<span class="robot-tag">机器人</span>' in str(chinese["html"])
    assert '<span class="robot-tag">Robot</span>' in str(english["html"])
    assert frame("zh-CN") == chinese  # cached per language, not shared between them

    # Recalled: the placeholder and the list's line follow the reader too.
    admin = await make_user(app, "root", admin=True)
    csrf = sign_in(client, app, admin)
    recalled = await client.delete(f"/api/messages/{stored.id}", headers={"X-CSRF-Token": csrf})
    assert recalled.status_code in (200, 204), recalled.text
    gone = await runtime.history.get_message(stored.id)
    with i18n.use("zh-CN"):
        _, zh_data = frames.data(gone)
    with i18n.use("en"):
        _, en_data = frames.data(gone)
    zh_frame, en_frame = orjson.loads(zh_data), orjson.loads(en_data)
    assert "消息已撤回" in zh_frame["html"] and zh_frame["preview"] == "[消息已撤回]"
    assert "Message recalled" in en_frame["html"] and en_frame["preview"] == "[Message recalled]"


async def test_pages_render_messages_in_the_readers_language(
    app: GongApp, client: httpx.AsyncClient
) -> None:
    runtime = app.runtime
    group = await runtime.groups.create("ops")
    robot = await create_robot(runtime, group.id, name="CI", ip_allow=["203.0.113.7"])
    sent = await client.post(
        f"/robot/send?access_token={robot.access_token}",
        json={"msgtype": "image", "image": {"picURL": "https://img.example/a.png"}},
    )
    assert sent.json()["errcode"] == 0
    admin = await make_user(app, "root", admin=True)
    sign_in(client, app, admin)
    chinese = await client.get(f"/groups/{group.id}", headers={**HTML, "Accept-Language": "zh"})
    english = await client.get(f"/groups/{group.id}", headers={**HTML, "Accept-Language": "en"})
    assert 'alt="图片"' in chinese.text and "CI: [图片]" in chinese.text
    assert 'alt="Picture"' in english.text and "CI: [Picture]" in english.text
    assert 'placeholder="发消息到 ops · 输入 @ 提及成员"' in chinese.text
    assert "撤回</button>" in chinese.text and ">Recall</button>" in english.text
