# syntax=docker/dockerfile:1
# Vantage in a small, non-root image. A connect scan needs no capabilities.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/vantage ./cmd/vantage \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/vantage /usr/local/bin/vantage
# The SQLite store lives on a volume the nonroot user (65532) owns.
COPY --from=build --chown=65532:65532 /out/data /data
ENV VANTAGE_DB=/data/vantage.db VANTAGE_ADDR=:8080 VANTAGE_LOG_FORMAT=json
VOLUME ["/data"]
EXPOSE 8080
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/vantage"]
CMD ["serve"]
