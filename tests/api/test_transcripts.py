"""Transcripts through the /v1 API: create, list, get in every format, edit, participants, speakers."""

import msgspec
from httpx import AsyncClient

from reflector.bootstrap import Services
from reflector.domain.transcripts.models import TranscriptChanges


def _words(*spoken: tuple[int, str, float]) -> list[dict]:
    return [{"text": text, "start": start, "end": start + 0.4, "speaker": speaker} for speaker, text, start in spoken]


async def _processed(services: Services, api: AsyncClient) -> str:
    """A transcript as the pipeline leaves it: two topics of words by two speakers."""
    created = (await api.post("/v1/transcripts", json={"name": "Weekly sync"})).json()
    first = _words((0, "Hello", 0.0), (0, "team.", 0.5), (1, "Budget", 1.0), (1, "is", 1.5), (1, "fine.", 2.0))
    second = _words((0, "Ship", 3.0), (0, "Friday.", 3.5), (1, "Agreed.", 4.0))
    await services.transcripts.replace_topics(
        created["id"],
        [
            {"title": "Greetings and budget", "summary": "The budget is fine.", "timestamp": 0.0, "duration": 2.4,
             "words": first},
            {"title": "Release", "summary": "Ship on Friday.", "timestamp": 3.0, "duration": 1.4, "words": second},
        ],
    )  # fmt: skip
    action_items = {
        "decisions": [{"decision": "Ship on Friday."}],
        "next_steps": [{"task": "Ship the release", "assigned_to": "Speaker 1", "deadline": "Friday"}],
    }
    await services.transcripts.update(
        created["id"], TranscriptChanges(title="Budget and release", action_items=action_items)
    )
    await services.editor.refresh_text(created["id"])
    return created["id"]


async def test_create_then_list_with_paging_and_filters(api: AsyncClient) -> None:
    ids = [(await api.post("/v1/transcripts", json={"name": f"Meeting {i}"})).json()["id"] for i in range(3)]
    await api.patch(f"/v1/transcripts/{ids[0]}", json={"title": "Quarterly budget"})

    page = (await api.get("/v1/transcripts", params={"size": 2})).json()
    assert (page["total"], page["page"], page["size"], page["pages"]) == (3, 1, 2, 2)
    assert [item["id"] for item in page["items"]] == [ids[2], ids[1]]  # newest first
    assert (await api.get("/v1/transcripts", params={"page": 2, "size": 2})).json()["items"][0]["id"] == ids[0]
    found = (await api.get("/v1/transcripts", params={"search_term": "BUDGET"})).json()
    assert [item["id"] for item in found["items"]] == [ids[0]]
    changed = (await api.get("/v1/transcripts", params={"sort_by": "change_seq", "change_seq_from": 0})).json()
    assert [item["id"] for item in changed["items"]][-1] == ids[0]  # edited last, so highest change_seq
    assert (await api.get("/v1/transcripts", params={"size": 101})).status_code == 422


async def test_a_page_past_the_last_still_counts_and_the_trash_is_neither_listed_nor_counted(api: AsyncClient) -> None:
    ids = [(await api.post("/v1/transcripts", json={"name": f"Meeting {i}"})).json()["id"] for i in range(3)]
    await api.delete(f"/v1/transcripts/{ids[1]}")

    listed = (await api.get("/v1/transcripts")).json()
    assert ([item["id"] for item in listed["items"]], listed["total"]) == ([ids[2], ids[0]], 2)
    past = (await api.get("/v1/transcripts", params={"page": 5, "size": 2})).json()
    assert (past["items"], past["total"], past["pages"]) == ([], 2, 1)


async def test_created_transcript_has_reflector_fields(api: AsyncClient) -> None:
    response = await api.post("/v1/transcripts", json={"name": "Kick-off", "source_language": "en"})
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "idle" and body["share_mode"] == "private" and body["participants"] == []
    assert body["source_kind"] == "live" and body["user_id"] == "local"
    assert (await api.post("/v1/transcripts", json={})).status_code == 422


