"""What a Whereby cloud recording needs in the tests: a composite MP4 (AAC sound, a small video) made from a
recording, and the moto server's bucket whose object-created notifications go to an SQS queue."""

import uuid
from pathlib import Path

import av
import boto3
import numpy as np

from reflector.pipelines import audio

CLIENT = {"region_name": "us-east-1", "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def composite_mp4(source: Path, path: Path) -> Path:
    """`source`'s sound as AAC at 48 kHz in an MP4 beside a 2 fps grey video, as a call's composite."""
    samples = audio.decode(source)
    seconds = len(samples) / audio.SAMPLE_RATE
    with av.open(str(path), "w", format="mp4") as out:
        video = out.add_stream("mpeg4", rate=2)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        sound = out.add_stream("aac", rate=48000, layout="mono")
        for i in range(int(seconds * 2)):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 40 + i % 100, dtype=np.uint8), format="rgb24")
            frame.pts = i
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        resampler = av.AudioResampler(format="fltp", layout="mono", rate=48000)
        frame = av.AudioFrame.from_ndarray(samples[None, :].astype(np.float32), format="flt", layout="mono")
        frame.sample_rate, frame.pts = audio.SAMPLE_RATE, 0
        for resampled in [*resampler.resample(frame), *resampler.resample(None)]:
            resampled.pts = None
            out.mux(sound.encode(resampled))
        out.mux(sound.encode(None))
    return path


def notifying_bucket(endpoint: str) -> tuple[str, str]:
    """A new bucket and the SQS queue it notifies of every object created (moto sends S3's test event to the
    queue first, as S3 does); messages handed out stay hidden 2 s."""
    s3 = boto3.client("s3", endpoint_url=endpoint, **CLIENT)
    sqs = boto3.client("sqs", endpoint_url=endpoint, **CLIENT)
    name = f"whereby-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=name)
    url = sqs.create_queue(QueueName=f"{name}-created", Attributes={"VisibilityTimeout": "2"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(
        Bucket=name,
        NotificationConfiguration={"QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]},
    )
    return name, url


def messages_left(endpoint: str, queue_url: str) -> int:
    """Messages on the queue, handed out or not."""
    sqs = boto3.client("sqs", endpoint_url=endpoint, **CLIENT)
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    counts = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)["Attributes"]
    return sum(int(counts[name]) for name in names)


def send(endpoint: str, queue_url: str, body: str) -> None:
    boto3.client("sqs", endpoint_url=endpoint, **CLIENT).send_message(QueueUrl=queue_url, MessageBody=body)
