# The image wavegate's CI/CD components run in: wavegate plus the tools its jobs call.
# Every tool comes from scripts/install-tools, the same script the tests run, so the image and
# the test suite use the same pinned versions.
FROM python:3.11-slim-bookworm AS tools
RUN apt-get update && apt-get install -y --no-install-recommends git ca-certificates golang-go nodejs npm rsync \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY scripts/ scripts/
RUN bash scripts/install-tools && bash scripts/install-tools --only kind

FROM python:3.11-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends git ca-certificates nodejs rsync \
    && rm -rf /var/lib/apt/lists/*
COPY --from=tools /src/.tools /opt/wavegate/tools
ENV WAVEGATE_TOOLS_DIR=/opt/wavegate/tools PATH=/opt/wavegate/tools/bin:$PATH
COPY . /src
RUN pip install --no-cache-dir /src && rm -rf /src
RUN useradd --create-home wavegate
USER wavegate
ENTRYPOINT []
CMD ["wavegate", "--help"]
