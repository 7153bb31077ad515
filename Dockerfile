# syntax=docker/dockerfile:1
#
# regagent's container image: a static binary on a distroless base, running
# as a non-root user, with no shell. Build from the repository root:
#
#   docker build -t regagent:1.0.0 \
#     --build-arg VERSION=1.0.0 --build-arg COMMIT="$(git rev-parse HEAD)" .
#
# Run it with the config directory mounted (not the file: see "Deploying" in
# README.md) and a volume for the state file (see "What survives a restart"):
#
#   docker run --rm -v "$PWD/config:/etc/regagent:ro" -v regagent-state:/var/lib/regagent regagent:1.0.0

FROM golang:1.26 AS build
WORKDIR /src
# Dependencies first, so that a source change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
# examples/docker_test.go runs this exact command line (buildLikeDocker).
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" -o /out/regagent ./cmd/regagent
# The state directory, made here because the runtime image has no shell.
RUN mkdir -p /out/state

# static: no libc is needed (CGO_ENABLED=0); nonroot: uid 65532. USER is
# numeric so that Kubernetes' runAsNonRoot can verify it.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/regagent /usr/local/bin/regagent
# The default state file lives in /var/lib/regagent, writable by the agent's
# user; a named volume mounted there starts with this owner.
COPY --from=build --chown=65532:65532 /out/state /var/lib/regagent
USER 65532:65532
ENTRYPOINT ["regagent"]
CMD ["run", "-c", "/etc/regagent/registry.yaml"]
