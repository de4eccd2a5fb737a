"""The web app's polish in a real browser (Debian's Chromium, Playwright) against a real server:
dark mode from the system and from the account's choice; a confirmation, naming what breaks,
before every destructive action (Esc cancels, confirming acts; without scripts a box must be
ticked); the composer's markdown title; your own avatar's contrast; headings that read top-down;
``@all`` picked cleanly and highlighted; placeholders for pictures that fail; the robot page's
test message and template editor; and keyboard-only use of the composer, its mention menu, the
dialogs and the account menu.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page

from gong.protocol.errors import Dialect, Errors
from tests.browser.pages import SCREENSHOTS
from tests.browser.polish_site import PASSWORDS, TEMPLATE, Site, ready, start_site
from tests.helpers import CHROMIUM, gong_cli, need

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    need("Chromium", os.path.exists(CHROMIUM), f"{CHROMIUM} does not exist")
    site = start_site(tmp_path_factory.mktemp("polish"))
    try:
        yield site
    finally:
        site.server.stop()


@pytest.fixture(scope="module")
def browser(site: Site, chromium: Browser) -> Browser:
    return chromium


def _shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name))


def _luminance(rgb: str) -> float:
    values = [int(v) for v in re.findall(r"\d+", rgb)[:3]]

    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in values)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG's contrast ratio of two computed colours (``rgb(…)``)."""
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _background(page: Page) -> str:
    return str(page.evaluate("getComputedStyle(document.body).backgroundColor"))


def _theme(page: Page, theme: str) -> None:
    """Choose the account's colour scheme on /account ("" follows the system)."""
    ready(page, "/account")
    page.select_option("#preferences-form select[name=theme]", theme)
    page.click("#preferences-form button[type=submit]")
    page.wait_for_selector(".notice[role=status]")


def _send(page: Page, text: str, *, markdown: bool = False) -> None:
    """Post from the composer and wait for the answer (the text box empties)."""
    if markdown:
        page.check("#composer-markdown")
    page.fill("#composer-text", text)
    page.press("#composer-text", "Enter")
    page.wait_for_function(
        "() => !document.querySelector('#composer button[type=submit]').disabled"
        " && document.querySelector('#composer-text').value === ''"
    )
    if markdown:
        page.uncheck("#composer-markdown")


# -- dark mode -------------------------------------------------------------------------------------

LIGHT_BG = "rgb(242, 243, 245)"
DARK_BG = "rgb(20, 21, 24)"


def test_dark_mode_follows_the_system_unless_the_account_chose(
    browser: Browser, site: Site
) -> None:
    context = site.context(browser, "zhang")
    page = context.new_page()
    try:
        ready(page, f"/groups/{site.groups['ops']}")
        scheme = "document.querySelector('meta[name=color-scheme]').content"
        assert page.evaluate(scheme) == "light dark"
        page.emulate_media(color_scheme="light")
        assert _background(page) == LIGHT_BG
        bubble = page.locator("article.msg .bubble").first
        light_bubble = bubble.evaluate("(e) => getComputedStyle(e).backgroundColor")
        page.emulate_media(color_scheme="dark")
        assert _background(page) == DARK_BG
        assert bubble.evaluate("(e) => getComputedStyle(e).backgroundColor") != light_bubble
        text = page.evaluate("getComputedStyle(document.body).color")
        assert contrast(text, DARK_BG) >= 7

        # The account's choice wins over the system's, both ways.
        _theme(page, "light")
        assert page.evaluate("document.documentElement.dataset.theme") == "light"
        assert _background(page) == LIGHT_BG  # the system still prefers dark
        _theme(page, "dark")
        page.emulate_media(color_scheme="light")
        ready(page, f"/groups/{site.groups['ops']}")
        assert page.evaluate("document.documentElement.dataset.theme") == "dark"
        assert _background(page) == DARK_BG
        assert page.evaluate("getComputedStyle(document.documentElement).colorScheme") == "dark"
    finally:
        _theme(page, "")
        context.close()


# -- confirmations ---------------------------------------------------------------------------------


