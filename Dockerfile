# The image wavegate's CI/CD components run in: wavegate and the tools its jobs call
# (kube-apiserver and etcd for `dry-run --cluster local`, kubeconform for `--engine kubeconform`,
# wavegate-jq for checking jqPathExpressions, kind and kubectl for `dry-run --cluster kind` under
# Docker-in-Docker). Every tool comes from
# scripts/install-tools, the same script the tests run, so image and tests share pinned versions.
FROM golang:1.26-bookworm AS tools
WORKDIR /src
COPY scripts/ scripts/
RUN bash scripts/install-tools --only kube-apiserver --only etcd --only kubeconform --only wavegate-jq --only kind \
      --only kubectl \
    && bash scripts/install-tools --check --only kube-apiserver --only etcd --only kubeconform --only wavegate-jq \
      --only kind --only kubectl

FROM python:3.11-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends git ca-certificates docker.io \
    && rm -rf /var/lib/apt/lists/*
COPY --from=tools /src/.tools/bin /opt/wavegate/tools/bin
ENV WAVEGATE_TOOLS_DIR=/opt/wavegate/tools PATH=/opt/wavegate/tools/bin:$PATH
COPY . /tmp/wavegate
RUN pip install --no-cache-dir /tmp/wavegate && rm -rf /tmp/wavegate \
    && wavegate --version && wavegate validate --help >/dev/null
RUN useradd --create-home wavegate
USER wavegate
CMD ["wavegate", "--help"]
