"""Wire compatibility with Reflector: our OpenAPI document against the field lists of its responses.

The expected fields are read from the reference inventory (§1.1, §1.3, §2.1) on each run rather than copied
here, so the test follows the reference and cannot drift into agreeing with our own code.
"""

import re
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from reflector.settings import Settings
from reflector.web.app import create_app
from tests.paths import REPO

INVENTORY = REPO.parent / "shared" / "reference" / "reflector-inventory.md"

# Reflector's operation names (its generated clients call `v1_<name>`) that our /v1 API must offer.
REFLECTOR_OPERATIONS = [
    "transcripts_list", "transcripts_create", "transcript_get", "transcript_update", "transcript_delete",
    "transcript_get_topics", "transcript_get_topics_with_words", "transcript_get_topics_with_words_per_speaker",
    "transcript_get_participants", "transcript_add_participant", "transcript_get_participant",
    "transcript_update_participant", "transcript_delete_participant", "transcript_assign_speaker",
    "transcript_merge_speaker", "transcripts_search", "transcript_get_audio_mp3", "transcript_get_audio_waveform",
    "transcript_record_upload", "transcript_process", "transcript_post_to_zulip",
    "zulip_get_streams", "zulip_get_topics",
    "rooms_list", "rooms_get", "rooms_get_by_name", "rooms_create", "rooms_update", "rooms_delete",
    "rooms_create_meeting", "rooms_list_active_meetings", "rooms_get_meeting", "rooms_join_meeting",
    "meeting_audio_consent", "meeting_deactivate",
]  # fmt: skip

# The inventory does not type the paging counters; Reflector's pydantic models declare them `int`.
COUNTERS = {"total", "page", "size", "pages", "limit", "offset", "total_match_count"}


@dataclass
class Expected:
    """One field of a Reflector response: its JSON types where the reference says, and what its items hold."""

    types: set[str] = field(default_factory=set)
    items: "dict[str, Expected] | str | None" = None  # fields of array items, or the name of another shape


Shape = dict[str, Expected]