def _dialog(page: Page) -> dict[str, str]:
    page.wait_for_selector("#confirm-dialog[open]")
    return {
        "title": page.inner_text("#confirm-dialog .confirm-title"),
        "text": page.inner_text("#confirm-dialog .confirm-text"),
        "yes": page.inner_text("#confirm-dialog .confirm-yes"),
        "focus": str(page.evaluate("document.activeElement.className")),
    }


def _cancel_then_confirm(page: Page, button: str) -> dict[str, str]:
    """Open the confirmation, cancel it with Esc (focus goes back), then confirm it."""
    page.click(button)
    asked = _dialog(page)
    assert asked["focus"] == "confirm-cancel"  # the safe choice has the focus
    page.keyboard.press("Escape")
    page.wait_for_selector("#confirm-dialog", state="hidden")
    assert page.evaluate("document.activeElement") == page.eval_on_selector(button, "(e) => e")
    return asked


def _yes(page: Page, button: str) -> None:
    page.click(button)
    _dialog(page)
    page.click("#confirm-dialog .confirm-yes")


def _robot(site: Site, name: str, **spec: object) -> dict[str, object]:
    with site.api() as api:
        made = api.post(
            f"/api/groups/{site.groups['scratch']}/robots",
            json={"name": name, "keywords": ["CI"], **spec},
        )
    assert made.status_code == 201, made.text
    robot: dict[str, object] = made.json()
    return robot


def _robot_now(site: Site, robot_id: object) -> httpx.Response:
    with site.api() as api:
        return api.get(f"/api/robots/{robot_id}")


def test_delete_robot_asks_and_names_what_breaks(browser: Browser, site: Site) -> None:
    robot = _robot(site, "CI-doomed")
    context = site.context(browser, "root")
    page = context.new_page()
    ready(page, f"/robots/{robot['id']}")

    asked = _cancel_then_confirm(page, "#delete-robot")
    assert asked["title"] == asked["yes"] == "Delete robot"
    assert asked["text"] == (
        "Delete robot “CI-doomed”? Its webhook stops working at once; its messages stay."
    )
    assert _robot_now(site, robot["id"]).status_code == 200  # Esc: nothing deleted

    _yes(page, "#delete-robot")
    page.wait_for_url(re.compile(r"/groups/\d+/settings$"))
    assert _robot_now(site, robot["id"]).status_code == 404
    context.close()


def test_regenerating_the_token_and_the_secret_asks(browser: Browser, site: Site) -> None:
    robot = _robot(site, "CI-rotated", signing=True)
    context = site.context(browser, "root")
    page = context.new_page()
    ready(page, f"/robots/{robot['id']}")

    asked = _cancel_then_confirm(page, "#regenerate-token")
    assert "The old webhook stops working at once" in asked["text"]
    assert "“CI-rotated”" in asked["text"]
    assert _robot_now(site, robot["id"]).json()["access_token"] == robot["access_token"]
    _yes(page, "#regenerate-token")
    page.wait_for_url(re.compile(r"\?done=token$"))
    assert _robot_now(site, robot["id"]).json()["access_token"] != robot["access_token"]

    asked = _cancel_then_confirm(page, "#regenerate-secret")
    assert "Calls signed with the old secret are refused at once" in asked["text"]
    assert _robot_now(site, robot["id"]).json()["secret"] == robot["secret"]
    _yes(page, "#regenerate-secret")
    page.wait_for_url(re.compile(r"\?done=secret$"))
    assert _robot_now(site, robot["id"]).json()["secret"] != robot["secret"]
    context.close()


