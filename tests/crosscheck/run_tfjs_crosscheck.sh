#!/usr/bin/env bash
# Cross-checks Keel's training against TensorFlow.js (README.md in this folder).
#   run_tfjs_crosscheck.sh <path to keel_crosscheck_driver>
# Installs @tensorflow/tfjs into ${KEEL_TFJS_CACHE:-$HOME/.cache/keel-tfjs} (outside the source tree) when
# it is not there yet. Exit status: 0 all cases agree, 1 a mismatch or error, 77 skipped (no node/npm, or
# npm could not install tfjs, e.g. offline), which ctest reports as skipped.
set -euo pipefail

readonly TFJS_VERSION=4.22.0
readonly SKIP=77
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
driver="${1:?usage: run_tfjs_crosscheck.sh <keel_crosscheck_driver>}"
cache="${KEEL_TFJS_CACHE:-${HOME:-/tmp}/.cache/keel-tfjs}"

skip() {
  echo "SKIP: $*"
  exit "$SKIP"
}

command -v node >/dev/null 2>&1 || skip "node is not installed"
installed_version() {
  node -e 'console.log(require(process.argv[1]).version)' "$cache/node_modules/@tensorflow/tfjs/package.json" \
    2>/dev/null || true
}
if [[ "$(installed_version)" != "$TFJS_VERSION" ]]; then
  command -v npm >/dev/null 2>&1 || skip "npm is not installed (needed to install @tensorflow/tfjs@$TFJS_VERSION)"
  mkdir -p "$cache" || skip "cannot create the tfjs cache directory $cache"
  echo "Installing @tensorflow/tfjs@$TFJS_VERSION into $cache"
  # Short network timeouts: an unreachable registry must end in a skip well before ctest's 300 s limit.
  if ! npm_log="$(npm install --prefix "$cache" --no-audit --no-fund --no-save --loglevel=error \
                    --fetch-timeout=30000 --fetch-retries=1 "@tensorflow/tfjs@$TFJS_VERSION" 2>&1)"; then
    # npm's error code and message (e.g. ECONNREFUSED, ENOTFOUND) say why; its stack trace does not.
    reason="$(grep -m 2 -E 'code [A-Z]|Error:' <<<"$npm_log" | tr '\n' ' ' || true)"
    skip "npm could not install @tensorflow/tfjs@$TFJS_VERSION (offline?): ${reason:-$(head -n 1 <<<"$npm_log")}"
  fi
  [[ "$(installed_version)" == "$TFJS_VERSION" ]] || skip "npm finished but @tensorflow/tfjs@$TFJS_VERSION is not in $cache"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$driver" >"$work/keel.json"
# tfjs prints a banner suggesting tfjs-node on stderr; show stderr only when the reference run fails.
if ! node "$here/tfjs_reference.mjs" "$work/keel.json" "$cache" >"$work/tfjs.json" 2>"$work/tfjs.err"; then
  cat "$work/tfjs.err" >&2
  echo "FAIL: tfjs_reference.mjs failed" >&2
  exit 1
fi
node "$here/compare_results.mjs" "$work/keel.json" "$work/tfjs.json"
