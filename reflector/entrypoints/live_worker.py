"""The live worker process: captions, live topics and translations for the recordings being made
(`reflector.domain.live.captioning`). This worker dying costs captions for a while, never audio."""

import msgspec

from reflector.domain.health import LIVE
from reflector.domain.live.captioning import Captioner
from reflector.entrypoints.process_lifecycle import worker_process
from reflector.model_registry import ModelRegistry
from reflector.settings import Settings, usable_cores


def live_settings(settings: Settings) -> Settings:
    """The embedded LLM shares the machine with the captions: all cores but one, unless set."""
    if settings.llm.threads:
        return settings
    llm = msgspec.structs.replace(settings.llm, threads=max(1, usable_cores() - 1))
    return msgspec.structs.replace(settings, llm=llm)


async def run_live_worker(settings: Settings) -> None:
    async with worker_process(settings, "live") as process:
        # Announced, the record page can say whether captions will come (and readiness ignores it).
        process.announce([LIVE])
        models = ModelRegistry(live_settings(settings))
        services = process.services
        captioner = Captioner(services.transcripts, services.feed, models, topics=settings.worker.live_topics)
        await captioner.run(process.stopping)