def test_removing_unlinking_dissolving_and_deleting_accounts_ask(
    browser: Browser, site: Site
) -> None:
    scratch = site.groups["scratch"]
    with site.api() as api:
        wang = api.post(
            f"/api/groups/{scratch}/members", json={"name": "王五", "mobile": "13800000005"}
        ).json()
        zhao = api.post(
            f"/api/groups/{scratch}/members", json={"name": "赵六", "mobile": "13800000006"}
        ).json()
    env = {"GONG_DATA_DIR": str(site.server.data_dir)}
    gong_cli(
        ["user", "create", "wang", "--password-stdin", "--member", f"{scratch}:13800000005"],
        env,
        input="wang password 1\n",
    )
    context = site.context(browser, "root")
    page = context.new_page()

    # Unlink an account from a member.
    ready(page, f"/groups/{scratch}/members")
    row = f'tr[data-member-id="{wang["id"]}"]'
    unlink = f"{row} form[action$='/unlink'] button"
    asked = _cancel_then_confirm(page, unlink)
    assert asked["text"] == (
        "Unlink the account wang from 王五? It no longer sees this group or its “@ you” marks."
    )
    assert page.inner_text(f"{row} td:nth-child(4)").startswith("wang")
    _yes(page, unlink)
    page.wait_for_function(
        f"() => !document.querySelector('{row} td:nth-child(4)').textContent.includes('wang')"
    )

    # Remove a member.
    remove = f'tr[data-member-id="{zhao["id"]}"] form[action$="/remove"] button'
    asked = _cancel_then_confirm(page, remove)
    assert asked["text"].startswith("Remove 赵六 from the group?")
    assert page.locator(f'tr[data-member-id="{zhao["id"]}"]').count() == 1
    _yes(page, remove)
    page.wait_for_selector(f'tr[data-member-id="{zhao["id"]}"]', state="detached")

    # Delete an account.
    ready(page, "/admin/users")
    delete = "tr:has(td:text-is('wang')) form[action$='/delete'] button"
    asked = _cancel_then_confirm(page, delete)
    assert asked["title"] == "Delete account"
    assert asked["text"].startswith("Delete the account wang? It can no longer sign in")
    assert page.locator("td:text-is('wang')").count() == 1
    _yes(page, delete)
    page.wait_for_selector("td:text-is('wang')", state="detached")

    # Dissolve a group.
    with site.api() as api:
        doomed = api.post("/api/groups", json={"name": "doomed"}).json()["id"]
        ready(page, f"/groups/{doomed}/settings")
        asked = _cancel_then_confirm(page, "#dissolve-group")
        assert asked["text"].startswith("Dissolve group “doomed”? Its robots are refused at once")
        assert api.get(f"/api/groups/{doomed}").json()["dissolved"] is False
        _yes(page, "#dissolve-group")
        page.wait_for_selector(".notice.warn")
        assert api.get(f"/api/groups/{doomed}").json()["dissolved"] is True
    context.close()


def test_recall_asks_in_the_dialog(browser: Browser, site: Site) -> None:
    site.post("CI", {"msgtype": "text", "text": {"content": "CI 发错了，要撤回"}})
    [message] = [m for m in site.messages("ops") if "发错了" in json.dumps(m, ensure_ascii=False)]
    context = site.context(browser, "root")
    page = context.new_page()
    ready(page, f"/groups/{site.groups['ops']}")
    button = f"#m-{message['id']} .msg-recall"
    asked = _cancel_then_confirm(page, button)
    assert (asked["title"], asked["yes"]) == ("Recall this message?", "Recall")
    assert page.locator(f"#m-{message['id']} .bubble-text").is_visible()
    _yes(page, button)
    page.wait_for_selector(f"#m-{message['id']}.msg-recalled")
    context.close()


def test_without_scripts_a_box_must_be_ticked(browser: Browser, site: Site) -> None:
    robot = _robot(site, "CI-noscript")
    context = site.context(browser, "root", javascript=False)
    page = context.new_page()
    page.goto(f"/robots/{robot['id']}")
    page.click("#delete-robot")  # the required box is not ticked: the browser does not post
    assert page.url.endswith(f"/robots/{robot['id']}")
    assert _robot_now(site, robot["id"]).status_code == 200
    page.check("form[action$='/delete'] input[name=confirmed]")
    page.click("#delete-robot")
    page.wait_for_url(re.compile(r"/groups/\d+/settings$"))
    assert _robot_now(site, robot["id"]).status_code == 404
    context.close()


# -- the composer, avatars, headings, @all, pictures -----------------------------------------------


