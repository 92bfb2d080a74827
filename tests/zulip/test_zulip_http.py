"""The Zulip client against a local server speaking Zulip's documented API."""

import pytest

from reflector.adapters.zulip_http import ZulipError, ZulipHttp
from reflector.settings import SettingsError, load_settings
from tests.zulip.zulip_fake import API_KEY, BOT_EMAIL, EDIT_WINDOW_PASSED, FakeZulip


def client(zulip: FakeZulip, api_key: str = API_KEY) -> ZulipHttp:
    return ZulipHttp(zulip.base_url, BOT_EMAIL, api_key)


async def test_a_message_is_posted_to_a_stream_and_edited(zulip: FakeZulip) -> None:
    bot = client(zulip)
    message_id = await bot.send_stream_message("meetings", "stand-up", "# Hello")
    await bot.edit_message(message_id, "# Hello again")
    await bot.aclose()
    message = zulip.messages[message_id]
    assert (message.stream, message.topic, message.content, message.edits) == (
        "meetings",
        "stand-up",
        "# Hello again",
        ["# Hello"],
    )


async def test_streams_are_listed(zulip: FakeZulip) -> None:
    bot = client(zulip)
    assert [s.name for s in await bot.streams()] == ["general", "meetings", "engineering"]
    await bot.aclose()


async def test_a_refusal_carries_zulips_reason(zulip: FakeZulip) -> None:
    bot = client(zulip)
    with pytest.raises(ZulipError) as unknown_stream:
        await bot.send_stream_message("nowhere", "t", "x")
    assert unknown_stream.value.refused and unknown_stream.value.code == "STREAM_DOES_NOT_EXIST"
    assert "Stream 'nowhere' does not exist" in str(unknown_stream.value)
    message_id = await bot.send_stream_message("general", "t", "x")
    zulip.refuse_edits = True
    with pytest.raises(ZulipError) as late:
        await bot.edit_message(message_id, "y")
    assert late.value.refused and late.value.msg == EDIT_WINDOW_PASSED and late.value.status == 400
    await bot.aclose()


async def test_wrong_credentials_and_an_absent_server_say_what_to_check(zulip: FakeZulip) -> None:
    bot = client(zulip, api_key="wrong")
    with pytest.raises(ZulipError, match="ZULIP_BOT_EMAIL and ZULIP_API_KEY") as refused:
        await bot.send_stream_message("general", "t", "x")
    assert refused.value.status == 401 and not refused.value.refused
    await bot.aclose()
    absent = ZulipHttp("http://127.0.0.1:9", BOT_EMAIL, API_KEY)
    with pytest.raises(ZulipError, match="could not be reached") as away:
        await absent.send_stream_message("general", "t", "x")
    assert away.value.status is None
    await absent.aclose()


def test_settings_want_the_whole_bot_and_an_http_url() -> None:
    whole = {"ZULIP_URL": "http://127.0.0.1:8000", "ZULIP_BOT_EMAIL": BOT_EMAIL, "ZULIP_API_KEY": API_KEY}
    assert load_settings(whole).zulip.configured
    assert not load_settings({}).zulip.configured
    with pytest.raises(SettingsError, match="ZULIP_API_KEY"):
        load_settings({"ZULIP_URL": "https://chat.example.org", "ZULIP_BOT_EMAIL": BOT_EMAIL})
    with pytest.raises(SettingsError, match=r"ZULIP_URL='chat\.example\.org'"):
        load_settings({**whole, "ZULIP_URL": "chat.example.org"})
