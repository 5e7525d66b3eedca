#!/usr/bin/env bash
# The GitOps steps of .github/workflows/drctl.yaml, kept in a script so that the workflow and
# drctl's own test (tests/tests/ship_gitops.rs, which runs this script against a file store)
# execute exactly the same commands.
#
#   drctl-gitops.sh diff  [DIR]   review: `drctl diff -f` for every group document in DIR
#   drctl-gitops.sh apply [DIR]   merge: check every document, then `drctl apply -f` each
#
# DIR defaults to groups/. The store comes from DRCTL_STORE (dynamodb://TABLE in CI).
# With DRCTL_REPORT=FILE, a Markdown report of the diff is written there (the workflow posts
# it to the pull request).
#
# drctl diff exits 0 for no change, 1 for a change and >1 for an error (DESIGN.md §2), so a
# change is not a failure here: only exit statuses above 1 are. This script exits 0 when every
# document is valid (and, for apply, stored), otherwise with the worst status drctl returned:
# 2 invalid document, 3 conflict, 1 anything else.
set -uo pipefail

mode="${1:-}"
dir="${2:-groups}"
drctl="${DRCTL:-drctl}"

if [[ "$mode" != diff && "$mode" != apply ]]; then
    echo "usage: $0 diff|apply [DIR]" >&2
    exit 2
fi

shopt -s nullglob
files=("$dir"/*.yaml "$dir"/*.yml)
if [[ ${#files[@]} -eq 0 ]]; then
    echo "drctl-gitops: no group documents (*.yaml, *.yml) in $dir" >&2
    exit 2
fi

report="${DRCTL_REPORT:-}"
if [[ -n "$report" ]]; then
    printf '### drctl diff\n\n' >"$report"
fi

worst=0
changed=0
note_failure() {
    local status="$1"
    if (( status > worst )); then
        worst="$status"
    fi
}

# Every document is diffed first, in both modes: apply stores nothing unless all are valid.
for file in "${files[@]}"; do
    output="$("$drctl" diff -f "$file" 2>&1)"
    status=$?
    case "$status" in
        0) verdict="no change" ;;
        1) verdict="changes"; changed=$((changed + 1)) ;;
        *) verdict="error (exit $status)"; note_failure "$status" ;;
    esac
    echo "== $file: $verdict"
    [[ -n "$output" ]] && echo "$output"
    if [[ -n "$report" ]]; then
        # The backticks are Markdown's code fence, not a command substitution.
        # shellcheck disable=SC2016
        printf '**%s**: %s\n\n```diff\n%s\n```\n\n' "$file" "$verdict" "$output" >>"$report"
    fi
done

if (( worst > 1 )); then
    echo "drctl-gitops: some documents are invalid or conflict; nothing applied" >&2
    exit "$worst"
fi
echo "drctl-gitops: ${#files[@]} document(s) checked, $changed with changes"

if [[ "$mode" == apply ]]; then
    for file in "${files[@]}"; do
        "$drctl" apply -f "$file"
        status=$?
        if (( status != 0 )); then
            echo "drctl-gitops: drctl apply -f $file failed (exit $status)" >&2
            # An error from apply is never "a change": 1 stays a failure here.
            note_failure "$status"
        fi
    done
fi
exit "$worst"
