//! The shipped wasm API (every export of `fgsm_wasm`) plus one test switch. Never shipped.

use wasm_bindgen::prelude::*;

// Links the shipped crate, and with it every one of its exports, into this module.
use fgsm_wasm as _;

/// Panics: under `panic = "abort"` the instance traps with `RuntimeError: unreachable`, exactly as
/// a bug in the engine or in tract would.
#[wasm_bindgen(js_name = testTrap)]
pub fn test_trap() {
    panic!("testTrap: a panic on demand (test build only)");
}
