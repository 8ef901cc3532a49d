#!/bin/bash
# bookpipeline worker: cloud-init user data for a stock image. spotme fills in the settings and
# passes this script as the instance's user data; cloud-init runs it once, as root, at first boot.
#
# Assumes: Debian 12 (bookworm) or later, or Ubuntu 22.04 or later, amd64 or arm64, with apt,
# curl and systemd (the official Debian and Ubuntu cloud images). The distro's Node.js is used
# when it is 20 or newer (Debian 13, Ubuntu 25.04); otherwise (Debian 12 and Ubuntu 24.04 ship
# Node 18) the official Node 20 binary is downloaded from nodejs.org and checked against the
# release's SHASUMS256.txt (no NodeSource repository, no third-party apt key).
#
# Steps: packages (tesseract-ocr, ...) → Node 20 → this project from PROJECT_SOURCE into
# /opt/bookpipeline → `npm ci --omit=dev` → settings in /etc/bookpipeline → the systemd unit
# infra/bookpipeline.service, enabled and started. Progress: /var/log/bookpipeline-setup.log
# (and the console: `aws ec2 get-console-output --instance-id i-…`). If a step fails, the machine
# powers itself off after 10 minutes (and so terminates: spotme launches workers with
# InstanceInitiatedShutdownBehavior=terminate); `sudo shutdown -c` keeps it up for a look.
set -Eeuo pipefail

#@BOOKPIPELINE_SETTINGS@
# (spotme replaces the line above with NAME='value' lines for these; set them yourself to run the
# script by hand)
: "${BOOKPIPELINE_REGION:?}"                 # e.g. eu-west-2
: "${BOOKPIPELINE_PROJECT_SOURCE:?}"         # s3://bucket/key.tar.gz, https://…tar.gz, or a git URL[#ref]
: "${BOOKPIPELINE_CONFIG_JSON:?}"            # the worker's config file: conn, region, bucket, queuePrefix, …
BOOKPIPELINE_AUTOSTOP="${BOOKPIPELINE_AUTOSTOP:-300}"
BOOKPIPELINE_ARGS="${BOOKPIPELINE_ARGS:-}"
NODE_MAJOR=20
APP=/opt/bookpipeline
STATE=/var/lib/bookpipeline

exec > >(tee -a /var/log/bookpipeline-setup.log) 2>&1
echo "bookpipeline setup: start $(date -u +%FT%TZ)"
trap 'echo "bookpipeline setup FAILED at line $LINENO; powering off in 10 minutes (sudo shutdown -c to stay)"; shutdown -P +10 "bookpipeline setup failed" || true' ERR

export DEBIAN_FRONTEND=noninteractive

# ── packages ──────────────────────────────────────────────────────────────────────────────────
apt_get() {
  # cloud-init or unattended-upgrades may hold the dpkg lock for a while at first boot.
  local i
  for i in $(seq 1 30); do
    if apt-get -o DPkg::Lock::Timeout=60 "$@"; then return 0; fi
    echo "apt-get $* failed (try $i); retrying"
    sleep 10
  done
  return 1
}
apt_get update -q
apt_get install -y -q --no-install-recommends ca-certificates curl xz-utils tar gzip git sudo \
  tesseract-ocr tesseract-ocr-eng

# ── Node.js 20 ───────────────────────────────────────────────────────────────────────────────
node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
distro_node=$(apt-cache policy nodejs 2>/dev/null | sed -n 's/^ *Candidate: *\([0-9]*\).*/\1/p' | head -n1)
if [ "$(node_major)" -ge "$NODE_MAJOR" ]; then
  echo "node $(node --version) already installed"
elif [ -n "$distro_node" ] && [ "$distro_node" -ge "$NODE_MAJOR" ] 2>/dev/null; then
  apt_get install -y -q --no-install-recommends nodejs npm
else
  case "$(uname -m)" in
    x86_64) arch=x64 ;;
    aarch64) arch=arm64 ;;
    *) echo "unsupported machine $(uname -m)"; false ;;
  esac
  base="https://nodejs.org/dist/latest-v${NODE_MAJOR}.x"
  tmp=$(mktemp -d)
  curl -fsSL --retry 5 "$base/SHASUMS256.txt" -o "$tmp/SHASUMS256.txt"
  file=$(grep -o "node-v${NODE_MAJOR}\.[0-9.]*-linux-${arch}\.tar\.xz" "$tmp/SHASUMS256.txt" | head -n1)
  curl -fsSL --retry 5 "$base/$file" -o "$tmp/$file"
  (cd "$tmp" && grep " $file\$" SHASUMS256.txt | sha256sum -c -)
  tar -xJf "$tmp/$file" -C /usr/local --strip-components=1 --no-same-owner
  rm -rf "$tmp"
  hash -r
