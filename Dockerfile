# decnet-es images, two targets:
#   emulator  one decky service (`decnet emulate SERVICE`); the Docker runtime starts one per
#             service in the network namespace of the decky's base container
#   app       (the default: last stage) the control plane, `decnet serve`
#
# BASE_IMAGE must hold python3 >= 3.11 with its venv module: python:3.11-slim where a registry
# answers, or decnet-es/base:bookworm, a debootstrap root filesystem loaded with `docker import`
# (infrastructure/runtime/images/build.sh makes it). The project and its dependencies install
# from build/wheelhouse (`pip wheel` on the host, also done by that script), so the build itself
# reaches no network.
ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS python
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/opt/decnet/bin:$PATH
COPY build/wheelhouse /tmp/wheelhouse
RUN python3 -m venv /opt/decnet \
 && /opt/decnet/bin/pip install --no-cache-dir --no-index --find-links /tmp/wheelhouse decnet-es \
 && rm -rf /tmp/wheelhouse

FROM python AS emulator
ENV DECNET_DATA_DIR=/var/lib/decnet
RUN mkdir -p /var/lib/decnet/artifacts
WORKDIR /var/lib/decnet
STOPSIGNAL SIGTERM
CMD ["decnet", "emulate", "--help"]

FROM python AS app
WORKDIR /var/lib/decnet
EXPOSE 8000 5514/udp 5514/tcp
CMD ["decnet", "serve"]
