#!/usr/bin/env bash
# Lints what ships drctl: the Dockerfile (hadolint), every YAML file under deploy/ and
# examples/gitops/ (yamllint --strict), the Kubernetes manifests against Kubernetes' schemas
# (kubernetes-validate --strict) and the example CI workflow against the GitHub Actions schema
# (check-jsonschema), and the shell scripts (shellcheck). Installs the pinned linters of tests/requirements-lint.txt into
# <repo>/.venv first (idempotent, like scripts/setup-venv.sh).
# Prints one line per check; exits non-zero naming every check that failed.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
venv="$repo_root/.venv"
requirements="$repo_root/tests/requirements-lint.txt"
python="${PYTHON:-python3}"

if [[ ! -x "$venv/bin/python" ]]; then
    "$python" -m venv "$venv"
fi

# A stamp of the requirements makes a re-run with nothing new skip pip entirely.
stamp="$venv/.requirements-lint.sha256"
wanted="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$wanted" ]]; then
    log="$(mktemp)"
    if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
            -r "$requirements" >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        echo "lint.sh: installing $requirements into $venv failed (see above)" >&2
        exit 1
    fi
    rm -f "$log"
    echo "$wanted" >"$stamp"
fi

failed=()
check() {
    local name="$1"
    shift
    if "$@"; then
        echo "lint: $name: ok"
    else
        echo "lint: $name: FAILED ($*)" >&2
        failed+=("$name")
    fi
}

mapfile -t manifests < <(find deploy/kubernetes -name '*.yaml' ! -name kustomization.yaml | sort)
if [[ ${#manifests[@]} -eq 0 ]]; then
    echo "lint.sh: no manifests under deploy/kubernetes" >&2
    exit 1
fi

check hadolint "$venv/bin/hadolint" --config .hadolint.yaml Dockerfile
check yamllint "$venv/bin/yamllint" --strict --config-file .yamllint.yaml deploy/ examples/gitops/
# --strict rejects unknown fields (a misspelt probe is otherwise silently ignored).
check kubernetes-schemas "$venv/bin/kubernetes-validate" --strict --quiet --no-warn "${manifests[@]}"
check shellcheck "$venv/bin/shellcheck" scripts/lint.sh examples/gitops/ci/drctl-gitops.sh
check gitops-workflow "$venv/bin/check-jsonschema" --builtin-schema vendor.github-workflows \
    examples/gitops/.github/workflows/drctl.yaml

if [[ ${#failed[@]} -gt 0 ]]; then
    echo "lint.sh: FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "lint.sh: all checks passed"
