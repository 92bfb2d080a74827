"""Full-text search through GET /v1/transcripts/search: stemming, ranking, snippets, filters, paging."""

from datetime import UTC, datetime

from httpx import AsyncClient

from reflector.bootstrap import Services
from reflector.domain.rooms.models import RoomSettings
from reflector.domain.transcripts import repository as transcripts_table
from reflector.domain.transcripts.models import NewTranscript


async def _transcript(services: Services, title: str = "", summary: str = "", text: str = "", **values) -> str:
    created = await services.transcripts.create(NewTranscript(name=title or "Meeting"))
    await transcripts_table.update(created.id, {"title": title, "long_summary": summary, "text": text, **values})
    return created.id


async def test_finds_a_stemmed_word_in_the_spoken_text_with_a_snippet(clean: Services, api: AsyncClient) -> None:
    found = await _transcript(
        clean,
        title="Weekly sync",
        text="Speaker 0: Hello team, thanks for joining so early on a Monday.\n"
        "Speaker 1: The marketing budget for next quarter is approved, travel stays frozen until March.",
    )
    await _transcript(clean, title="Hiring", text="Speaker 0: We interviewed three candidates.")

    response = await api.get("/v1/transcripts/search", params={"q": "budgets"})

    assert response.status_code == 200
    body = response.json()
    assert (body["total"], body["query"], body["limit"], body["offset"]) == (1, "budgets", 20, 0)
    [result] = body["results"]
    assert result["id"] == found and result["title"] == "Weekly sync" and result["room_name"] is None
    assert 0 < result["rank"] < 1
    assert result["total_match_count"] == 1
    [snippet] = result["search_snippets"]
    assert "marketing budget for next quarter" in snippet and "\n" not in snippet
    assert snippet.startswith("...")  # cut before the hit: about 50 characters of lead-in, at a word edge
    assert set(result) >= {"user_id", "room_id", "source_kind", "created_at", "status", "duration", "change_seq"}


async def test_title_match_ranks_above_a_body_match(clean: Services, api: AsyncClient) -> None:
    in_body = await _transcript(clean, title="Weekly sync", text="Speaker 0: The roadmap slipped a week.")
    in_title = await _transcript(clean, title="Roadmap review", text="Speaker 0: Nothing new here.")

    results = (await api.get("/v1/transcripts/search", params={"q": "roadmap"})).json()["results"]

    assert [r["id"] for r in results] == [in_title, in_body]
    assert results[0]["rank"] > results[1]["rank"]
    assert results[0]["search_snippets"] == [] and results[0]["total_match_count"] == 0


async def test_snippets_come_from_the_summary_first_and_count_every_hit(clean: Services, api: AsyncClient) -> None:
    filler = "and then people talked about many other things at length " * 4
    await _transcript(
        clean,
        title="Planning",
        summary="The team agreed on the budget.",
        text=f"Speaker 0: Budgets first. {filler}Speaker 1: The budget is tight. {filler}Speaker 0: budget again. "
        f"{filler}Speaker 1: One more budget.",
    )

    [result] = (await api.get("/v1/transcripts/search", params={"q": "budget"})).json()["results"]

    assert result["total_match_count"] == 5
    snippets = result["search_snippets"]
    assert len(snippets) == 3
    assert snippets[0] == "The team agreed on the budget."  # whole summary: no ellipses
    assert all("budget" in s.lower() for s in snippets)
    assert all(len(s) <= 150 + 6 for s in snippets)


async def test_hits_are_whole_words_in_any_case_for_every_query_word(clean: Services, api: AsyncClient) -> None:
    await _transcript(
        clean,
        title="Hiring plan",
        text="Speaker 0: BUDGETS were cut, so the overbudget hiring plans wait. Speaker 1: Budgeting hires? "
        "Speaker 0: Unbudgeted, like the rehire.",
    )

    [result] = (await api.get("/v1/transcripts/search", params={"q": "budget hiring"})).json()["results"]

    # BUDGETS, hiring, Budgeting and hires stem to a query word; overbudget, Unbudgeted and rehire do not.
    assert result["total_match_count"] == 4
    [snippet] = result["search_snippets"]
    assert snippet.startswith("Speaker 0: BUDGETS were cut") and snippet.endswith("the rehire.")


async def test_empty_query_lists_newest_first_with_filters_and_paging(clean: Services, api: AsyncClient) -> None:
    ids = [await _transcript(clean, title=f"Meeting {i}") for i in range(5)]
    room = await clean.rooms.create("someone", RoomSettings(name="room-1", platform="daily"))
    await transcripts_table.update(ids[0], {"source_kind": "room", "room_id": room.id})

    page = (await api.get("/v1/transcripts/search", params={"q": "", "limit": 2, "offset": 1})).json()
    assert page["total"] == 5 and [r["id"] for r in page["results"]] == [ids[3], ids[2]]
    assert all(r["rank"] == 0 and r["search_snippets"] == [] for r in page["results"])
    last = (await api.get("/v1/transcripts/search", params={"q": "", "limit": 2, "offset": 4})).json()
    assert last["total"] == 5 and [r["id"] for r in last["results"]] == [ids[0]]
    beyond = (await api.get("/v1/transcripts/search", params={"q": "", "offset": 10})).json()
    assert beyond["total"] == 5 and beyond["results"] == []

    in_room = (await api.get("/v1/transcripts/search", params={"q": "", "room_id": room.id})).json()
    assert [r["id"] for r in in_room["results"]] == [ids[0]]
    by_kind = (await api.get("/v1/transcripts/search", params={"q": "", "source_kind": "room"})).json()
    assert by_kind["total"] == 1


async def test_date_range_filters_on_creation_time(clean: Services, api: AsyncClient) -> None:
    old = await _transcript(clean, title="Budget 2024", created_at=datetime(2024, 3, 1, tzinfo=UTC))
    new = await _transcript(clean, title="Budget 2025", created_at=datetime(2025, 3, 1, tzinfo=UTC))

    since = {"q": "budget", "from": "2025-01-01T00:00:00Z"}
    assert [r["id"] for r in (await api.get("/v1/transcripts/search", params=since)).json()["results"]] == [new]
    assert (await api.get("/v1/transcripts/search", params={"q": "budget", "from": "2025-01-01"})).json()["total"] == 1
    until = {"q": "budget", "to": "2024-12-31T23:59:59+01:00"}
    assert [r["id"] for r in (await api.get("/v1/transcripts/search", params=until)).json()["results"]] == [old]

    backwards = await api.get(
        "/v1/transcripts/search", params={"q": "budget", "from": "2025-01-01T00:00:00Z", "to": "2024-01-01T00:00:00Z"}
    )
    assert backwards.status_code == 400
    assert "from" in backwards.json()["detail"]
    garbled = await api.get("/v1/transcripts/search", params={"q": "budget", "to": "last tuesday"})
    assert garbled.status_code == 422 and "'to' must be an ISO 8601 date" in garbled.json()["detail"]


async def test_bad_paging_is_refused(api: AsyncClient) -> None:
    for params in ({"q": "x", "limit": 0}, {"q": "x", "limit": 101}, {"q": "x", "offset": -1}):
        response = await api.get("/v1/transcripts/search", params=params)
        assert response.status_code == 422, params
        assert response.json()["detail"]
    assert (await api.get("/v1/transcripts/search")).status_code == 422  # q is required, as Reflector's
