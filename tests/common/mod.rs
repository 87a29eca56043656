//! Shared by the native integration tests: the shipped MNIST model and digits.
#![allow(dead_code)]

use std::path::PathBuf;

use fgsm_wasm::{Model, digits};

pub fn repo_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative)
}

pub fn mnist_bytes() -> Vec<u8> {
    std::fs::read(repo_path("models/mnist/model.onnx")).expect("models/mnist/model.onnx")
}

pub fn mnist() -> Model {
    Model::from_onnx_bytes(&mnist_bytes()).expect("the shipped MNIST model loads")
}

pub fn test_digits() -> Vec<digits::Digit> {
    digits::parse(&std::fs::read(repo_path("models/mnist/test-digits.bin")).expect("test-digits.bin"))
        .expect("test-digits.bin parses")
}

pub fn model_card() -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(repo_path("models/mnist/model.json")).expect("model.json"))
        .expect("model.json parses")
}

/// A small deterministic generator (xorshift64*), so the tests need no extra crate and every run
/// draws the same directions.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    pub fn next_f32(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        ((self.0.wrapping_mul(0x2545F4914F6CDD1D) >> 40) as f32) / (1u64 << 24) as f32
    }
    /// Approximately standard normal (sum of 12 uniforms).
    pub fn normal(&mut self) -> f32 {
        (0..12).map(|_| self.next_f32()).sum::<f32>() - 6.0
    }
}
