"""A web process leaves what start-up built out of its garbage collections: a full collection over the app's
start-up objects took about 50 ms, added to whichever request it landed on (the p99 of list and get)."""

import json
import subprocess
import sys

from reflector.settings import Settings
from tests.integration.workers import worker_env
from tests.paths import REPO

# Run in a process of its own, as a web process is: frozen objects stay frozen for the process's life, and
# the test session's own collections must stay as they are.
SERVE_ONCE = """
import asyncio, gc, json
from litestar.testing import AsyncTestClient
from reflector.settings import load_settings
from reflector.web.app import create_app

async def main():
    app = create_app(load_settings())  # no services given: the app starts its own, as a web process does
    before = gc.get_freeze_count()
    async with AsyncTestClient(app, base_url="http://localhost") as client:
        status = (await client.get("/health")).status_code
        print(json.dumps({"before": before, "status": status, "frozen": gc.get_freeze_count(),
                          "walked": len(gc.get_objects())}))

asyncio.run(main())
"""


def test_start_up_objects_are_frozen_once_the_app_serves(settings: Settings, migrated: str) -> None:
    run = subprocess.run(
        [sys.executable, "-c", SERVE_ONCE], env=worker_env(settings), cwd=REPO, capture_output=True, timeout=120
    )
    assert run.returncode == 0, run.stderr.decode()[-3000:]
    seen = json.loads(run.stdout.decode().strip().splitlines()[-1])
    assert seen["before"] == 0 and seen["status"] == 200
    assert seen["frozen"] > 50_000
    # What a full collection now walks: the frozen objects are left out.
    assert seen["walked"] < seen["frozen"] / 2
