# The Function App (orchestration/) as a container image on the Azure Functions Node base image, for
# Container Apps or Premium/Dedicated hosting. Flex Consumption deploys a zip instead (bicep/package-app.sh).
# batch-image/ has its own Dockerfile for the job container.
#
#   docker build -t <acr>.azurecr.io/aci-batch/controller:1.0 .                      # uses ./tenants.json
#   docker build --build-arg TENANTS_FILE=tenants.example.json -t aci-batch-controller:demo .   # demo tenants
#
# The image carries no settings: every app setting (orchestration/src/config.ts) comes from the host.

# ---- build: compile the workspaces (dev dependencies, TypeScript) ----
FROM node:20 AS build
WORKDIR /src
COPY package.json package-lock.json .npmrc ./
COPY orchestration/package.json orchestration/
COPY batch-image/package.json batch-image/
COPY cli/package.json cli/
# Scripts off: native dev dependencies (better-sqlite3) serve the local stack and tests, not this image.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY orchestration/ orchestration/
COPY batch-image/ batch-image/
COPY cli/ cli/
RUN npm run build

# ---- deps: production dependencies of orchestration/ only, from the root lockfile (overrides included) ----
FROM node:20 AS deps
WORKDIR /src
COPY package.json package-lock.json .npmrc ./
COPY orchestration/package.json orchestration/
COPY batch-image/package.json batch-image/
COPY cli/package.json cli/
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund --workspace orchestration \
 && rm -rf node_modules/@aci-batch

# ---- runtime ----
FROM mcr.microsoft.com/azure-functions/node:4-node20
ENV AzureWebJobsScriptRoot=/home/site/wwwroot \
    AzureFunctionsJobHost__Logging__Console__IsEnabled=true
ARG TENANTS_FILE=tenants.json
WORKDIR /home/site/wwwroot
COPY orchestration/host.json orchestration/package.json ./
COPY --from=build /src/orchestration/dist ./dist
# The dashboard (GET /api/ui) is served from ui/ beside dist/.
COPY orchestration/ui ./ui
COPY --from=deps /src/node_modules ./node_modules
# TENANTS_FILE (the app setting) defaults to tenants.json, relative to this folder.
COPY ${TENANTS_FILE} ./tenants.json
