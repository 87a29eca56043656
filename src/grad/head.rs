//! The cross-entropy head: `loss` from `logits` and `label`, and ∂loss/∂logits, written so that both
//! keep their value in float32 when the model is sure of its answer.

use super::emit::Emitter;
use super::proto;
use crate::model::{LABEL, LOGITS, LOSS};

/// Emits `loss` and returns the name of ∂loss/∂logits (`[1, K]`).
pub fn cross_entropy(e: &mut Emitter, classes: usize) -> String {
    let depth = e.i64s(&[classes as i64], "depth");
    let on = e.f32s(&[0.0, 1.0], &[2], "onehot_values");
    let off = e.f32s(&[1.0, 0.0], &[2], "offhot_values");
    let axis = vec![proto::int("axis", -1)];
    // Loss: −log softmax(z)_label = log Σ_j exp(z_j − m) − (z_label − m) with m = max_j z_j, every
    // term finite for finite logits. Not −Σ onehot·LogSoftmax(z): tract's LogSoftmax is −inf where a
    // probability underflows (logits 1e4 and −1e4), and 0·(−inf) in that sum is NaN
    // (tests/grad_rules.rs, extreme logits).
    let onehot = e.node("OneHot", &[LABEL, &depth, &on], "onehot", axis.clone());
    let top = e.node("ReduceMax", &[LOGITS], "max_logit", vec![proto::int("keepdims", 1)]);
    let shifted = e.sub(LOGITS, &top);
    let exp = e.node("Exp", &[&shifted], "exp", vec![]);
    let total = e.reduce_sum(&exp, &[0, 1], false);
    let log_total = e.node("Log", &[&total], "log_sum_exp", vec![]);
    let picked = e.mul(&onehot, &shifted);
    let label_score = e.reduce_sum(&picked, &[0, 1], false);
    let log_loss = e.sub(&log_total, &label_score);
    // ∂loss/∂logits = softmax − onehot, written as p_j for j ≠ label and −Σ_{j≠label} p_j for the
    // label: p_label − 1 cancels catastrophically in float32, and for a confidently classified image
    // p_label rounds to 1 and the naive difference is 0 or rounding noise, which scrambles the sign
    // pattern FGSM uses (PyTorch's float32 autograd has this problem too).
    let prob = e.node("Softmax", &[LOGITS], "softmax", vec![proto::int("axis", 1)]);
    let not_label = e.node("OneHot", &[LABEL, &depth, &off], "not_label", axis);
    let others = e.mul(&prob, &not_label);
    let rest = e.reduce_sum(&others, &[1], true);
    let label_part = e.mul(&onehot, &rest);
    let grad = e.node("Sub", &[&others, &label_part], "logits_grad", vec![]);
    // The same cancellation in the loss: the log-softmax of a near-certain class is log(1 + tiny),
    // which float32 rounds to 0. With q = 1 − p_label = the sum of the other probabilities,
    // −log(1 − q) = q + q²/2 + q³/3 + q⁴/4 + O(q⁵), exact to float32 for q < 0.01.
    let q = e.reduce_sum(&rest, &[0, 1], false);
    let quarter = e.scale(&q, 0.25);
    let third = e.scalar(1.0 / 3.0);
    let s3 = e.add(&third, &quarter);
    let s3q = e.mul(&q, &s3);
    let half = e.scalar(0.5);
    let s2 = e.add(&half, &s3q);
    let s2q = e.mul(&q, &s2);
    let one = e.scalar(1.0);
    let s1 = e.add(&one, &s2q);
    let series = e.mul(&q, &s1);
    let hundredth = e.scalar(0.01);
    let small = e.node("Greater", &[&hundredth, &q], "q_small", vec![]);
    e.node_to("Where", &[&small, &series, &log_loss], LOSS, vec![]);
    grad
}
