//! The one error type of the crate; `wasm.rs` turns it into a JS `Error` with the same message.

/// Everything that can go wrong with a model or an input. Messages are written for the person who
/// supplied the file or the image, since they are shown on the page as they are.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("not a readable ONNX file: {0}")]
    Parse(String),
    #[error("not a readable NNEF file: {0}")]
    Nnef(String),
    #[error(
        "the model has no {kind} named `{name}`; this demo needs an ONNX classifier with a gradient graph \
         (inputs `image`, `label`; outputs `logits`, `loss`, `input_grad`, see models/README.md)"
    )]
    MissingTensor { kind: &'static str, name: &'static str },
    #[error("unsupported model: {0}")]
    Unsupported(String),
    #[error("cannot build the gradient graph: {0}")]
    Builder(String),
    #[error("tract could not {stage}: {message}")]
    Engine { stage: &'static str, message: String },
    #[error("expected {expected} pixel values for an input of shape {shape:?}, got {got}")]
    PixelCount { expected: usize, got: usize, shape: [usize; 4] },
    #[error("pixel {index} is {value}: pixels must be finite numbers in [0, 1]")]
    BadPixel { index: usize, value: f32 },
    #[error("label {label} is out of range: the model has {classes} classes (0 to {})", classes - 1)]
    Label { label: i64, classes: usize },
    #[error("ε must be a finite number between 0 and 1, got {0}")]
    Epsilon(f32),
    #[error("a targeted attack needs a target label")]
    MissingTarget,
    #[error("attack options: {0}")]
    Options(String),
    #[error("image: {0}")]
    Image(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Wraps a tract error, keeping its whole context chain: the innermost cause is usually the one
    /// that names the offending node or operator.
    pub(crate) fn engine(stage: &'static str) -> impl FnOnce(tract_onnx::prelude::TractError) -> Error {
        move |e| Error::Engine { stage, message: format!("{e:#}") }
    }
}
