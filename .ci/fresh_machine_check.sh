#!/usr/bin/env bash
# A fresh machine, as a newcomer meets it: a clean clone of the committed code in a temporary folder (no
# ../shared beside it), a new virtual environment, an empty HOME, no AWBENCH_DATA, no network; then README's
# two commands, exactly: `awbench demo` must finish, and `python -m pytest -q` must pass with the tests that
# need full CIFAR-10 skipped (and counted in pytest's summary line).
#
#   .ci/fresh_machine_check.sh            # from anywhere inside the repository
#   KEEP=1 .ci/fresh_machine_check.sh     # keep the temporary folder for a look afterwards
#   DEMO_ARGS=--quick PYTEST_ARGS="tests/test_data.py" .ci/fresh_machine_check.sh   # a cheaper trial of the
#                                         # mechanics only: CI leaves both unset, so README's commands run as written
#
# Only pip keeps its settings (PIP_* and /etc/pip.conf: the local wheel cache), and only for the install.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-$(python3 -c 'import sys; print(sys.executable)')}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/awbench-fresh.XXXXXX")"
if [[ -z "${KEEP:-}" ]]; then trap 'rm -rf "$WORK"' EXIT; else echo "keeping $WORK"; fi

git clone --quiet "$REPO" "$WORK/awbench"
mkdir -p "$WORK/home" "$WORK/tmp"
cd "$WORK/awbench"

# The environment of a new user: nothing but PATH, an empty HOME, a private TMPDIR.
clean=(env -i "PATH=$WORK/awbench/.venv/bin:/usr/local/bin:/usr/bin:/bin" "HOME=$WORK/home" "TMPDIR=$WORK/tmp"
       "LANG=C.UTF-8" "MPLBACKEND=Agg")
pip_settings=()
while IFS='=' read -r name value; do pip_settings+=("$name=$value"); done < <(env | grep -E '^PIP_' || true)

echo "== install into a new venv ($("$PYTHON" --version))"
"${clean[@]}" "${pip_settings[@]}" "$PYTHON" -m venv .venv
"${clean[@]}" "${pip_settings[@]}" .venv/bin/python -m pip install -q torch==2.14.1 torchvision==0.29.1
"${clean[@]}" "${pip_settings[@]}" .venv/bin/python -m pip install -q -e '.[test]'

# No network from here on: a network namespace with no interfaces where allowed, else proxies to a closed port.
# The namespace's loopback is brought up: torchrun/gloo tests talk to 127.0.0.1, a fresh machine has it.
if unshare -rn true 2>/dev/null; then
    offline=(unshare -rn sh -c 'ip link set lo up 2>/dev/null || ifconfig lo up 2>/dev/null || true; exec "$@"' offline)
else
    offline=(env http_proxy=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9
             HTTPS_PROXY=http://127.0.0.1:9 no_proxy= NO_PROXY=)
    echo "(unshare not allowed: network cut with proxies to a closed port)"
fi

echo "== README command 1: awbench demo"
began=$SECONDS
# shellcheck disable=SC2086  # DEMO_ARGS / PYTEST_ARGS: words on purpose
"${offline[@]}" "${clean[@]}" awbench demo ${DEMO_ARGS:-}
echo "demo finished in $((SECONDS - began)) s"

echo "== README command 2a: python -m pytest -q -m fast (the fast tier: no data set, under a minute)"
began=$SECONDS
"${offline[@]}" "${clean[@]}" python -m pytest -q -m fast
echo "fast tier finished in $((SECONDS - began)) s"

echo "== README command 2b: python -m pytest -q (the full tier)"
log="$WORK/pytest.log"
set +e
"${offline[@]}" "${clean[@]}" python -m pytest -q ${PYTEST_ARGS:-} 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
summary="$(tail -n 1 "$log")"
if [[ $status -ne 0 ]]; then
    echo "FAIL: the test suite failed on a fresh machine: $summary"
    exit 1
fi
if ! grep -q "needs full CIFAR-10" "$log"; then
    echo "FAIL: no test was skipped for want of full CIFAR-10, so the fresh machine saw data it should not have"
    exit 1
fi
echo "fresh machine check passed: demo finished; tests: $summary"
