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

# wavegate's wheel with its native YAML loader (setup.py builds it with a C compiler and libyaml's
# headers; only this stage has them).
FROM python:3.11-slim-bookworm AS wheel
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev libyaml-dev \
    && rm -rf /var/lib/apt/lists/*
COPY . /tmp/wavegate
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels /tmp/wavegate

FROM python:3.11-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends git ca-certificates docker.io libyaml-0-2 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=tools /src/.tools/bin /opt/wavegate/tools/bin
ENV WAVEGATE_TOOLS_DIR=/opt/wavegate/tools PATH=/opt/wavegate/tools/bin:$PATH
COPY --from=wheel /wheels /tmp/wheels
RUN pip install --no-cache-dir /tmp/wheels/*.whl && rm -rf /tmp/wheels \
    && python -c "import wavegate.load_native as n; assert n.BUILT, 'the native loader was not built'" \
    && wavegate --version && wavegate validate --help >/dev/null
RUN useradd --create-home wavegate
USER wavegate
CMD ["wavegate", "--help"]
