#!/bin/sh
# Self-test of scripts/api-check: on a temporary copy of the public headers
# and temporary api/ lists it must pass when they agree and fail, naming the
# declaration, on each planted difference.
#   tests/api/test-api-check.sh SOURCE_DIR [LIBKILN.so]
# Exit 77 (skipped) without clang or python3.
set -eu
src=$1
lib=${2:-}
skip=77

command -v clang >/dev/null && command -v python3 >/dev/null || exit $skip

work=$(mktemp -d /tmp/kiln-api-test-XXXXXX)
trap 'rm -rf "$work"' EXIT
cp -r "$src/include" "$work/include"
mkdir "$work/api"
: >"$work/api/PublicAPI.Shipped.txt"
printf '# Changelog\n\n## Breaking changes\n\n(none)\n\n## 0.1.0\n\n- kiln_version\n' \
    >"$work/CHANGELOG.md"
common=$work/include/kiln/common.h

check() {
    "$src/scripts/api-check" --include-dir "$work/include" --api-dir "$work/api" \
        --changelog "$work/CHANGELOG.md" "$@" >"$work/out" 2>&1
}
fail() {
    echo "FAIL: $*"
    cat "$work/out"
    exit 1
}
expect_pass() {
    check "$@" || fail "api-check failed where it should pass"
}
# expect_fail WHAT NAME [ARGS]: fails, and its report names NAME.
expect_fail() {
    what=$1 name=$2
    shift 2
    if check "$@"; then
        fail "api-check passed with $what"
    fi
    grep -q "$name" "$work/out" || fail "api-check did not name $name ($what)"
    echo "ok: fails on $what"
}

# Release the real surface: everything into Unshipped, then into Shipped.
expect_fail "an empty api/ list" kiln_launch
check --update || fail "--update failed"
grep -v '^#' "$work/api/PublicAPI.Unshipped.txt" >"$work/api/PublicAPI.Shipped.txt"
: >"$work/api/PublicAPI.Unshipped.txt"
expect_pass
grep -q '^function kiln_status kiln_launch(kiln_queue \*q' "$work/api/PublicAPI.Shipped.txt" ||
    fail "kiln_launch's signature is not in the surface"
grep -q '^enumerator KILN_ERR_IO = -202$' "$work/api/PublicAPI.Shipped.txt" ||
    fail "enum values are not in the surface"
grep -q '^field kiln_arg.value.f32: float$' "$work/api/PublicAPI.Shipped.txt" ||
    fail "fields of the nested union are not in the surface"
if grep -q '_H$' "$work/api/PublicAPI.Shipped.txt"; then
    fail "include guards are listed"
fi
echo "ok: passes on the unchanged headers"

# A declaration nobody listed, whether a function or a macro, fails, even in
# a new header that kiln.h does not include yet...
cp "$common" "$work/common.h.orig"
planted=$work/include/kiln/planted.h
printf '#ifndef KILN_PLANTED_H\n#define KILN_PLANTED_H\n#include "common.h"\n%s\n%s\n#endif\n' \
    '#define KILN_PLANTED_MACRO 7' 'KILN_API int kiln_planted_extra(void);' >"$planted"
expect_fail "a planted function" "int kiln_planted_extra(void)"
expect_fail "a planted macro" "KILN_PLANTED_MACRO 7"
# ...until --update records it in Unshipped.
check --update || fail "--update failed"
grep -q kiln_planted_extra "$work/api/PublicAPI.Unshipped.txt" || fail "--update did not record it"
expect_pass

# The exported symbols of the real library: the planted function is declared
# but not exported, so the check must name it; without it the library agrees.
if [ -n "$lib" ] && [ -f "$lib" ] && command -v nm >/dev/null; then
    expect_fail "a declared function the library does not export" kiln_planted_extra "$lib"
    rm "$planted"
    check --update || fail "--update failed"
    expect_pass "$lib"
    echo "ok: exports of $lib are exactly the declared functions"
fi
rm -f "$planted"
check --update || fail "--update failed"
expect_pass

# Removing or changing a Shipped declaration fails unless the CHANGELOG names
# it under "## Breaking changes" (a mention in a release section is not enough).
sed -i 's|^KILN_API const char \*kiln_version(void);||' "$common"
expect_fail "a removed Shipped function" kiln_version
sed -i 's|^(none)$|- `kiln_version` removed; use KILN_VERSION_NUMBER.|' "$work/CHANGELOG.md"
expect_pass
echo "ok: passes once CHANGELOG.md records the removal"
cp "$work/common.h.orig" "$common"
sed -i 's|KILN_ERR_IO = -202|KILN_ERR_IO = -299|' "$common"
expect_fail "a changed enum value" KILN_ERR_IO
echo "api-check self-test: ok"
