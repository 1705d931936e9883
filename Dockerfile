# One image for the five services; the command chooses which runs: `python -m gateway`, `python -m catalog`,
# `python -m orders`, `python -m payment`, `python -m coordinator`, and `python -m plumbing.provision` (migrations,
# demo logins and topics, once).
# BASE_IMAGE is the official Python image; `make test-containers` builds with a local substitute (containers/).
ARG BASE_IMAGE=python:3.11-slim-bookworm

# Wheels of the project and of its runtime dependencies at the versions requirements.txt pins.
FROM ${BASE_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY requirements.txt pyproject.toml ./
# Dependencies first (pyproject.toml's list at requirements.txt's pins): this layer outlives changes to the code.
RUN python -m venv /opt/build \
    && /opt/build/bin/pip install --quiet pip==25.3 \
    && /opt/build/bin/python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" >dependencies.txt \
    && /opt/build/bin/pip wheel --quiet --wheel-dir /wheels --constraint requirements.txt --requirement dependencies.txt
COPY contracts contracts
COPY plumbing plumbing
COPY catalog catalog
COPY orders orders
COPY payment payment
COPY coordinator coordinator
COPY gateway gateway
RUN /opt/build/bin/pip wheel --quiet --no-deps --wheel-dir /wheels . \
    && python -m venv /opt/retrovault \
    && /opt/retrovault/bin/pip install --quiet --no-index --find-links /wheels retrovault \
    && /opt/retrovault/bin/pip uninstall --quiet --yes setuptools pip

# The runtime: the virtualenv only, run by an unprivileged user; nothing is written outside /tmp, except the
# gateway's signing key in /var/lib/retrovault (a volume; made here so a new volume starts owned by that user).
FROM ${BASE_IMAGE} AS runtime
ARG BASE_IMAGE
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="retrovault" \
      org.opencontainers.image.description="RetroVault's services (gateway, catalog, orders, payment, coordinator); the command picks one" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.base.name="${BASE_IMAGE}"
RUN useradd --system --uid 10001 --user-group --no-create-home --home-dir /tmp retrovault \
    && install -d -o 10001 -g 10001 -m 0700 /var/lib/retrovault
COPY --from=builder /opt/retrovault /opt/retrovault
ENV PATH=/opt/retrovault/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    RV_HTTP_HOST=0.0.0.0
USER 10001:10001
WORKDIR /tmp
EXPOSE 8100 8101 8102 8103 8104
HEALTHCHECK --interval=10s --timeout=10s --start-period=180s --retries=12 CMD ["python", "-m", "plumbing.healthcheck"]
CMD ["python", "-m", "coordinator"]
