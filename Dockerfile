# Carillon's container image: a static binary on an empty base.
#
#   docker build --build-arg VERSION=$(git describe --tags --always) -t carillon .
#   docker run -p 8080:8080 -v carillon-data:/data carillon
#
# Set CARILLON_ROOT_ACCESS_KEY_ID and CARILLON_ROOT_SECRET_ACCESS_KEY: the
# image listens on every address, so the public development credentials
# must not be used.

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=(devel)
# CGO_ENABLED=0: a static binary (the embedded store is pure Go).
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/carillon-dev/carillon/internal/app.version=${VERSION}" \
      -o /out/carillon ./cmd/carillon \
 && mkdir -p /out/data \
 && /out/carillon version

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/
COPY --from=build /out/carillon /carillon
COPY --from=build --chown=65532:65532 /out/data /data
COPY LICENSE NOTICE /
# Not root: uid/gid 65532 ("nonroot"), which owns /data.
USER 65532:65532
ENV CARILLON_ADDR=0.0.0.0:8080 \
    CARILLON_DATA=/data
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/carillon", "health", "--endpoint", "http://127.0.0.1:8080"]
ENTRYPOINT ["/carillon"]
CMD ["serve"]
