//! Merkle proof verification (domain/src/merkle.rs).
//!
//! * `verify_inclusion` / `verify_consistency` with arbitrary hashes, indices and sizes (up to
//!   2^64 - 1) never panic.
//! * Over a real tree of up to 300 leaves, the proofs the module generates verify, and a proof
//!   (real or tampered with by the input) is accepted only for the leaf that really sits at
//!   that index, and a consistency proof only for the true old root.
#![no_main]

use fieldtrail_domain::merkle::{
    consistency_proof, empty_root, inclusion_proof, leaf_hash, root_at, verify_consistency,
    verify_inclusion, Hash, MemoryTree,
};
use fieldtrail_fuzz::Bytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut input = Bytes::new(data);
    if input.u8() % 2 == 0 {
        arbitrary_proofs(&mut input);
    } else {
        real_tree(&mut input);
    }
});

fn arbitrary_proofs(input: &mut Bytes<'_>) {
    let (a, b) = (input.u64(), input.u64());
    let leaf: Hash = input.array();
    let root: Hash = input.array();
    let other: Hash = input.array();
    let count = usize::from(input.u8() % 80);
    let proof: Vec<Hash> = (0..count).map(|_| input.array()).collect();
    let _ = verify_inclusion(&leaf, a, b, &proof, &root);
    let _ = verify_consistency(a, b, &proof, &root, &other);
    let _ = verify_consistency(a, b, &proof, &empty_root(), &root);
    // A leaf alone is the root of a one-leaf tree, and of nothing else.
    if verify_inclusion(&leaf, 0, 1, &[], &root).is_ok() {
        assert_eq!(leaf, root);
    }
}

fn real_tree(input: &mut Bytes<'_>) {
    let size = u64::from(input.u16() % 300) + 1;
    let mut tree = MemoryTree::new();
    let mut leaves = Vec::new();
    for i in 0..size {
        let leaf = leaf_hash(&i.to_be_bytes());
        tree.push(leaf);
        leaves.push(leaf);
    }
    if size <= 16 {
        let whole = tree.root();
        assert_eq!(root_of(&mut tree, size), whole);
    }

    // Inclusion.
    let index = input.u64() % size;
    let at = input.u64() % size + 1; // the tree size the proof is for
    let index = index % at;
    let mut proof = inclusion_proof(index, at, &mut tree).expect("index < size");
    let root = root_of(&mut tree, at);
    assert_eq!(
        verify_inclusion(&leaves[index as usize], index, at, &proof, &root),
        Ok(())
    );
    tamper(input, &mut proof);
    let claimed_index = match input.u8() % 3 {
        0 => index,
        1 => input.u64() % at,
        _ => input.u64(),
    };
    let claimed_leaf = match input.u8() % 3 {
        0 => leaves[index as usize],
        1 => leaves[(input.u64() % size) as usize],
        _ => input.array(),
    };
    if verify_inclusion(&claimed_leaf, claimed_index, at, &proof, &root).is_ok() {
        assert!(claimed_index < at);
        assert_eq!(
            claimed_leaf, leaves[claimed_index as usize],
            "accepted leaf is not the one at index {claimed_index} of {at}"
        );
    }

    // Consistency.
    let new_size = input.u64() % size + 1;
    let old_size = input.u64() % (new_size + 1);
    let mut proof = consistency_proof(old_size, new_size, &mut tree).expect("old <= new");
    let (old_root, new_root) = (root_of(&mut tree, old_size), root_of(&mut tree, new_size));
    assert_eq!(
        verify_consistency(old_size, new_size, &proof, &old_root, &new_root),
        Ok(())
    );
    tamper(input, &mut proof);
    let claimed_old_size = match input.u8() % 3 {
        0 => old_size,
        1 => input.u64() % (new_size + 1),
        _ => input.u64(),
    };
    let claimed_old_root = match input.u8() % 3 {
        0 => old_root,
        1 => root_of(&mut tree, input.u64() % (size + 1)),
        _ => input.array(),
    };
    if verify_consistency(
        claimed_old_size,
        new_size,
        &proof,
        &claimed_old_root,
        &new_root,
    )
    .is_ok()
    {
        assert!(claimed_old_size <= new_size);
        assert_eq!(
            claimed_old_root,
            root_of(&mut tree, claimed_old_size),
            "accepted a wrong root for size {claimed_old_size} against size {new_size}"
        );
    }
}

/// RFC 6962 root of the first `n` leaves (the tree checked against the definition elsewhere).
fn root_of(tree: &mut MemoryTree, n: u64) -> Hash {
    root_at(n, tree).expect("every prefix has a root")
}

/// Changes the proof as the input says: flip bytes, drop, duplicate or swap hashes.
fn tamper(input: &mut Bytes<'_>, proof: &mut Vec<Hash>) {
    let edits = input.u8() % 4;
    for _ in 0..edits {
        let op = input.u8();
        let at = usize::from(input.u8());
        match op % 4 {
            0 if !proof.is_empty() => {
                let i = at % proof.len();
                proof[i][usize::from(op) % 32] ^= input.u8() | 1;
            }
            1 if !proof.is_empty() => {
                proof.remove(at % proof.len());
            }
            2 if !proof.is_empty() => {
                let h = proof[at % proof.len()];
                proof.insert(at % (proof.len() + 1), h);
            }
            3 if proof.len() >= 2 => {
                let i = at % proof.len();
                let j = (i + 1) % proof.len();
                proof.swap(i, j);
            }
            _ => {}
        }
    }
}