def _split_top(spec: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in spec:
        depth += char in "([{"
        depth -= char in ")]}"
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    return [p for p in [*parts, current.strip()] if p]


def _annotation_types(note: str) -> set[str]:
    """`(int|null)`, `(ISO, UTC-normalized)`, `(s)`, `(0..1)`, `(plain text)` → JSON types."""
    note = note.strip().lower()
    if note.startswith("int"):
        return {"integer"}
    if note.startswith("iso") or "text" in note:
        return {"string"}
    if re.match(r"s\b", note) or re.match(r"[\d.]+\.\.[\d.]+", note):  # seconds, or a range
        return {"number"}
    return set()


def parse_fields(spec: str) -> Shape:
    """`{id, speaker (int|null), words: [{text, start}], results: [SearchResult], search_snippets[]}` → fields."""
    spec = spec.strip()
    if spec.startswith("{") and spec.endswith("}"):
        spec = spec[1:-1]
    shape: Shape = {}
    for part in _split_top(spec):
        if ":" in part:
            name, _, value = (s.strip() for s in part.partition(":"))
            if value.startswith("[{"):
                shape[name] = Expected({"array"}, parse_fields(value[1:-1]))
            elif value.startswith("["):
                item = value[1:-1].strip()
                shape[name] = Expected({"array"}, item if item[:1].isupper() else None)
            elif value.startswith("{"):
                shape[name] = Expected({"object"})
            else:  # a literal example such as `status:"ok"`
                shape[name] = Expected({"string"} if value.startswith('"') else set())
            continue
        match = re.fullmatch(r"(\w+)(\[\])?\s*(?:\((.*)\))?.*", part, re.S)
        assert match, f"cannot read the field {part!r} in the inventory"
        name, is_list, note = match.groups()
        shape[name] = Expected({"array"} if is_list else _annotation_types(note or ""))
    for name, expected in shape.items():
        if name in COUNTERS and not expected.types:
            expected.types = {"integer"}
    return shape


def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.find("\n### ", start + len(heading))
    return text[start : end if end != -1 else len(text)]


def _column_types(text: str) -> dict[str, set[str]]:
    """§2.1, the transcript table: column types as JSON types (JSON columns stay untyped)."""
    kinds = [("bool", "boolean"), ("float", "number"), ("bigint", "integer"), ("int", "integer"),
             ("timestamptz", "string"), ("str", "string"), ("text", "string"), ("enum", "string")]  # fmt: skip
    types: dict[str, set[str]] = {}
    for line in _section(text, "### 2.1").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or "`" not in cells[0]:
            continue
        json_type = next((js for db, js in kinds if cells[1].lower().startswith(db)), None)
        for column in re.findall(r"`(\w+)`", cells[0]):
            if json_type:
                types[column] = {json_type}
    return types


def _after(text: str, marker: str) -> str:
    """The first backticked span after `marker`."""
    match = re.search(re.escape(marker) + r".*?`([^`]+)`", text, re.S)
    assert match, f"the inventory no longer says {marker!r}"
    return match.group(1)


def _sentence_spans(text: str, marker: str) -> str:
    """Every backticked name in the sentence that starts at `marker`, as one field list."""
    start = text.index(marker) + len(marker)
    sentence = text[start : text.index(". ", start)]
    return ", ".join(re.findall(r"`([^`]+)`", sentence))


def reflector_shapes(text: str) -> dict[str, Shape]:
    api = _section(text, "### 1.3")
    columns = _column_types(text)

    def typed(shape: Shape) -> Shape:
        for name, expected in shape.items():
            if not expected.types and name in columns:
                expected.types = columns[name]
        return shape

    minimal = typed(parse_fields(_after(api, "`GetTranscriptMinimal` (list items):")))
    participants = {**minimal, **parse_fields(_after(api, "`GetTranscriptWithParticipants` = minimal +"))}
    full = {**participants, **parse_fields(_sentence_spans(api, "`GetTranscript` (single GET) ="))}
    topic = parse_fields(_after(api, "`[GetTranscriptTopic]`:"))
    search = re.search(r"`(\{results:[^`]+)`", api)
    assert search, "the inventory no longer describes the search response"
    rooms = _section(text, "### 1.4")
    room = parse_fields(_after(rooms, "`Room` ="))
    return {
        "Room": room,
        "RoomDetails": {**room, **parse_fields(_after(rooms, "`RoomDetails` adds"))},
        "Meeting": parse_fields(_after(rooms, "`Meeting` response =")),
        "Page": parse_fields(_after(_section(text, "### 1.1"), "; response")),
        "GetTranscriptMinimal": minimal,
        "GetTranscriptWithParticipants": participants,
        "GetTranscript": full,
        "GetTranscriptTopic": topic,
        "GetTranscriptTopicWithWords": {**topic, **parse_fields(_after(api, "/topics/with-words`"))},
        "GetTranscriptTopicWithWordsPerSpeaker": {**topic, **parse_fields(_after(api, "/words-per-speaker`"))},
        "Participant": parse_fields(_after(api, "`Participant` response =")),
        "SearchResponse": parse_fields(search.group(1)),
        "SearchResult": typed(parse_fields(_after(api, "`SearchResult`:"))),
        "DeletionStatus": parse_fields(_after(api, "`TRANSCRIPT_DELETED`. Returns")),
        "AudioWaveform": parse_fields(_after(api, "/audio/waveform`")),
    }


# Where each of Reflector's shapes appears in our API: (shape, operation id, path to it in the body).
# A path step "[]" enters an array's items; any other step enters that property.
RESPONSES = [
    ("Page", "v1_transcripts_list", []),
    ("GetTranscriptMinimal", "v1_transcripts_list", ["items", "[]"]),
    ("GetTranscriptWithParticipants", "v1_transcripts_create", []),
    ("GetTranscriptWithParticipants", "v1_transcript_update", []),
    ("GetTranscript", "v1_transcript_get", []),
    ("GetTranscriptTopic", "v1_transcript_get_topics", ["[]"]),
    ("GetTranscriptTopicWithWords", "v1_transcript_get_topics_with_words", ["[]"]),
    ("GetTranscriptTopicWithWordsPerSpeaker", "v1_transcript_get_topics_with_words_per_speaker", []),
    ("Participant", "v1_transcript_get_participants", ["[]"]),
    ("Participant", "v1_transcript_add_participant", []),
    ("Participant", "v1_transcript_get_participant", []),
    ("Participant", "v1_transcript_update_participant", []),
    ("SearchResponse", "v1_transcripts_search", []),
    ("SearchResult", "v1_transcripts_search", ["results", "[]"]),
    ("DeletionStatus", "v1_transcript_delete", []),
    ("DeletionStatus", "v1_transcript_delete_participant", []),
    ("DeletionStatus", "v1_transcript_assign_speaker", []),
    ("DeletionStatus", "v1_transcript_merge_speaker", []),
    ("DeletionStatus", "v1_transcript_record_upload", []),
    ("DeletionStatus", "v1_transcript_process", []),
    ("AudioWaveform", "v1_transcript_get_audio_waveform", []),
    ("Page", "v1_rooms_list", []),
    ("RoomDetails", "v1_rooms_list", ["items", "[]"]),
    ("RoomDetails", "v1_rooms_get", []),
    ("RoomDetails", "v1_rooms_get_by_name", []),
    ("Room", "v1_rooms_create", []),
    ("RoomDetails", "v1_rooms_update", []),
    ("DeletionStatus", "v1_rooms_delete", []),
    ("Meeting", "v1_rooms_create_meeting", []),
    ("Meeting", "v1_rooms_list_active_meetings", ["[]"]),
    ("Meeting", "v1_rooms_get_meeting", []),
    ("Meeting", "v1_rooms_join_meeting", []),
]


class Document:
    """Our OpenAPI document, with `$ref`s and combinators resolved on the way down."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.operations = {
            op["operationId"]: op
            for item in doc["paths"].values()
            for op in item.values()
            if isinstance(op, dict) and "operationId" in op
        }
        # (METHOD, path with its parameters unnamed) of each operation, as the inventory names routes.
        self.route_of = {
            op["operationId"]: (method.upper(), _unnamed(path))
            for path, item in doc["paths"].items()
            for method, op in item.items()
            if isinstance(op, dict) and "operationId" in op
        }

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            node: Any = self.doc
            for key in schema["$ref"].removeprefix("#/").split("/"):
                node = node[key]
            schema = node
        return schema

    def alternatives(self, schema: dict[str, Any]) -> list[dict[str, Any]]:
        """The plain schemas a value may match (oneOf/anyOf branches, allOf parts)."""
        schema = self.resolve(schema)
        branches = schema.get("oneOf") or schema.get("anyOf") or schema.get("allOf")
        if branches:
            return [alt for branch in branches for alt in self.alternatives(branch)]
        return [schema]

    def types(self, schema: dict[str, Any]) -> set[str] | None:
        """JSON types the schema allows; None when it allows anything."""
        found: set[str] = set()
        for alt in self.alternatives(schema):
            declared = alt.get("type")
            if declared is None and "properties" in alt:
                declared = "object"
            if declared is None:
                return None
            found |= set(declared) if isinstance(declared, list) else {declared}
        return found

    def properties(self, schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
        props: dict[str, dict[str, Any]] = {}
        for alt in self.alternatives(schema):
            props.update(alt.get("properties", {}))
        return props

    def step(self, schema: dict[str, Any], key: str) -> dict[str, Any] | None:
        for alt in self.alternatives(schema):
            if key == "[]" and "items" in alt:
                return alt["items"]
            if key in alt.get("properties", {}):
                return alt["properties"][key]
        return None


def compatible(expected: set[str], ours: set[str] | None) -> bool:
    if ours is None:
        return True
    wanted = expected - {"null"}
    return not wanted or bool(wanted & ours) or ("number" in wanted and "integer" in ours)


def shape_problems(doc: Document, schema: dict[str, Any], shape: Shape, shapes: dict[str, Shape], at: str) -> list[str]:
    problems: list[str] = []
    props = doc.properties(schema)
    for name, expected in shape.items():
        where = f"{at}.{name}"
        if name not in props:
            problems.append(f"{where}: missing")
            continue
        ours = doc.types(props[name])
        if not compatible(expected.types, ours):
            problems.append(f"{where}: Reflector sends {sorted(expected.types)}, we declare {sorted(ours or [])}")
        items = doc.step(props[name], "[]")
        nested = shapes.get(expected.items) if isinstance(expected.items, str) else expected.items
        if nested and items is not None:
            problems += shape_problems(doc, items, nested, shapes, f"{where}[]")
        elif nested:
            problems.append(f"{where}: declared without item schema")
    return problems


@pytest.fixture(scope="module")
def shapes() -> dict[str, Shape]:
    if not INVENTORY.exists():
        pytest.skip(f"the Reflector reference inventory is not at {INVENTORY} (../shared beside the checkout)")
    return reflector_shapes(INVENTORY.read_text())


def _unnamed(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


def reflector_success_statuses(text: str) -> dict[tuple[str, str], set[str]]:
    """The success statuses of each of Reflector's routes (§1 of the inventory): FastAPI's 200, which its
    routes never change, and any other 2xx the route's own row names (206 for a byte range)."""
    statuses: dict[tuple[str, str], set[str]] = {}
    api = text[text.index("## 1. REST API") : text.index("\n## 2.")]
    for row in re.findall(r"^\|[^\n]*$", api, re.M):
        cells = row.split("|")
        # The route cell, as "`GET /v1/...` (`its source file`)" or "`GET` and `HEAD /v1/...`".
        route = re.sub(r"\(.*?\)", "", cells[1]).replace("`", "").strip()
        match = re.fullmatch(r"([A-Z]+(?: and [A-Z]+)*) (/\S+)", route)
        if not match:
            continue
        named = set(re.findall(r"\b(20[1-6])\b", "|".join(cells[2:])))
        for method in match.group(1).split(" and "):
            statuses[(method, _unnamed(match.group(2)))] = {"200", *named}
    return statuses


@pytest.fixture(scope="module")
def statuses() -> dict[tuple[str, str], set[str]]:
    if not INVENTORY.exists():
        pytest.skip(f"the Reflector reference inventory is not at {INVENTORY} (../shared beside the checkout)")
    return reflector_success_statuses(INVENTORY.read_text())


@pytest.fixture(scope="module")
async def document(settings: Settings) -> Document:
    app = create_app(settings)  # the document needs no services
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost") as client:
        response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    return Document(response.json())


def test_inventory_is_read_as_reflector_describes_it(shapes: dict[str, Shape]) -> None:
    # Guards the parser: a reworded inventory must fail here, not silently shrink the checks below.
    assert list(shapes["Page"]) == ["items", "total", "page", "size", "pages"]
    assert len(shapes["GetTranscriptMinimal"]) == 20 and shapes["GetTranscriptMinimal"]["duration"].types == {"number"}
    assert shapes["GetTranscriptMinimal"]["change_seq"].types == {"integer"}
    assert list(shapes["GetTranscriptWithParticipants"]["participants"].items or {}) == [
        "id", "speaker", "name", "user_id", "email",
    ]  # fmt: skip
    assert {"transcript_format", "transcript"} <= set(shapes["GetTranscript"])
    assert shapes["Participant"]["speaker"].types == {"integer"}
    assert shapes["SearchResponse"]["results"].items == "SearchResult"
    assert shapes["SearchResult"]["rank"].types == {"number"} and len(shapes["SearchResult"]) == 13
    assert list(shapes["DeletionStatus"]) == ["status"]
    assert len(shapes["Room"]) == 19 and list(shapes["RoomDetails"])[-2:] == ["webhook_url", "webhook_secret"]
    assert len(shapes["Meeting"]) == 19 and "daily_composed_video_duration" in shapes["Meeting"]


def test_operation_ids_match_reflector(document: Document) -> None:
    missing = [name for name in REFLECTOR_OPERATIONS if f"v1_{name}" not in document.operations]
    assert not missing, f"Reflector operations our API lacks: {', '.join(missing)}"


@pytest.mark.parametrize(("shape", "operation_id", "path"), RESPONSES, ids=[f"{r[1]}:{r[0]}" for r in RESPONSES])
def test_response_has_reflector_fields(
    document: Document,
    shapes: dict[str, Shape],
    statuses: dict[tuple[str, str], set[str]],
    shape: str,
    operation_id: str,
    path: list[str],
) -> None:
    operation = document.operations.get(operation_id)
    if operation is None:
        pytest.skip(f"{operation_id} is not in our API yet (test_operation_ids_match_reflector fails for it)")
    status = "200" if "200" in statuses[document.route_of[operation_id]] else "?"
    response = operation["responses"].get(status)
    assert response, f"{operation_id} documents no {status} response (has {sorted(operation['responses'])})"
    schema: dict[str, Any] | None = response.get("content", {}).get("application/json", {}).get("schema")
    assert schema is not None, f"{operation_id} {status} has no JSON schema"
    for key in path:
        schema = document.step(schema, key)
        assert schema is not None, f"{operation_id} {status}: no {key!r} in {'.'.join(path)}"
    problems = shape_problems(document, schema, shapes[shape], shapes, shape)
    assert not problems, f"{operation_id} differs from Reflector's {shape}:\n" + "\n".join(problems)


def test_every_operation_succeeds_with_reflectors_status(
    document: Document, statuses: dict[tuple[str, str], set[str]]
) -> None:
    """Each of Reflector's routes that we serve documents exactly Reflector's success status (its clients
    check `response.ok` and some `status === 200`)."""
    assert statuses[("POST", "/v1/transcripts")] == {"200"}
    assert statuses[("GET", "/v1/transcripts/{}/audio/mp3")] == {"200", "206"}
    ours = {route: operation_id for operation_id, route in document.route_of.items()}
    shared = sorted(route for route in statuses if route in ours)
    assert len(shared) >= 20, f"only {len(shared)} of Reflector's routes found in our document"
    wrong = []
    for route in shared:
        documented = {code for code in document.operations[ours[route]]["responses"] if code.startswith("2")}
        if documented != statuses[route]:
            wrong.append(
                f"{' '.join(route)}: Reflector answers {sorted(statuses[route])}, we document {sorted(documented)}"
            )
    assert not wrong, "\n".join(wrong)
