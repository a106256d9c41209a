//! RFC 6962 Merkle tree math for the append-only ledger: hashing, compact ranges, proof
//! generation over a pluggable node store, and proof verification.
//!
//! Proof generation only ever asks the store for *perfect* aligned subtrees, so a store that
//! persists exactly the nodes [`CompactRange::append_leaf`] reports can answer every proof with
//! O(log n) indexed reads and never rehashes history.

use sha2::{Digest, Sha256};

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// RFC 6962 leaf hash: SHA-256(0x00 ‖ data).
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(data);
    h.finalize().into()
}

/// RFC 6962 interior node hash: SHA-256(0x01 ‖ left ‖ right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// Root of the empty tree: SHA-256 of the empty string.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// Where proof generation reads hashes of *perfect* subtrees: the node at (level, index) covers
/// leaves [index·2^level, (index+1)·2^level). Level 0 = leaf hashes. Storage implements this with
/// one indexed read per call.
pub trait NodeSource {
    type Error;
    fn node(&mut self, level: u8, index: u64) -> Result<Hash, Self::Error>;
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MerkleError {
    #[error("leaf index {index} is out of range for tree size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("old tree size {old_size} is larger than new tree size {new_size}")]
    SizeOrder { old_size: u64, new_size: u64 },
    #[error("proof has {got} hashes but this index and tree size need exactly {want}")]
    WrongProofLength { got: usize, want: usize },
    #[error(
        "proof yields root {} but the expected root is {}",
        hex::encode(.computed),
        hex::encode(.expected)
    )]
    RootMismatch { expected: Hash, computed: Hash },
    #[error(
        "consistency proof yields old root {} but the expected old root is {}",
        hex::encode(.computed),
        hex::encode(.expected)
    )]
    OldRootMismatch { expected: Hash, computed: Hash },
    #[error("compact range starts at {begin}; a tree root needs a range starting at 0")]
    RangeNotFromZero { begin: u64 },
    #[error("a level-{level} node cannot start at leaf {position}: not a multiple of 2^{level}")]
    UnalignedNode { level: u8, position: u64 },
    #[error("level {level} is too large: a 64-bit tree has levels 0 to 63")]
    LevelTooLarge { level: u8 },
    #[error("tree size would exceed 2^64 - 1 leaves")]
    SizeOverflow,
    #[error(
        "node (level {level}, index {index}) is not a complete subtree of a tree of size {size}"
    )]
    NodeOutOfRange { level: u8, index: u64, size: u64 },
}

/// Failure of proof generation: either the request itself is invalid, or the node store failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProofError<E> {
    #[error(transparent)]
    Merkle(#[from] MerkleError),
    #[error("reading a tree node failed: {0}")]
    Source(E),
}

/// A compact range [begin, end): the minimal list of perfect aligned subtrees covering it, left
/// to right. Used (a) by the ledger writer as its in-memory frontier of [0, n), (b) by verifiers
/// to rebuild a root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompactRange {
    begin: u64,
    end: u64,
    nodes: Vec<(u8, Hash)>,
}

impl CompactRange {
    /// An empty range at `begin`.
    pub fn new(begin: u64) -> Self {
        Self {
            begin,
            end: begin,
            nodes: Vec::new(),
        }
    }

    /// Rebuilds [0, size) from the perfect subtrees of size's binary decomposition (largest
    /// first), one source read per set bit of `size`.
    pub fn from_source<S: NodeSource>(size: u64, source: &mut S) -> Result<Self, S::Error> {
        let nodes = decompose(0, size)
            .into_iter()
            .map(|(level, index)| Ok((level, source.node(level, index)?)))
            .collect::<Result<Vec<_>, S::Error>>()?;
        Ok(Self {
            begin: 0,
            end: size,
            nodes,
        })
    }

    pub fn begin(&self) -> u64 {
        self.begin
    }

    pub fn end(&self) -> u64 {
        self.end
    }

    /// The covering subtrees as (level, hash), left to right; positions follow from
    /// [`decompose`]`(begin, end)`.
    pub fn nodes(&self) -> &[(u8, Hash)] {
        &self.nodes
    }

    /// Appends one leaf hash; returns every perfect node completed by it as (level, index, hash),
    /// the leaf itself first (level 0), so storage can persist exactly these. Amortised O(1).
    ///
    /// # Panics
    /// Only if the range already ends at leaf 2^64 - 1, which no real log reaches.
    pub fn append_leaf(&mut self, leaf: Hash) -> Vec<(u8, u64, Hash)> {
        let new_end = self.end.checked_add(1).expect("tree size exceeds u64::MAX");
        self.push(0, leaf, new_end)
    }

    /// Appends a perfect subtree node of `level` whose start equals `end()`; the result lists the
    /// node itself first, then every parent it completed.
    pub fn append_node(
        &mut self,
        level: u8,
        hash: Hash,
    ) -> Result<Vec<(u8, u64, Hash)>, MerkleError> {
        let width = width(level)?;
        if !self.end.is_multiple_of(width) {
            return Err(MerkleError::UnalignedNode {
                level,
                position: self.end,
            });
        }
        let new_end = self
            .end
            .checked_add(width)
            .ok_or(MerkleError::SizeOverflow)?;
        Ok(self.push(level, hash, new_end))
    }

    fn push(&mut self, level: u8, hash: Hash, new_end: u64) -> Vec<(u8, u64, Hash)> {
        let (mut level, mut hash) = (level, hash);
        let mut index = self.end >> level;
        self.end = new_end;
        let mut completed = vec![(level, index, hash)];
        // A right child (odd index) merges with its left sibling whenever that sibling is inside
        // the range; being contiguous and of equal level, the last stored node can only be it.
        while index & 1 == 1 {
            let [.., (left_level, left)] = self.nodes[..] else {
                break;
            };
            if left_level != level {
                break;
            }
            self.nodes.pop();
            hash = node_hash(&left, &hash);
            level += 1;
            index >>= 1;
            completed.push((level, index, hash));
        }
        self.nodes.push((level, hash));
        completed
    }

