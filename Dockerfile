# scancode as a container: built with the dev dependencies, run with the runtime ones only.
#
#   docker build -t scancode .
#   docker run -p 3000:3000 -v scancode-data:/data -e WECHAT_APPID=wx… -e WECHAT_SECRET=… scancode
#
# Without DATABASE_URL it keeps the embedded SQLite database in the /data volume; set
# DATABASE_URL=mysql://… (and REDIS_URL for several instances) to use MySQL/MariaDB. The migrations run
# at start-up. NODE_ENV=production: WeChat credentials are required, and a MySQL database that does not
# exist is an error, never created.

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json mikro-orm.config.ts ./
COPY src ./src
# The web dashboard (dist/web, served at /app/): its app, the SDK it takes from source, the build script.
COPY web ./web
COPY client/src ./client/src
COPY scripts/build-web.js ./scripts/
RUN npm run build && npm run web:build

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATABASE_URL=file:/data/scancode.db
WORKDIR /app
COPY package.json package-lock.json ./
# Runtime dependencies only: no TypeScript, no test tools, no pino-pretty (logs are JSON lines).
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
RUN mkdir -p /data && chown node:node /data
VOLUME /data
USER node
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s \
  CMD node -e "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
# node itself, not npm: SIGTERM from `docker stop` reaches the server, which closes its sockets cleanly.
CMD ["node", "dist/src/main.js"]
