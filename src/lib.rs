//! fgsm-wasm: adversarial examples (FGSM, Goodfellow et al. 2015) for an ONNX classifier whose file
//! carries its own gradient graph, run by tract — natively and in the browser.
//!
//! The core (`model`, `session`, `attack`, `image`, `digits`) is plain Rust and builds for every target; `wasm`
//! holds every `#[wasm_bindgen]` item and only converts types and errors.

pub mod attack;
pub mod digits;
pub mod error;
pub mod grad;
pub mod image;
pub mod limits;
pub mod model;
pub mod nnef;
pub mod onnx_check;
pub mod quantized_weights;
pub mod session;
#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use attack::{Adversarial, Attack, FgsmOptions, Method, Norm, Options, Progress, fgsm};
pub use error::{Error, Result};
pub use model::{Gradient, Model};
pub use session::{Label, Session};
