//! Every limit the crate enforces on what a reader hands it, in one place. Each is checked before
//! tract sees the graph (so before any plan is built), with checked arithmetic, and a breach is an
//! `Error` that names the limit.

use crate::error::{Error, Result};

/// Largest model file: 64 MiB. EfficientNet-Lite0 with its gradient graph is 19 MB; tract holds a
/// model two to three times over while it prepares the plans, and wasm32 has 4 GiB in all.
pub const MAX_FILE_BYTES: usize = 64 << 20;

/// Smallest and largest image side the model may declare, in pixels (MNIST is 28, ImageNet 224).
pub const MIN_SIDE: usize = 8;
pub const MAX_SIDE: usize = 2048;

/// Most ONNX nodes in the graph (EfficientNet-Lite0 with its gradient graph has 380).
pub const MAX_NODES: usize = 10_000;

/// Highest rank of any declared tensor (a classifier needs 4).
pub const MAX_RANK: usize = 8;

/// Most elements of any one tensor the file declares or holds: 2^28, 1 GiB of float32, a quarter
/// of wasm32's address space.
pub const MAX_TENSOR_ELEMENTS: u64 = 1 << 28;

/// Largest convolution or pooling kernel side, stride, dilation or pad.
pub const MAX_WINDOW: i64 = MAX_SIDE as i64;

/// Most groups of a grouped convolution (and most channels a depthwise one can have).
pub const MAX_GROUPS: i64 = 1 << 16;

pub fn check_file_size(bytes: usize) -> Result<()> {
    if bytes > MAX_FILE_BYTES {
        return Err(Error::Parse(format!(
            "the file is {bytes} bytes; models up to {} MiB are accepted",
            MAX_FILE_BYTES >> 20
        )));
    }
    Ok(())
}

/// The image input `[1, C, H, W]`: each side within `MIN_SIDE..=MAX_SIDE`. Returns `C·H·W`.
pub fn check_input_shape(shape: [usize; 4]) -> Result<usize> {
    let [_, _, height, width] = shape;
    for (side, size) in [("height", height), ("width", width)] {
        if !(MIN_SIDE..=MAX_SIDE).contains(&size) {
            return Err(Error::Unsupported(format!(
                "input `image` is {width}×{height} pixels; its {side} must be {MIN_SIDE} to {MAX_SIDE} pixels"
            )));
        }
    }
    shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .filter(|&n| n as u64 <= MAX_TENSOR_ELEMENTS)
        .ok_or_else(|| Error::Unsupported(format!("input `image` of shape {shape:?} is too large")))
}

/// Number of elements of a tensor with these dimensions, if every one is non-negative and the
/// product stays within `MAX_TENSOR_ELEMENTS`.
pub fn element_count(dims: &[i64]) -> Option<u64> {
    if dims.len() > MAX_RANK {
        return None;
    }
    dims.iter()
        .try_fold(1u64, |n, &d| u64::try_from(d).ok().and_then(|d| n.checked_mul(d)))
        .filter(|&n| n <= MAX_TENSOR_ELEMENTS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sides_outside_the_range_and_overflowing_shapes_are_errors() {
        assert_eq!(check_input_shape([1, 1, 28, 28]).unwrap(), 784);
        assert_eq!(check_input_shape([1, 3, 2048, 2048]).unwrap(), 3 * 2048 * 2048);
        for bad in [[1, 1, 7, 28], [1, 3, 224, 2049], [1, 1, 0, 0], [1, usize::MAX, 2048, 2048]] {
            let message = check_input_shape(bad).unwrap_err().to_string();
            assert!(message.contains("image"), "{message}");
        }
        assert!(check_file_size(MAX_FILE_BYTES).is_ok());
        assert!(check_file_size(MAX_FILE_BYTES + 1).unwrap_err().to_string().contains("64 MiB"));
    }

    #[test]
    fn element_counts_use_checked_arithmetic() {
        assert_eq!(element_count(&[]), Some(1));
        assert_eq!(element_count(&[64, 3136]), Some(64 * 3136));
        assert_eq!(element_count(&[0, 5]), Some(0));
        assert_eq!(element_count(&[-1, 5]), None);
        assert_eq!(element_count(&[i64::MAX, i64::MAX]), None);
        assert_eq!(element_count(&[1 << 20, 1 << 20]), None);
        assert_eq!(element_count(&[1; 9]), None);
    }
}
