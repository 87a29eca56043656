//! Image ↔ tensor: canvas RGBA bytes to CHW pixels in [0, 1] and back, the perturbation as a
//! picture, and the MNIST preprocessing of a hand-drawn digit.

use crate::error::{Error, Result};

/// RGBA bytes (a canvas's `ImageData`, row-major) to CHW floats in [0, 1]. With one channel the
/// pixel is its luminance (ITU-R BT.601 weights, what PIL's `convert("L")` uses).
pub fn rgba_to_pixels(rgba: &[u8], channels: usize) -> Result<Vec<f32>> {
    if !rgba.len().is_multiple_of(4) {
        return Err(Error::Image(format!("RGBA data must have 4 bytes a pixel, got {} bytes", rgba.len())));
    }
    let n = rgba.len() / 4;
    let px = |i: usize, c: usize| rgba[4 * i + c] as f32 / 255.0;
    match channels {
        1 => Ok((0..n).map(|i| 0.299 * px(i, 0) + 0.587 * px(i, 1) + 0.114 * px(i, 2)).collect()),
        3 => Ok((0..3).flat_map(|c| (0..n).map(move |i| px(i, c))).collect()),
        _ => Err(Error::Image(format!("only 1 or 3 channels are supported, not {channels}"))),
    }
}

/// CHW floats in [0, 1] (1 or 3 channels) to opaque RGBA bytes, for a canvas.
pub fn pixels_to_rgba(pixels: &[f32], channels: usize) -> Result<Vec<u8>> {
    to_rgba(pixels, channels, |v| v)
}

/// A perturbation as a picture: mid-grey is 0, brighter is positive, darker negative, scaled by
/// `gain / eps` so that a step of ±ε shows as ±`gain`·0.5 around the grey (gain 1 fills the range).
/// `eps` = 0 gives plain grey.
pub fn perturbation_to_rgba(perturbation: &[f32], channels: usize, eps: f32, gain: f32) -> Result<Vec<u8>> {
    let scale = if eps > 0.0 { 0.5 * gain / eps } else { 0.0 };
    to_rgba(perturbation, channels, |d| 0.5 + scale * d)
}

fn to_rgba(values: &[f32], channels: usize, map: impl Fn(f32) -> f32) -> Result<Vec<u8>> {
    if channels != 1 && channels != 3 {
        return Err(Error::Image(format!("only 1 or 3 channels are supported, not {channels}")));
    }
    if !values.len().is_multiple_of(channels) {
        return Err(Error::Image(format!("{} values do not split into {channels} channels", values.len())));
    }
    let n = values.len() / channels;
    let byte = |v: f32| (map(v).clamp(0.0, 1.0) * 255.0).round() as u8;
    let bytes = n.checked_mul(4).ok_or_else(|| Error::Image(format!("{n} pixels are too many for RGBA bytes")))?;
    let mut rgba = Vec::with_capacity(bytes);
    for i in 0..n {
        for c in 0..3 {
            rgba.push(byte(values[(c % channels) * n + i]));
        }
        rgba.push(255);
    }
    Ok(rgba)
}

/// Side of an MNIST image, and of the box its digits were scaled into.
pub const MNIST_SIDE: usize = 28;
const MNIST_BOX: usize = 20;

/// Prepares a drawing the way MNIST's digits were: light ink on a dark ground, the ink's bounding
/// box scaled (keeping its aspect ratio, with area averaging) to fit a 20×20 box, then placed in a
/// 28×28 image so that its centre of mass falls on the centre (LeCun et al.'s description of the
/// database). `ink` is one value in [0, 1] a pixel, row-major `width`×`height`.
pub fn centre_digit(ink: &[f32], width: usize, height: usize) -> Result<Vec<f32>> {
    // Checked: on wasm32 a usize is 32 bits, and 65536 × 65536 would wrap to 0.
    if width == 0 || height == 0 || width.checked_mul(height) != Some(ink.len()) {
        return Err(Error::Image(format!("{} values do not make a {width}×{height} image", ink.len())));
    }
    if let Some(bad) = ink.iter().find(|v| !v.is_finite()) {
        return Err(Error::Image(format!("ink values must be finite, found {bad}")));
    }
    // Faint anti-aliasing noise should not stretch the bounding box.
    let threshold = 0.1;
    let inked = |x: usize, y: usize| ink[y * width + x] > threshold;
    let rows: Vec<usize> = (0..height).filter(|&y| (0..width).any(|x| inked(x, y))).collect();
    let cols: Vec<usize> = (0..width).filter(|&x| (0..height).any(|y| inked(x, y))).collect();
    let (Some(&top), Some(&bottom), Some(&left), Some(&right)) = (rows.first(), rows.last(), cols.first(), cols.last())
    else {
        return Err(Error::Image("the drawing is empty: draw a digit first".into()));
    };
    let (box_w, box_h) = (right - left + 1, bottom - top + 1);

    // Box-filter resample of the bounding box to fit in MNIST_BOX, keeping the aspect ratio.
    let scale = MNIST_BOX as f32 / box_w.max(box_h) as f32;
    let out_w = ((box_w as f32 * scale).round() as usize).clamp(1, MNIST_BOX);
    let out_h = ((box_h as f32 * scale).round() as usize).clamp(1, MNIST_BOX);
    let mut small = vec![0f32; out_w * out_h];
    for oy in 0..out_h {
        let (y0, y1) = (top as f32 + oy as f32 / scale, top as f32 + (oy + 1) as f32 / scale);
        for ox in 0..out_w {
            let (x0, x1) = (left as f32 + ox as f32 / scale, left as f32 + (ox + 1) as f32 / scale);
            small[oy * out_w + ox] = area_mean(ink, width, height, x0, x1, y0, y1);
        }
    }

    // Place it so that the centre of mass lands on the centre of the 28×28 image.
    let mass: f32 = small.iter().sum();
    let (mut cx, mut cy) = (0f32, 0f32);
    for (i, &v) in small.iter().enumerate() {
        cx += v * ((i % out_w) as f32 + 0.5);
        cy += v * ((i / out_w) as f32 + 0.5);
    }
    let half = MNIST_SIDE as f32 / 2.0;
    let shift = |centre: f32, size: usize| {
        ((half - centre / mass).round() as isize).clamp(0, (MNIST_SIDE - size) as isize) as usize
    };
    let (dx, dy) = (shift(cx, out_w), shift(cy, out_h));
    let mut digit = vec![0f32; MNIST_SIDE * MNIST_SIDE];
    for y in 0..out_h {
        for x in 0..out_w {
            digit[(y + dy) * MNIST_SIDE + x + dx] = small[y * out_w + x].clamp(0.0, 1.0);
        }
    }
    Ok(digit)
}