async def test_get_in_every_format_with_participant_names(clean: Services, api: AsyncClient) -> None:
    transcript_id = await _processed(clean, api)
    await api.post(f"/v1/transcripts/{transcript_id}/participants", json={"name": "Ana", "speaker": 0})

    text = (await api.get(f"/v1/transcripts/{transcript_id}")).json()
    assert text["transcript_format"] == "text"
    assert text["transcript"].splitlines() == ["Ana: Hello team.", "Speaker 2: Budget is fine.", "Ana: Ship Friday.",
                                               "Speaker 2: Agreed."]  # fmt: skip
    assert text["action_items"] == [
        {"task": "Ship the release", "assigned_to": "Speaker 1", "assigned_to_participant_id": None,
         "deadline": "Friday", "context": None}
    ]  # fmt: skip
    assert text["decisions"][0]["decision"] == "Ship on Friday."
    stamped = await api.get(f"/v1/transcripts/{transcript_id}", params={"transcript_format": "text-timestamped"})
    assert stamped.json()["transcript"].startswith("[00:00] Ana: Hello team.")
    vtt = (await api.get(f"/v1/transcripts/{transcript_id}", params={"transcript_format": "webvtt-named"})).json()
    assert vtt["transcript"].startswith("WEBVTT") and "<v Ana>" in vtt["transcript"]
    segments = (await api.get(f"/v1/transcripts/{transcript_id}", params={"transcript_format": "json"})).json()
    assert segments["transcript"][1] == {"speaker": 1, "speaker_name": "Speaker 2", "text": "Budget is fine.",
                                         "start": 1.0, "end": 2.4}  # fmt: skip
    bad = await api.get(f"/v1/transcripts/{transcript_id}", params={"transcript_format": "pdf"})
    assert bad.status_code == 422 and "detail" in bad.json()


async def test_missing_transcript_is_404_with_detail(api: AsyncClient) -> None:
    response = await api.get("/v1/transcripts/nope")
    assert response.status_code == 404
    assert response.json() == {"detail": "Transcript nope not found"}
    assert (await api.delete("/v1/transcripts/nope")).status_code == 404


async def test_topics_with_words_and_words_per_speaker(clean: Services, api: AsyncClient) -> None:
    transcript_id = await _processed(clean, api)

    topics = (await api.get(f"/v1/transcripts/{transcript_id}/topics")).json()
    assert [t["title"] for t in topics] == ["Greetings and budget", "Release"]
    assert topics[0]["transcript"] == "Hello team. Budget is fine."
    assert topics[0]["segments"] == [{"text": "Hello team.", "start": 0.0, "speaker": 0},
                                     {"text": "Budget is fine.", "start": 1.0, "speaker": 1}]  # fmt: skip
    with_words = (await api.get(f"/v1/transcripts/{transcript_id}/topics/with-words")).json()
    # Reflector's words carry Whisper's leading space, and its clients rebuild speech with "".join.
    assert [w["text"] for w in with_words[1]["words"]] == [" Ship", " Friday.", " Agreed."]
    assert "".join(w["text"] for w in with_words[0]["words"]) == " Hello team. Budget is fine."
    per_speaker = (await api.get(f"/v1/transcripts/{transcript_id}/topics/{topics[0]['id']}/words-per-speaker")).json()
    assert [(run["speaker"], len(run["words"])) for run in per_speaker["words_per_speaker"]] == [(0, 2), (1, 3)]
    joined = ["".join(w["text"] for w in run["words"]) for run in per_speaker["words_per_speaker"]]
    assert joined == [" Hello team.", " Budget is fine."]  # what Reflector's speaker-correction page shows
    missing = await api.get(f"/v1/transcripts/{transcript_id}/topics/nope/words-per-speaker")
    assert missing.status_code == 404 and missing.json() == {"detail": "Topic not found"}


async def test_participants_follow_reflector_uniqueness_rules(clean: Services, api: AsyncClient) -> None:
    transcript_id = await _processed(clean, api)
    base = f"/v1/transcripts/{transcript_id}/participants"

    ana = (await api.post(base, json={"name": "Ana", "speaker": 0})).json()
    taken = await api.post(base, json={"name": "Ben", "speaker": 0})
    assert taken.status_code == 400 and taken.json() == {"detail": "Speaker already assigned"}
    ben = (await api.post(base, json={"name": "Ben"})).json()
    assert ben["speaker"] is None
    assert (await api.patch(f"{base}/{ben['id']}", json={"speaker": 0})).status_code == 400
    renamed = (await api.patch(f"{base}/{ana['id']}", json={"name": "Ana Lima"})).json()
    assert renamed == {"id": ana["id"], "speaker": 0, "name": "Ana Lima"}
    assert (await api.get(f"{base}/{ana['id']}")).json()["name"] == "Ana Lima"
    text = (await api.get(f"/v1/transcripts/{transcript_id}")).json()["transcript"]
    assert text.startswith("Ana Lima: Hello team.")
    assert (await api.delete(f"{base}/{ben['id']}")).json() == {"status": "ok"}
    assert (await api.get(f"{base}/{ben['id']}")).status_code == 404
    assert [p["name"] for p in (await api.get(base)).json()] == ["Ana Lima"]


