//! Photos as content-addressed files: `<dir>/<first two hex digits>/<sha256>`. The name is the
//! hash of the bytes, so a file can be checked against the ledger at any time, and the same photo
//! sent twice is stored once.

use fieldtrail_domain::record::AttachmentHash;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The largest photo accepted.
pub const MAX_ATTACHMENT_BYTES: usize = 10 * 1024 * 1024;

/// The image types accepted, recognised by their first bytes whatever the client claims.
pub fn sniff_media_type(bytes: &[u8]) -> Option<&'static str> {
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n";
    if bytes.starts_with(PNG) {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else {
        None
    }
}

pub struct AttachmentStore {
    dir: PathBuf,
}

impl AttachmentStore {
    pub fn open(dir: PathBuf) -> std::io::Result<AttachmentStore> {
        std::fs::create_dir_all(&dir)?;
        Ok(AttachmentStore { dir })
    }

    pub fn path_of(&self, hash: &AttachmentHash) -> PathBuf {
        let hex = hash.to_hex();
        self.dir.join(&hex[..2]).join(hex)
    }

    /// Stores the bytes under their hash unless already there. The file appears whole or not
    /// at all (written aside, synced, then renamed), so a crash never leaves half a photo.
    pub fn store(&self, bytes: &[u8]) -> std::io::Result<AttachmentHash> {
        let hash = AttachmentHash::of(bytes);
        let path = self.path_of(&hash);
        if path.exists() {
            return Ok(hash);
        }
        let parent = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent)?;
        let temp = parent.join(format!(
            ".{}.{}",
            hash.to_hex(),
            uuid::Uuid::new_v4().simple()
        ));
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&temp, &path)?;
        Ok(hash)
    }

    pub fn read(&self, hash: &AttachmentHash) -> std::io::Result<Vec<u8>> {
        std::fs::read(self.path_of(hash))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_come_from_magic_bytes() {
        assert_eq!(
            sniff_media_type(b"\x89PNG\r\n\x1a\nrest"),
            Some("image/png")
        );
        assert_eq!(
            sniff_media_type(&[0xFF, 0xD8, 0xFF, 0xE0]),
            Some("image/jpeg")
        );
        assert_eq!(sniff_media_type(b"GIF89a"), None);
        assert_eq!(sniff_media_type(b"\x89PNG"), None);
        assert_eq!(sniff_media_type(b""), None);
    }

    #[test]
    fn stored_files_are_named_by_their_hash_and_kept_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = AttachmentStore::open(dir.path().join("att")).unwrap();
        let hash = store.store(b"\x89PNG\r\n\x1a\nbody").unwrap();
        let again = store.store(b"\x89PNG\r\n\x1a\nbody").unwrap();
        assert_eq!(hash, again);
        let path = store.path_of(&hash);
        assert!(path.ends_with(format!("{}/{}", &hash.to_hex()[..2], hash.to_hex())));
        assert_eq!(store.read(&hash).unwrap(), b"\x89PNG\r\n\x1a\nbody");
        let files = std::fs::read_dir(path.parent().unwrap()).unwrap().count();
        assert_eq!(files, 1, "no temporary file left behind");
    }
}
