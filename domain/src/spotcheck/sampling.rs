//! The draw's sample: a documented, reproducible selection without replacement from a seed that
//! did not exist when the population was fixed (docs/spot-checks.md, "The algorithm").
//!
//! stream  = SHA-256(seed ‖ draw_id ‖ u64be(0)) ‖ SHA-256(seed ‖ draw_id ‖ u64be(1)) ‖ …
//! word    = the stream's next 8 bytes, big-endian
//! uniform(n) = the first word w below n·⌊2⁶⁴/n⌋, taken mod n (rejection: no modulo bias)
//! sample  = a partial Fisher–Yates shuffle of the sorted candidates: for i in 0..k,
//!           j = i + uniform(N − i), swap(i, j); the first k, in the order drawn.

use sha2::{Digest, Sha256};

/// The deterministic word stream of one draw.
pub struct DrawStream {
    seed: [u8; 32],
    draw_id: [u8; 16],
    counter: u64,
    block: [u8; 32],
    used: usize,
}

impl DrawStream {
    pub fn new(seed: [u8; 32], draw_id: [u8; 16]) -> Self {
        DrawStream {
            seed,
            draw_id,
            counter: 0,
            block: [0; 32],
            used: 32,
        }
    }

    /// The next 64-bit word of the stream.
    pub fn next_word(&mut self) -> u64 {
        if self.used == 32 {
            let mut hasher = Sha256::new();
            hasher.update(self.seed);
            hasher.update(self.draw_id);
            hasher.update(self.counter.to_be_bytes());
            self.block = hasher.finalize().into();
            self.counter += 1;
            self.used = 0;
        }
        let mut word = [0u8; 8];
        word.copy_from_slice(&self.block[self.used..self.used + 8]);
        self.used += 8;
        u64::from_be_bytes(word)
    }

    /// A uniform integer in `0..n` (n ≥ 1), without modulo bias.
    pub fn uniform(&mut self, n: u64) -> u64 {
        assert!(n > 0, "uniform(0)");
        // n·⌊2⁶⁴/n⌋: the largest multiple of n that fits; words at or above it are redrawn.
        let limit = (u128::from(u64::MAX) + 1) / u128::from(n) * u128::from(n);
        loop {
            let word = self.next_word();
            if u128::from(word) < limit {
                return word % n;
            }
        }
    }
}

/// Draws `size` of the `candidates` (which must be sorted, as the draw entry lists them),
/// without replacement, in the order drawn. Fewer when there are fewer candidates.
pub fn sample<T: Clone>(
    seed: [u8; 32],
    draw_id: [u8; 16],
    candidates: &[T],
    size: usize,
) -> Vec<T> {
    let mut pool: Vec<T> = candidates.to_vec();
    let n = pool.len();
    let k = size.min(n);
    let mut stream = DrawStream::new(seed, draw_id);
    for i in 0..k {
        let j = i + usize::try_from(stream.uniform((n - i) as u64)).unwrap_or(0);
        pool.swap(i, j);
    }
    pool.truncate(k);
    pool
}

/// SHA-256 of the population as the draw entry fixes it: each key in the given (sorted) order,
/// followed by a line feed.
pub fn population_sha256<S: AsRef<str>>(keys: &[S]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for key in keys {
        hasher.update(key.as_ref().as_bytes());
        hasher.update(b"\n");
    }
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed() -> [u8; 32] {
        let mut seed = [0u8; 32];
        for (i, byte) in seed.iter_mut().enumerate() {
            *byte = i as u8;
        }
        seed
    }

    const DRAW: [u8; 16] = [
        0x01, 0x93, 0x2f, 0x4c, 0x8e, 0x00, 0x7a, 0x11, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x01,
    ];

    #[test]
    fn the_stream_is_sha256_of_seed_draw_and_counter() {
        let mut stream = DrawStream::new(seed(), DRAW);
        let mut input = seed().to_vec();
        input.extend_from_slice(&DRAW);
        input.extend_from_slice(&0u64.to_be_bytes());
        let block: [u8; 32] = Sha256::digest(&input).into();
        for chunk in block.chunks(8) {
            assert_eq!(
                stream.next_word(),
                u64::from_be_bytes(chunk.try_into().unwrap())
            );
        }
        input.truncate(48);
        input.extend_from_slice(&1u64.to_be_bytes());
        let next: [u8; 32] = Sha256::digest(&input).into();
        assert_eq!(
            stream.next_word(),
            u64::from_be_bytes(next[..8].try_into().unwrap())
        );
    }

    #[test]
    fn uniform_stays_in_range_and_covers_it() {
        let mut stream = DrawStream::new(seed(), DRAW);
        let mut seen = [0u32; 7];
        for _ in 0..7_000 {
            seen[stream.uniform(7) as usize] += 1;
        }
        // Each of 7 values ~1,000 times; a biased or broken generator leaves some far off.
        assert!(seen.iter().all(|&c| (850..1150).contains(&c)), "{seen:?}");
        assert_eq!(stream.uniform(1), 0);
    }

    #[test]
    fn uniform_redraws_words_at_or_above_the_limit() {
        // n = 3·2⁶² leaves a limit of 3·2⁶²: a quarter of all words are redrawn. The words of the
        // stream decide which; recompute by hand what uniform must return.
        let n = 3u64 << 62;
        let mut reference = DrawStream::new(seed(), DRAW);
        let expected = loop {
            let word = reference.next_word();
            if word < n {
                break word;
            }
        };
        assert_eq!(DrawStream::new(seed(), DRAW).uniform(n), expected);
    }

    #[test]
    fn samples_are_without_replacement_and_reproducible() {
        let people: Vec<String> = (0..50).map(|i| format!("p{i:02}")).collect();
        let a = sample(seed(), DRAW, &people, 10);
        assert_eq!(a.len(), 10);
        let mut unique = a.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 10);
        assert_eq!(a, sample(seed(), DRAW, &people, 10));
        let mut other = DRAW;
        other[15] = 2;
        assert_ne!(a, sample(seed(), other, &people, 10));
        // All of a small population, shuffled; none of an empty one.
        assert_eq!(sample(seed(), DRAW, &people[..3], 5).len(), 3);
        assert!(sample::<String>(seed(), DRAW, &[], 5).is_empty());
    }

    /// The worked example of docs/spot-checks.md (also checked by tests/python).
    #[test]
    fn known_answer() {
        let population: Vec<String> = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let drawn = sample(seed(), DRAW, &population, 3);
        assert_eq!(drawn, KNOWN_SAMPLE);
        assert_eq!(
            hex::encode(population_sha256(&population)),
            KNOWN_POPULATION_SHA256
        );
    }

    const KNOWN_SAMPLE: [&str; 3] = ["e", "h", "f"];
    const KNOWN_POPULATION_SHA256: &str =
        "5af306b9538f2bf03cef3ab056bdf784781be7495ad6b0aa753035e473ce245e";
}