/// Mean of `ink` over the rectangle [x0, x1) × [y0, y1), weighting each pixel by its overlap.
fn area_mean(ink: &[f32], width: usize, height: usize, x0: f32, x1: f32, y0: f32, y1: f32) -> f32 {
    let (mut sum, mut area) = (0f32, 0f32);
    for y in (y0.floor() as usize)..(y1.ceil() as usize).min(height) {
        let wy = (y1.min(y as f32 + 1.0) - y0.max(y as f32)).max(0.0);
        for x in (x0.floor() as usize)..(x1.ceil() as usize).min(width) {
            let w = wy * (x1.min(x as f32 + 1.0) - x0.max(x as f32)).max(0.0);
            sum += w * ink[y * width + x];
            area += w;
        }
    }
    if area > 0.0 { sum / area } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rgba_round_trip_keeps_colour_pixels() {
        let rgba = [10, 20, 30, 255, 200, 100, 0, 255];
        let pixels = rgba_to_pixels(&rgba, 3).unwrap();
        assert_eq!(pixels.len(), 6);
        assert_eq!(pixels_to_rgba(&pixels, 3).unwrap(), rgba);
    }

    #[test]
    fn a_small_off_centre_stroke_is_scaled_to_twenty_pixels_and_centred() {
        // A 4-wide, 10-tall bar in the top-left corner of a 100×100 drawing.
        let (w, h) = (100, 100);
        let mut ink = vec![0f32; w * h];
        for y in 5..15 {
            for x in 3..7 {
                ink[y * w + x] = 1.0;
            }
        }
        let digit = centre_digit(&ink, w, h).unwrap();
        let rows: Vec<usize> = (0..28).filter(|&y| (0..28).any(|x| digit[y * 28 + x] > 0.5)).collect();
        let cols: Vec<usize> = (0..28).filter(|&x| (0..28).any(|y| digit[y * 28 + x] > 0.5)).collect();
        assert_eq!(rows.len(), 20, "the long side fills the 20-pixel box");
        assert_eq!(cols.len(), 8, "aspect ratio kept: 4/10 of 20");
        let mass: f32 = digit.iter().sum();
        let cx: f32 = digit.iter().enumerate().map(|(i, v)| v * ((i % 28) as f32 + 0.5)).sum::<f32>() / mass;
        let cy: f32 = digit.iter().enumerate().map(|(i, v)| v * ((i / 28) as f32 + 0.5)).sum::<f32>() / mass;
        assert!((cx - 14.0).abs() <= 0.5 && (cy - 14.0).abs() <= 0.5, "centre of mass at ({cx}, {cy})");
    }

    #[test]
    fn sizes_whose_product_overflows_are_errors_not_panics() {
        // 65536 × 65536 is 2^32: 0 in a 32-bit usize (wasm32), which once matched an empty buffer.
        for (w, h) in [(65536, 65536), (1 << 31, 2), (usize::MAX, usize::MAX), (usize::MAX, 1), (3, 0)] {
            for ink in [&[][..], &[1.0; 16][..]] {
                let err = centre_digit(ink, w, h).unwrap_err();
                assert!(err.to_string().contains("do not make"), "{w}×{h}: {err}");
            }
        }
        assert!(centre_digit(&[1.0; 16], 4, 4).is_ok());
    }

    #[test]
    fn an_empty_drawing_is_an_error() {
        let err = centre_digit(&[0.0; 16], 4, 4).unwrap_err();
        assert!(err.to_string().contains("empty"), "{err}");
    }
}
