//! SplitMix64 (Steele, Lea and Flood, *Fast splittable pseudorandom number generators*, OOPSLA 2014;
//! the generator that seeds xoshiro, and Java's `SplittableRandom`), written out here so that a seed
//! gives the same random start on every platform and in every version of this crate: its output is
//! fixed by the algorithm, not by a dependency's version. It is always seeded explicitly, never from
//! the system's entropy, so the wasm build needs no `getrandom` backend for it.
//!
//! Every draw uses integer arithmetic and IEEE additions and multiplications only (no `ln` or `cos`,
//! whose last bit may differ between libm's), so native and wasm runs agree bit for bit.

pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1), on the grid of 2⁻²⁴ (every value exact in f32).
    pub fn uniform(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u32 << 24) as f32
    }

    /// Uniform in [−1, 1).
    pub fn symmetric(&mut self) -> f32 {
        2.0 * self.uniform() - 1.0
    }

    /// −1 or +1 with equal odds.
    pub fn sign(&mut self) -> f32 {
        if self.next_u64() >> 63 == 1 { 1.0 } else { -1.0 }
    }

    /// Approximately standard normal: the sum of 12 uniforms, less 6 (Irwin–Hall; mean 0,
    /// variance 1). Enough for a direction drawn evenly over the sphere, and only additions.
    pub fn normal(&mut self) -> f32 {
        (0..12).map(|_| self.uniform()).sum::<f32>() - 6.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_reference_splitmix64_output() {
        // First outputs for seed 1234567 of the C reference (splitmix64.c by Sebastiano Vigna).
        let mut rng = SplitMix64::new(1234567);
        assert_eq!(rng.next_u64(), 6457827717110365317);
        assert_eq!(rng.next_u64(), 3203168211198807973);
    }

    #[test]
    fn uniforms_stay_in_range() {
        let mut rng = SplitMix64::new(7);
        for _ in 0..10_000 {
            let u = rng.uniform();
            assert!((0.0..1.0).contains(&u));
        }
    }
}
