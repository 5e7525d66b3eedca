#!/usr/bin/env bash
# Creates <repo>/.venv with the AWS API emulator (moto server) the wire-level tests start.
# Idempotent: re-running only installs what tests/requirements.txt adds or changes.
# Quiet when it works; on failure pip's own output is shown and the script exits non-zero.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$repo_root/.venv"
requirements="$repo_root/tests/requirements.txt"
python="${PYTHON:-python3}"

if [[ ! -x "$venv/bin/python" ]]; then
    "$python" -m venv "$venv"
fi

# A stamp of the requirements lets a re-run with nothing new finish in well under a second.
stamp="$venv/.requirements.sha256"
wanted="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]; then
    exit 0
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        -r "$requirements" >"$log" 2>&1; then
    cat "$log" >&2
    echo "setup-venv.sh: installing $requirements into $venv failed (see above)" >&2
    exit 1
fi

# Prove the emulator imports before declaring the venv ready.
if ! "$venv/bin/python" -c "import moto.server, boto3, cbor2" >"$log" 2>&1 \
        || ! "$venv/bin/aws" --version >>"$log" 2>&1; then
    cat "$log" >&2
    echo "setup-venv.sh: moto/boto3/awscli installed but do not run in $venv" >&2
    exit 1
fi
echo "$wanted" >"$stamp"
