//! The held-out MNIST digits shipped beside the model (`models/mnist/test-digits.bin`): N×784 bytes
//! of pixels (row-major 28×28, value = round(p·255)) followed by N bytes of true labels.

use crate::error::{Error, Result};

const PIXELS: usize = 28 * 28;

pub struct Digit {
    /// 784 values in [0, 1].
    pub pixels: Vec<f32>,
    pub label: u8,
}

pub fn parse(bytes: &[u8]) -> Result<Vec<Digit>> {
    if bytes.is_empty() || !bytes.len().is_multiple_of(PIXELS + 1) {
        return Err(Error::Image(format!("{} bytes is not a whole number of 785-byte digits", bytes.len())));
    }
    let n = bytes.len() / (PIXELS + 1);
    let (pixels, labels) = bytes.split_at(n * PIXELS);
    Ok(pixels
        .chunks_exact(PIXELS)
        .zip(labels)
        .map(|(p, &label)| Digit { pixels: p.iter().map(|&b| b as f32 / 255.0).collect(), label })
        .collect())
}
