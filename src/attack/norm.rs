//! The two threat models: how large a perturbation is, the steepest step of a given length, and the
//! projection back into the ε-ball around the clean image (and into [0, 1], where images live).

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Norm {
    /// Max norm: every pixel moves by at most ε (the FGSM paper's constraint).
    Linf,
    /// Euclidean norm: the whole perturbation has length at most ε.
    L2,
}

impl Norm {
    /// `‖a − b‖`, accumulated in f64.
    pub fn distance(self, a: &[f32], b: &[f32]) -> f32 {
        let diffs = a.iter().zip(b).map(|(&a, &b)| (a - b) as f64);
        match self {
            Norm::Linf => diffs.fold(0.0f64, |m, d| m.max(d.abs())) as f32,
            Norm::L2 => diffs.map(|d| d * d).sum::<f64>().sqrt() as f32,
        }
    }

    /// The step of length `size` that raises, to first order, a function whose gradient is `g` the
    /// most: `size·sign(g)` in L∞, `size·g/‖g‖₂` in L2. A zero gradient gives a zero step.
    pub fn steepest(self, g: &[f32], size: f32) -> Vec<f32> {
        match self {
            Norm::Linf => g.iter().map(|&g| size * sign(g)).collect(),
            Norm::L2 => {
                let length = l2(g);
                if length > 0.0 && length.is_finite() {
                    g.iter().map(|&g| (size as f64 * g as f64 / length) as f32).collect()
                } else {
                    vec![0.0; g.len()]
                }
            }
        }
    }

    /// Π: the point of the ε-ball around `x`, within [0, 1], nearest to `x_adv`. In L∞ this is
    /// Kurakin et al.'s `Clip_{x,ε}`, a clamp to `[max(0, x − ε), min(1, x + ε)]`. In L2 the
    /// perturbation is shortened to length ε, then clipped to [0, 1]; clipping only moves a pixel
    /// towards `x` (which is in [0, 1]), so the result stays in the ball.
    pub fn project(self, x: &[f32], x_adv: &[f32], eps: f32) -> Vec<f32> {
        match self {
            Norm::Linf => x.iter().zip(x_adv).map(|(&x, &a)| a.clamp((x - eps).max(0.0), (x + eps).min(1.0))).collect(),
            Norm::L2 => {
                let delta: Vec<f32> = x_adv.iter().zip(x).map(|(&a, &x)| a - x).collect();
                if l2(&delta) <= eps as f64 {
                    x_adv.iter().map(|&a| clip01(a)).collect()
                } else {
                    along(x, &delta, eps)
                }
            }
        }
    }

    /// The largest ε that still means something for an image of `n` values in [0, 1]: 1 in L∞,
    /// the diagonal √n of the unit cube in L2.
    pub fn max_eps(self, n: usize) -> f32 {
        match self {
            Norm::Linf => 1.0,
            Norm::L2 => (n as f32).sqrt(),
        }
    }
}

impl FromStr for Norm {
    type Err = Error;
    fn from_str(s: &str) -> Result<Norm> {
        match s.to_ascii_lowercase().as_str() {
            "linf" | "inf" | "l-inf" | "l∞" | "∞" => Ok(Norm::Linf),
            "l2" | "2" => Ok(Norm::L2),
            _ => Err(Error::Options(format!("unknown norm `{s}`: use linf or l2"))),
        }
    }
}

impl fmt::Display for Norm {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(match self {
            Norm::Linf => "linf",
            Norm::L2 => "l2",
        })
    }
}

/// sign with sign(0) = 0, as ONNX `Sign` and `torch.sign`: a pixel the loss does not depend on is
/// left alone (`f32::signum` would move it by ε).
pub fn sign(g: f32) -> f32 {
    if g > 0.0 {
        1.0
    } else if g < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// Clip to the valid pixel range [0, 1].
pub fn clip01(p: f32) -> f32 {
    p.clamp(0.0, 1.0)
}

/// `clip(x + length·d/‖d‖₂, 0, 1)`: a step of the given L2 length along `d` (none if `d` is 0).
pub fn along(x: &[f32], d: &[f32], length: f32) -> Vec<f32> {
    let scale = length as f64 / l2(d).max(f64::MIN_POSITIVE);
    x.iter().zip(d).map(|(&x, &d)| clip01(x + (d as f64 * scale) as f32)).collect()
}

/// `‖v‖₂` in f64.
pub fn l2(v: &[f32]) -> f64 {
    v.iter().map(|&v| v as f64 * v as f64).sum::<f64>().sqrt()
}

/// `‖v‖₁` in f64.
pub fn l1(v: &[f32]) -> f64 {
    v.iter().map(|&v| (v as f64).abs()).sum()
}
