"""Schemathesis's stateful phase over our API, run as its CLI runs it against a deployment: it infers which
answers feed which requests (a created transcript's id into its topics, participants, audio; a participant's
id into its update and delete, ...) and drives sequences of them against the real app on loopback. No
sequence may end in a 5xx."""

import asyncio
import re
import sys
from pathlib import Path

from reflector.bootstrap import Services
from reflector.settings import Settings
from reflector.web.app import create_app
from tests.meeting_platform import RecordingPlatform, with_platform
from tests.net import serve

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"


async def test_generated_sequences_of_requests_get_no_5xx(clean: Services, settings: Settings, tmp_path: Path) -> None:
    # Every platform a room may name is served: a room on one not configured is a deliberate 503.
    every = with_platform(clean, RecordingPlatform(), ("daily", "whereby", "livekit"))
    async with serve(create_app(settings, services=every)) as base:
        run = await asyncio.create_subprocess_exec(
            str(SCHEMATHESIS), "run", f"{base}/schema/openapi.json",
            "--phases", "stateful", "--checks", "not_a_server_error", "--max-examples", "60", "--seed", "1",
            "--no-color",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            cwd=tmp_path,  # its cache of crashes stays out of the checkout
        )  # fmt: skip
        output, _ = await asyncio.wait_for(run.communicate(), 300)
    report = output.decode(errors="replace")
    print(report[-1500:])
    assert run.returncode == 0, report[-6000:]
    covered = re.search(r"API Links:\s+(\d+) covered", report)
    assert covered and int(covered.group(1)) > 0, f"no sequence followed a link:\n{report[-3000:]}"