def test_the_composer_titles_markdown_with_its_first_line(browser: Browser, site: Site) -> None:
    context = site.context(browser, "zhang")
    page = context.new_page()
    ready(page, f"/groups/{site.groups['dev']}")
    _send(page, "## Composer markdown\n- **a**\n- [b](https://example.com/b)", markdown=True)
    row = f'.conversation[data-group-id="{site.groups["dev"]}"] .preview'
    page.wait_for_function(
        f"() => document.querySelector('{row}').textContent === '张三: Composer markdown'"
    )
    [last] = site.messages("dev", 1)
    assert last["content"]["markdown"]["title"] == "Composer markdown"
    page.reload()
    assert page.inner_text(row) == "张三: Composer markdown"
    card = page.locator("article.msg.mine .card-markdown").last
    assert card.locator("h2").inner_text() == "Composer markdown"
    context.close()


def test_your_own_avatar_reads_in_both_schemes(browser: Browser, site: Site) -> None:
    context = site.context(browser, "zhang")
    page = context.new_page()
    ready(page, f"/groups/{site.groups['dev']}")
    _send(page, "我自己的消息")
    avatar = page.locator("article.msg.mine .avatar-initial").last
    avatar.wait_for()
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        fg, bg = avatar.evaluate(
            "(e) => [getComputedStyle(e).color, getComputedStyle(e).backgroundColor]"
        )
        assert contrast(fg, bg) >= 4.5, (scheme, fg, bg)
    # Every initial avatar's colour holds white text at AA.
    for hue in range(12):
        bg = page.evaluate(
            """(n) => { const s = document.createElement('span');
                s.className = 'avatar avatar-initial hue-' + n; document.body.appendChild(s);
                const c = getComputedStyle(s).backgroundColor; s.remove(); return c; }""",
            hue,
        )
        assert contrast("rgb(255, 255, 255)", bg) >= 4.5, (hue, bg)
    context.close()


def test_markdown_headings_read_top_down(browser: Browser, site: Site) -> None:
    context = site.context(browser, "zhang")
    page = context.new_page()
    ready(page, f"/groups/{site.groups['ops']}")
    card = page.locator(".card-markdown:has(h1:text-is('一级 h1'))")
    styles = card.evaluate(
        """(card) => ['h1', 'h2', 'h3', 'h4', 'h5', 'h6'].map((tag) => {
            const s = getComputedStyle(card.querySelector(tag));
            return [parseFloat(s.fontSize), Number(s.fontWeight)];
        })"""
    )
    sizes = [size for size, _ in styles]
    assert sizes == sorted(sizes, reverse=True) and len(set(sizes)) == 6, sizes
    assert all(weight >= 700 for _, weight in styles), styles
    body = card.evaluate("(c) => parseFloat(getComputedStyle(c.querySelector('p')).fontSize)")
    assert sizes[-1] < sizes[-2] and sizes[3] > body
    context.close()


def test_at_all_is_picked_with_one_space_and_highlighted(browser: Browser, site: Site) -> None:
    context = site.context(browser, "zhang")
    page = context.new_page()
    ready(page, f"/groups/{site.groups['dev']}")
    text = page.locator("#composer-text")
    text.focus()
    page.keyboard.type("@al")
    page.wait_for_selector("#mention-menu:not([hidden]) .mention-option")
    page.keyboard.press("Enter")
    assert text.input_value() == "@all "
    page.keyboard.type(" 今晚发布")  # a space typed out of habit is not doubled
    assert text.input_value() == "@all 今晚发布"
    page.keyboard.type("  ok")  # later spaces are the writer's
    assert text.input_value() == "@all 今晚发布  ok"

    # Picked in the middle of a text that goes on with a space: still one space.
    text.fill("请 看")
    text.evaluate("(t) => t.setSelectionRange(2, 2)")
    page.keyboard.type("@al")
    page.keyboard.press("Tab")
    assert text.input_value() == "请 @all 看"
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelector('#composer-text').value === ''")

    mark = page.locator("article.msg.mine .bubble-text .at-all").last
    mark.wait_for()
    assert mark.inner_text() == "@all"
    assert page.locator("article.msg.mine .bubble-text").last.inner_text() == "请 @all 看"
    [last] = site.messages("dev", 1)
    assert last["at_all"] is True
    # Highlighted as a member's mention is (the robot's @all in ops, and @张三 there).
    ready(page, f"/groups/{site.groups['ops']}")
    robot_all = page.locator(".bubble-text .at-all").first
    member = page.locator(".bubble-text .at:not(.at-all)").first
    color = "(e) => getComputedStyle(e).color"
    assert robot_all.evaluate(color) == member.evaluate(color)
    assert robot_all.evaluate(color) != page.evaluate(
        "getComputedStyle(document.querySelector('.bubble-text')).color"
    )
    context.close()


