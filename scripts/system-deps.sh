#!/usr/bin/env bash
# System packages the tests need (speech synthesis for the audio-redaction tests).
# Installs them when missing and we may (root, non-interactive); otherwise says what to do.
set -euo pipefail
need=()
command -v espeak-ng >/dev/null 2>&1 || need+=(espeak-ng)
command -v sox >/dev/null 2>&1 || need+=(sox)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing system packages: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq "${need[@]}" >/dev/null
else
  echo "missing system packages: ${need[*]}; install them (e.g. sudo apt-get install ${need[*]})" >&2
  exit 1
fi
