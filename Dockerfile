# Haul's image: a static binary (dashboard embedded) on a distroless base.
# Build: docker build -t ghcr.io/haul-dev/haul:dev .

FROM node:20-bookworm-slim AS ui
WORKDIR /src/ui
COPY ui/package.json ui/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY ui/ ./
RUN npm run build

FROM golang:1.26.8-bookworm AS build
ENV GOTOOLCHAIN=local CGO_ENABLED=0
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
COPY --from=ui /src/ui/dist/ ./ui/dist/
ARG VERSION=dev
ARG COMMIT=unknown
RUN go build -trimpath -ldflags "-s -w -X github.com/haul-dev/haul/internal/version.Version=${VERSION} -X github.com/haul-dev/haul/internal/version.Commit=${COMMIT}" -o /out/haul ./cmd/haul

# git is needed at run time for promotion steps that use the git CLI; distroless has
# none, so the runtime image is Debian slim with git, running as a non-root user.
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends git ca-certificates && rm -rf /var/lib/apt/lists/* \
 && useradd --uid 65532 --create-home --home-dir /home/haul haul
COPY --from=build /out/haul /usr/local/bin/haul
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/haul"]
