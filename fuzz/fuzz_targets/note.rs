//! Signed notes and checkpoints (domain/src/note.rs). The first byte picks what the rest is:
//!
//! * 0: a signed note, verified against known keys (a Go test vector key, the example key of
//!   docs/ledger.md, and this target's own key). Never panics; a verified text is a prefix of
//!   the note, and if it is a checkpoint body it parses and re-encodes to the same text.
//! * 1: a verifier key: parsing never panics; one that parses names a valid key.
//! * 2: a checkpoint body: parsing never panics, and what parses re-encodes byte for byte.
//! * 3: a note text: if signing accepts it, the signed note verifies back to it, does not
//!   verify under another key, and stops verifying when one byte of the text is changed (the
//!   byte position and mask are the first two bytes of the text's input).
#![no_main]

use ed25519_dalek::SigningKey;
use fieldtrail_domain::note::{key_id, Checkpoint, NoteSigner, NoteVerifier};
use libfuzzer_sys::fuzz_target;

const GO_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const DOC_VKEY: &str =
    "fieldtrail.local/e41f4a8d+9e715797+Ab2bxdUKlhqBfJ5f9ibMXYkABhBwHd07fRBreuXHRks3";

fn own_signer(name: &str, seed: u8) -> NoteSigner {
    NoteSigner::new(name, SigningKey::from_bytes(&[seed; 32])).expect("a valid name")
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 4 {
        0 => {
            let Ok(note) = std::str::from_utf8(rest) else {
                return;
            };
            let ours = own_signer("fuzz.example/log", 7).verifier();
            for verifier in [
                NoteVerifier::parse(GO_VKEY).expect("Go vector key"),
                NoteVerifier::parse(DOC_VKEY).expect("docs/ledger.md key"),
                ours,
            ] {
                if let Ok(text) = verifier.verify(note) {
                    assert!(
                        note.starts_with(text),
                        "verified text is not the note's start"
                    );
                    assert!(text.ends_with('\n'));
                    if let Ok(checkpoint) = Checkpoint::parse(text) {
                        assert_eq!(checkpoint.to_text(), text);
                    }
                }
            }
        }
        1 => {
            let Ok(vkey) = std::str::from_utf8(rest) else {
                return;
            };
            if let Ok(verifier) = NoteVerifier::parse(vkey) {
                assert!(!verifier.name().is_empty());
                assert!(vkey.starts_with(&format!(
                    "{}+{:08x}+",
                    verifier.name(),
                    verifier.key_id()
                )));
            }
        }
        2 => {
            let Ok(text) = std::str::from_utf8(rest) else {
                return;
            };
            if let Ok(checkpoint) = Checkpoint::parse(text) {
                assert_eq!(
                    checkpoint.to_text(),
                    text,
                    "checkpoint is not re-encoded as read"
                );
                assert_eq!(Checkpoint::parse(&checkpoint.to_text()), Ok(checkpoint));
            }
        }
        _ => {
            let (pos, mask, text) = match rest {
                [a, b, c, text @ ..] => (usize::from(u16::from_le_bytes([*a, *b])), *c, text),
                _ => return,
            };
            let Ok(text) = std::str::from_utf8(text) else {
                return;
            };
            let signer = own_signer("fuzz.example/log", 7);
            let Ok(signed) = signer.sign(text) else {
                return;
            };
            let verifier = signer.verifier();
            assert_eq!(
                verifier.verify(&signed),
                Ok(text),
                "own signature does not verify"
            );
            assert_eq!(
                verifier.key_id(),
                key_id(
                    "fuzz.example/log",
                    SigningKey::from_bytes(&[7; 32]).verifying_key().as_bytes()
                )
            );
            let other = own_signer("fuzz.example/log", 8).verifier();
            assert!(other.verify(&signed).is_err(), "verified under another key");
            let mut changed = signed.clone().into_bytes();
            let at = pos % text.len();
            changed[at] ^= if mask == 0 { 1 } else { mask };
            if let Ok(changed) = String::from_utf8(changed) {
                if let Ok(verified) = verifier.verify(&changed) {
                    panic!("a changed note verified: {changed:?} gave {verified:?}");
                }
            }
        }
    }
});
