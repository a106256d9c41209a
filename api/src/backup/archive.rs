//! The archive file: a plain tar written with the `tar` crate, the manifest first and
//! `SHA256SUMS` last, every member a regular 0600 file; and its reading, where every member must
//! be a regular file under a name that stays inside the target, and the whole archive is checked
//! against `SHA256SUMS` before anything is restored.

use super::{create_private, FORMAT, LOG_KEY_MEMBER, MANIFEST, SUMS};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Component, Path, PathBuf};

/// Writes the archive: members in the order they are added, then `SHA256SUMS` of them all.
pub(super) struct Writer {
    tar: tar::Builder<BufWriter<File>>,
    sums: String,
    mtime: u64,
}

/// A ustar header for a regular 0600 file of `size` bytes owned by root.
fn header(size: u64, mtime: u64) -> tar::Header {
    let mut header = tar::Header::new_ustar();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_mode(0o600);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(mtime);
    header.set_size(size);
    header
}

/// Hashes what is read through it and counts it.
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
    read: u64,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.read += n as u64;
        Ok(n)
    }
}

impl Writer {
    /// Creates `path` (mode 0600) for the archive.
    pub(super) fn create(path: &Path) -> Result<Writer, String> {
        let file = create_private(path).map_err(|err| format!("{}: {err}", path.display()))?;
        let mtime = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Ok(Writer {
            tar: tar::Builder::new(BufWriter::new(file)),
            sums: String::new(),
            mtime,
        })
    }

    fn append(&mut self, name: &str, size: u64, content: impl Read) -> io::Result<String> {
        let mut hashing = Hashing {
            inner: content.take(size),
            hasher: Sha256::new(),
            read: 0,
        };
        self.tar
            .append_data(&mut header(size, self.mtime), name, &mut hashing)?;
        if hashing.read != size {
            return Err(io::Error::other("the file shrank while it was archived"));
        }
        Ok(hex::encode(hashing.hasher.finalize()))
    }

    /// Adds a member with the content `bytes`.
    pub(super) fn add_bytes(&mut self, name: &str, bytes: &[u8]) -> Result<(), String> {
        let digest = self
            .append(name, bytes.len() as u64, bytes)
            .map_err(|e| e.to_string())?;
        self.sums.push_str(&format!("{digest}  {name}\n"));
        Ok(())
    }

    /// Adds the file at `path` as the member `name`.
    pub(super) fn add_file(&mut self, name: &str, path: &Path) -> Result<(), String> {
        let err = |err: io::Error| format!("{}: {err}", path.display());
        let file = File::open(path).map_err(err)?;
        let size = file.metadata().map_err(err)?.len();
        let digest = self.append(name, size, file).map_err(err)?;
        self.sums.push_str(&format!("{digest}  {name}\n"));
        Ok(())
    }

    /// Adds `SHA256SUMS`, ends the archive, syncs it and returns its size in bytes.
    pub(super) fn finish(mut self) -> Result<u64, String> {
        let sums = std::mem::take(&mut self.sums);
        self.append(SUMS, sums.len() as u64, sums.as_bytes())
            .map_err(|e| e.to_string())?;
        let file = self.tar.into_inner().map_err(|e| e.to_string())?;
        let file = file.into_inner().map_err(|e| e.to_string())?;
        file.sync_all().map_err(|e| e.to_string())?;
        Ok(file.metadata().map_err(|e| e.to_string())?.len())
    }
}

/// A member name as it may be restored: relative, no `..`, no empty parts.
pub(super) fn safe_name(name: &str) -> Result<PathBuf, String> {
    let path = Path::new(name);
    if name.is_empty()
        || path
            .components()
            .any(|c| !matches!(c, Component::Normal(_)))
    {
        return Err(format!("the archive holds an unsafe member name {name:?}"));
    }
    Ok(path.to_path_buf())
}

