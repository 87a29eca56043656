// Builds the test-only engine (tests/trap-engine: the site's wasm API plus testTrap(), a panic on
// demand) into target/trap-engine/pkg/, for the trap-recovery test. Never part of site/. The first
// build compiles the dependencies for this crate's profile; later ones only what changed.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './browser.mjs';

const TARGET = join(REPO, 'target', 'trap-engine');
export const TRAP_PKG = join(TARGET, 'pkg');

const mtime = (path) => {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
};

/**
 * Builds the engine if anything changed; → {pkg, ms}: its folder and how long the build took.
 * The crate is copied into target/trap-engine/crate/ with the repository's Cargo.lock, so that it
 * uses exactly the shipped build's dependency versions and leaves no lock file in tests/.
 */
export function buildTrapEngine() {
  const started = performance.now();
  const run = (command, args) => execFileSync(command, args, { cwd: REPO, stdio: ['ignore', 'ignore', 'inherit'] });
  const crate = join(TARGET, 'crate');
  mkdirSync(join(crate, 'src'), { recursive: true });
  const manifest = readFileSync(join(REPO, 'tests', 'trap-engine', 'Cargo.toml'), 'utf8').replace('path = "../.."', `path = ${JSON.stringify(REPO)}`);
  writeIfChanged(join(crate, 'Cargo.toml'), manifest);
  writeIfChanged(join(crate, 'src', 'lib.rs'), readFileSync(join(REPO, 'tests', 'trap-engine', 'src', 'lib.rs'), 'utf8'));
  writeIfChanged(join(crate, 'Cargo.lock'), readFileSync(join(REPO, 'Cargo.lock'), 'utf8'));
  run('nice', ['-n', '10', 'cargo', 'build', '--release', '--lib', '--offline', '--target', 'wasm32-unknown-unknown',
    '--manifest-path', join(crate, 'Cargo.toml'), '--target-dir', TARGET]);
  const raw = join(TARGET, 'wasm32-unknown-unknown', 'release', 'fgsm_trap_engine.wasm');
  // The glue and module under the names the worker imports; no wasm-opt (it takes minutes and the
  // test does not need a small file).
  if (mtime(raw) > mtime(join(TRAP_PKG, 'fgsm_wasm_bg.wasm'))) {
    run('wasm-bindgen', [raw, '--target', 'web', '--out-dir', TRAP_PKG, '--out-name', 'fgsm_wasm']);
  }
  return { pkg: TRAP_PKG, ms: performance.now() - started };
}

/** Writes `text` to `path` unless it already holds it (so that cargo sees no change). */
function writeIfChanged(path, text) {
  let old = null;
  try {
    old = readFileSync(path, 'utf8');
  } catch {}
  if (old !== text) writeFileSync(path, text);
}
