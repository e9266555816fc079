#!/usr/bin/env bash
# Builds Jaeger (v2: github.com/jaegertracing/jaeger/cmd/jaeger) from the Go
# module proxy into .cache/jaeger/jaeger, for the OpenTelemetry end-to-end
# test in contrib/otel (which finds it there, or at $REQPROF_JAEGER). The
# version is pinned by tools/jaeger/go.mod, a module of its own outside
# go.work so that Jaeger's dependencies never reach reqprof's. The first
# build takes minutes (a large program); later ones reuse Go's build cache.
set -euo pipefail

cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"

mkdir -p .cache/jaeger
(cd tools/jaeger && GOWORK=off go build -o ../../.cache/jaeger/jaeger github.com/jaegertracing/jaeger/cmd/jaeger)
echo "jaeger: .cache/jaeger/jaeger ($(cd tools/jaeger && GOWORK=off go list -m -f '{{.Version}}' github.com/jaegertracing/jaeger))"
