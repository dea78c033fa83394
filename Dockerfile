# Multi-stage build: a static binary in a distroless image, run as non-root.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/regie ./cmd/regie \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/regie /regie
# The data directory holds the bolt file, the signing keys and the pseudonym key.
COPY --from=build --chown=65532:65532 /out/data /data
VOLUME /data
ENV REGIE_STORE=bolt:/data/regie.db \
    REGIE_DATA_DIR=/data \
    REGIE_ADDR=:8080
EXPOSE 8080
USER 65532:65532
ENTRYPOINT ["/regie", "serve"]
