#!/usr/bin/env bash
# Installs the Debian 12 packages qlikfs needs to build, run and test.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
	build-essential meson ninja-build pkg-config \
	clang libclang-rt-14-dev libfuse3-dev fuse3 libcurl4-openssl-dev libcjson-dev libmicrohttpd-dev libyaml-dev libssl-dev zlib1g-dev \
	python3 python3-pytest jq rsync tar attr curl openssl vim-nox nano ca-certificates >/dev/null
