# syntax=docker/dockerfile:1.7
#
# nascar-pipeline: one image for the Dagster user-code gRPC server, the run pods that the
# K8sRunLauncher starts (they use the code location's image), the Dagster daemon and webserver
# (they load the instance's storage plugin, nascar_pipeline.instance.postgres), and the FastAPI
# read layer.
#
#   docker build -t REGISTRY/nascar-pipeline:0.1.0 .
#   code server:  dagster api grpc -m nascar_pipeline.definitions -h 0.0.0.0 -p 3030
#   API:          nascar-pipeline api --host 0.0.0.0 --port 8000
#   daemon and webserver: the official Dagster chart's commands (dagster-daemon run, dagster-webserver)
#
# The base is pinned by full version. Pin it by digest too in CI, where the registry is reachable:
#   docker build --build-arg PYTHON_IMAGE=python:3.11.14-slim-bookworm@sha256:<digest> .
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

############################## builder: wheel + virtualenv ########################################
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /src

# Dependencies first, from the exact versions in constraints.txt, so this layer is cached until
# pyproject.toml or constraints.txt change. Every dependency ships manylinux wheels, so
# --only-binary keeps compilers out of the build (and a missing wheel fails loudly).
COPY pyproject.toml constraints.txt README.md ./
RUN python -m venv /opt/venv \
 && /opt/venv/bin/python -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))' > /tmp/requirements.txt \
 && /opt/venv/bin/pip install --only-binary=:all: -c constraints.txt -r /tmp/requirements.txt

# The project wheel (setuptools comes from the build-system table, in an isolated build env).
COPY nascar_pipeline ./nascar_pipeline
COPY api ./api
RUN /opt/venv/bin/pip wheel --no-deps -w /tmp/wheels . \
 && /opt/venv/bin/pip install --no-deps /tmp/wheels/nascar_pipeline-*.whl \
 && /opt/venv/bin/pip uninstall -y pip \
 && find /opt/venv -name '__pycache__' -type d -prune -exec rm -rf {} +

############################## final: runtime only ################################################
FROM ${PYTHON_IMAGE} AS runtime

LABEL org.opencontainers.image.title="nascar-pipeline" \
      org.opencontainers.image.description="NASCAR DFS pipeline: Dagster user code and the FastAPI read layer" \
      org.opencontainers.image.licenses="Apache-2.0"

# A fixed numeric uid/gid so Kubernetes can check runAsNonRoot; the chart sets the same ids.
ARG APP_UID=10001
ARG APP_GID=10001
RUN groupadd --system --gid "${APP_GID}" app \
 && useradd --system --uid "${APP_UID}" --gid app --home-dir /home/app --create-home \
      --shell /usr/sbin/nologin app \
 && mkdir -p /opt/dagster/dagster_home /opt/dagster/nascar_home /var/cache/nascar-pipeline \
 && chown -R app:app /opt/dagster /var/cache/nascar-pipeline

COPY --from=builder --chown=root:root /opt/venv /opt/venv

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DAGSTER_HOME=/opt/dagster/dagster_home \
    NASCAR_PIPELINE_HOME=/var/cache/nascar-pipeline \
    NASCAR_JAX_CACHE=/var/cache/nascar-pipeline/jax \
    MPLCONFIGDIR=/tmp/matplotlib

WORKDIR /home/app
USER ${APP_UID}:${APP_GID}

# 3030: Dagster gRPC code server; 8000: API (/healthz, /readyz, /metrics on the same port).
EXPOSE 3030 8000

# The chart always sets the command; the default serves the API.
CMD ["nascar-pipeline", "api", "--host", "0.0.0.0", "--port", "8000"]