def test_pictures_that_fail_show_a_placeholder(browser: Browser, site: Site) -> None:
    context = site.context(browser, "zhang")
    page = context.new_page()
    ready(page, f"/groups/{site.groups['ops']}")
    feed = page.locator(".card-feed").last
    feed.scroll_into_view_if_needed()
    pictures = feed.locator("img.feed-pic")
    assert pictures.count() == 2
    page.wait_for_function(
        "() => [...document.querySelectorAll('.card-feed img.feed-pic')]"
        ".every((i) => i.classList.contains('pic-failed'))"
    )
    image = page.locator(".card-image img").last
    image.scroll_into_view_if_needed()
    page.wait_for_function(
        "() => document.querySelector('.card-image img').classList.contains('pic-failed')"
    )
    alt = image.get_attribute("alt") or ""
    assert alt
    after = image.evaluate(
        """(e) => { const s = getComputedStyle(e, '::after');
            return [s.content, s.backgroundImage, s.position]; }"""
    )
    assert after[0] == json.dumps(alt, ensure_ascii=False)
    assert "picture-off.svg" in after[1] and after[2] == "absolute"
    # A picture that loads is left alone.
    ok = page.locator("img.link-pic").last
    ok.scroll_into_view_if_needed()
    page.wait_for_function("() => document.querySelector('img.link-pic').naturalWidth > 0")
    assert "pic-failed" not in (ok.get_attribute("class") or "")
    context.close()


def test_inline_code_in_a_label_keeps_its_spaces(browser: Browser, site: Site) -> None:
    context = site.context(browser, "root")
    page = context.new_page()
    ready(page, f"/groups/{site.groups['ops']}/robots/new")
    label = page.locator("label.check:has(input[name=signing])")
    assert "carry timestamp and sign made" in label.inner_text()
    gaps = label.evaluate(
        """(label) => [...label.querySelectorAll('code')].map((code) => {
            const text = code.previousSibling;  // the words before, up to their last letter
            const end = text.textContent.trimEnd().length;
            const before = document.createRange();
            before.setStart(text, end - 1);
            before.setEnd(text, end);
            return code.getBoundingClientRect().left - before.getBoundingClientRect().right;
        })"""
    )
    assert len(gaps) == 3 and all(gap >= 3 for gap in gaps), gaps
    context.close()


# -- the robot page --------------------------------------------------------------------------------


def _answer(page: Page) -> dict[str, object]:
    page.wait_for_function(
        "() => document.querySelector('#test-answer').textContent.startsWith('{')"
    )
    answer: dict[str, object] = json.loads(page.inner_text("#test-answer"))
    return answer


def test_a_test_message_goes_through_the_robot_s_own_path(browser: Browser, site: Site) -> None:
    context = site.context(browser, "root")
    page = context.new_page()

    # A robot with a keyword and signing: the test message carries both, and is posted.
    ready(page, f"/robots/{site.robots['CI']['id']}")
    page.click("#test-message")
    assert _answer(page) == {"errcode": 0, "errmsg": "ok"}
    assert "ok" in (page.get_attribute("#test-answer", "class") or "")
    [last] = site.messages("ops", 1)
    assert last["content"]["text"]["content"] == "CI Test message from Gong: this robot works."

    # An allow list that leaves out the browser's address: DingTalk's refusal, shown; recorded.
    ready(page, f"/robots/{site.robots['Guarded']['id']}")
    page.click("#test-message")
    assert _answer(page) == {
        "errcode": 310000,
        "errmsg": Errors.IP.message_for(Dialect.MODERN),
    }
    assert "refused" in (page.get_attribute("#test-answer", "class") or "")
    assert site.messages("ops", 1)[0]["id"] == last["id"]
    page.reload()
    assert page.locator('tr[data-reason="ip"] td.mono').first.inner_text() == "127.0.0.1"
    context.close()


