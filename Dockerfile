# Build the manager binary. The Go image is pinned to a patch release on a
# named Debian (its CA bundle is the image's); add its digest
# (@sha256:...) where your registry policy asks for one: this repository is
# built offline, where no registry can be asked for it.
FROM docker.io/library/golang:1.26.8-trixie AS builder
ARG TARGETOS
ARG TARGETARCH
# The version the manager reports (make docker-build passes it).
ARG VERSION=dev

WORKDIR /workspace
# Copy the Go Modules manifests
COPY go.mod go.mod
COPY go.sum go.sum
# cache deps before building and copying source so that we don't need to re-download as much
# and so that source changes don't invalidate our downloaded layer
RUN go mod download

# Copy the go source
COPY cmd/ cmd/
COPY api/ api/
COPY internal/ internal/

# Build a static binary. GOARCH has no default value so that the binary is
# built for the platform of the host where the command was called.
RUN CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} go build -trimpath \
    -ldflags="-s -w -X github.com/channel-operator/channel-operator/internal/version.Version=${VERSION}" -o manager ./cmd

# The image: the static manager and the CA bundle (for Chat's REST API over
# HTTPS) on an empty base, and nothing else. `make image` builds the same
# image without Docker (hack/image); its test checks that both agree.
FROM scratch
COPY --from=builder /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=builder /workspace/manager /manager
WORKDIR /
USER 65532:65532

ENTRYPOINT ["/manager"]
