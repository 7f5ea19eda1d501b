#!/usr/bin/env bash
# The build stage of deploy/Dockerfile. Installs and builds with the scripts/lib.sh functions that
# scripts/test.sh (and so CI) runs, so an image holds what CI tested; then copies every service
# binary to OUT/bin and writes OUT/runtime-packages, the Debian packages owning the shared libraries
# those binaries load: all the runtime stage installs, and it follows the build when a library
# changes.
#
#   deploy/build.sh OUT
#
# Environment: as scripts/test.sh (IM_BUILD_DIR, IM_BUILD_TYPE, IM_JOBS, IM_CMAKE_ARGS, ...).
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

out=${1:?usage: deploy/build.sh OUT}
# An image carries services only; the tests ran in CI against this same build.
export IM_CMAKE_ARGS="${IM_CMAKE_ARGS:--DBUILD_TESTING=OFF}"

# Prints the package that owns LIB. ldd reports /lib paths while Debian 12 packages most libraries
# under /usr/lib (merged /usr), so both spellings are asked.
owning_package() {
  local lib=$1 path owner
  for path in "$lib" "/usr$lib" "${lib#/usr}" "$(realpath "$lib")"; do
    if owner="$(dpkg-query -S "$path" 2>/dev/null)"; then
      printf '%s\n' "${owner%%:*}"
      return 0
    fi
  done
  im_die "no Debian package owns $lib; the runtime image would lack it"
}

im_install_deps
im_build

build_dir="$(im_build_dir)"
mkdir -p "$out/bin"
for dir in "$IM_ROOT"/services/*/; do
  svc="$(basename "$dir")"
  if [[ -f "$dir/main.cc" ]]; then
    install -m 0755 "$build_dir/services/$svc/$svc" "$out/bin/$svc"
  fi
done

libs="$(ldd "$out"/bin/* | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | sort -u)"
for lib in $libs; do owning_package "$lib"; done | sort -u >"$out/runtime-packages"
im_log "runtime packages: $(tr '\n' ' ' <"$out/runtime-packages")"