def test_the_template_editor_previews_as_you_type(browser: Browser, site: Site) -> None:
    robot_id = site.kinds["template"]
    context = site.context(browser, "root")
    page = context.new_page()
    ready(page, f"/robots/{robot_id}")
    preview = page.locator("#template-preview")
    status = page.locator("#template-status")
    page.wait_for_function(
        "() => document.querySelector('#template-preview article.msg h4')"
        " || document.querySelector('#template-status.error')"
    )
    assert "error" not in (status.get_attribute("class") or ""), status.inner_text()
    assert preview.locator("h4").inner_text() == "Deploy pay → prod"
    assert "bytes of DingTalk JSON" in status.inner_text()

    # Typing in the sample delivery updates the preview (after a short pause).
    payload = page.locator("#template-payload")
    payload.focus()
    payload.evaluate(
        """(t) => { const at = t.value.indexOf('"pay"') + 1; t.setSelectionRange(at, at + 3); }"""
    )
    page.keyboard.type("billing")
    page.wait_for_function(
        "() => document.querySelector('#template-preview h4')?.textContent"
        " === 'Deploy billing → prod'"
    )

    # A template that does not compile: the reason, in place; the preview is emptied.
    template = page.locator("#template-text")
    template.focus()
    page.keyboard.press("Control+End")
    page.keyboard.type("{{ payload.")
    page.wait_for_selector("#template-status.error")
    assert status.inner_text() != ""
    assert preview.locator("article").count() == 0

    # Fixed and changed: previewed again, then saved.
    changed = TEMPLATE.replace("#### Deploy", "#### Shipped")
    template.fill(changed)
    page.wait_for_function(
        "() => document.querySelector('#template-preview h4')?.textContent"
        " === 'Shipped billing → prod'"
    )
    assert "error" not in (status.get_attribute("class") or "")
    page.click("#save-template")
    page.wait_for_url(re.compile(r"\?done=template#template-editor$"))
    with site.api() as api:
        assert api.get(f"/api/robots/{robot_id}").json()["settings"]["template"] == changed
    context.close()


# -- the keyboard ----------------------------------------------------------------------------------


def _focused(page: Page) -> str:
    return str(page.evaluate("document.activeElement.id || document.activeElement.className"))


def _ring(page: Page) -> tuple[str, float]:
    style, width = page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, parseFloat(s.outlineWidth)]; }"
    )
    return str(style), float(width)


def test_the_composer_and_its_mention_menu_from_the_keyboard(browser: Browser, site: Site) -> None:
    context = site.context(browser, "zhang")
    page = context.new_page()
    ready(page, f"/groups/{site.groups['ops']}")
    text = page.locator("#composer-text")
    text.focus()
    assert text.get_attribute("aria-controls") == "mention-menu"
    assert text.get_attribute("aria-autocomplete") == "list"

    page.keyboard.type("@")
    menu = page.locator("#mention-menu")
    menu.wait_for()
    assert menu.get_attribute("role") == "listbox"
    options = menu.locator("[role=option]")
    names = options.all_inner_texts()
    assert len(names) >= 3 and names[0].startswith("@all")
    assert text.get_attribute("aria-activedescendant") == "mention-option-0"
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    assert text.get_attribute("aria-activedescendant") == "mention-option-2"
    assert options.nth(2).get_attribute("aria-selected") == "true"
    assert options.nth(0).get_attribute("aria-selected") == "false"
    page.keyboard.press("ArrowUp")
    assert text.get_attribute("aria-activedescendant") == "mention-option-1"
    page.keyboard.press("Escape")
    assert menu.is_hidden() and text.get_attribute("aria-activedescendant") is None
    assert _focused(page) == "composer-text"

    page.keyboard.type("李")
    menu.wait_for()
    assert options.all_inner_texts()[0].startswith("李四")
    page.keyboard.press("Tab")
    assert text.input_value() == "@李四 "
    assert _focused(page) == "composer-text"
    page.keyboard.type("请看一下")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelector('#composer-text').value === ''")
    mine = page.locator("article.msg.mine .bubble-text").last
    mine.wait_for()
    assert mine.inner_text() == "@李四 请看一下"
    assert mine.locator(".at").inner_text() == "@李四"

    # Ctrl+Enter sends too; Shift+Enter writes a new line.
    page.keyboard.type("第一行")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("第二行")
    assert text.input_value() == "第一行\n第二行"
    page.keyboard.press("Control+Enter")
    page.wait_for_function("() => document.querySelector('#composer-text').value === ''")
    context.close()


