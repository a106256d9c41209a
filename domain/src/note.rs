//! C2SP signed notes (<https://c2sp.org/signed-note>, as `golang.org/x/mod/sumdb/note`) with
//! Ed25519 keys, and the C2SP tlog-checkpoint body they carry for the ledger's tree heads.
//!
//! Kept byte-compatible with the Go implementation so that stock tlog tooling (witnesses,
//! monitors) can verify fieldtrail checkpoints without knowing anything about fieldtrail.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

/// Signature type byte for Ed25519 in key ids and verifier keys.
const ALG_ED25519: u8 = 0x01;
/// Em dash and space that open every signature line.
const SIG_PREFIX: &str = "\u{2014} ";
/// Same cap as the Go implementation: parsing stays cheap on hostile input.
const MAX_SIGNATURES: usize = 100;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NoteError {
    #[error("invalid key name {0:?}: it must be non-empty, without whitespace or '+'")]
    InvalidName(String),
    #[error("malformed verifier key: {0}")]
    MalformedVerifierKey(&'static str),
    #[error("verifier key says key id {declared:08x}, but its name and key give {computed:08x}")]
    VerifierKeyIdMismatch { declared: u32, computed: u32 },
    #[error("unsupported signature algorithm {0:#04x}: only 0x01 (Ed25519) is supported")]
    UnsupportedAlgorithm(u8),
    #[error("public key is not a valid Ed25519 point")]
    InvalidPublicKey,
    #[error("note text is empty")]
    EmptyText,
    #[error("note text must end with a newline")]
    TextMissingNewline,
    #[error("note contains a control character other than newline")]
    ControlCharacter,
    #[error("signed note must end with a newline")]
    MissingFinalNewline,
    #[error("note has no signature lines after a blank line")]
    NoSignatures,
    #[error("signature line {line} is malformed: {reason}")]
    MalformedSignatureLine { line: usize, reason: &'static str },
    #[error("note has more than {MAX_SIGNATURES} signature lines")]
    TooManySignatures,
    #[error("note has no signature by key {name}+{key_id:08x}")]
    NoSignatureByKey { name: String, key_id: u32 },
    #[error("note is signed by {name} with key id {found:08x}, not the expected {expected:08x}")]
    KeyIdMismatch {
        name: String,
        expected: u32,
        found: u32,
    },
    #[error("signature by key {name}+{key_id:08x} does not verify")]
    InvalidSignature { name: String, key_id: u32 },
    #[error("checkpoint must end with a newline")]
    CheckpointMissingNewline,
    #[error("checkpoint needs origin, tree size and root hash lines")]
    CheckpointMissingLines,
    #[error("checkpoint extension lines are not supported")]
    CheckpointExtensionLines,
    #[error("checkpoint origin is empty")]
    CheckpointEmptyOrigin,
    #[error("checkpoint tree size {0:?} is not a decimal number without leading zeros")]
    CheckpointInvalidSize(String),
    #[error("checkpoint root hash is not standard base64")]
    CheckpointInvalidRootEncoding,
    #[error("checkpoint root hash is {0} bytes, expected 32")]
    CheckpointRootLength(usize),
}

/// Signed-note key id: the first 4 bytes (big-endian) of SHA-256(name ‖ "\n" ‖ 0x01 ‖ key).
pub fn key_id(name: &str, public_key: &[u8; 32]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([ALG_ED25519]);
    h.update(public_key);
    let digest = h.finalize();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

fn check_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty() || name.contains(char::is_whitespace) || name.contains('+') {
        return Err(NoteError::InvalidName(name.to_owned()));
    }
    Ok(())
}

/// The Go implementation rejects such notes on open, so signing one would produce an
/// unverifiable artefact.
fn check_characters(s: &str) -> Result<(), NoteError> {
    if s.chars().any(|c| c < '\u{20}' && c != '\n') {
        return Err(NoteError::ControlCharacter);
    }
    Ok(())
}

/// Signs note texts under a key name.
#[derive(Clone)]
pub struct NoteSigner {
    name: String,
    key: SigningKey,
}

impl std::fmt::Debug for NoteSigner {
    // Keeps key material out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NoteSigner")
            .field("name", &self.name)
            .field("key_id", &format_args!("{:08x}", self.key_id()))
            .finish_non_exhaustive()
    }
}

impl NoteSigner {
    pub fn new(name: &str, key: SigningKey) -> Result<Self, NoteError> {
        check_name(name)?;
        Ok(Self {
            name: name.to_owned(),
            key,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_id(&self) -> u32 {
        key_id(&self.name, self.key.verifying_key().as_bytes())
    }

    /// `<name>+<8 hex key id>+<base64(0x01 ‖ public key)>`.
    pub fn verifier_key(&self) -> String {
        let mut encoded = Vec::with_capacity(33);
        encoded.push(ALG_ED25519);
        encoded.extend_from_slice(self.key.verifying_key().as_bytes());
        format!(
            "{}+{:08x}+{}",
            self.name,
            self.key_id(),
            STANDARD.encode(encoded)
        )
    }

    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier {
            name: self.name.clone(),
            key_id: self.key_id(),
            key: self.key.verifying_key(),
        }
    }

    /// Returns the whole signed note: `text`, a blank line, and one signature line.
    pub fn sign(&self, text: &str) -> Result<String, NoteError> {
        if text.is_empty() {
            return Err(NoteError::EmptyText);
        }
        if !text.ends_with('\n') {
            return Err(NoteError::TextMissingNewline);
        }
        check_characters(text)?;
        let signature = self.key.sign(text.as_bytes());
        let mut blob = Vec::with_capacity(4 + Signature::BYTE_SIZE);
        blob.extend_from_slice(&self.key_id().to_be_bytes());
        blob.extend_from_slice(&signature.to_bytes());
        Ok(format!(
            "{text}\n{SIG_PREFIX}{} {}\n",
            self.name,
            STANDARD.encode(blob)
        ))
    }
}

/// Verifies signed notes against one known key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    key_id: u32,
    key: VerifyingKey,
}

struct SignatureLine<'a> {
    name: &'a str,
    key_id: u32,
    signature: Vec<u8>,
}

impl NoteVerifier {
    /// Parses `<name>+<8 hex key id>+<base64(0x01 ‖ 32-byte Ed25519 public key)>`.
    pub fn parse(vkey: &str) -> Result<Self, NoteError> {
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(key_b64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(NoteError::MalformedVerifierKey(
                "expected <name>+<key id>+<key>",
            ));
        };
        check_name(name)?;
        if id_hex.len() != 8 || !id_hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(NoteError::MalformedVerifierKey(
                "key id must be 8 hex digits",
            ));
        }
        let declared = u32::from_str_radix(id_hex, 16)
            .map_err(|_| NoteError::MalformedVerifierKey("key id must be 8 hex digits"))?;
        let encoded = STANDARD
            .decode(key_b64)
            .map_err(|_| NoteError::MalformedVerifierKey("key is not standard base64"))?;
        let Some((&alg, raw)) = encoded.split_first() else {
            return Err(NoteError::MalformedVerifierKey("key is empty"));
        };
        if alg != ALG_ED25519 {
            return Err(NoteError::UnsupportedAlgorithm(alg));
        }
        let raw: &[u8; 32] = raw
            .try_into()
            .map_err(|_| NoteError::MalformedVerifierKey("Ed25519 public key must be 32 bytes"))?;
        let computed = key_id(name, raw);
        if computed != declared {
            return Err(NoteError::VerifierKeyIdMismatch { declared, computed });
        }
        let key = VerifyingKey::from_bytes(raw).map_err(|_| NoteError::InvalidPublicKey)?;
        Ok(Self {
            name: name.to_owned(),
            key_id: computed,
            key,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// Returns the text if a signature line by this key verifies; errors say which check
    /// failed. Signatures by other keys (witness cosignatures, rotated keys) are ignored.
    pub fn verify<'a>(&self, note: &'a str) -> Result<&'a str, NoteError> {
        check_characters(note)?;
        if !note.ends_with('\n') {
            return Err(NoteError::MissingFinalNewline);
        }
        // The text may itself contain blank lines; signatures follow the last one.
        let Some(split) = note.rfind("\n\n") else {
            return Err(NoteError::NoSignatures);
        };
        let (text, block) = (&note[..=split], &note[split + 2..]);
        if block.is_empty() {
            return Err(NoteError::NoSignatures);
        }
        let raw_lines: Vec<&str> = block
            .strip_suffix('\n')
            .unwrap_or(block)
            .split('\n')
            .collect();
        // Counted before decoding anything, so an oversized note costs no base64 work.
        if raw_lines.len() > MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures);
        }
        let lines = raw_lines
            .into_iter()
            .enumerate()
            .map(|(i, line)| parse_signature_line(i + 1, line))
            .collect::<Result<Vec<_>, _>>()?;

        let ours = lines
            .iter()
            .find(|l| l.name == self.name && l.key_id == self.key_id);
        let Some(line) = ours else {
            return Err(match lines.iter().find(|l| l.name == self.name) {
                Some(other) => NoteError::KeyIdMismatch {
                    name: self.name.clone(),
                    expected: self.key_id,
                    found: other.key_id,
                },
                None => NoteError::NoSignatureByKey {
                    name: self.name.clone(),
                    key_id: self.key_id,
                },
            });
        };
        let invalid = || NoteError::InvalidSignature {
            name: self.name.clone(),
            key_id: self.key_id,
        };
        let signature = Signature::from_slice(&line.signature).map_err(|_| invalid())?;
        // Strict verification also refuses malleable or small-order encodings, which an honest
        // signer never produces.
        self.key
            .verify_strict(text.as_bytes(), &signature)
            .map_err(|_| invalid())?;
        Ok(text)
    }
}

