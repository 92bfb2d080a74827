"""The state of processing runs: one row per run, a checkpoint per finished step."""

from piccolo.columns import JSONB, Float, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from reflector.domain.ids import new_id, now
from reflector.domain.transcripts.tables import Transcript


class PipelineRun(Table, tablename="pipeline_run"):
    id = Varchar(length=36, primary_key=True, default=new_id)
    transcript_id = ForeignKey(references=Transcript, on_delete=OnDelete.cascade, index=True)
    kind = Varchar(length=16, default="file")
    # queued | running | succeeded | failed
    status = Varchar(length=16, default="queued", index=True)
    step = Varchar(length=32, default="")
    progress = Float(default=0.0)
    attempts = Integer(default=0)
    # Times the run's worker died under it (killed, crashed): past a few, the run fails instead.
    crashes = Integer(default=0)
    # The worker process running it ("host/pid-namespace:pid:token", see holders.py), so that a restarted
    # worker takes back at once what its dead predecessor held, without waiting for the heartbeat to go stale.
    holder = Varchar(length=96, default="")
    heartbeat_at = Timestamptz(null=True, default=None)
    error = Text(default="")
    # {step: seconds} for each finished step; a step listed here is skipped when the run resumes.
    timings = JSONB(default={})
    options = JSONB(default={})
    created_at = Timestamptz(default=now)
    updated_at = Timestamptz(default=now)