    /// RFC 6962 root of [0, end); `empty_root()` when empty. Only meaningful for ranges that
    /// start at 0, since other ranges do not describe a whole tree.
    pub fn root(&self) -> Result<Hash, MerkleError> {
        if self.begin != 0 {
            return Err(MerkleError::RangeNotFromZero { begin: self.begin });
        }
        // Sizes decompose largest-first, so RFC 6962's split at the largest power of two below
        // n always peels off the leftmost node: folding right to left reproduces it.
        let root = self
            .nodes
            .iter()
            .rev()
            .fold(None, |acc: Option<Hash>, (_, h)| {
                Some(acc.map_or(*h, |right| node_hash(h, &right)))
            });
        Ok(root.unwrap_or_else(empty_root))
    }
}

fn width(level: u8) -> Result<u64, MerkleError> {
    1u64.checked_shl(u32::from(level))
        .ok_or(MerkleError::LevelTooLarge { level })
}

/// The perfect aligned subtrees covering [begin, end) as (level, index), left to right. Empty
/// when `end <= begin`.
pub fn decompose(begin: u64, end: u64) -> Vec<(u8, u64)> {
    let mut out = Vec::new();
    let mut pos = begin;
    while pos < end {
        // The largest aligned block at `pos` that still fits is always part of the minimal
        // cover, so a greedy left-to-right walk produces it.
        let align = pos.trailing_zeros();
        let fit = 63 - (end - pos).leading_zeros();
        let level = align.min(fit);
        out.push((level as u8, pos >> level));
        pos += 1u64 << level;
    }
    out
}

/// Largest power of two strictly below `n`; RFC 6962's split point. Requires n >= 2.
fn split_point(n: u64) -> u64 {
    1u64 << (63 - (n - 1).leading_zeros())
}

/// `MTH(D[begin:end])` for begin < end, following RFC 6962's recursion and reading every piece
/// that is a perfect aligned subtree from the source.
fn subtree_hash<S: NodeSource>(begin: u64, end: u64, source: &mut S) -> Result<Hash, S::Error> {
    let len = end - begin;
    if len.is_power_of_two() && begin.is_multiple_of(len) {
        let level = len.trailing_zeros();
        return source.node(level as u8, begin >> level);
    }
    let mid = begin + split_point(len);
    let left = subtree_hash(begin, mid, source)?;
    let right = subtree_hash(mid, end, source)?;
    Ok(node_hash(&left, &right))
}

/// MTH of the range [begin, end), i.e. RFC 6962's `MTH(D[begin:end])`; `empty_root()` when
/// `end <= begin`. When begin is aligned as RFC 6962 recursion produces (a multiple of the
/// smallest power of two >= end - begin), this makes one source read per set bit of the length;
/// other ranges are still hashed correctly but may read down to the leaves.
pub fn range_hash<S: NodeSource>(begin: u64, end: u64, source: &mut S) -> Result<Hash, S::Error> {
    if end <= begin {
        return Ok(empty_root());
    }
    subtree_hash(begin, end, source)
}

/// RFC 6962 root of the tree of the first `size` leaves.
pub fn root_at<S: NodeSource>(size: u64, source: &mut S) -> Result<Hash, S::Error> {
    range_hash(0, size, source)
}

/// RFC 6962 §2.1.1 `PATH(m, D[n])` — hashes ordered from the leaf upward. O(log n) source reads
/// total: every sibling is a single perfect node except at most one ragged right edge.
pub fn inclusion_proof<S: NodeSource>(
    index: u64,
    size: u64,
    source: &mut S,
) -> Result<Vec<Hash>, ProofError<S::Error>> {
    if index >= size {
        return Err(MerkleError::IndexOutOfRange { index, size }.into());
    }
    let mut path = Vec::new();
    let (mut begin, mut end) = (0, size);
    // Walks RFC 6962's recursion top-down, so siblings come out root-first.
    while end - begin > 1 {
        let mid = begin + split_point(end - begin);
        if index < mid {
            path.push(subtree_hash(mid, end, source).map_err(ProofError::Source)?);
            end = mid;
        } else {
            path.push(subtree_hash(begin, mid, source).map_err(ProofError::Source)?);
            begin = mid;
        }
    }
    path.reverse();
    Ok(path)
}

/// RFC 6962 §2.1.2 `PROOF(m, D[n])`. Empty when the sizes are equal or the old tree is empty
/// (every tree is consistent with the empty tree).
pub fn consistency_proof<S: NodeSource>(
    old_size: u64,
    new_size: u64,
    source: &mut S,
) -> Result<Vec<Hash>, ProofError<S::Error>> {
    if old_size > new_size {
        return Err(MerkleError::SizeOrder { old_size, new_size }.into());
    }
    if old_size == 0 || old_size == new_size {
        return Ok(Vec::new());
    }
    let mut proof = Vec::new();
    let (mut begin, mut end) = (0, new_size);
    // RFC 6962's flag b: whether the current subtree's hash is already known to the verifier
    // (it is the whole old tree) and so must not be sent.
    let mut old_root_known = true;
    // SUBPROOF top-down; reversed at the end to RFC order. Invariant: begin < old_size <= end.
    loop {
        if old_size == end {
            if !old_root_known {
                proof.push(subtree_hash(begin, end, source).map_err(ProofError::Source)?);
            }
            break;
        }
        let mid = begin + split_point(end - begin);
        if old_size <= mid {
            proof.push(subtree_hash(mid, end, source).map_err(ProofError::Source)?);
            end = mid;
        } else {
            proof.push(subtree_hash(begin, mid, source).map_err(ProofError::Source)?);
            begin = mid;
            old_root_known = false;
        }
    }
    proof.reverse();
    Ok(proof)
}

