#!/usr/bin/env bash
# Fetches the kernels of the test matrix and a static busybox for each
# architecture into a cache outside the repository, and prints a manifest:
#
#   kernel ARCH SERIES PACKAGE VERSION PATH   (one per kernel series)
#   busybox ARCH VERSION PATH
#
# The kernels are Debian's cloud images (`linux-image-cloud-ARCH`), the newest
# of each major.minor series published for bullseye, bookworm, trixie (with
# their security suites) and sid. apt runs with a private sources list, state
# and cache directory per architecture; the system's apt configuration is
# never touched. Only `vmlinuz` (or /bin/busybox) is kept from each package.
# A version that cannot be downloaded (a stale index, a 404) falls back to the
# next older one of the same series.
#
# Usage: fetch.sh [ARCH...]   (default: amd64 arm64)
# Environment:
#   VIGIL_KERNEL_CACHE   cache directory (default /var/cache/vigil/kernels,
#                        or ~/.cache/vigil/kernels when that is not writable)
#   VIGIL_KERNEL_SERIES  space-separated series to keep (e.g. "5.10 6.1"),
#                        where "newest" and "oldest" name the newest and
#                        oldest series found and "min-X.Y" the oldest at or
#                        above X.Y; default: every series found
#   VIGIL_KERNEL_REFRESH 1: refresh the package indexes even when they are
#                        less than a day old
#   VIGIL_DEBIAN_MIRROR, VIGIL_DEBIAN_SECURITY_MIRROR: archive URLs
set -euo pipefail

