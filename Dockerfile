# leadflow container image, fed by a `go build` outside the image (the
# pattern goreleaser uses). Nothing is pulled from a registry: the base is
# `scratch`, and the build context is a folder that .ci/image-build fills:
#
#   leadflow               the static binary (CGO_ENABLED=0, -trimpath)
#   healthcheck            a static probe for compose health checks (configs/deploy/healthcheck)
#   ca-certificates.crt    the build host's CA bundle (HTTPS webhooks, Kafka/Redis TLS)
#   data/                  an empty folder, so that /data exists owned by the runtime user
#
# Build it with .ci/image-build (task `image`; podman or docker, whichever works here).
# To build by hand:
#
#   CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=$V" -o ctx/leadflow ./cmd/leadflow
#   CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o ctx/healthcheck ./configs/deploy/healthcheck
#   cp /etc/ssl/certs/ca-certificates.crt ctx/ && mkdir -p ctx/data
#   podman build -f Dockerfile --build-arg VERSION=$V -t leadflow:$V ctx
#
# Dockerfile.multistage compiles inside golang instead (needs registry access).
FROM scratch

ARG VERSION=dev
ARG REVISION=unknown
ARG CREATED=unknown
ARG SOURCE=https://github.com/leadflow/leadflow

LABEL org.opencontainers.image.title="leadflow" \
      org.opencontainers.image.description="Website visitors in, signed webhooks out: an event pipeline on Kafka and Redis" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="NOASSERTION"

COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY leadflow /leadflow
# No shell or curl in scratch: compose health checks run
# `/healthcheck http://127.0.0.1:8080/readyz` (exit 0 on 2xx).
COPY healthcheck /healthcheck
# /data is where the compose file and the Helm chart put the data set
# (`leadflow datagen --out /data`, or a volume of your own).
COPY --chown=65532:65532 data/ /data/

# Listen on every interface inside the container (the binary's default is
# 127.0.0.1:8080, unreachable from outside a container). Like every
# LEADFLOW_* variable it wins over the config file: change it with -e.
ENV LEADFLOW_HTTP_ADDR=:8080

# Non-root: uid/gid 65532 ("nonroot" in distroless); scratch has no
# /etc/passwd, so it is numeric.
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/leadflow"]
CMD ["run"]