fn parse_signature_line(line_no: usize, line: &str) -> Result<SignatureLine<'_>, NoteError> {
    let malformed = |reason| NoteError::MalformedSignatureLine {
        line: line_no,
        reason,
    };
    let rest = line
        .strip_prefix(SIG_PREFIX)
        .ok_or(malformed("must start with an em dash and a space"))?;
    let (name, b64) = rest
        .split_once(' ')
        .ok_or(malformed("expected a key name and a signature"))?;
    if check_name(name).is_err() {
        return Err(malformed("invalid key name"));
    }
    let blob = STANDARD
        .decode(b64)
        .map_err(|_| malformed("signature is not standard base64"))?;
    match blob.split_first_chunk::<4>() {
        Some((id, signature)) if !signature.is_empty() => Ok(SignatureLine {
            name,
            key_id: u32::from_be_bytes(*id),
            signature: signature.to_vec(),
        }),
        _ => Err(malformed("signature is too short")),
    }
}

/// A C2SP tlog-checkpoint body: the tree head the log commits to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: [u8; 32],
}

impl Checkpoint {
    /// `<origin>\n<size>\n<base64 root>\n`, without extension lines. The origin must be a single
    /// non-empty line for the result to parse back.
    pub fn to_text(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root)
        )
    }

    /// Parses a checkpoint body, e.g. the text returned by [`NoteVerifier::verify`]. Extension
    /// lines are rejected: this type cannot carry them, and silently dropping signed content
    /// would make a re-encoded checkpoint differ from what was signed.
    pub fn parse(text: &str) -> Result<Self, NoteError> {
        let body = text
            .strip_suffix('\n')
            .ok_or(NoteError::CheckpointMissingNewline)?;
        let mut lines = body.split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next())
        else {
            return Err(NoteError::CheckpointMissingLines);
        };
        if lines.next().is_some() {
            return Err(NoteError::CheckpointExtensionLines);
        }
        if origin.is_empty() {
            return Err(NoteError::CheckpointEmptyOrigin);
        }
        let invalid_size = || NoteError::CheckpointInvalidSize(size.to_owned());
        if size.is_empty()
            || !size.bytes().all(|b| b.is_ascii_digit())
            || (size.len() > 1 && size.starts_with('0'))
        {
            return Err(invalid_size());
        }
        let size = size.parse::<u64>().map_err(|_| invalid_size())?;
        let root = STANDARD
            .decode(root)
            .map_err(|_| NoteError::CheckpointInvalidRootEncoding)?;
        let root = <[u8; 32]>::try_from(root.as_slice())
            .map_err(|_| NoteError::CheckpointRootLength(root.len()))?;
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Known-answer data from golang.org/x/mod/sumdb/note/note_test.go (repository golang/mod,
    // BSD-3-Clause): TestNewSigner, TestSign, TestVerifierList and TestOpen.
    const PETER_SKEY: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
    const TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                        then you don't know what your problem is.\n";
    const PETER_SIG: &str = concat!(
        "\u{2014} PeterNeumann ",
        "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuG",
        "UgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
    );
    const ENOCH_SIG: &str = concat!(
        "\u{2014} EnochRoot ",
        "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2t",
        "iOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n",
    );

    fn peter_signing_key() -> SigningKey {
        // Go's private key encoding: PRIVATE+KEY+<name>+<id>+base64(0x01 ‖ 32-byte seed).
        let b64 = PETER_SKEY.splitn(5, '+').nth(4).unwrap();
        let raw = STANDARD.decode(b64).unwrap();
        assert_eq!(raw[0], ALG_ED25519);
        SigningKey::from_bytes(&raw[1..].try_into().unwrap())
    }

    fn peter_signed() -> String {
        format!("{TEXT}\n{PETER_SIG}")
    }

    fn public_key(vkey: &str) -> [u8; 32] {
        let raw = STANDARD
            .decode(vkey.splitn(3, '+').nth(2).unwrap())
            .unwrap();
        raw[1..].try_into().unwrap()
    }

    fn test_signer(name: &str, seed: u8) -> NoteSigner {
        NoteSigner::new(name, SigningKey::from_bytes(&[seed; 32])).unwrap()
    }

    #[test]
    fn key_id_reproduces_go_vectors() {
        assert_eq!(key_id("PeterNeumann", &public_key(PETER_VKEY)), 0xc74f20a3);
        assert_eq!(key_id("EnochRoot", &public_key(ENOCH_VKEY)), 0xaf0cfe78);
    }

    #[test]
    fn signer_reproduces_go_signed_note() {
        let signer = NoteSigner::new("PeterNeumann", peter_signing_key()).unwrap();
        assert_eq!(signer.name(), "PeterNeumann");
        assert_eq!(signer.key_id(), 0xc74f20a3);
        assert_eq!(signer.verifier_key(), PETER_VKEY);
        // Ed25519 is deterministic, so the whole note must match byte for byte.
        assert_eq!(signer.sign(TEXT).unwrap(), peter_signed());
        assert_eq!(signer.verifier(), NoteVerifier::parse(PETER_VKEY).unwrap());
        let debug = format!("{signer:?}");
        assert!(
            debug.contains("c74f20a3") && !debug.contains("AYEKFALV"),
            "{debug}"
        );
    }

    #[test]
    fn verifier_accepts_go_notes() {
        let peter = NoteVerifier::parse(PETER_VKEY).unwrap();
        let enoch = NoteVerifier::parse(ENOCH_VKEY).unwrap();
        assert_eq!((peter.name(), peter.key_id()), ("PeterNeumann", 0xc74f20a3));
        assert_eq!((enoch.name(), enoch.key_id()), ("EnochRoot", 0xaf0cfe78));
        assert_eq!(peter.verify(&peter_signed()), Ok(TEXT));

        // A cosigned note verifies for each signer; the other signature is ignored.
        let both = format!("{TEXT}\n{PETER_SIG}{ENOCH_SIG}");
        assert_eq!(peter.verify(&both), Ok(TEXT));
        assert_eq!(enoch.verify(&both), Ok(TEXT));
        let only_enoch = format!("{TEXT}\n{ENOCH_SIG}");
        assert_eq!(
            peter.verify(&only_enoch),
            Err(NoteError::NoSignatureByKey {
                name: "PeterNeumann".into(),
                key_id: 0xc74f20a3
            })
        );
        // Repeated signature lines are tolerated, as in Go.
        let repeated = format!("{TEXT}\n{PETER_SIG}{PETER_SIG}{ENOCH_SIG}{ENOCH_SIG}");
        assert_eq!(peter.verify(&repeated), Ok(TEXT));
    }

    #[test]
    fn verifier_key_manglings_are_rejected() {
        let b = PETER_VKEY.as_bytes();
        for i in 0..=b.len() {
            for j in i + 1..=b.len() {
                if i == 0 && j == b.len() {
                    continue;
                }
                let sub = std::str::from_utf8(&b[i..j]).unwrap();
                assert!(NoteVerifier::parse(sub).is_err(), "{sub:?} accepted");
            }
        }
        for i in 0..b.len() {
            let mut m = b.to_vec();
            m[i] += 1;
            let m = String::from_utf8(m).unwrap();
            assert!(NoteVerifier::parse(&m).is_err(), "{m:?} accepted");
        }
        // Go's wrong-length key and unknown algorithm, each with a matching key id.
        assert!(matches!(
            NoteVerifier::parse(
                "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="
            ),
            Err(NoteError::MalformedVerifierKey(_))
        ));
        assert_eq!(
            NoteVerifier::parse(
                "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
            ),
            Err(NoteError::UnsupportedAlgorithm(0x65))
        );
        assert_eq!(
            NoteVerifier::parse(
                "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
            ),
            Err(NoteError::VerifierKeyIdMismatch {
                declared: 0xc74f20a4,
                computed: 0xc74f20a3
            })
        );
        assert_eq!(
            NoteVerifier::parse("Peter Neumann+c74f20a3+ARpc"),
            Err(NoteError::InvalidName("Peter Neumann".into()))
        );
        assert!(matches!(
            NoteVerifier::parse("PeterNeumann"),
            Err(NoteError::MalformedVerifierKey(_))
        ));
    }

    #[test]
    fn key_names_are_validated() {
        for bad in ["", "a b", "a+b", "tab\there", "nl\n", "nbsp\u{a0}"] {
            assert_eq!(
                NoteSigner::new(bad, SigningKey::from_bytes(&[1; 32])).map(|s| s.key_id()),
                Err(NoteError::InvalidName(bad.into()))
            );
        }
        assert!(NoteSigner::new(
            "fieldtrail.example/ledger",
            SigningKey::from_bytes(&[1; 32])
        )
        .is_ok());
    }

    #[test]
    fn sign_verify_round_trip() {
        let signer = test_signer("fieldtrail.example/ledger", 7);
        let verifier = NoteVerifier::parse(&signer.verifier_key()).unwrap();
        assert_eq!(verifier.key_id(), signer.key_id());
        let text = "fieldtrail.example/ledger\n3\nrNQ8WgEw2mOrfXYu3ANPZfulRJr5E8KlxZLs7AfhvXo=\n";
        let note = signer.sign(text).unwrap();
        assert!(note.starts_with(text));
        assert!(note[text.len()..].starts_with("\n\u{2014} fieldtrail.example/ledger "));
        assert_eq!(verifier.verify(&note), Ok(text));
        // Other signers' lines (e.g. witness cosignatures) before or after do not interfere.
        let witness = test_signer("witness.example", 9).sign(text).unwrap();
        let witness_line = &witness[text.len() + 1..];
        let cosigned = format!("{note}{witness_line}");
        assert_eq!(verifier.verify(&cosigned), Ok(text));
        let cosigned = format!("{text}\n{witness_line}{}", &note[text.len() + 1..]);
        assert_eq!(verifier.verify(&cosigned), Ok(text));
        // Text may contain blank lines of its own.
        let spaced = "a\n\nb\n";
        assert_eq!(verifier.verify(&signer.sign(spaced).unwrap()), Ok(spaced));
    }

    #[test]
    fn tampering_is_detected() {
        let signer = test_signer("log.example", 7);
        let verifier = signer.verifier();
        let invalid = Err(NoteError::InvalidSignature {
            name: "log.example".into(),
            key_id: signer.key_id(),
        });
        let note = signer.sign("log.example\n10\nAAAA\n").unwrap();

        let tampered_text = note.replacen("10", "11", 1);
        assert_eq!(verifier.verify(&tampered_text), invalid);

        let (head, b64) = note.trim_end().rsplit_once(' ').unwrap();
        let mut blob = STANDARD.decode(b64).unwrap();
        for byte in [4, 30, 67] {
            blob[byte] ^= 0x01;
            let forged = format!("{head} {}\n", STANDARD.encode(&blob));
            assert_eq!(verifier.verify(&forged), invalid, "byte {byte}");
            blob[byte] ^= 0x01;
        }
        // Go's TestOpen: extra base64 inside the signature keeps it decodable but invalid.
        let peter = NoteVerifier::parse(PETER_VKEY).unwrap();
        let stretched = format!("{TEXT}\n{}ABCD{}", &PETER_SIG[..60], &PETER_SIG[60..]);
        assert_eq!(
            peter.verify(&stretched),
            Err(NoteError::InvalidSignature {
                name: "PeterNeumann".into(),
                key_id: 0xc74f20a3
            })
        );
    }

    #[test]
    fn wrong_key_and_wrong_name_are_distinguished() {
        let signer = test_signer("log.example", 7);
        let note = signer.sign("hello\n").unwrap();

        let other_key = test_signer("log.example", 8).verifier();
        assert_eq!(
            other_key.verify(&note),
            Err(NoteError::KeyIdMismatch {
                name: "log.example".into(),
                expected: other_key.key_id(),
                found: signer.key_id(),
            })
        );

        let other_name = NoteSigner::new("other.example", SigningKey::from_bytes(&[7; 32]))
            .unwrap()
            .verifier();
        assert_eq!(
            other_name.verify(&note),
            Err(NoteError::NoSignatureByKey {
                name: "other.example".into(),
                key_id: other_name.key_id(),
            })
        );
    }

    #[test]
    fn malformed_notes_are_rejected() {
        let peter = NoteVerifier::parse(PETER_VKEY).unwrap();
        let signed = peter_signed();
        assert_eq!(
            peter.verify(signed.trim_end_matches('\n')),
            Err(NoteError::MissingFinalNewline)
        );
        assert_eq!(peter.verify(TEXT), Err(NoteError::NoSignatures));
        assert_eq!(
            peter.verify(&format!("{TEXT}\n")),
            Err(NoteError::NoSignatures)
        );
        assert_eq!(peter.verify(""), Err(NoteError::MissingFinalNewline));
        assert_eq!(
            peter.verify(&format!("\x01{signed}")),
            Err(NoteError::ControlCharacter)
        );
        assert_eq!(
            peter.verify(&signed.replace("you don't", "you\rdon't")),
            Err(NoteError::ControlCharacter)
        );
        let line2 = |reason| Err(NoteError::MalformedSignatureLine { line: 2, reason });
        assert_eq!(
            peter.verify(&format!("{signed}Unexpected line.\n")),
            line2("must start with an em dash and a space")
        );
        assert_eq!(
            peter.verify(&format!("{signed}- PeterNeumann AAAAAAA=\n")),
            line2("must start with an em dash and a space")
        );
        assert_eq!(
            peter.verify(&format!("{signed}\u{2014} Bad Name x08go/ZJk=\n")),
            line2("signature is not standard base64")
        );
        assert_eq!(
            peter.verify(&format!("{signed}\u{2014} a+b x08go/ZJk=\n")),
            line2("invalid key name")
        );
        assert_eq!(
            peter.verify(&format!("{signed}\u{2014} PeterNeumann\n")),
            line2("expected a key name and a signature")
        );
        assert_eq!(
            peter.verify(&format!("{signed}\u{2014} PeterNeumann x08gow==\n")),
            line2("signature is too short")
        );
        assert_eq!(
            peter.verify(&format!("{TEXT}\n{}", PETER_SIG.repeat(101))),
            Err(NoteError::TooManySignatures)
        );
        assert_eq!(
            peter.verify(&format!("{TEXT}\n{}", PETER_SIG.repeat(100))),
            Ok(TEXT)
        );
    }

    #[test]
    fn signer_rejects_unsignable_text() {
        let signer = test_signer("log.example", 7);
        assert_eq!(signer.sign(""), Err(NoteError::EmptyText));
        assert_eq!(signer.sign("abc"), Err(NoteError::TextMissingNewline));
        assert_eq!(signer.sign("a\tb\n"), Err(NoteError::ControlCharacter));
    }

    fn b64_root(len: usize) -> String {
        STANDARD.encode(vec![0x5a; len])
    }

    #[test]
    fn checkpoint_round_trip() {
        // The example body from the C2SP tlog-checkpoint specification.
        let spec =
            "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        let cp = Checkpoint::parse(spec).unwrap();
        assert_eq!(cp.origin, "example.com/behind-the-sofa");
        assert_eq!(cp.size, 20852163);
        assert_eq!(&cp.root[..4], &[0x0a, 0xc5, 0x18, 0x6a]);
        assert_eq!(cp.to_text(), spec);

        for size in [0, 1, u64::MAX] {
            let cp = Checkpoint {
                origin: "fieldtrail.example/ledger".into(),
                size,
                root: [size as u8; 32],
            };
            let text = cp.to_text();
            assert_eq!(Checkpoint::parse(&text), Ok(cp.clone()));
            let signer = test_signer("fieldtrail.example/ledger", 3);
            let note = signer.sign(&text).unwrap();
            let body = signer.verifier().verify(&note).unwrap();
            assert_eq!(Checkpoint::parse(body), Ok(cp));
        }
        assert_eq!(
            Checkpoint {
                origin: "o".into(),
                size: 5,
                root: [0; 32]
            }
            .to_text(),
            format!("o\n5\n{}\n", STANDARD.encode([0u8; 32]))
        );
    }

    #[test]
    fn malformed_checkpoints_are_rejected() {
        let root = b64_root(32);
        let invalid_size = |s: &str| Err(NoteError::CheckpointInvalidSize(s.into()));
        let cases = [
            (String::new(), Err(NoteError::CheckpointMissingNewline)),
            (
                format!("o\n5\n{root}"),
                Err(NoteError::CheckpointMissingNewline),
            ),
            ("o\n".into(), Err(NoteError::CheckpointMissingLines)),
            ("o\n5\n".into(), Err(NoteError::CheckpointMissingLines)),
            (
                format!("o\n5\n{root}\next\n"),
                Err(NoteError::CheckpointExtensionLines),
            ),
            (
                format!("o\n5\n{root}\n\n"),
                Err(NoteError::CheckpointExtensionLines),
            ),
            (
                format!("\n5\n{root}\n"),
                Err(NoteError::CheckpointEmptyOrigin),
            ),
            (format!("o\n\n{root}\n"), invalid_size("")),
            (format!("o\n05\n{root}\n"), invalid_size("05")),
            (format!("o\n00\n{root}\n"), invalid_size("00")),
            (format!("o\n-5\n{root}\n"), invalid_size("-5")),
            (format!("o\n+5\n{root}\n"), invalid_size("+5")),
            (format!("o\n5a\n{root}\n"), invalid_size("5a")),
            (format!("o\n0x5\n{root}\n"), invalid_size("0x5")),
            (format!("o\n 5\n{root}\n"), invalid_size(" 5")),
            (format!("o\n١\n{root}\n"), invalid_size("١")),
            (
                format!("o\n18446744073709551616\n{root}\n"),
                invalid_size("18446744073709551616"),
            ),
            (
                "o\n5\n!!not base64!!\n".into(),
                Err(NoteError::CheckpointInvalidRootEncoding),
            ),
            (
                format!("o\n5\n{}\n", root.trim_end_matches('=')),
                Err(NoteError::CheckpointInvalidRootEncoding),
            ),
            (
                format!("o\n5\n{}\n", hex::encode([0u8; 32])),
                Err(NoteError::CheckpointRootLength(48)),
            ),
            (
                format!("o\n5\n{}\n", b64_root(31)),
                Err(NoteError::CheckpointRootLength(31)),
            ),
            (
                format!("o\n5\n{}\n", b64_root(33)),
                Err(NoteError::CheckpointRootLength(33)),
            ),
            ("o\n5\n\n".into(), Err(NoteError::CheckpointRootLength(0))),
        ];
        for (text, want) in cases {
            assert_eq!(Checkpoint::parse(&text), want, "{text:?}");
        }
    }

    #[test]
    fn errors_read_clearly() {
        let e = NoteError::InvalidSignature {
            name: "log.example".into(),
            key_id: 0xab,
        };
        assert_eq!(
            e.to_string(),
            "signature by key log.example+000000ab does not verify"
        );
        assert_eq!(
            NoteError::UnsupportedAlgorithm(0x65).to_string(),
            "unsupported signature algorithm 0x65: only 0x01 (Ed25519) is supported"
        );
    }
}
