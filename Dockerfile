# syntax=docker/dockerfile:1
#
# The SPIKE-TS image: one image for every component, chosen by the command
# (/usr/local/bin/spike-nexus, spike-keeper, spike-bootstrap, spike; or `spike-ts <command>`).
# The final stage has no shell and no package manager, runs as uid 65532 and needs nothing
# writable but /tmp and Nexus's data directory (/var/lib/spike), so it runs with a read-only root
# filesystem. docs/install.md (Container image) says what is verified, and how.
#
#   docker build -t spike-ts .
#   docker run --rm spike-ts spike --version
#
# Pin both base images by digest (FROM image:tag@sha256:…) in your own builds.

# Build: the self-contained executables (npm run build:exe: one Node.js single executable
# application, dist/exe/spike-ts, and a hard link per command). Debian 12, like the final stage.
FROM node:24-bookworm AS build
WORKDIR /src
COPY . .
RUN npm ci --no-audit --no-fund \
 && npm run build:exe \
 && mkdir -p /out/var/lib/spike

# Run: glibc, libstdc++ and libgcc (what the executable links, nothing else), CA certificates,
# /etc/passwd with `nonroot` (65532), /tmp; no shell.
FROM gcr.io/distroless/cc-debian12:nonroot
# One COPY of the folder keeps the hard links: one copy of the binary, one name per command.
COPY --from=build /src/dist/exe/ /usr/local/bin/
COPY --from=build --chown=65532:65532 /out/var/lib/spike /var/lib/spike
ENV NODE_ENV=production \
    SPIKE_NEXUS_DATA_DIR=/var/lib/spike
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/spike-ts"]
CMD ["--help"]
