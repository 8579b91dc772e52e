# syntax=docker/dockerfile:1
# One image for every kpi-pipeline service; the command picks the role:
#   docker run kpi-pipeline migrate | ingest | worker | api
# The sources are compiled into dist/ (scripts/build.js, esbuild), which bin/kpi.js runs;
# were a source newer than that build, it would compile the sources on load with tsx instead.

ARG NODE_IMAGE=node:20-bookworm-slim

# Runtime dependencies only. tsx is one of them; jest, eslint and tsc are not.
# bookworm (glibc) matches chDB's prebuilt linux-*-gnu library, so nothing is compiled.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# The build context, filtered by .dockerignore. dashboards/ arrives later in the
# project; an empty folder keeps the explicit COPY list below valid until then.
FROM ${NODE_IMAGE} AS source
WORKDIR /src
COPY . .
RUN mkdir -p dashboards

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=source /src/package.json /src/package-lock.json /src/tsconfig.json ./
COPY --from=source /src/bin ./bin
COPY --from=source /src/schemas ./schemas
COPY --from=source /src/services ./services
COPY --from=source /src/workflows ./workflows
COPY --from=source /src/dashboards ./dashboards
COPY --from=source /src/infra ./infra
COPY --from=source /src/scripts/build.js ./scripts/build.js
RUN node scripts/build.js --force
# Runtime data (KPI_DATA_DIR defaults to <project>/.data) must be writable by the
# unprivileged user; the code itself stays owned by root, read-only to it.
RUN mkdir -p /app/.data && chown node:node /app/.data
USER node
ENTRYPOINT ["node", "bin/kpi.js"]
CMD ["--help"]
