//! Attacks on a [`Model`], each written as in its paper, one file per method: [`fgsm`] (FGSM and
//! FGM), [`bim`], [`pgd`], [`mi_fgsm`], and the [`noise`] baseline. All work on pixels in [0, 1] and
//! keep the adversarial image in [0, 1].
//!
//! An attack runs on a [`Session`] (an image set once): [`Session::attack`] runs it to the end,
//! [`Session::attack_with_progress`] reports each step and can stop, and [`Session::attack_steps`]
//! returns an [`Attack`] to be driven one step at a time. Every method, iterative or not, is the
//! same loop: `x₀` (the clean image, or a random point for PGD and noise), then for `k < steps` the
//! loss and gradient at `x_k` and the method's step to `x_{k+1}`, and last the loss at `x_steps`.
//! Untargeted attacks ascend the loss of their label; targeted ones give the method `−∇J(x, t)`,
//! so the same step descends the target's loss.

pub mod bim;
pub mod fgsm;
pub mod mi_fgsm;
pub mod noise;
pub mod norm;
pub mod pgd;
pub mod rng;

use std::fmt;
use std::ops::ControlFlow;
use std::str::FromStr;

pub use norm::Norm;

use crate::error::{Error, Result};
use crate::model::{Gradient, Model, argmax, cross_entropy, softmax};
use crate::session::{Label, Session};
use rng::SplitMix64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// Fast Gradient Sign Method, one step in L∞ (Goodfellow et al. 2015).
    Fgsm,
    /// Fast Gradient Method, one step in L2 along the normalised gradient.
    Fgm,
    /// Basic Iterative Method / I-FGSM (Kurakin et al. 2016).
    Bim,
    /// Projected Gradient Descent from a seeded random start (Madry et al. 2018).
    Pgd,
    /// Momentum Iterative FGSM (Dong et al. 2018).
    MiFgsm,
    /// Random noise of the same norm and ε: the baseline.
    Noise,
}

impl Method {
    pub const ALL: [Method; 6] = [Method::Fgsm, Method::Fgm, Method::Bim, Method::Pgd, Method::MiFgsm, Method::Noise];

    /// The name the CLI and the wasm API take.
    pub fn name(self) -> &'static str {
        match self {
            Method::Fgsm => "fgsm",
            Method::Fgm => "fgm",
            Method::Bim => "bim",
            Method::Pgd => "pgd",
            Method::MiFgsm => "mi-fgsm",
            Method::Noise => "noise",
        }
    }
}

