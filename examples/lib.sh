# Shared by the example scripts: print each command before its result, and make
# the busybox rootfs tarball that stands in for a pulled base image here.

# Print a command as it would be typed (arguments with spaces quoted), then run it.
step() {
  local arg shown=""
  for arg in "$@"; do
    case "$arg" in *[[:space:]\>\<\|\;\&\*]*) shown+=" '$arg'" ;; *) shown+=" $arg" ;; esac
  done
  printf '\n$%s\n' "$shown"
  "$@"
}

# busybox_tar DIR: write DIR/base.tar, a rootfs of Debian's busybox-static.
busybox_tar() {
  mkdir -p "$1/rootfs/bin"
  cp "$(command -v busybox)" "$1/rootfs/bin/busybox"
  for applet in sh ls cat echo touch mkdir rm sleep; do ln -sf busybox "$1/rootfs/bin/$applet"; done
  tar -C "$1/rootfs" -cf "$1/base.tar" .
}