/// A member's content that fails, rather than ending early, if the archive is cut short.
struct Exact<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Exact<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = usize::try_from(self.left).map_or(buf.len(), |left| left.min(buf.len()));
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::other("the archive is cut short"));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// Reads the archive `from` member by member, in order, giving `visit` each member's name and
/// content (what `visit` leaves unread is skipped). Every member must be a regular file under a
/// [`safe_name`]; links, devices and other special entries are refused, directory entries and
/// global pax headers are passed over. Errors of the tar layer go through `tar_error`.
pub(super) fn each_member(
    from: &Path,
    tar_error: impl Fn(String) -> String,
    mut visit: impl FnMut(&str, &mut dyn Read) -> Result<(), String>,
) -> Result<(), String> {
    let file = File::open(from).map_err(|err| format!("{}: {err}", from.display()))?;
    let mut archive = tar::Archive::new(BufReader::new(file));
    let entries = archive.entries().map_err(|e| tar_error(e.to_string()))?;
    for entry in entries {
        let entry = entry.map_err(|e| tar_error(e.to_string()))?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        match entry.header().entry_type() {
            tar::EntryType::Regular => {}
            tar::EntryType::Directory | tar::EntryType::XGlobalHeader => continue,
            kind => {
                return Err(format!(
                    "the archive holds {name:?}, which is not a plain file ({kind:?})"
                ))
            }
        }
        safe_name(&name)?;
        let left = entry.size();
        visit(&name, &mut Exact { inner: entry, left })?;
    }
    Ok(())
}

/// Hashes what is written to it.
struct HashingSink(Sha256);