fi
echo "node $(node --version), npm $(npm --version)"

# ── the project ──────────────────────────────────────────────────────────────────────────────
imds() { # IMDSv2: a token, then the path
  local token
  token=$(curl -fsS -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' http://169.254.169.254/latest/api/token)
  curl -fsS -H "X-aws-ec2-metadata-token: $token" "http://169.254.169.254/latest/$1"
}

fetch_s3() { # s3://bucket/key → file, signed with the instance role's credentials (curl --aws-sigv4, curl ≥ 7.75)
  local url=$1 out=$2 bucket key role creds ak sk tok
  bucket=${url#s3://}; bucket=${bucket%%/*}
  key=${url#s3://"$bucket"/}
  if command -v aws >/dev/null 2>&1; then aws s3 cp --region "$BOOKPIPELINE_REGION" "$url" "$out" && return 0; fi
  role=$(imds meta-data/iam/security-credentials/ | head -n1)
  creds=$(imds "meta-data/iam/security-credentials/$role")
  ak=$(printf '%s' "$creds" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.parse(s).AccessKeyId))')
  sk=$(printf '%s' "$creds" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.parse(s).SecretAccessKey))')
  tok=$(printf '%s' "$creds" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.parse(s).Token))')
  curl -fsS --retry 5 --aws-sigv4 "aws:amz:${BOOKPIPELINE_REGION}:s3" --user "$ak:$sk" \
    -H "x-amz-security-token: $tok" \
    -H 'x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' \
    "https://${bucket}.s3.${BOOKPIPELINE_REGION}.amazonaws.com/${key}" -o "$out"
}

src=$BOOKPIPELINE_PROJECT_SOURCE
work=$(mktemp -d)
case "$src" in
  s3://*) fetch_s3 "$src" "$work/project.tar.gz" ;;
  https://*.tar.gz | https://*.tgz) curl -fsSL --retry 5 "$src" -o "$work/project.tar.gz" ;;
  *)
    ref=""
    case "$src" in *'#'*) ref=${src##*#}; src=${src%#*} ;; esac
    git clone --depth 1 ${ref:+--branch "$ref"} "${src#git+}" "$work/tree"
    ;;
esac
if [ -f "$work/project.tar.gz" ]; then
  mkdir -p "$work/tree"
  tar -xzf "$work/project.tar.gz" -C "$work/tree" --no-same-owner
  # `git archive --prefix=bookpipeline/` makes one top folder; a tarball of the files works too.
  if [ ! -f "$work/tree/package.json" ]; then
    top=$(find "$work/tree" -mindepth 2 -maxdepth 2 -name package.json | head -n1)
    [ -n "$top" ] || { echo "no package.json in $src"; false; }
    mv "$(dirname "$top")" "$work/app" && rm -rf "$work/tree" && mv "$work/app" "$work/tree"
  fi
fi
rm -rf "$APP"
mv "$work/tree" "$APP"
rm -rf "$work"
cd "$APP"
npm ci --omit=dev --no-audit --no-fund --loglevel=warn

# ── settings, user, unit ─────────────────────────────────────────────────────────────────────
id bookpipeline >/dev/null 2>&1 || useradd --system --home-dir "$STATE" --create-home --shell /usr/sbin/nologin bookpipeline
mkdir -p /etc/bookpipeline "$STATE/tmp"
chown -R bookpipeline:bookpipeline "$STATE"
printf '%s\n' "$BOOKPIPELINE_CONFIG_JSON" > /etc/bookpipeline/config.json
cat > /etc/bookpipeline/env <<EOF
BOOKPIPELINE_CONFIG=/etc/bookpipeline/config.json
AWS_REGION=${BOOKPIPELINE_REGION}
BOOKPIPELINE_AUTOSTOP=${BOOKPIPELINE_AUTOSTOP}
BOOKPIPELINE_ARGS=${BOOKPIPELINE_ARGS}
TMPDIR=${STATE}/tmp
NODE_ENV=production
AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
EOF
chmod 0644 /etc/bookpipeline/config.json /etc/bookpipeline/env

# The worker powers the machine off after --autostop idle seconds (--shutdown): allow that command only.
printf 'bookpipeline ALL=(root) NOPASSWD: /usr/bin/systemctl poweroff, /bin/systemctl poweroff\n' > /etc/sudoers.d/bookpipeline
chmod 0440 /etc/sudoers.d/bookpipeline
visudo -cf /etc/sudoers.d/bookpipeline

install -m 0644 "$APP/infra/bookpipeline.service" /etc/systemd/system/bookpipeline.service
systemctl daemon-reload
systemctl enable --now bookpipeline.service
trap - ERR
echo "bookpipeline setup: done $(date -u +%FT%TZ)"
