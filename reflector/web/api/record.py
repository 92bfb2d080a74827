"""Recording in the browser: Reflector's WebRTC signalling, one POST of the offer answered by the SDP answer."""

import msgspec
from litestar import post

from reflector.web.recording import LiveRecordings


class RtcDescription(msgspec.Struct):
    sdp: str
    type: str


@post(
    "/v1/transcripts/{transcript_id:str}/record/webrtc",
    tags=["transcripts"],
    status_code=200,
    opt={"access": "write"},
)
async def transcript_record_webrtc(
    recordings: LiveRecordings, transcript_id: str, data: RtcDescription
) -> RtcDescription:
    """Start recording: the audio is kept as it arrives; `{"cmd": "STOP"}` on the data channel ends it."""
    answer = await recordings.start(transcript_id, data.sdp, data.type)
    return RtcDescription(sdp=answer.sdp, type=answer.type)


ROUTES = [transcript_record_webrtc]