/// Verifies that `leaf` is at `index` in the tree of `size` with `root`. Verification exactly
/// as transparency-dev/merkle's proof package.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), MerkleError> {
    if index >= size {
        return Err(MerkleError::IndexOutOfRange { index, size });
    }
    let (inner, border) = decomp_incl_proof(index, size);
    if proof.len() != inner + border {
        return Err(MerkleError::WrongProofLength {
            got: proof.len(),
            want: inner + border,
        });
    }
    let (inner_part, border_part) = proof.split_at(inner);
    let computed = chain_border_right(chain_inner(*leaf, inner_part, index), border_part);
    if computed != *root {
        return Err(MerkleError::RootMismatch {
            expected: *root,
            computed,
        });
    }
    Ok(())
}

/// Verifies that the tree of `new_size` with `new_root` extends the tree of `old_size` with
/// `old_root`. Verification as transparency-dev/merkle's proof package, except that a claimed
/// empty old tree must carry the empty root.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    proof: &[Hash],
    old_root: &Hash,
    new_root: &Hash,
) -> Result<(), MerkleError> {
    if new_size < old_size {
        return Err(MerkleError::SizeOrder { old_size, new_size });
    }
    if old_size == new_size || old_size == 0 {
        if !proof.is_empty() {
            return Err(MerkleError::WrongProofLength {
                got: proof.len(),
                want: 0,
            });
        }
        if old_size == 0 && *old_root != empty_root() {
            return Err(MerkleError::OldRootMismatch {
                expected: *old_root,
                computed: empty_root(),
            });
        }
        if old_size == new_size && old_root != new_root {
            return Err(MerkleError::RootMismatch {
                expected: *new_root,
                computed: *old_root,
            });
        }
        return Ok(());
    }

    // The proof is a suffix of the inclusion proof of leaf old_size-1 in the new tree, starting
    // at the level where old_size's lowest set bit puts a whole old-tree subtree.
    let (inner, border) = decomp_incl_proof(old_size - 1, new_size);
    let shift = old_size.trailing_zeros();
    let inner = inner.saturating_sub(shift as usize);
    // When the old tree is itself perfect its root is that subtree, so the proof omits it.
    let seed_in_proof = !old_size.is_power_of_two();
    let want = usize::from(seed_in_proof) + inner + border;
    if proof.len() != want {
        return Err(MerkleError::WrongProofLength {
            got: proof.len(),
            want,
        });
    }
    let (seed, rest) = match proof.split_first() {
        Some((first, rest)) if seed_in_proof => (*first, rest),
        _ => (*old_root, proof),
    };
    let (inner_part, border_part) = rest.split_at(inner);
    let mask = (old_size - 1) >> shift;

    let old_computed = chain_border_right(chain_inner_right(seed, inner_part, mask), border_part);
    if old_computed != *old_root {
        return Err(MerkleError::OldRootMismatch {
            expected: *old_root,
            computed: old_computed,
        });
    }
    let new_computed = chain_border_right(chain_inner(seed, inner_part, mask), border_part);
    if new_computed != *new_root {
        return Err(MerkleError::RootMismatch {
            expected: *new_root,
            computed: new_computed,
        });
    }
    Ok(())
}

/// Splits an inclusion proof's length into the part below the point where the paths to `index`
/// and to the last leaf diverge (inner) and the part along the right border above it.
fn decomp_incl_proof(index: u64, size: u64) -> (usize, usize) {
    let inner = 64 - (index ^ (size - 1)).leading_zeros();
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    (inner as usize, border as usize)
}

fn bit(value: u64, i: usize) -> bool {
    u32::try_from(i)
        .ok()
        .and_then(|i| value.checked_shr(i))
        .is_some_and(|v| v & 1 == 1)
}

fn chain_inner(seed: Hash, proof: &[Hash], index: u64) -> Hash {
    proof.iter().enumerate().fold(seed, |acc, (i, h)| {
        if bit(index, i) {
            node_hash(h, &acc)
        } else {
            node_hash(&acc, h)
        }
    })
}

/// Like [`chain_inner`] but only folds in left siblings, which yields the hash of the same
/// subtree as it stood in the old tree (right siblings did not exist yet).
fn chain_inner_right(seed: Hash, proof: &[Hash], index: u64) -> Hash {
    proof.iter().enumerate().fold(seed, |acc, (i, h)| {
        if bit(index, i) {
            node_hash(h, &acc)
        } else {
            acc
        }
    })
}

/// Above the divergence point the path runs along the right border, so every sibling is a left
/// sibling.
fn chain_border_right(seed: Hash, proof: &[Hash]) -> Hash {
    proof.iter().fold(seed, |acc, h| node_hash(h, &acc))
}

/// Test/reference helper: leaf hashes kept in memory as a [`NodeSource`]. Perfect nodes are
/// cached level by level as leaves arrive, so every read is O(1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryTree {
    /// `levels[0]` holds the leaves; `levels[l][i]` is the perfect node (l, i).
    levels: Vec<Vec<Hash>>,
}

