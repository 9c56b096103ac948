# syntax=docker/dockerfile:1

# Build stage: a static binary (no cgo), stamped with VERSION.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/leadworker ./cmd/leadworker

# Runtime stage: distroless, no shell, runs as the non-root user (65532).
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/leadworker /leadworker
# Listening beyond loopback requires LEADWORKER_API_TOKENS and/or
# LEADWORKER_ADMIN_TOKENS: without any token the daemon refuses to start on
# 0.0.0.0. Without LEADWORKER_REDIS_URL it runs an embedded in-memory Redis
# and loses every lead on restart; set it (Redis >= 6.2) for persistence.
#   docker run -p 8080:8080 -e LEADWORKER_API_TOKENS=... -e LEADWORKER_ADMIN_TOKENS=... \
#     -e LEADWORKER_REDIS_URL=redis://redis:6379/0 leadworker:<version>
ENV LEADWORKER_HTTP_ADDR=0.0.0.0:8080
EXPOSE 8080
USER nonroot:nonroot
# Without LEADWORKER_SMTP_URL mail goes to ./outbox: keep it writable.
WORKDIR /home/nonroot
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 CMD ["/leadworker", "healthcheck"]
ENTRYPOINT ["/leadworker"]
CMD ["serve"]
