#!/usr/bin/env bash
# Installs the external tools the tests drive (idempotent, non-interactive):
#   openssl          — PKI interop tests
#   awscli (Debian)  — /usr/bin/aws, the real AWS CLI against the local IoT Core
#   mosquitto-clients — mosquitto_pub/mosquitto_sub against the local broker
#   python3-paho-mqtt — Debian's paho (1.6, MQTT 3.1.1 and 5) for /usr/bin/python3
#   tmux             — whole-program TUI test
#   nodejs           — node --check of the JITR Lambda function jitpwiz writes
#   asciinema (Debian), npm and svg-term-cli (npm, pinned) — make demo records demo.tape's run
#                      and renders docs/demo.svg; the recorder's test makes a short one
#   vhs (Go, pinned) — `vhs validate demo.tape` (the ui tests and make demo-validate)
#   moto_server      — moto 5.x, the machine image's Python (pyenv); the aws-target test runs
#                      jitpwiz against it. It is checked, not installed: PyPI is not reachable
#                      from these machines and Debian has no moto package, so when it is
#                      missing this says so and that test fails under CI=true.
set -euo pipefail
VHS_VERSION=${VHS_VERSION:-v0.10.0}
gobin=$(go env GOBIN); [ -n "$gobin" ] || gobin="$(go env GOPATH)/bin"
if ! command -v vhs >/dev/null 2>&1 && [ ! -x "$gobin/vhs" ]; then
  echo "deps: installing vhs $VHS_VERSION into $gobin"
  go install "github.com/charmbracelet/vhs@$VHS_VERSION"
fi
moto=$(command -v moto_server 2>/dev/null || true)
for root in "${PYENV_ROOT:-}" "$HOME/.pyenv"; do
  [ -n "$moto" ] && break
  [ -n "$root" ] && [ -x "$root/shims/moto_server" ] && moto="$root/shims/moto_server"
done
if [ -z "$moto" ]; then
  echo "deps: moto_server not found (moto 5.x from the machine image's Python): TestE2EMoto fails under CI=true" >&2
elif ! "$(dirname "$moto")/python3" -c 'import moto, sys; sys.exit(int(moto.__version__.split(".")[0]) < 5)' 2>/dev/null &&
     ! python3 -c 'import moto, sys; sys.exit(int(moto.__version__.split(".")[0]) < 5)' 2>/dev/null; then
  echo "deps: $moto is not moto 5.x: TestE2EMoto may fail" >&2
fi
need=()
command -v openssl >/dev/null 2>&1 || need+=(openssl)
[ -x /usr/bin/aws ] || need+=(awscli)
command -v mosquitto_pub >/dev/null 2>&1 || need+=(mosquitto-clients)
/usr/bin/python3 -c 'import paho.mqtt.client' >/dev/null 2>&1 || need+=(python3-paho-mqtt)
command -v tmux >/dev/null 2>&1 || need+=(tmux)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v asciinema >/dev/null 2>&1 || need+=(asciinema)
command -v npm >/dev/null 2>&1 || need+=(npm)
[ -f /usr/share/zoneinfo/iso3166.tab ] || need+=(tzdata) # pki's country list is checked against it
SVG_TERM_VERSION=${SVG_TERM_VERSION:-2.1.1}
SUDO=
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; elif [ ${#need[@]} -gt 0 ] || ! command -v svg-term >/dev/null 2>&1; then
    echo "deps: missing ${need[*]} svg-term and not root; install them with apt-get (and npm install -g svg-term-cli)" >&2; exit 1
  fi
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "deps: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if ! command -v svg-term >/dev/null 2>&1; then
  echo "deps: installing svg-term-cli $SVG_TERM_VERSION (npm)"
  $SUDO npm install -g --no-audit --no-fund "svg-term-cli@$SVG_TERM_VERSION" >/dev/null
fi