impl Write for HashingSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Reads the whole archive once: the manifest, and every member's SHA-256 checked against
/// `SHA256SUMS`. Nothing is written.
pub(super) fn check_archive(from: &Path) -> Result<Value, String> {
    let mut manifest: Option<Value> = None;
    let mut digests: BTreeMap<String, String> = BTreeMap::new();
    let mut sums: Option<String> = None;
    let damaged = |what: String| format!("{}: not a fieldtrail backup: {what}", from.display());
    each_member(from, damaged, |name, content| {
        if manifest.is_none() && name != MANIFEST {
            return Err(damaged(format!(
                "its first member is {name:?}, not {MANIFEST}"
            )));
        }
        if sums.is_some() {
            return Err(damaged(format!("{name:?} follows {SUMS}")));
        }
        if name == MANIFEST || name == SUMS {
            let mut bytes = Vec::new();
            content
                .read_to_end(&mut bytes)
                .map_err(|e| damaged(e.to_string()))?;
            if name == MANIFEST {
                digests.insert(name.to_owned(), hex::encode(Sha256::digest(&bytes)));
                let value: Value = serde_json::from_slice(&bytes)
                    .map_err(|e| damaged(format!("{MANIFEST}: {e}")))?;
                if value["format"] != FORMAT {
                    return Err(damaged(format!(
                        "format {} (this fieldtrail reads {FORMAT})",
                        value["format"]
                    )));
                }
                manifest = Some(value);
            } else {
                sums = Some(String::from_utf8(bytes).map_err(|e| damaged(e.to_string()))?);
            }
        } else {
            let mut hasher = HashingSink(Sha256::new());
            io::copy(content, &mut hasher).map_err(|e| damaged(e.to_string()))?;
            digests.insert(name.to_owned(), hex::encode(hasher.0.finalize()));
        }
        Ok(())
    })?;
    let manifest = manifest.ok_or_else(|| damaged("it is empty".into()))?;
    let sums = sums.ok_or_else(|| damaged(format!("no {SUMS}: the archive is cut short")))?;
    let mut listed = BTreeMap::new();
    for line in sums.lines() {
        let (digest, name) = line
            .split_once("  ")
            .ok_or_else(|| damaged(format!("{SUMS}: bad line {line:?}")))?;
        listed.insert(name.to_owned(), digest.to_owned());
    }
    if listed != digests {
        let bad: Vec<&String> = digests
            .keys()
            .chain(listed.keys())
            .filter(|name| digests.get(*name) != listed.get(*name))
            .collect();
        return Err(damaged(format!(
            "SHA-256 mismatch for {:?}",
            bad.first().map_or("?", |n| n.as_str())
        )));
    }
    let database = manifest["database"].as_str().unwrap_or_default();
    if !digests.contains_key(database) || !digests.contains_key(LOG_KEY_MEMBER) {
        return Err(damaged(format!(
            "it lacks the database ({database:?}) or {LOG_KEY_MEMBER}"
        )));
    }
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::backup::SQLITE_MEMBER;

    #[test]
    fn member_names_that_escape_are_refused() {
        assert!(safe_name("attachments/ab/abcd").is_ok());
        for bad in ["", "/etc/passwd", "../x", "a/../../x", "./a"] {
            assert!(safe_name(bad).is_err(), "{bad}");
        }
    }

    fn manifest() -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({"format": FORMAT, "database": SQLITE_MEMBER}))
            .unwrap()
    }

    /// A backup with the member `bad` (its header built by `make`) after the manifest.
    fn archive_with(dir: &Path, make: impl FnOnce(&mut tar::Header)) -> PathBuf {
        let path = dir.join("bad.backup");
        let mut tar = tar::Builder::new(File::create(&path).unwrap());
        let manifest = manifest();
        let mut first = header(manifest.len() as u64, 0);
        tar.append_data(&mut first, MANIFEST, &manifest[..])
            .unwrap();
        let mut header = header(4, 0);
        make(&mut header);
        header.set_cksum();
        let size = usize::try_from(header.size().unwrap()).unwrap();
        tar.append(&header, &b"evil"[..size]).unwrap();
        tar.finish().unwrap();
        path
    }

    #[test]
    fn written_archives_are_read_back_and_a_flipped_byte_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("key.pem");
        std::fs::write(&key, b"key").unwrap();
        let db = dir.path().join("db");
        std::fs::write(&db, vec![7u8; 1000]).unwrap();
        let path = dir.path().join("good.backup");
        let mut writer = Writer::create(&path).unwrap();
        writer.add_bytes(MANIFEST, &manifest()).unwrap();
        writer.add_file(SQLITE_MEMBER, &db).unwrap();
        writer.add_file(LOG_KEY_MEMBER, &key).unwrap();
        let bytes = writer.finish().unwrap();
        assert_eq!(bytes, std::fs::metadata(&path).unwrap().len());
        assert_eq!(bytes % 512, 0);
        let mut names = Vec::new();
        each_member(
            &path,
            |e| e,
            |name, _| {
                names.push(name.to_owned());
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(names, [MANIFEST, SQLITE_MEMBER, LOG_KEY_MEMBER, SUMS]);
        assert_eq!(check_archive(&path).unwrap()["format"], FORMAT);

        let mut damaged = std::fs::read(&path).unwrap();
        let at = damaged.windows(4).position(|w| w == [7u8; 4]).unwrap();
        damaged[at] ^= 1;
        std::fs::write(&path, &damaged).unwrap();
        let err = check_archive(&path).unwrap_err();
        assert!(err.contains("SHA-256 mismatch"), "{err}");
    }

    #[test]
    fn a_member_that_climbs_out_or_a_link_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        // The tar crate's `set_path` refuses `..`: write the name into the header directly.
        let climbing = archive_with(dir.path(), |header| {
            header.as_ustar_mut().unwrap().name[..4].copy_from_slice(b"../x");
        });
        let err = check_archive(&climbing).unwrap_err();
        assert!(err.contains("unsafe member name \"../x\""), "{err}");

        let absolute = archive_with(dir.path(), |header| {
            header.as_ustar_mut().unwrap().name[..11].copy_from_slice(b"/etc/passwd");
        });
        let err = check_archive(&absolute).unwrap_err();
        assert!(err.contains("unsafe member name"), "{err}");

        for kind in [tar::EntryType::Symlink, tar::EntryType::Link] {
            let link = archive_with(dir.path(), |header| {
                header.set_path(LOG_KEY_MEMBER).unwrap();
                header.set_entry_type(kind);
                header.set_size(0);
                header.set_link_name("/etc/passwd").unwrap();
            });
            let err = check_archive(&link).unwrap_err();
            assert!(err.contains("not a plain file"), "{kind:?}: {err}");
        }
    }
}
