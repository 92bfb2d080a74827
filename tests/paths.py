"""Where the shared test recordings live: `../shared/data` beside the repository."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
REAL = SHARED_DATA / "real"
SYNTHETIC = SHARED_DATA / "synthetic"
AMI = SHARED_DATA / "ami-excerpts"
MAKE_MEETING = REPO.parent / "shared" / "tools" / "make_meeting.py"