async def test_assign_and_merge_speakers(clean: Services, api: AsyncClient) -> None:
    transcript_id = await _processed(clean, api)
    base = f"/v1/transcripts/{transcript_id}"

    # "Ship Friday." (3.0 .. 3.9) was said by speaker 1, not 0.
    assigned = await api.patch(
        f"{base}/speaker/assign", json={"speaker": 1, "timestamp_from": 3.0, "timestamp_to": 3.9}
    )
    assert assigned.json() == {"status": "ok"}
    segments = (await api.get(base, params={"transcript_format": "json"})).json()["transcript"]
    assert [(seg["speaker"], seg["text"]) for seg in segments] == [
        (0, "Hello team."),
        (1, "Budget is fine. Ship Friday. Agreed."),
    ]

    carol = (await api.post(f"{base}/participants", json={"name": "Carol"})).json()
    await api.patch(
        f"{base}/speaker/assign", json={"participant": carol["id"], "timestamp_from": 0, "timestamp_to": 0.6}
    )
    carol = (await api.get(f"{base}/participants/{carol['id']}")).json()
    assert carol["speaker"] == 2  # the first number nobody used
    both = await api.patch(f"{base}/speaker/assign", json={"speaker": 1, "participant": carol["id"],
                                                            "timestamp_from": 0, "timestamp_to": 1})  # fmt: skip
    assert both.status_code == 400

    await api.patch(f"{base}/speaker/merge", json={"speaker_from": 1, "speaker_to": 2})
    text = (await api.get(base)).json()["transcript"]
    assert text == "Carol: Hello team. Budget is fine. Ship Friday. Agreed."
    await api.post(f"{base}/participants", json={"name": "Dan", "speaker": 5})
    refused = await api.patch(f"{base}/speaker/merge", json={"speaker_from": 5, "speaker_to": 2})
    assert refused.status_code == 400
    assert refused.json() == {"detail": "Both speakers are assigned to participants"}


async def test_patch_and_delete(clean: Services, api: AsyncClient) -> None:
    transcript_id = await _processed(clean, api)
    base = f"/v1/transcripts/{transcript_id}"

    patched = await api.patch(base, json={"title": "Renamed", "reviewed": True, "share_mode": "public",
                                          "participants": [{"name": "Ana", "speaker": 0}]})  # fmt: skip
    body = patched.json()
    assert (body["title"], body["reviewed"], body["share_mode"]) == ("Renamed", True, "public")
    assert [(p["name"], p["speaker"]) for p in body["participants"]] == [("Ana", 0)]
    assert (await api.patch(base, json={"share_mode": "everyone"})).status_code == 422
    await clean.storage.put_bytes(f"transcripts/{transcript_id}/audio.mp3", b"mp3")

    assert (await api.delete(base)).json() == {"status": "ok"}
    assert (await api.get(base)).status_code == 404
    assert msgspec.json.decode((await api.get("/v1/transcripts")).content)["total"] == 0
    # In its owner's trash, whole until purged (tests/integration/test_trash.py); deleted forever, it is gone.
    assert await clean.storage.exists(f"transcripts/{transcript_id}/audio.mp3")
    assert (await api.delete(f"/v1/transcripts/trash/{transcript_id}")).json() == {"status": "ok"}
    assert not await clean.storage.exists(f"transcripts/{transcript_id}/audio.mp3")


async def test_patch_applies_the_title_rule_of_the_transcript_page(clean: Services, api: AsyncClient) -> None:
    base = f"/v1/transcripts/{(await api.post('/v1/transcripts', json={'name': 'Weekly sync'})).json()['id']}"

    tidied = await api.patch(base, json={"title": "  Budget\n  review ", "reviewed": True})
    assert (tidied.status_code, tidied.json()["title"]) == (200, "Budget review")

    blank = await api.patch(base, json={"title": " \t ", "reviewed": False})
    assert (blank.status_code, blank.json()) == (400, {"detail": "Give the meeting a title."})
    kept = (await api.get(base)).json()
    assert (kept["title"], kept["reviewed"]) == ("Budget review", True)  # nothing of the refused change saved
