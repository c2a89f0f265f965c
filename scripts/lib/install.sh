# Sourced by scripts/test and scripts/bench-*: installs the Debian packages
# a script needs when they are missing, with apt-get as root (or sudo), and
# stops with the exact command to run when it can't.
#
#   install_missing "binary:package" ...   (a path instead of a binary names
#                                          a file the package installs)

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

have() {
  case "$1" in
    /*) [ -e "$1" ] ;;
    *) command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ] ;;
  esac
}

install_missing() {
  local missing=()
  for pair in "$@"; do
    have "${pair%%:*}" || missing+=("${pair#*:}")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing ${missing[*]}"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      sudo="sudo -n"
    else
      echo "error: $0 needs: ${missing[*]}" >&2
      echo "run as root, or install them: apt-get update && apt-get install -y ${missing[*]}" >&2
      exit 1
    fi
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: no apt-get here; install these packages' binaries by hand: ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
  for pair in "$@"; do
    have "${pair%%:*}" || { echo "error: ${pair%%:*} still missing after installing ${pair#*:}" >&2; exit 1; }
  done
}