arches=("$@")
[ ${#arches[@]} -gt 0 ] || arches=(amd64 arm64)
mirror="${VIGIL_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
security="${VIGIL_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

cache="${VIGIL_KERNEL_CACHE:-}"
if [ -z "$cache" ]; then
  cache=/var/cache/vigil/kernels
  if ! mkdir -p "$cache" 2>/dev/null || [ ! -w "$cache" ]; then
    cache="${XDG_CACHE_HOME:-$HOME/.cache}/vigil/kernels"
  fi
fi
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9

log() { echo "fetch: $*" >&2; }

# apt_for ARCH: sets the apt options of ARCH's private configuration.
apt_for() {
  local arch=$1 root="$cache/apt/$1"
  mkdir -p "$root/state/lists/partial" "$root/cache/archives/partial" "$root/etc/preferences.d"
  [ -e "$root/state/status" ] || : >"$root/state/status"
  local o="[arch=$arch signed-by=$keyring]"
  # Rewritten only when it changes: apt rebuilds its cache when it is newer.
  cat >"$root/etc/sources.list.new" <<EOF
deb $o $mirror bullseye main
deb $o $security bullseye-security main
deb $o $mirror bookworm main
deb $o $security bookworm-security main
deb $o $mirror trixie main
deb $o $security trixie-security main
deb $o $mirror sid main
EOF
  if cmp -s "$root/etc/sources.list.new" "$root/etc/sources.list"; then
    rm "$root/etc/sources.list.new"
  else
    mv "$root/etc/sources.list.new" "$root/etc/sources.list"
  fi
  apt_opts=(
    -o "Dir::Etc::sourcelist=$root/etc/sources.list" -o "Dir::Etc::sourceparts=-"
    -o "Dir::Etc::preferencesparts=$root/etc/preferences.d"
    -o "Dir::State=$root/state" -o "Dir::State::status=$root/state/status"
    -o "Dir::Cache=$root/cache" -o "APT::Architecture=$arch" -o "APT::Architectures=$arch"
    -o "Dir::Cache::pkgcache=$root/cache/pkgcache.bin" -o "Dir::Cache::srcpkgcache=$root/cache/srcpkgcache.bin"
    -o "Acquire::Languages=none" -o "Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false"
    -o "Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false"
    -o "Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled=false"
    -o "Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled=false"
    -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root" -qq
  )
  local stamp="$root/state/updated"
  if [ "${VIGIL_KERNEL_REFRESH:-}" = 1 ] || [ -z "$(find "$stamp" -mmin -1440 2>/dev/null)" ]; then
    log "$arch: updating the package indexes"
    if apt-get "${apt_opts[@]}" update >&2; then
      touch "$stamp"
      rm -f "$root/failed"
    elif [ -e "$stamp" ]; then
      log "$arch: update failed; using the indexes of $(date -r "$stamp")"
    else
      log "$arch: update failed and no index is cached"
      return 1
    fi
  fi
}

# depends PKG VERSION: the package names PKG=VERSION depends on.
depends() {
  apt-cache "${apt_opts[@]}" show "$1=$2" 2>/dev/null |
    sed -n 's/^Depends: //p' | head -1 | tr ',|' '\n\n' | sed 's/^ *//; s/ .*//' | grep .
}

# extract DEB DEST GLOB NAME: extracts DEB's members matching GLOB in one
# pass and moves the regular file called NAME among them to DEST.
extract() {
  local deb=$1 dest=$2 glob=$3 name=$4 x f
  x=$(mktemp -d "$dest.x.XXXXXX")
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$x" --wildcards "$glob" 2>/dev/null || true
  f=$(find "$x" -type f -name "$name" | head -1)
  [ -n "$f" ] && mv "$f" "$dest"
  rm -rf "$x"
  [ -n "$f" ]
}

# download PKG VERSION DIR: the .deb's path in DIR, downloading it if needed.
download() {
  local pkg=$1 ver=$2 dir=$3 deb
  deb=$(ls "$dir"/"${pkg}"_*.deb 2>/dev/null | head -1 || true)
  if [ -z "$deb" ]; then
    (cd "$dir" && apt-get "${apt_opts[@]}" download "$pkg=$ver" >&2) || return 1
    deb=$(ls "$dir"/"${pkg}"_*.deb | head -1)
  fi
  echo "$deb"
}

# fetch_kernel ARCH META_VERSION DIR: extracts the vmlinuz of the kernel
# linux-image-cloud-ARCH=META_VERSION points to into DIR/vmlinuz. sid's
# linux-image-* holds no image: it is in the linux-binary-* it depends on.
fetch_kernel() {
  local arch=$1 meta=$2 dir=$3 pkg tmp deb dep
  pkg=$(depends "linux-image-cloud-$arch" "$meta" | grep '^linux-image-' | head -1) || return 1
  tmp=$(mktemp -d "$cache/dl.XXXXXX")
  # shellcheck disable=SC2064
  trap "rm -rf '$tmp'" RETURN
  deb=$(download "$pkg" "$meta" "$tmp") || return 1
  if ! extract "$deb" "$tmp/vmlinuz" "*vmlinuz*" "vmlinuz*"; then
    dep=$(depends "$pkg" "$meta" | grep '^linux-binary-' | head -1) || return 1
    deb=$(download "$dep" "$meta" "$tmp") || return 1
    extract "$deb" "$tmp/vmlinuz" "*vmlinuz*" "vmlinuz*" || return 1
    pkg=$dep
  fi
  mkdir -p "$dir"
  mv "$tmp/vmlinuz" "$dir/vmlinuz"
  echo "$pkg $meta" >"$dir/package"
}

for arch in "${arches[@]}"; do
  apt_for "$arch"
  # Newest first; one kernel per major.minor series.
  mapfile -t metas < <(apt-cache "${apt_opts[@]}" madison "linux-image-cloud-$arch" |
    awk -F'|' '{gsub(/ /, "", $2); print $2}' | sort -Vru)
  [ ${#metas[@]} -gt 0 ] || { log "$arch: no linux-image-cloud-$arch in the indexes"; exit 1; }
  # The series to keep, with the keywords resolved.
  mapfile -t all_series < <(printf '%s\n' "${metas[@]}" | cut -d. -f1,2 | awk '!seen[$0]++')
  want=" "
  for w in ${VIGIL_KERNEL_SERIES:-${all_series[*]}}; do
    case $w in
      newest) w=${all_series[0]} ;;
      oldest) w=${all_series[${#all_series[@]}-1]} ;;
      min-*) # the oldest series at or above the minimum (newest first)
        m=
        for s in "${all_series[@]}"; do
          [ "$(printf '%s\n%s\n' "${w#min-}" "$s" | sort -V | head -1)" != "${w#min-}" ] || m=$s
        done
        w=$m ;;
    esac
    [ -z "$w" ] || want+="$w "
  done
  declare -A done_series=()
  for meta in "${metas[@]}"; do
    series=$(echo "$meta" | cut -d. -f1,2)
    [ -z "${done_series[$series]:-}" ] || continue
    [[ "$want" == *" $series "* ]] || continue
    dir="$cache/$arch/$series"
    if [ -s "$dir/vmlinuz" ] && [ "$(cut -d' ' -f2 "$dir/package" 2>/dev/null)" = "$meta" ]; then
      :
    elif grep -qxF "$meta" "$cache/apt/$arch/failed" 2>/dev/null; then
      continue # failed since the last index update
    elif fetch_kernel "$arch" "$meta" "$dir"; then
      log "$arch: $series: $(cat "$dir/package")"
    else
      log "$arch: $series: linux-image-cloud-$arch=$meta could not be fetched; trying an older one"
      echo "$meta" >>"$cache/apt/$arch/failed"
      continue
    fi
    done_series[$series]=1
    read -r pkg ver <"$dir/package"
    echo "kernel $arch $series $pkg $ver $dir/vmlinuz"
  done
  # A series whose every version failed keeps the kernel cached before.
  for dir in "$cache/$arch"/*/; do
    series=$(basename "$dir")
    [ "$series" != busybox ] && [ -z "${done_series[$series]:-}" ] && [ -s "$dir/vmlinuz" ] || continue
    [[ "$want" == *" $series "* ]] || continue
    log "$arch: $series: using the cached $(cat "$dir/package")"
    read -r pkg ver <"$dir/package"
    echo "kernel $arch $series $pkg $ver ${dir%/}/vmlinuz"
  done
  unset done_series

  bb="$cache/$arch/busybox"
  mapfile -t bbvers < <(apt-cache "${apt_opts[@]}" madison busybox-static |
    awk -F'|' '{gsub(/ /, "", $2); print $2}' | sort -Vru)
  got=
  for ver in "${bbvers[@]}"; do
    if [ -x "$bb/busybox" ] && [ "$(cat "$bb/version" 2>/dev/null)" = "$ver" ]; then
      got=$ver
      break
    fi
    tmp=$(mktemp -d "$cache/dl.XXXXXX")
    if deb=$(download busybox-static "$ver" "$tmp") && extract "$deb" "$tmp/busybox" "*bin/busybox" busybox; then
      mkdir -p "$bb"
      chmod 755 "$tmp/busybox"
      mv "$tmp/busybox" "$bb/busybox"
      echo "$ver" >"$bb/version"
      got=$ver
      log "$arch: busybox-static $ver"
    fi
    rm -rf "$tmp"
    [ -z "$got" ] || break
  done
  if [ -z "$got" ]; then
    [ -x "$bb/busybox" ] || { log "$arch: no busybox-static could be fetched"; exit 1; }
    got=$(cat "$bb/version")
  fi
  echo "busybox $arch $got $bb/busybox"
done
