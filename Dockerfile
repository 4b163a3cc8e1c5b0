# syntax=docker/dockerfile:1
# Vantage in a small, non-root image. A connect scan needs no capabilities.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/vantage ./cmd/vantage

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/vantage /usr/local/bin/vantage
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/vantage"]
CMD ["help"]