impl FromStr for Method {
    type Err = Error;
    fn from_str(s: &str) -> Result<Method> {
        match s.to_ascii_lowercase().as_str() {
            "fgsm" => Ok(Method::Fgsm),
            "fgm" => Ok(Method::Fgm),
            "bim" | "i-fgsm" | "ifgsm" => Ok(Method::Bim),
            "pgd" => Ok(Method::Pgd),
            "mi-fgsm" | "mifgsm" => Ok(Method::MiFgsm),
            "noise" | "random" => Ok(Method::Noise),
            _ => Err(Error::Options(format!("unknown method `{s}`: use fgsm, fgm, bim, pgd, mi-fgsm or noise"))),
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Most steps one attack may take (40 is PGD's default): a bound on how long a call can block.
pub const MAX_STEPS: usize = 1000;

/// What to run. `None` fields take the method's default from its paper (see [`Params`]); fields a
/// method does not use are ignored.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    pub method: Method,
    /// Size of the perturbation in `norm`: at most 1 in L∞, at most √(C·H·W) in L2.
    pub eps: f32,
    /// Step size of the iterative methods.
    pub alpha: Option<f32>,
    /// Number of gradient steps of the iterative methods.
    pub steps: Option<usize>,
    /// L∞ by default; FGSM is L∞ only and FGM L2 only.
    pub norm: Option<Norm>,
    /// MI-FGSM's decay factor μ.
    pub momentum: Option<f32>,
    /// Seeds PGD's random start and the noise, so a run repeats bit for bit.
    pub seed: u64,
    /// The class whose loss the attack follows; the model's prediction by default.
    pub label: Label,
}

impl Options {
    /// `method` at size `eps`, every other choice at its default.
    pub fn new(method: Method, eps: f32) -> Options {
        Options { method, eps, alpha: None, steps: None, norm: None, momentum: None, seed: 0, label: Label::Predicted }
    }

    /// Checks the options and fills in the defaults, for an image of `n` values.
    ///
    /// - FGSM, FGM: one step of size ε.
    /// - BIM: α = 1/255 in L∞ (one grey level), ε/10 in L2; `⌊min(ε/α + 4, 1.25·ε/α)⌋` steps
    ///   (Kurakin et al. §2.2).
    /// - PGD: 40 steps of α = (4/3)·ε/steps, Madry et al.'s MNIST setting (ε = 0.3, 40 steps of
    ///   0.01) scaled to ε.
    /// - MI-FGSM: 10 steps of α = ε/steps, μ = 1 (Dong et al. §4).
    /// - Noise: no gradient step.
    pub fn resolve(&self, n: usize) -> Result<Params> {
        let method = self.method;
        let norm = match (method, self.norm) {
            (Method::Fgsm, Some(Norm::L2)) => {
                return Err(Error::Options("FGSM is the L∞ method; use fgm for L2".into()));
            }
            (Method::Fgm, Some(Norm::Linf)) => {
                return Err(Error::Options("FGM is the L2 method; use fgsm for L∞".into()));
            }
            (Method::Fgm, None) => Norm::L2,
            (_, norm) => norm.unwrap_or(Norm::Linf),
        };
        let eps = self.eps;
        if !(eps.is_finite() && eps >= 0.0 && eps <= norm.max_eps(n)) {
            return Err(match norm {
                Norm::Linf => Error::Epsilon(eps),
                Norm::L2 => Error::Options(format!(
                    "ε in L2 must be a finite number between 0 and {}, got {eps}",
                    norm.max_eps(n)
                )),
            });
        }
        let positive = |name: &str, value: Option<f32>| match value {
            Some(v) if !(v.is_finite() && v > 0.0) => {
                Err(Error::Options(format!("{name} must be a positive finite number, got {v}")))
            }
            _ => Ok(value),
        };
        let alpha = positive("α (the step size)", self.alpha)?;
        let momentum = match self.momentum {
            Some(mu) if !(mu.is_finite() && mu >= 0.0) => {
                return Err(Error::Options(format!("the momentum μ must be a finite number ≥ 0, got {mu}")));
            }
            mu => mu.unwrap_or(1.0),
        };
        if let Some(steps) = self.steps.filter(|s| !(1..=MAX_STEPS).contains(s)) {
            return Err(Error::Options(format!("steps must be between 1 and {MAX_STEPS}, got {steps}")));
        }
        let (alpha, steps) = match method {
            Method::Fgsm | Method::Fgm => (eps, 1),
            Method::Noise => (eps, 0),
            // Kurakin et al. take α = 1/255 and min(ε/α + 4, 1.25·ε/α) steps. Given the steps
            // alone, α comes from the same rule read the other way, 1.25·ε/steps, so that the
            // steps can still reach the edge of the ball (1/255 would not, at MNIST's ε = 0.25).
            Method::Bim => match (alpha, self.steps) {
                (alpha, None) => {
                    let alpha = alpha.unwrap_or(match norm {
                        Norm::Linf => 1.0 / 255.0,
                        Norm::L2 => eps / 10.0,
                    });
                    let kurakin = (eps / alpha + 4.0).min(1.25 * eps / alpha);
                    (alpha, (kurakin as usize).clamp(1, MAX_STEPS))
                }
                (alpha, Some(steps)) => (alpha.unwrap_or(1.25 * eps / steps as f32), steps),
            },
            Method::Pgd => {
                let steps = self.steps.unwrap_or(40);
                (alpha.unwrap_or(4.0 / 3.0 * eps / steps as f32), steps)
            }
            Method::MiFgsm => {
                let steps = self.steps.unwrap_or(10);
                (alpha.unwrap_or(eps / steps as f32), steps)
            }
        };
        Ok(Params { method, eps, alpha, steps, norm, momentum, seed: self.seed })
    }
}

/// [`Options`] checked and with every default filled in: what an attack actually runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Params {
    pub method: Method,
    pub eps: f32,
    pub alpha: f32,
    /// Gradient steps: 1 for FGSM and FGM, 0 for noise.
    pub steps: usize,
    pub norm: Norm,
    pub momentum: f32,
    pub seed: u64,
}

/// What one step of an attack reports: the loss and the prediction at iterate `x_step`.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    /// `k` of `x_k`: 0 is the start, `steps` the end.
    pub step: usize,
    pub steps: usize,
    /// `J(x_k, label)`.
    pub loss: f32,
    /// The model's class for `x_k`.
    pub predicted: usize,
}

#[derive(Clone, Debug)]
pub struct Adversarial {
    /// The last iterate evaluated (the method's result unless the attack was stopped), CHW.
    pub adversarial: Vec<f32>,
    /// `adversarial − x`, the perturbation actually applied after clipping.
    pub perturbation: Vec<f32>,
    /// The model's probabilities on the adversarial image.
    pub probs: Vec<f32>,
    /// The class whose loss the attack followed.
    pub label: usize,
    pub targeted: bool,
    /// Loss of the clean image for `label`.
    pub loss: f32,
    /// `J(x_k, label)` for every iterate evaluated, `x₀` first.
    pub losses: Vec<f32>,
    /// `k` of the iterate returned: the method's step count if it ran to the end.
    pub steps: usize,
    /// What ran, defaults filled in.
    pub params: Params,
}

/// An attack under way on one session's image, driven by [`Attack::step`]. It owns what it needs
/// (a handle on the model, the clean image and the current iterate), so it borrows nothing.
pub struct Attack {
    model: Model,
    params: Params,
    x: Vec<f32>,
    label: usize,
    targeted: bool,
    clean_loss: f32,
    /// The session's gradient at `x`, for a first step taken from `x` itself.
    clean_gradient: Option<Gradient>,
    /// MI-FGSM's accumulated gradient `g_t`.
    velocity: Vec<f32>,
    /// The iterate the next call to `step` evaluates.
    next: Vec<f32>,
    /// The last iterate evaluated and its probabilities.
    current: Option<(Vec<f32>, Vec<f32>)>,
    losses: Vec<f32>,
}

impl Attack {
    pub(crate) fn new(session: &mut Session, options: &Options) -> Result<Attack> {
        let x = session.pixels().to_vec();
        let params = options.resolve(x.len())?;
        let (label, targeted) = session.resolve(options.label)?;
        let mut rng = SplitMix64::new(params.seed);
        let start = match params.method {
            Method::Pgd => pgd::pgd_random_start(&x, params.eps, params.norm, &mut rng),
            Method::Noise => noise::random_noise(&x, params.eps, params.norm, &mut rng),
            Method::Fgsm | Method::Fgm | Method::Bim | Method::MiFgsm => x.clone(),
        };
        let clean_gradient = if start == x && params.steps > 0 { Some(session.gradient(label)?.clone()) } else { None };
        Ok(Attack {
            model: session.model().clone(),
            params,
            clean_loss: session.loss(label)?,
            x,
            label,
            targeted,
            clean_gradient,
            velocity: Vec::new(),
            next: start,
            current: None,
            losses: Vec::new(),
        })
    }

    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Whether the last iterate has been evaluated.
    pub fn is_done(&self) -> bool {
        self.losses.len() > self.params.steps
    }

