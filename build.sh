#!/usr/bin/env bash
# Builds, serves, tests and benchmarks fgsm-wasm. Each command installs what it needs first.
#
#   ./build.sh serve [PORT]   build the site into site/ and serve it (default port 8080)
#   ./build.sh test           every test: native (cargo) and in headless Chromium
#   ./build.sh bench          benchmark: native tract, tract wasm and onnxruntime-web in Chromium
#   ./build.sh site           only build site/
set -euo pipefail
cd "$(dirname "$0")"

WASM_TARGET=wasm32-unknown-unknown
say() { printf '\n== %s\n' "$*" >&2; }

# --- tools -----------------------------------------------------------------------------------------

need_rust_wasm() {
  if ! rustup target list --installed | grep -qx "$WASM_TARGET"; then
    say "adding the $WASM_TARGET target"
    rustup target add "$WASM_TARGET"
  fi
  # wasm-bindgen-cli must be exactly the crate's wasm-bindgen version, or the glue breaks at run time.
  local want have
  want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[" ]/, ""); sub(/version=/, ""); print; exit }' Cargo.lock)
  have=$(wasm-bindgen --version 2>/dev/null | awk '{ print $2 }' || true)
  if [ "$have" != "$want" ]; then
    say "installing wasm-bindgen-cli $want (found '${have:-none}')"
    # Not --locked: the CLI's own lockfile pins a webpki-roots that the registry index here lacks.
    cargo install wasm-bindgen-cli --version "=$want"
  fi
}

need_npm() {
  # Reinstall when the committed lockfile differs from the one the last `npm ci` installed.
  local want have=""
  want=$(sha256sum package-lock.json | cut -d' ' -f1)
  [ -f node_modules/.lock-sha256 ] && have=$(cat node_modules/.lock-sha256)
  if [ "$want" != "$have" ]; then
    say "installing npm packages from package-lock.json"
    npm ci --no-audit --no-fund
    echo "$want" > node_modules/.lock-sha256
  fi
}

need_chromium() {
  if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
    say "installing Debian's chromium and chromium-driver"
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y chromium chromium-driver
  fi
}

# --- build -----------------------------------------------------------------------------------------

# One engine variant: release build, wasm-bindgen glue, wasm-opt. Outputs land in target/pkg-$1/.
#   $1  variant name: simd (SIMD128, from .cargo/config.toml) or relaxed (+ relaxed-SIMD kernels)
#   $2  extra target features, appended to .cargo/config.toml's
build_variant() {
  local name=$1 features=$2 dir="target/variant-$1"
  say "building the wasm, $name variant (release${features:+, $features})"
  # --lib: the CLI binary is native-only. Each variant keeps its own target dir so that switching
  # between them never recompiles the other.
  cargo build --release --lib --target "$WASM_TARGET" --target-dir "$dir" \
    ${features:+--config "target.$WASM_TARGET.rustflags=['-C', 'target-feature=$features']"}
  local raw="$dir/$WASM_TARGET/release/fgsm_wasm.wasm" out="target/pkg-$name"
  mkdir -p "$out"
  if [ ! -f "$out/glue/fgsm_wasm_bg.wasm" ] || [ "$raw" -nt "$out/glue/fgsm_wasm_bg.wasm" ]; then
    wasm-bindgen "$raw" --target web --out-dir "$out/glue"
  fi
  # wasm-opt takes minutes: rerun it only when wasm-bindgen produced a new module.
  if [ ! -f "$out/fgsm_wasm_bg.wasm" ] || [ "$out/glue/fgsm_wasm_bg.wasm" -nt "$out/fgsm_wasm_bg.wasm" ]; then
    say "wasm-opt -Oz, $name variant (binaryen from npm)"
    node_modules/.bin/wasm-opt -Oz "$out/glue/fgsm_wasm_bg.wasm" -o "$out/fgsm_wasm_bg.wasm.tmp"
    mv "$out/fgsm_wasm_bg.wasm.tmp" "$out/fgsm_wasm_bg.wasm"
  fi
}

build_wasm() {
  need_rust_wasm
  need_npm
  # One build at a time: two at once would race on wasm-opt's output and on site/.
  mkdir -p target
  exec 9> target/.build.lock
  flock 9
  build_variant simd ""
  build_variant relaxed "+relaxed-simd"
  # The page loads one glue file for either binary, so the two must export the same things.
  if ! cmp -s target/pkg-simd/glue/fgsm_wasm.js target/pkg-relaxed/glue/fgsm_wasm.js; then
    echo "the simd and relaxed variants have different wasm-bindgen glue; the page cannot share it" >&2
    exit 1
  fi
}

# site/ is exactly what a static host serves: www/, the wasm and its glue under pkg/, and each
# model's files under models/<name>/.
build_site() {
  build_wasm
  say "assembling site/"
  rm -rf site
  mkdir -p site/pkg site/models
  cp -R www/. site/
  cp target/pkg-simd/glue/fgsm_wasm.js target/pkg-simd/glue/fgsm_wasm.d.ts site/pkg/
  cp target/pkg-simd/fgsm_wasm_bg.wasm site/pkg/fgsm_wasm_bg.wasm
  cp target/pkg-relaxed/fgsm_wasm_bg.wasm site/pkg/fgsm_wasm_relaxed_bg.wasm
  for card in models/*/model.json; do
    [ -f "$card" ] || continue
    local dir name
    dir=$(dirname "$card")
    name=$(basename "$dir")
    mkdir -p "site/models/$name"
    find "$dir" -maxdepth 1 -type f \( -name 'model.onnx' -o -name 'model.json' -o -name '*.bin' \
      -o -name '*.png' -o -name '*.jpg' -o -name 'LICENSE*' \) -exec cp {} "site/models/$name/" \;
    if [ -d "$dir/samples" ]; then cp -R "$dir/samples" "site/models/$name/"; fi
  done
  ls -l site/pkg >&2
  exec 9>&- # release the build lock taken in build_wasm
}

# --- commands --------------------------------------------------------------------------------------

cmd_serve() {
  build_site
  say "serving site/"
  exec node tests/support/serve.mjs site "${1:-8080}"
}

cmd_test() {
  need_chromium
  say "native tests (cargo test)"
  cargo test --features cli
  build_site
  say "browser tests (headless Chromium)"
  node --test --test-concurrency=1 tests/browser/
}

cmd_bench() {
  need_chromium
  build_site
  say "native benchmark"
  cargo run --profile native --features cli --bin fgsm -- bench
  say "browser benchmark"
  node tests/bench/bench.mjs
}

case "${1:-}" in
  serve) shift; cmd_serve "$@" ;;
  test) cmd_test ;;
  bench) cmd_bench ;;
  site) build_site ;;
  *) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