impl MemoryTree {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, leaf: Hash) {
        let mut level = 0;
        let mut hash = leaf;
        loop {
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            let row = &mut self.levels[level];
            row.push(hash);
            let [.., left, right] = row[..] else {
                break;
            };
            if row.len() % 2 == 1 {
                break;
            }
            hash = node_hash(&left, &right);
            level += 1;
        }
    }

    pub fn len(&self) -> u64 {
        self.leaves().len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.leaves().is_empty()
    }

    /// RFC 6962 root computed straight from the definition over the leaves, independently of
    /// the node cache, so tests can use it as a reference.
    pub fn root(&self) -> Hash {
        fn mth(leaves: &[Hash]) -> Hash {
            match leaves {
                [] => empty_root(),
                [leaf] => *leaf,
                _ => {
                    let (left, right) = leaves.split_at(split_point(leaves.len() as u64) as usize);
                    node_hash(&mth(left), &mth(right))
                }
            }
        }
        mth(self.leaves())
    }

    fn leaves(&self) -> &[Hash] {
        self.levels.first().map_or(&[], Vec::as_slice)
    }
}

impl NodeSource for MemoryTree {
    type Error = MerkleError;

    fn node(&mut self, level: u8, index: u64) -> Result<Hash, MerkleError> {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.levels.get(usize::from(level))?.get(i))
            .copied()
            .ok_or(MerkleError::NodeOutOfRange {
                level,
                index,
                size: self.len(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Vectors {
        source: serde_json::Value,
        leaf_inputs_hex: Vec<String>,
        roots_hex: Vec<String>,
        node_hashes_hex: Vec<Vec<String>>,
        inclusion_proofs: Vec<InclusionVector>,
        consistency_proofs: Vec<ConsistencyVector>,
    }

    #[derive(Deserialize)]
    struct InclusionVector {
        index: u64,
        size: u64,
        proof_hex: Vec<String>,
    }

    #[derive(Deserialize)]
    struct ConsistencyVector {
        old_size: u64,
        new_size: u64,
        proof_hex: Vec<String>,
    }

    fn vectors() -> Vectors {
        serde_json::from_str(include_str!("../testdata/rfc6962_vectors.json")).unwrap()
    }

    fn h(s: &str) -> Hash {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    fn hs(list: &[String]) -> Vec<Hash> {
        list.iter().map(|s| h(s)).collect()
    }

    fn golden_leaves(v: &Vectors) -> Vec<Hash> {
        v.leaf_inputs_hex
            .iter()
            .map(|s| leaf_hash(&hex::decode(s).unwrap()))
            .collect()
    }

    fn tree_from(leaves: &[Hash]) -> MemoryTree {
        let mut t = MemoryTree::new();
        for l in leaves {
            t.push(*l);
        }
        t
    }

    fn synthetic_leaves(n: u64) -> Vec<Hash> {
        (0..n)
            .map(|i| leaf_hash(i.to_string().as_bytes()))
            .collect()
    }

    /// MTH straight from RFC 6962 §2.1.
    fn ref_mth(leaves: &[Hash]) -> Hash {
        match leaves {
            [] => empty_root(),
            [leaf] => *leaf,
            _ => {
                let k = split_point(leaves.len() as u64) as usize;
                node_hash(&ref_mth(&leaves[..k]), &ref_mth(&leaves[k..]))
            }
        }
    }

    /// PATH(m, D[n]) straight from RFC 6962 §2.1.1.
    fn ref_path(m: usize, leaves: &[Hash]) -> Vec<Hash> {
        if leaves.len() <= 1 {
            return Vec::new();
        }
        let k = split_point(leaves.len() as u64) as usize;
        if m < k {
            let mut p = ref_path(m, &leaves[..k]);
            p.push(ref_mth(&leaves[k..]));
            p
        } else {
            let mut p = ref_path(m - k, &leaves[k..]);
            p.push(ref_mth(&leaves[..k]));
            p
        }
    }

    /// SUBPROOF(m, D[n], b) straight from RFC 6962 §2.1.2.
    fn ref_subproof(m: usize, leaves: &[Hash], b: bool) -> Vec<Hash> {
        let n = leaves.len();
        if m == n {
            return if b { Vec::new() } else { vec![ref_mth(leaves)] };
        }
        let k = split_point(n as u64) as usize;
        if m <= k {
            let mut p = ref_subproof(m, &leaves[..k], b);
            p.push(ref_mth(&leaves[k..]));
            p
        } else {
            let mut p = ref_subproof(m - k, &leaves[k..], false);
            p.push(ref_mth(&leaves[..k]));
            p
        }
    }

    fn ref_consistency(m: usize, leaves: &[Hash]) -> Vec<Hash> {
        if m == 0 || m == leaves.len() {
            return Vec::new();
        }
        ref_subproof(m, leaves, true)
    }

    fn flip_bit(proof: &[Hash], i: usize, bit: usize) -> Vec<Hash> {
        let mut p = proof.to_vec();
        p[i][bit / 8] ^= 1 << (bit % 8);
        p
    }

    fn check_inclusion_rejections(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) {
        let verify =
            |l: &Hash, i: u64, s: u64, p: &[Hash], r: &Hash| verify_inclusion(l, i, s, p, r);
        assert_eq!(verify(leaf, index, size, proof, root), Ok(()));
        for i in 0..proof.len() {
            for bit in 0..256 {
                let bad = flip_bit(proof, i, bit);
                assert!(
                    matches!(
                        verify(leaf, index, size, &bad, root),
                        Err(MerkleError::RootMismatch { .. })
                    ),
                    "bit {bit} of proof[{i}] flipped still verifies ({index}, {size})"
                );
            }
        }
        if let Some((_, truncated)) = proof.split_last() {
            assert_eq!(
                verify(leaf, index, size, truncated, root),
                Err(MerkleError::WrongProofLength {
                    got: proof.len() - 1,
                    want: proof.len()
                })
            );
        }
        for extra in [[0u8; 32], *root, *leaf] {
            let mut extended = proof.to_vec();
            extended.push(extra);
            assert!(matches!(
                verify(leaf, index, size, &extended, root),
                Err(MerkleError::WrongProofLength { .. })
            ));
            let mut prepended = vec![extra];
            prepended.extend_from_slice(proof);
            assert!(verify(leaf, index, size, &prepended, root).is_err());
        }
        for wrong_index in [index.wrapping_sub(1), index + 1, index ^ 2, size, u64::MAX] {
            assert!(
                verify(leaf, wrong_index, size, proof, root).is_err(),
                "index {wrong_index}"
            );
        }
        // The size probes of transparency-dev/merkle's verify_test.go. Not n ± 1: a proof for
        // size n can have the same shape under a neighbouring size and then still chain to
        // root(n). That is harmless, as callers take (size, root) from one signed checkpoint.
        for wrong_size in [size * 2, size / 2, 0, u64::MAX] {
            if wrong_size != size {
                assert!(
                    verify(leaf, index, wrong_size, proof, root).is_err(),
                    "size {wrong_size}"
                );
            }
        }
        let wrong_leaf = leaf_hash(b"WrongLeaf");
        assert!(matches!(
            verify(&wrong_leaf, index, size, proof, root),
            Err(MerkleError::RootMismatch { .. })
        ));
        for wrong_root in [empty_root(), [0xab; 32], *leaf] {
            if wrong_root != *root {
                assert_eq!(
                    verify(leaf, index, size, proof, &wrong_root),
                    Err(MerkleError::RootMismatch {
                        expected: wrong_root,
                        computed: *root
                    })
                );
            }
        }
    }

    fn check_consistency_rejections(
        old_size: u64,
        new_size: u64,
        proof: &[Hash],
        old_root: &Hash,
        new_root: &Hash,
    ) {
        let verify = verify_consistency;
        assert_eq!(
            verify(old_size, new_size, proof, old_root, new_root),
            Ok(())
        );
        for i in 0..proof.len() {
            for bit in 0..256 {
                let bad = flip_bit(proof, i, bit);
                assert!(
                    verify(old_size, new_size, &bad, old_root, new_root).is_err(),
                    "bit {bit} of proof[{i}] flipped still verifies ({old_size}, {new_size})"
                );
            }
        }
        if let Some((_, truncated)) = proof.split_last() {
            assert!(matches!(
                verify(old_size, new_size, truncated, old_root, new_root),
                Err(MerkleError::WrongProofLength { .. })
            ));
            assert!(matches!(
                verify(old_size, new_size, &[], old_root, new_root),
                Err(MerkleError::WrongProofLength { got: 0, .. })
            ));
        }
        for extra in [[0u8; 32], *old_root, *new_root] {
            let mut extended = proof.to_vec();
            extended.push(extra);
            assert!(matches!(
                verify(old_size, new_size, &extended, old_root, new_root),
                Err(MerkleError::WrongProofLength { .. })
            ));
            let mut prepended = vec![extra];
            prepended.extend_from_slice(proof);
            assert!(verify(old_size, new_size, &prepended, old_root, new_root).is_err());
        }
        for wrong_old in [
            old_size.wrapping_sub(1),
            old_size + 1,
            old_size ^ 2,
            u64::MAX,
        ] {
            if wrong_old != old_size {
                assert!(
                    verify(wrong_old, new_size, proof, old_root, new_root).is_err(),
                    "old size {wrong_old}"
                );
            }
        }
        // As for inclusion, new_size ± 1 is deliberately not probed.
        for wrong_new in [new_size * 2, new_size / 2, u64::MAX] {
            if wrong_new != new_size {
                assert!(
                    verify(old_size, wrong_new, proof, old_root, new_root).is_err(),
                    "new size {wrong_new}"
                );
            }
        }
        let wrong = [0xab; 32];
        assert!(verify(old_size, new_size, proof, &wrong, new_root).is_err());
        assert!(verify(old_size, new_size, proof, old_root, &wrong).is_err());
        if old_root != new_root {
            assert!(verify(old_size, new_size, proof, new_root, old_root).is_err());
        }
    }

    #[test]
    fn hash_primitives_match_rfc6962() {
        let v = vectors();
        assert_eq!(empty_root(), h(&v.roots_hex[0]));
        assert_eq!(leaf_hash(b""), h(&v.roots_hex[1]));
        let nodes = &v.node_hashes_hex;
        assert_eq!(
            node_hash(&h(&nodes[0][0]), &h(&nodes[0][1])),
            h(&nodes[1][0])
        );
        // Domain separation: a leaf never collides with a node over the same bytes.
        let (a, b) = (h(&nodes[0][0]), h(&nodes[0][1]));
        assert_ne!(leaf_hash(&[a, b].concat()), node_hash(&a, &b));
    }

    #[test]
    fn vector_file_names_its_source() {
        let v = vectors();
        let source = v.source.to_string();
        assert!(source.contains("transparency-dev/merkle"));
        assert!(source.contains("Apache-2.0"));
        assert_eq!(v.leaf_inputs_hex.len(), 8);
        assert_eq!(v.roots_hex.len(), 9);
    }

    #[test]
    fn known_roots_for_sizes_0_to_8() {
        let v = vectors();
        let leaves = golden_leaves(&v);
        let mut full = tree_from(&leaves);
        let mut range = CompactRange::new(0);
        let mut tree = MemoryTree::new();
        for (size, want) in v.roots_hex.iter().enumerate() {
            let want = h(want);
            if size > 0 {
                range.append_leaf(leaves[size - 1]);
                tree.push(leaves[size - 1]);
            }
            assert_eq!(range.root(), Ok(want), "compact range, size {size}");
            assert_eq!(tree.root(), want, "memory tree, size {size}");
            assert_eq!(
                root_at(size as u64, &mut full),
                Ok(want),
                "root_at, size {size}"
            );
            assert_eq!(ref_mth(&leaves[..size]), want, "reference, size {size}");
        }
    }

    #[test]
    fn known_perfect_node_hashes() {
        let v = vectors();
        let leaves = golden_leaves(&v);
        let mut tree = tree_from(&leaves);
        let mut emitted = Vec::new();
        let mut range = CompactRange::new(0);
        for leaf in &leaves {
            emitted.extend(range.append_leaf(*leaf));
        }
        let mut want = Vec::new();
        for (level, row) in v.node_hashes_hex.iter().enumerate() {
            for (index, hash) in row.iter().enumerate() {
                let (level, index, hash) = (level as u8, index as u64, h(hash));
                assert_eq!(tree.node(level, index), Ok(hash));
                want.push((level, index, hash));
            }
        }
        emitted.sort();
        want.sort();
        assert_eq!(emitted, want, "every perfect node is emitted exactly once");
    }

    #[test]
    fn known_inclusion_proofs_are_generated_and_verify() {
        let v = vectors();
        let leaves = golden_leaves(&v);
        let mut tree = tree_from(&leaves);
        assert_eq!(v.inclusion_proofs.len(), 5);
        for vector in &v.inclusion_proofs {
            let want = hs(&vector.proof_hex);
            let (index, size) = (vector.index, vector.size);
            assert_eq!(inclusion_proof(index, size, &mut tree), Ok(want.clone()));
            let root = h(&v.roots_hex[size as usize]);
            check_inclusion_rejections(&leaves[index as usize], index, size, &want, &root);
        }
    }

    #[test]
    fn known_consistency_proofs_are_generated_and_verify() {
        let v = vectors();
        let leaves = golden_leaves(&v);
        let mut tree = tree_from(&leaves);
        assert_eq!(v.consistency_proofs.len(), 5);
        for vector in &v.consistency_proofs {
            let want = hs(&vector.proof_hex);
            let (old, new) = (vector.old_size, vector.new_size);
            assert_eq!(consistency_proof(old, new, &mut tree), Ok(want.clone()));
            let old_root = h(&v.roots_hex[old as usize]);
            let new_root = h(&v.roots_hex[new as usize]);
            if want.is_empty() {
                assert_eq!(
                    verify_consistency(old, new, &want, &old_root, &new_root),
                    Ok(())
                );
                assert!(verify_consistency(old, new, &[old_root], &old_root, &new_root).is_err());
                assert!(verify_consistency(old, new, &want, &old_root, &[0xab; 32]).is_err());
            } else {
                check_consistency_rejections(old, new, &want, &old_root, &new_root);
            }
        }
    }

    /// Node-level expectations from transparency-dev/merkle proof/proof_test.go, where the
    /// 7-leaf tree has a ragged right edge that must be hashed from two nodes.
    #[test]
    fn ragged_siblings_match_reference_node_layout() {
        let v = vectors();
        let mut tree = tree_from(&golden_leaves(&v));
        let mut n = |level: u8, index: u64| tree.node(level, index).unwrap();
        let (a, b, c, d, e, f, j) = (
            n(0, 0),
            n(0, 1),
            n(0, 2),
            n(0, 3),
            n(0, 4),
            n(0, 5),
            n(0, 6),
        );
        let (g, hh, i, k) = (n(1, 0), n(1, 1), n(1, 2), n(2, 0));
        let l = node_hash(&i, &j);
        let mut tree = tree_from(&golden_leaves(&v));
        let t = &mut tree;
        assert_eq!(inclusion_proof(0, 7, t), Ok(vec![b, hh, l]));
        assert_eq!(inclusion_proof(1, 7, t), Ok(vec![a, hh, l]));
        assert_eq!(inclusion_proof(4, 7, t), Ok(vec![f, j, k]));
        assert_eq!(inclusion_proof(6, 7, t), Ok(vec![i, k]));
        assert_eq!(consistency_proof(5, 7, t), Ok(vec![e, f, j, k]));
        assert_eq!(consistency_proof(3, 7, t), Ok(vec![c, d, g, l]));
        assert_eq!(consistency_proof(4, 7, t), Ok(vec![l]));
        assert_eq!(consistency_proof(6, 7, t), Ok(vec![i, j, k]));
    }

    #[test]
    fn proof_generation_rejects_bad_requests() {
        let mut tree = tree_from(&synthetic_leaves(8));
        for (index, size) in [(0, 0), (1, 0), (2, 1), (8, 8), (9, 8)] {
            assert_eq!(
                inclusion_proof(index, size, &mut tree),
                Err(ProofError::Merkle(MerkleError::IndexOutOfRange {
                    index,
                    size
                }))
            );
        }
        assert_eq!(
            consistency_proof(9, 8, &mut tree),
            Err(ProofError::Merkle(MerkleError::SizeOrder {
                old_size: 9,
                new_size: 8
            }))
        );
        assert_eq!(consistency_proof(0, 5, &mut tree), Ok(vec![]));
        assert_eq!(consistency_proof(0, 0, &mut tree), Ok(vec![]));
        assert_eq!(consistency_proof(8, 8, &mut tree), Ok(vec![]));
        // Asking for a tree larger than the store holds surfaces the store's error.
        assert!(matches!(
            inclusion_proof(0, 9, &mut tree),
            Err(ProofError::Source(MerkleError::NodeOutOfRange { .. }))
        ));
        assert!(matches!(
            consistency_proof(3, 10, &mut tree),
            Err(ProofError::Source(MerkleError::NodeOutOfRange { .. }))
        ));
        assert_eq!(
            tree.node(3, 1),
            Err(MerkleError::NodeOutOfRange {
                level: 3,
                index: 1,
                size: 8
            })
        );
        assert!(tree.node(200, 0).is_err());
        assert!(tree.node(0, u64::MAX).is_err());
    }

    #[test]
    fn verification_edge_cases() {
        let some = [0xab; 32];
        let empty = empty_root();
        let leaf = leaf_hash(b"data");
        // A one-leaf tree's root is its leaf hash and its proof is empty.
        assert_eq!(verify_inclusion(&leaf, 0, 1, &[], &leaf), Ok(()));
        assert!(verify_inclusion(&leaf, 0, 1, &[], &some).is_err());
        for (index, size) in [(0, 0), (1, 0), (1, 1), (2, 1)] {
            assert_eq!(
                verify_inclusion(&some, index, size, &[], &empty),
                Err(MerkleError::IndexOutOfRange { index, size })
            );
        }

        assert_eq!(verify_consistency(0, 0, &[], &empty, &empty), Ok(()));
        assert_eq!(verify_consistency(0, 1, &[], &empty, &some), Ok(()));
        assert_eq!(verify_consistency(1, 1, &[], &some, &some), Ok(()));
        assert_eq!(
            verify_consistency(1, 0, &[], &some, &some),
            Err(MerkleError::SizeOrder {
                old_size: 1,
                new_size: 0
            })
        );
        assert!(verify_consistency(2, 1, &[], &some, &some).is_err());
        assert!(matches!(
            verify_consistency(1, 2, &[], &some, &empty),
            Err(MerkleError::WrongProofLength { got: 0, want: 1 })
        ));
        assert!(matches!(
            verify_consistency(1, 1, &[], &empty, &some),
            Err(MerkleError::RootMismatch { .. })
        ));
        assert!(verify_consistency(0, 0, &[], &empty, &some).is_err());
        for (old, new) in [(0, 0), (0, 1), (1, 1)] {
            assert!(matches!(
                verify_consistency(old, new, &[empty], &empty, &empty),
                Err(MerkleError::WrongProofLength { got: 1, want: 0 })
            ));
        }
        // Stricter than the Go verifier: an empty old tree must carry the empty root.
        assert!(matches!(
            verify_consistency(0, 1, &[], &some, &some),
            Err(MerkleError::OldRootMismatch { .. })
        ));
        // Huge sizes must not overflow or panic.
        assert!(verify_inclusion(&leaf, u64::MAX - 1, u64::MAX, &[], &leaf).is_err());
        assert!(verify_consistency(u64::MAX - 1, u64::MAX, &[some], &some, &some).is_err());
        assert!(verify_consistency(1, u64::MAX, &[], &some, &some).is_err());
    }

    #[test]
    fn compact_range_append_node_rules() {
        let leaves = synthetic_leaves(8);
        let mut tree = tree_from(&leaves);
        let n = |t: &mut MemoryTree, level, index| t.node(level, index).unwrap();

        let mut range = CompactRange::new(0);
        let pair = n(&mut tree, 1, 0);
        assert_eq!(range.append_node(1, pair), Ok(vec![(1, 0, pair)]));
        assert_eq!(
            range.append_node(2, pair),
            Err(MerkleError::UnalignedNode {
                level: 2,
                position: 2
            })
        );
        let next = n(&mut tree, 1, 1);
        let four = n(&mut tree, 2, 0);
        assert_eq!(
            range.append_node(1, next),
            Ok(vec![(1, 1, next), (2, 0, four)])
        );
        let upper = n(&mut tree, 2, 1);
        let eight = n(&mut tree, 3, 0);
        assert_eq!(
            range.append_node(2, upper),
            Ok(vec![(2, 1, upper), (3, 0, eight)])
        );
        assert_eq!(range.end(), 8);
        assert_eq!(range.root(), Ok(tree.root()));
        assert_eq!(range.nodes(), &[(3, eight)]);

        assert_eq!(
            CompactRange::new(0).append_node(64, pair),
            Err(MerkleError::LevelTooLarge { level: 64 })
        );
        assert_eq!(
            CompactRange::new(u64::MAX - 1).append_node(1, pair),
            Err(MerkleError::SizeOverflow)
        );
        let mut half = CompactRange::new(0);
        assert_eq!(half.append_node(63, pair), Ok(vec![(63, 0, pair)]));
        assert_eq!(half.end(), 1 << 63);
        // [2^63, 2^64) would end past the largest representable size.
        assert_eq!(half.append_node(63, pair), Err(MerkleError::SizeOverflow));

        let mut offset = CompactRange::new(4);
        offset.append_leaf(leaves[4]);
        assert_eq!(offset.begin(), 4);
        assert_eq!(
            offset.root(),
            Err(MerkleError::RangeNotFromZero { begin: 4 })
        );
        assert_eq!(CompactRange::new(0).root(), Ok(empty_root()));
    }

    #[test]
    fn decompose_examples() {
        assert_eq!(decompose(0, 0), vec![]);
        assert_eq!(decompose(5, 5), vec![]);
        assert_eq!(decompose(6, 5), vec![]);
        assert_eq!(decompose(0, 7), vec![(2, 0), (1, 2), (0, 6)]);
        assert_eq!(decompose(1, 7), vec![(0, 1), (1, 1), (1, 2), (0, 6)]);
        assert_eq!(decompose(0, 8), vec![(3, 0)]);
        assert_eq!(decompose(3, 13), vec![(0, 3), (2, 1), (2, 2), (0, 12)]);
        assert_eq!(decompose(0, u64::MAX).len(), 64);
        assert_eq!(decompose(u64::MAX - 1, u64::MAX), vec![(0, u64::MAX - 1)]);
    }

    /// Every perfect node that the leaf at `i` completes: the ones ending right after it.
    fn completed_by(i: u64) -> Vec<(u8, u64)> {
        (0..=(i + 1).trailing_zeros() as u8)
            .map(|level| (level, i >> level))
            .collect()
    }

    #[test]
    fn exhaustive_small_trees() {
        let leaves = synthetic_leaves(64);
        for n in 1..=64u64 {
            let prefix = &leaves[..n as usize];
            let mut tree = tree_from(prefix);
            let root = tree.root();
            assert_eq!(tree.len(), n);
            assert_eq!(root, ref_mth(prefix));
            assert_eq!(root_at(n, &mut tree), Ok(root));

            let mut range = CompactRange::new(0);
            for (i, leaf) in prefix.iter().enumerate() {
                let emitted = range.append_leaf(*leaf);
                let positions: Vec<_> = emitted.iter().map(|&(l, x, _)| (l, x)).collect();
                assert_eq!(positions, completed_by(i as u64), "append_leaf({i})");
                for (level, index, hash) in emitted {
                    assert_eq!(tree.node(level, index), Ok(hash));
                }
            }
            assert_eq!(range.end(), n);
            assert_eq!(range.root(), Ok(root), "compact root, size {n}");
            assert_eq!(CompactRange::from_source(n, &mut tree).as_ref(), Ok(&range));
            let levels: Vec<_> = decompose(0, n).into_iter().map(|(l, _)| l).collect();
            let range_levels: Vec<_> = range.nodes().iter().map(|&(l, _)| l).collect();
            assert_eq!(range_levels, levels);

            for index in 0..n {
                let proof = inclusion_proof(index, n, &mut tree).unwrap();
                assert_eq!(
                    proof,
                    ref_path(index as usize, prefix),
                    "PATH({index}, {n})"
                );
                let leaf = &prefix[index as usize];
                assert_eq!(verify_inclusion(leaf, index, n, &proof, &root), Ok(()));
                for i in 0..proof.len() {
                    let bad = flip_bit(&proof, i, (index as usize + i) % 256);
                    assert!(verify_inclusion(leaf, index, n, &bad, &root).is_err());
                }
            }
            for old in 0..=n {
                let proof = consistency_proof(old, n, &mut tree).unwrap();
                assert_eq!(
                    proof,
                    ref_consistency(old as usize, prefix),
                    "PROOF({old}, {n})"
                );
                let old_root = ref_mth(&prefix[..old as usize]);
                assert_eq!(
                    verify_consistency(old, n, &proof, &old_root, &root),
                    Ok(()),
                    "PROOF({old}, {n})"
                );
                for i in 0..proof.len() {
                    let bad = flip_bit(&proof, i, (old as usize + i) % 256);
                    assert!(verify_consistency(old, n, &bad, &old_root, &root).is_err());
                }
            }
        }
    }

    #[test]
    fn exhaustive_subranges() {
        let leaves = synthetic_leaves(64);
        let mut tree = tree_from(&leaves);
        for begin in 0..=64u64 {
            for end in begin..=64u64 {
                let cover = decompose(begin, end);
                let mut pos = begin;
                for &(level, index) in &cover {
                    assert_eq!(index << level, pos, "contiguous cover of [{begin}, {end})");
                    pos += 1 << level;
                    assert_eq!(
                        range_hash(index << level, pos, &mut tree),
                        tree.node(level, index)
                    );
                }
                assert_eq!(pos, end);
                let want = ref_mth(&leaves[begin as usize..end as usize]);
                assert_eq!(
                    range_hash(begin, end, &mut tree),
                    Ok(want),
                    "[{begin}, {end})"
                );

                let mut range = CompactRange::new(begin);
                for leaf in &leaves[begin as usize..end as usize] {
                    range.append_leaf(*leaf);
                }
                let got: Vec<_> = range.nodes().iter().map(|&(l, h)| (l, Some(h))).collect();
                let want: Vec<_> = cover
                    .iter()
                    .map(|&(l, x)| (l, tree.node(l, x).ok()))
                    .collect();
                assert_eq!(got, want, "compact range [{begin}, {end})");
            }
        }
    }

    /// Answers any node with a made-up hash and counts the reads.
    struct CountingSource {
        reads: u64,
    }

    impl NodeSource for CountingSource {
        type Error = std::convert::Infallible;

        fn node(&mut self, level: u8, index: u64) -> Result<Hash, Self::Error> {
            self.reads += 1;
            Ok(leaf_hash(&[&[level][..], &index.to_be_bytes()].concat()))
        }
    }

    #[test]
    fn proofs_read_logarithmically_many_nodes() {
        let size: u64 = 1_000_000;
        let log2 = 64 - (size - 1).leading_zeros() as u64; // ceil(log2(n)) = 20
        let bound = 2 * log2 + 2;
        let mut source = CountingSource { reads: 0 };
        let mut x: u64 = 12345;
        let mut indices = vec![0, 1, size / 2, size - 2, size - 1, 524_287, 524_288];
        for _ in 0..500 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            indices.push(x % size);
        }
        for index in indices {
            source.reads = 0;
            let proof = inclusion_proof(index, size, &mut source).unwrap();
            assert!(proof.len() as u64 <= log2);
            assert!(
                source.reads <= bound,
                "index {index}: {} reads",
                source.reads
            );
            if index < size - 1 {
                source.reads = 0;
                consistency_proof(index + 1, size, &mut source).unwrap();
                assert!(
                    source.reads <= bound,
                    "old size {}: {} reads",
                    index + 1,
                    source.reads
                );
            }
        }
        source.reads = 0;
        CompactRange::from_source(size, &mut source).unwrap();
        assert_eq!(source.reads, u64::from(size.count_ones()));
    }

    #[test]
    fn errors_read_clearly() {
        let e = MerkleError::RootMismatch {
            expected: [0; 32],
            computed: [0xff; 32],
        };
        let text = e.to_string();
        assert!(
            text.contains(&"ff".repeat(32)) && text.contains(&"00".repeat(32)),
            "{text}"
        );
        let p: ProofError<MerkleError> = MerkleError::SizeOverflow.into();
        assert_eq!(p.to_string(), MerkleError::SizeOverflow.to_string());
    }
}
