#!/usr/bin/env bash
# Builds, serves, tests and benchmarks fgsm-wasm. Each command installs what it needs first.
#
#   ./build.sh serve [PORT]   build the site into site/ and serve it (default port 8080)
#   ./build.sh test           every test: native (cargo) and in headless Chromium
#   ./build.sh bench          benchmark: native tract, tract wasm and onnxruntime-web in Chromium
#   ./build.sh site           only build site/: the one folder a host copies
#   ./build.sh fuzz [N]       the native fuzz run over N mutated model files (default 20000)
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

# Firefox runs the wasm API tests and a page smoke test through WebDriver: Debian's firefox-esr
# and geckodriver, built from crates.io (playwright-core cannot drive a stock Firefox).
GECKODRIVER_VERSION=0.37.1
need_firefox() {
  if [ ! -x /usr/bin/firefox-esr ]; then
    say "installing Debian's firefox-esr"
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y firefox-esr
  fi
  local have
  have=$(geckodriver --version 2>/dev/null | awk 'NR == 1 { print $2 }' || true)
  if [ "$have" != "$GECKODRIVER_VERSION" ]; then
    say "installing geckodriver $GECKODRIVER_VERSION (found '${have:-none}')"
    cargo install geckodriver --version "=$GECKODRIVER_VERSION"
  fi
}

# --- build -----------------------------------------------------------------------------------------

# The engine: release build, wasm-bindgen glue, wasm-opt. Outputs land in target/pkg/.
# One build only: a relaxed-SIMD variant measured no faster in Chromium (EfficientNet-Lite0
# forward+gradient 141 ms against 134 ms for SIMD128) and doubled the build time, so it was dropped.
build_wasm() {
  need_rust_wasm
  need_npm
  # One build at a time: two at once would race on wasm-opt's output and on site/.
  mkdir -p target
  exec 9> target/.build.lock
  if ! flock -n 9; then
    say "waiting for another build to finish"
    flock 9
  fi
  local dir=target/variant-simd out=target/pkg
  say "building the wasm (release, SIMD128)"
  # --lib: the CLI binary is native-only. The wasm keeps its own target dir, so that native
  # builds and this one never invalidate each other.
  cargo build --release --lib --target "$WASM_TARGET" --target-dir "$dir"
  local raw="$dir/$WASM_TARGET/release/fgsm_wasm.wasm"
  mkdir -p "$out"
  if [ ! -f "$out/glue/fgsm_wasm_bg.wasm" ] || [ "$raw" -nt "$out/glue/fgsm_wasm_bg.wasm" ]; then
    wasm-bindgen "$raw" --target web --out-dir "$out/glue"
  fi
  # wasm-opt takes minutes: rerun it only when wasm-bindgen produced a new module.
  if [ ! -f "$out/fgsm_wasm_bg.wasm" ] || [ "$out/glue/fgsm_wasm_bg.wasm" -nt "$out/fgsm_wasm_bg.wasm" ]; then
    say "wasm-opt -Oz (binaryen from npm)"
    node_modules/.bin/wasm-opt -Oz "$out/glue/fgsm_wasm_bg.wasm" -o "$out/fgsm_wasm_bg.wasm.tmp"
    mv "$out/fgsm_wasm_bg.wasm.tmp" "$out/fgsm_wasm_bg.wasm"
  fi
}

# The native CLI (target/debug/fgsm): build_site runs it to derive each model's NNEF file. Built
# with the test profile, the one `cargo test` uses, so that `./build.sh test` compiles tract
# natively once, not twice.
build_cli() {
  say "building the native CLI (fgsm)"
  cargo build --profile test --features cli --bin fgsm
}

# Each model's card in site/ gets `nnef: {file, bytes, sha256}` when the NNEF file was made: the
# worker then loads that (the decluttered graph, src/nnef.rs: a faster load) and falls back to the
# ONNX file, which stays the source, on any error.
stamp_cards() {
  say "naming each model's NNEF file in its card"
  node --input-type=module - "$1" <<'JS'
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
const models = join(process.argv[2], 'models');
for (const name of readdirSync(models)) {
  const card = join(models, name, 'model.json');
  const tar = join(models, name, 'model.nnef.tar');
  if (!existsSync(card) || !existsSync(tar)) continue;
  const bytes = readFileSync(tar);
  const json = JSON.parse(readFileSync(card, 'utf8'));
  json.nnef = { file: 'model.nnef.tar', bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), made_by: './build.sh site: fgsm nnef --model model.onnx (the decluttered graph of the ONNX file, for a faster load; the ONNX file is the source and the fallback)' };
  writeFileSync(card, `${JSON.stringify(json, null, 2)}\n`);
}
JS
}

