//! One image, set once. A [`Session`] holds the pixels, the model's clean logits and probabilities,
//! and the gradients already taken for each label, so that predicting and attacking never send the
//! image again and a new ε or a new method costs only the passes it really needs.

use std::ops::ControlFlow;

use crate::attack::{Adversarial, Attack, Options, Progress};
use crate::error::Result;
use crate::model::{Gradient, Model, argmax, cross_entropy, softmax};

/// Which class an attack follows the loss of. A targeted attack names its target by construction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Label {
    /// Raise the loss of the model's own prediction on the clean image: the default of torchattacks,
    /// foolbox and ART (attacking the true label would leak it into the attack).
    #[default]
    Predicted,
    /// Raise the loss of this class (for instance the true label).
    Untargeted(usize),
    /// Lower the loss of this class, pulling the image towards it.
    Targeted(usize),
}

/// How many labels' gradients a session keeps (the most recent ones): one EfficientNet gradient is
/// 600 kB, and a reader trying targets one after another should not grow memory without bound.
const GRADIENTS_KEPT: usize = 8;

pub struct Session {
    model: Model,
    pixels: Vec<f32>,
    logits: Vec<f32>,
    probs: Vec<f32>,
    /// Gradients at the clean image by label, oldest first.
    gradients: Vec<(usize, Gradient)>,
}

impl Model {
    /// Sets `pixels` (CHW in [0, 1]) as the image of a new session; runs one forward pass.
    pub fn session(&self, pixels: &[f32]) -> Result<Session> {
        let logits = self.logits(pixels)?;
        Ok(self.new_session(pixels, logits, Vec::new()))
    }

    /// [`session`](Self::session) for an image that will be attacked against the model's own
    /// prediction next: one gradient pass gives the prediction and that gradient together (see
    /// [`Model::predicted_gradient`]), where `session` then the attack would cost a forward pass and
    /// a gradient pass.
    pub fn session_with_gradient(&self, pixels: &[f32]) -> Result<Session> {
        let (predicted, gradient, logits) = self.predicted_gradient(pixels)?;
        Ok(self.new_session(pixels, logits, vec![(predicted, gradient)]))
    }

    fn new_session(&self, pixels: &[f32], logits: Vec<f32>, gradients: Vec<(usize, Gradient)>) -> Session {
        Session { model: self.clone(), pixels: pixels.to_vec(), probs: softmax(&logits), logits, gradients }
    }
}

impl Session {
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The clean image, as set.
    pub fn pixels(&self) -> &[f32] {
        &self.pixels
    }

    /// The model's probabilities on the clean image, computed when the image was set.
    pub fn predict(&self) -> &[f32] {
        &self.probs
    }

    /// The model's class for the clean image: the largest logit, as the gradient plan picks it
    /// (softmax can round two close logits to one probability).
    pub fn prediction(&self) -> usize {
        argmax(&self.logits)
    }

    /// Cross-entropy of the clean image against `class`.
    pub fn loss(&self, class: usize) -> Result<f32> {
        Ok(cross_entropy(&self.logits, self.model.check_label(class as i64)?))
    }

    /// The class a label stands for, checked against the model, and whether the attack descends its
    /// loss (targeted) or ascends it.
    pub fn resolve(&self, label: Label) -> Result<(usize, bool)> {
        Ok(match label {
            Label::Predicted => (self.prediction(), false),
            Label::Untargeted(class) => (self.model.check_label(class as i64)?, false),
            Label::Targeted(class) => (self.model.check_label(class as i64)?, true),
        })
    }

    /// Loss and ∂loss/∂pixels at the clean image for `class`: one gradient pass the first time, none
    /// after that.
    pub fn gradient(&mut self, class: usize) -> Result<&Gradient> {
        let class = self.model.check_label(class as i64)?;
        match self.gradients.iter().position(|(c, _)| *c == class) {
            Some(found) => {
                let entry = self.gradients.remove(found);
                self.gradients.push(entry);
            }
            None => {
                let gradient = self.model.input_gradient(&self.pixels, class)?;
                if self.gradients.len() == GRADIENTS_KEPT {
                    self.gradients.remove(0);
                }
                self.gradients.push((class, gradient));
            }
        }
        Ok(&self.gradients.last().expect("just pushed").1)
    }

    /// Runs an attack to its end (see [`Options`] and the methods in [`crate::attack`]).
    pub fn attack(&mut self, options: &Options) -> Result<Adversarial> {
        self.attack_with_progress(options, |_| ControlFlow::Continue(()))
    }

    /// Runs an attack, reporting every iterate to `progress`; `ControlFlow::Break` stops it, and the
    /// result is then the last iterate reported.
    pub fn attack_with_progress(
        &mut self,
        options: &Options,
        progress: impl FnMut(&Progress) -> ControlFlow<()>,
    ) -> Result<Adversarial> {
        self.attack_steps(options)?.run(progress)
    }

    /// An attack to be driven one step at a time, by [`Attack::step`]: the form for a caller that
    /// must return to its own event loop between steps (a web worker listening for "cancel").
    pub fn attack_steps(&mut self, options: &Options) -> Result<Attack> {
        Attack::new(self, options)
    }
}
