"""`reflector process` drops the speech models before its LLM stage (issue 13: the LLM stage of a 3-hour
recording must not sit on top of them)."""

from pathlib import Path

from reflector.bootstrap import ModelRegistry
from reflector.settings import load_settings


def test_a_released_model_is_built_again_on_next_use() -> None:
    registry = ModelRegistry(load_settings({}, dotenv=Path("/nonexistent")))
    built: list[object] = []

    def build() -> object:
        built.append(object())
        return built[-1]

    first = registry._get("transcriber", build)
    assert registry._get("transcriber", build) is first
    registry.release("transcriber", "diarizer")  # one never built is no matter
    assert registry._get("transcriber", build) is not first
    assert len(built) == 2
