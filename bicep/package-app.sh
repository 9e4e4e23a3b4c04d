#!/usr/bin/env bash
# Builds the Flex Consumption deployment package for the Function App: orchestration/'s compiled code,
# host.json, package.json, production node_modules (resolved from the root lockfile, overrides included)
# and the tenants file, zipped flat. Usage:
#   bicep/package-app.sh [tenants-file] [output-zip]   (defaults: tenants.json, .deploy/app.zip)
# Then: az functionapp deployment source config-zip -g <APP_RESOURCE_GROUP> -n <FUNCTION_APP_NAME> --src .deploy/app.zip
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tenants="$(realpath "${1:-$root/tenants.json}")"
out="$(realpath -m "${2:-$root/.deploy/app.zip}")"
[ -f "$tenants" ] || { echo "package-app: tenants file $tenants not found (pass its path as the first argument)" >&2; exit 1; }

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT

cd "$root"
npm run build
[ -f orchestration/host.json ] || { echo "package-app: orchestration/host.json is missing" >&2; exit 1; }

# Production dependencies of orchestration/ only, from the root lockfile (workspaces hoist everything to
# the root, so orchestration/node_modules alone is not enough). Scripts are not needed at run time.
mkdir -p "$stage/deps/orchestration" "$stage/deps/batch-image" "$stage/deps/cli"
cp package.json package-lock.json .npmrc "$stage/deps/"
cp orchestration/package.json "$stage/deps/orchestration/"
cp batch-image/package.json "$stage/deps/batch-image/"
cp cli/package.json "$stage/deps/cli/"
(cd "$stage/deps" && npm ci --omit=dev --ignore-scripts --workspace orchestration --no-audit --no-fund)
rm -rf "$stage/deps/node_modules/@aci-batch"   # workspace symlinks

app="$stage/app"
mkdir -p "$app"
cp orchestration/host.json orchestration/package.json "$app/"
cp -R orchestration/dist "$app/dist"
cp -R orchestration/ui "$app/ui"   # the dashboard (GET /api/ui), found beside dist/
cp -R "$stage/deps/node_modules" "$app/node_modules"
cp "$tenants" "$app/tenants.json"

mkdir -p "$(dirname "$out")"
rm -f "$out"
(cd "$app" && zip -qr "$out" .)
echo "package-app: wrote $out"