def test_a_dialog_and_the_menu_from_the_keyboard(browser: Browser, site: Site) -> None:
    robot = _robot(site, "CI-keys")
    context = site.context(browser, "root")
    page = context.new_page()
    ready(page, f"/robots/{robot['id']}")

    # Tab reaches the Delete button, with a visible focus ring.
    page.locator("#disable").focus()
    page.keyboard.press("Tab")
    assert _focused(page) == "delete-robot"
    style, width = _ring(page)
    assert style == "solid" and width >= 2

    page.keyboard.press("Enter")
    _dialog(page)
    assert _focused(page) == "confirm-cancel"
    assert page.evaluate(
        "document.querySelector('#confirm-dialog').getAttribute('aria-labelledby')"
    )
    page.keyboard.press("Tab")
    assert _focused(page) == "confirm-yes danger-fill"
    assert _ring(page)[0] == "solid"
    page.keyboard.press("Shift+Tab")
    assert _focused(page) == "confirm-cancel"
    page.keyboard.press("Enter")  # Cancel
    page.wait_for_selector("#confirm-dialog", state="hidden")
    assert _focused(page) == "delete-robot"
    assert _robot_now(site, robot["id"]).status_code == 200

    page.keyboard.press("Enter")
    _dialog(page)
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # Delete robot
    page.wait_for_url(re.compile(r"/groups/\d+/settings$"))
    assert _robot_now(site, robot["id"]).status_code == 404

    # The account menu: Enter opens it, Tab walks its items, Esc closes it and gives the focus
    # back to it.
    page.locator(".sidebar-head .brand").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.tagName") == "SUMMARY"
    assert _ring(page)[0] == "solid"
    page.keyboard.press("Enter")
    assert page.locator("details.menu").get_attribute("open") is not None
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('.menu-items') !== null")
    page.keyboard.press("Escape")
    assert page.locator("details.menu").get_attribute("open") is None
    assert page.evaluate("document.activeElement.tagName") == "SUMMARY"
    context.close()


def test_the_sign_in_form_from_the_keyboard(browser: Browser, site: Site) -> None:
    context = site.context(browser, None)
    page = context.new_page()
    ready(page, "/login")
    assert page.evaluate("document.activeElement.name") == "username"  # autofocus
    page.keyboard.type("zhang")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORDS["zhang"])
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/$"))
    context.close()


# -- screenshots -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("locale", "lang"), [("zh-CN", "zh-CN"), ("en-US", "en")])
def test_screenshots(browser: Browser, site: Site, locale: str, lang: str) -> None:
    """docs/web-app.md shows dark mode, a confirmation and the template editor, in Chinese and
    in English."""
    context = site.context(browser, "zhang", locale=locale, width=1100, height=640)
    page = context.new_page()
    page.emulate_media(color_scheme="dark")
    ready(page, f"/groups/{site.groups['ops']}")
    page.locator(".card-markdown:has(h4)").last.scroll_into_view_if_needed()
    _shot(page, f"dark-mode.{lang}.png")
    context.close()

    context = site.context(browser, "root", locale=locale, width=1100, height=640)
    page = context.new_page()
    ready(page, f"/robots/{site.robots['CI']['id']}")
    page.click("#delete-robot")
    _dialog(page)
    _shot(page, f"confirm-delete-robot.{lang}.png")
    page.keyboard.press("Escape")
    ready(page, f"/robots/{site.kinds['template']}")
    page.wait_for_selector("#template-preview article.msg")
    page.locator("#template-editor").scroll_into_view_if_needed()
    _shot(page, f"template-editor.{lang}.png")
    context.close()