    /// Evaluates the next iterate `x_k`, and unless it is the last, takes the method's step from it.
    /// Costs one gradient pass (none for `x₀` = x, whose gradient the session had), or one forward
    /// pass for the last iterate. `None` once the attack is done.
    pub fn step(&mut self) -> Result<Option<Progress>> {
        let k = self.losses.len();
        if self.is_done() {
            return Ok(None);
        }
        let x_k = self.next.clone();
        let (loss, probs) = if k < self.params.steps {
            let gradient = match self.clean_gradient.take() {
                Some(clean) if k == 0 => clean,
                _ => self.model.input_gradient(&x_k, self.label)?,
            };
            let ascent = if self.targeted { gradient.grad.iter().map(|&g| -g).collect() } else { gradient.grad };
            self.next = self.method_step(&x_k, &ascent);
            (gradient.loss, gradient.probs)
        } else {
            let logits = self.model.logits(&x_k)?;
            (cross_entropy(&logits, self.label), softmax(&logits))
        };
        self.losses.push(loss);
        let predicted = argmax(&probs);
        self.current = Some((x_k, probs));
        Ok(Some(Progress { step: k, steps: self.params.steps, loss, predicted }))
    }

    /// The method's step from `x_k` along `ascent` (the gradient of the loss to raise).
    fn method_step(&mut self, x_k: &[f32], ascent: &[f32]) -> Vec<f32> {
        let Params { method, eps, alpha, norm, momentum, .. } = self.params;
        match method {
            Method::Fgsm => fgsm::fgsm(&self.x, ascent, eps),
            Method::Fgm => fgsm::fgm(&self.x, ascent, eps),
            Method::Bim | Method::Pgd => bim::bim_step(&self.x, x_k, ascent, alpha, eps, norm),
            Method::MiFgsm => {
                mi_fgsm::mi_fgsm_step(&mut self.velocity, &self.x, x_k, ascent, momentum, alpha, eps, norm)
            }
            // Noise takes no gradient step (0 steps); were it asked to, it would stay put.
            Method::Noise => x_k.to_vec(),
        }
    }