# site/ is exactly what a static host serves: www/, the wasm and its glue under pkg/, and each
# model's files under models/<name>/. It is assembled in a fresh folder and swapped in at the end,
# so a server running over site/ never serves half a site.
build_site() {
  build_wasm
  build_cli
  say "assembling site/"
  local next="site.next" old="site.old"
  rm -rf "$next" "$old"
  mkdir -p "$next/pkg" "$next/models"
  cp -R www/. "$next/"
  cp target/pkg/glue/fgsm_wasm.js target/pkg/glue/fgsm_wasm.d.ts target/pkg/fgsm_wasm_bg.wasm "$next/pkg/"
  # The engine's warm-up network (www/engine-warmup.js), beside the engine.
  target/debug/fgsm nnef --model models/engine-warmup/warmup.onnx --out "$next/pkg/warmup.nnef.tar"
  for card in models/*/model.json; do
    [ -f "$card" ] || continue
    local dir name
    dir=$(dirname "$card")
    name=$(basename "$dir")
    mkdir -p "$next/models/$name"
    find "$dir" -maxdepth 1 -type f \( -name 'model.onnx' -o -name 'model.json' -o -name '*.bin' \
      -o -name '*.png' -o -name '*.jpg' -o -name 'LICENSE*' \) -exec cp {} "$next/models/$name/" \;
    if [ -d "$dir/samples" ]; then cp -R "$dir/samples" "$next/models/$name/"; fi
    if [ -f "$dir/model.onnx" ]; then
      target/debug/fgsm nnef --model "$dir/model.onnx" --out "$next/models/$name/model.nnef.tar"
    fi
  done
  stamp_cards "$next"
  stamp_service_worker "$next"
  precompress "$next"
  [ -d site ] && mv site "$old"
  mv "$next" site
  rm -rf "$old"
  exec 9>&- # release the build lock taken in build_wasm
}

# The service worker (www/sw.js) gets the list of the site's files and a version: a hash of all of
# them, so that a build that changes any file brings a new service worker, whose cache replaces
# the old one. Before precompress, so that sw.js's compressed copies carry the stamp.
stamp_service_worker() {
  say "stamping the service worker with the build's version"
  node --input-type=module - "$1" <<'JS'
import { readdirSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { createHash } from 'node:crypto';
const root = process.argv[2];
const walk = (dir) => readdirSync(dir).sort().flatMap((f) => {
  const p = join(dir, f);
  return statSync(p).isDirectory() ? walk(p) : [p];
});
const files = walk(root).map((p) => relative(root, p).split(sep).join('/')).filter((f) => f !== 'sw.js');
const hash = createHash('sha256');
for (const f of files) hash.update(`${f}\0`).update(readFileSync(join(root, f)));
const version = hash.digest('hex').slice(0, 16);
const path = join(root, 'sw.js');
const source = readFileSync(path, 'utf8');
const stamped = source
  .replace(/^const VERSION = 'dev';$/m, `const VERSION = '${version}';`)
  .replace(/^const FILES = \[\];$/m, `const FILES = ${JSON.stringify(files)};`);
if (!stamped.includes(version) || !stamped.includes('"worker.js"')) throw new Error('sw.js has no VERSION or FILES line to stamp');
writeFileSync(path, stamped);
console.error(`sw.js: version ${version}, ${files.length} files`);
JS
}

# Brotli and gzip copies beside every file a reader downloads that shrinks by compression (the
# engine, glue, scripts, styles, JSON, ONNX, NNEF), for static hosts that serve precompressed files
# (and for tests/support/serve.mjs, which does, as such hosts do). Node's zlib does both, so no
# extra tool is needed. A copy that saves under 10 % is not kept.
precompress() {
  say "brotli and gzip copies of the large files"
  node --input-type=module - "$1" <<'JS'
import { readdirSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import { join, extname } from 'node:path';
import { brotliCompressSync, gzipSync, constants } from 'node:zlib';
const WORTH = new Set(['.wasm', '.js', '.mjs', '.css', '.html', '.json', '.onnx', '.tar', '.bin', '.svg', '.ts', '.txt', '.md']);
const walk = (dir) => readdirSync(dir).flatMap((f) => {
  const p = join(dir, f);
  return statSync(p).isDirectory() ? walk(p) : [p];
});
for (const file of walk(process.argv[2])) {
  if (!WORTH.has(extname(file))) continue;
  const raw = readFileSync(file);
  if (raw.length < 1024) continue;
  const br = brotliCompressSync(raw, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: raw.length } });
  const gz = gzipSync(raw, { level: 9 });
  if (br.length < raw.length * 0.9) writeFileSync(`${file}.br`, br);
  if (gz.length < raw.length * 0.9) writeFileSync(`${file}.gz`, gz);
}
JS
}

# --- commands --------------------------------------------------------------------------------------

cmd_serve() {
  build_site
  say "serving site/"
  exec node tests/support/serve.mjs site "${1:-8080}"
}

cmd_test() {
  need_chromium
  need_firefox
  say "native tests (cargo test)"
  cargo test --features cli
  # Before the unit tests: one of them runs the built rule graphs in onnxruntime-web (npm).
  need_npm
  say "unit tests of the page's pure modules (node --test)"
  node --test tests/unit/
  build_site
  say "browser tests (headless Chromium)"
  node --test --test-concurrency=1 tests/browser/
  say "browser tests (headless Firefox)"
  node --test --test-concurrency=1 tests/firefox/
}

cmd_fuzz() {
  say "fuzzing the model loader and the API with ${1:-20000} mutated inputs"
  # FGSM_FUZZ_SEED=S picks other cases (default 1); a file that panics is kept in target/fuzz-panics/.
  FGSM_FUZZ_CASES="${1:-20000}" cargo test --features cli --test fuzz -- --nocapture
}

cmd_bench() {
  need_chromium
  build_site
  say "native benchmark"
  cargo run --profile native --features cli --bin fgsm -- bench
  say "browser benchmark"
  # Each script leaves its figures in target/bench/*.json; goals.mjs tabulates this run's only.
  rm -f target/bench/*.json
  node tests/bench/bench.mjs
  node tests/bench/first-verdict.mjs
  node tests/bench/page-steps.mjs
  node tests/bench/goals.mjs
}

case "${1:-}" in
  serve) shift; cmd_serve "$@" ;;
  test) cmd_test ;;
  bench) cmd_bench ;;
  site) build_site ;;
  fuzz) shift; cmd_fuzz "$@" ;;
  *) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