    /// Steps to the end, reporting each iterate; `ControlFlow::Break` from `progress` stops early.
    pub fn run(mut self, mut progress: impl FnMut(&Progress) -> ControlFlow<()>) -> Result<Adversarial> {
        while let Some(report) = self.step()? {
            if progress(&report).is_break() {
                break;
            }
        }
        self.result()
    }

    /// The last iterate evaluated, as an adversarial example.
    pub fn result(&self) -> Result<Adversarial> {
        let (adversarial, probs) =
            self.current.clone().ok_or_else(|| Error::Options("the attack has not taken its first step yet".into()))?;
        Ok(Adversarial {
            perturbation: adversarial.iter().zip(&self.x).map(|(a, x)| a - x).collect(),
            adversarial,
            probs,
            label: self.label,
            targeted: self.targeted,
            loss: self.clean_loss,
            losses: self.losses.clone(),
            steps: self.losses.len() - 1,
            params: self.params,
        })
    }
}

/// The one-step shorthand's label, as the wasm API's `fgsm(pixels, eps, { label, targeted })`
/// takes it; [`Label`] is the form that cannot express a targeted attack without a target.
#[derive(Clone, Copy, Debug, Default)]
pub struct FgsmOptions {
    /// Untargeted: the label whose loss to raise (`None`: the model's prediction). Targeted: the
    /// class the image should become; required.
    pub label: Option<usize>,
    /// Step *down* the loss of `label` instead of up, pulling the image towards that class.
    pub targeted: bool,
}

impl FgsmOptions {
    pub fn to_label(self) -> Result<Label> {
        match (self.label, self.targeted) {
            (None, false) => Ok(Label::Predicted),
            (Some(label), false) => Ok(Label::Untargeted(label)),
            (Some(label), true) => Ok(Label::Targeted(label)),
            (None, true) => Err(Error::MissingTarget),
        }
    }
}

/// FGSM on an image without keeping a session: `x̃ = clip(x + ε·sign(∇x J(θ, x, y)), 0, 1)` (see
/// [`fgsm::fgsm`]). Costs a forward pass, a gradient pass and a forward pass; with a [`Session`], a
/// new ε on the same image costs only the last.
pub fn fgsm(model: &Model, pixels: &[f32], eps: f32, options: FgsmOptions) -> Result<Adversarial> {
    let label = options.to_label()?;
    model.session(pixels)?.attack(&Options { label, ..Options::new(Method::Fgsm, eps) })
}
