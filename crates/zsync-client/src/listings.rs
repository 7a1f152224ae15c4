//! What each versioned folder held besides its versioned items when it was
//! last read, so that `status` need not read it again while it is
//! unchanged (git's untracked cache).
//!
//! Reading every folder for unversioned items was a quarter of a clean
//! `status` of 20,000 files. A listing is kept, in `.zsync/listings`, with
//! the folder's ctime and inode and a fingerprint of the names the index
//! holds in it. Adding, removing or renaming a folder's entry changes its
//! ctime (which, unlike mtime, no tool can set back); changing what the
//! index holds there changes the fingerprint. While neither changed, the
//! folder still holds exactly what it held, and the listing says what that
//! is.
//!
//! A folder changed within a timestamp tick before it was read could be
//! changed again in that tick after the read without its ctime moving, so
//! such a folder is not recorded until a later read finds it older (the
//! racy rule of the index's stat data, applied to folders).
//!
//! The file is a cache: one that is missing, damaged or of another version
//! is ignored, and a failure to write it is no failure of the command.

use std::hash::{DefaultHasher, Hasher};
use std::path::Path;

use rustc_hash::FxHashMap as HashMap;
use zsync_model::BodyHash;

const MAGIC: &[u8; 8] = b"zsynclst";
const VERSION: u32 = 1;

/// One folder's listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listing {
    /// The folder's stat data when it was read.
    pub ctime_ns: i64,
    pub ino: u64,
    /// [`Fingerprints`] of the index's names in the folder then.
    pub versioned: u64,
    /// The names in the folder that the index did not hold.
    pub others: Vec<String>,
}

/// The listings of a working copy's folders, by index key.
#[derive(Debug, Default)]
pub struct Listings {
    by_folder: HashMap<String, Listing>,
    changed: bool,
}

impl Listings {
    /// The listings saved in `admin` (the `.zsync` folder); none if the file
    /// is missing or unreadable.
    pub fn load(admin: &Path) -> Self {
        let by_folder = std::fs::read(file_in(admin))
            .ok()
            .and_then(|data| decode(&data))
            .unwrap_or_default();
        Self {
            by_folder,
            changed: false,
        }
    }

    /// The listing of the folder at `key` if it still holds: the folder's
    /// ctime and inode and the index's names in it are as they were.
    pub fn valid(&self, key: &str, ctime_ns: i64, ino: u64, versioned: u64) -> Option<&Listing> {
        self.by_folder
            .get(key)
            .filter(|l| l.ctime_ns == ctime_ns && l.ino == ino && l.versioned == versioned)
    }

    /// Records the folder at `key` as just read (`None`: it could not be
    /// recorded, and an older listing of it is dropped).
    pub fn record(&mut self, key: &str, listing: Option<Listing>) {
        match listing {
            Some(l) => {
                if self.by_folder.get(key) != Some(&l) {
                    self.by_folder.insert(key.to_owned(), l);
                    self.changed = true;
                }
            }
            None => self.changed |= self.by_folder.remove(key).is_some(),
        }
    }

    /// Writes the listings if they changed, without those of folders that
    /// are no longer `versioned`. Best effort: the file is only a cache.
    pub fn save_if_changed(mut self, admin: &Path, versioned: impl Fn(&str) -> bool) {
        if !self.changed {
            return;
        }
        self.by_folder.retain(|key, _| versioned(key));
        // Not synced: after a crash a torn file fails its checksum and is
        // ignored.
        let _ = crate::fsutil::write_atomic(&file_in(admin), &encode(&self.by_folder), None);
    }
}

fn file_in(admin: &Path) -> std::path::PathBuf {
    admin.join("listings")
}

/// A fingerprint of the names the index holds in each folder, by the
/// folder's key.
#[derive(Default)]
pub struct Fingerprints(HashMap<String, u64>);

impl Fingerprints {
    /// The fingerprints of the folders of the index `keys`, in index order.
    pub fn of<'k>(keys: impl Iterator<Item = &'k str>) -> Self {
        let mut hashers: HashMap<&str, DefaultHasher> = HashMap::default();
        for key in keys {
            if key.is_empty() {
                continue;
            }
            let (parent, name) = key.rsplit_once('/').unwrap_or(("", key));
            let h = hashers.entry(parent).or_default();
            h.write(name.as_bytes());
            // A separator, so that ["ab", "c"] and ["a", "bc"] differ.
            h.write_u8(0);
        }
        Self(
            hashers
                .into_iter()
                .map(|(k, h)| (k.to_owned(), h.finish()))
                .collect(),
        )
    }

    /// The fingerprint of the folder at `key` (that of no names if the
    /// index holds none there).
    pub fn of_folder(&self, key: &str) -> u64 {
        self.0
            .get(key)
            .copied()
            .unwrap_or_else(|| DefaultHasher::new().finish())
    }
}

fn encode(by_folder: &HashMap<String, Listing>) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + by_folder.len() * 64);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    let put_str = |out: &mut Vec<u8>, s: &str| {
        out.extend_from_slice(&(s.len() as u32).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
    };
    out.extend_from_slice(&(by_folder.len() as u32).to_le_bytes());
    for (key, l) in by_folder {
        put_str(&mut out, key);
        out.extend_from_slice(&l.ctime_ns.to_le_bytes());
        out.extend_from_slice(&l.ino.to_le_bytes());
        out.extend_from_slice(&l.versioned.to_le_bytes());
        out.extend_from_slice(&(l.others.len() as u32).to_le_bytes());
        for name in &l.others {
            put_str(&mut out, name);
        }
    }
    let sum = BodyHash::of(&out);
    out.extend_from_slice(sum.as_bytes());
    out
}

fn decode(data: &[u8]) -> Option<HashMap<String, Listing>> {
    let payload = crate::fsutil::checked_payload(data)?;
    let mut reader = Reader(payload.strip_prefix(MAGIC)?);
    if reader.u32()? != VERSION {
        return None;
    }
    let count = reader.u32()? as usize;
    let mut by_folder = HashMap::default();
    for _ in 0..count {
        let key = reader.string()?;
        let ctime_ns = i64::from_le_bytes(reader.array()?);
        let ino = u64::from_le_bytes(reader.array()?);
        let versioned = u64::from_le_bytes(reader.array()?);
        let n = reader.u32()? as usize;
        // Each name takes at least its 4-byte length.
        if n > reader.0.len() / 4 {
            return None;
        }
        let others = (0..n)
            .map(|_| reader.string())
            .collect::<Option<Vec<_>>>()?;
        by_folder.insert(
            key,
            Listing {
                ctime_ns,
                ino,
                versioned,
                others,
            },
        );
    }
    reader.0.is_empty().then_some(by_folder)
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }

    fn u32(&mut self) -> Option<u32> {
        self.array().map(u32::from_le_bytes)
    }

    fn string(&mut self) -> Option<String> {
        let n = self.u32()? as usize;
        let (head, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        String::from_utf8(head.to_vec()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(ctime_ns: i64, others: &[&str]) -> Listing {
        Listing {
            ctime_ns,
            ino: 7,
            versioned: 42,
            others: others.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn saved_listings_load_back_and_hold_only_while_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let mut listings = Listings::load(dir.path());
        listings.record("", Some(listing(1, &[])));
        listings.record("a", Some(listing(2, &["x.txt", "ü"])));
        listings.record("gone", Some(listing(3, &[])));
        listings.save_if_changed(dir.path(), |key| ["", "a", "a/b"].contains(&key));

        let back = Listings::load(dir.path());
        assert_eq!(
            back.valid("a", 2, 7, 42),
            Some(&listing(2, &["x.txt", "ü"]))
        );
        assert_eq!(back.valid("", 1, 7, 42), Some(&listing(1, &[])));
        // Another ctime, inode or set of versioned names: not valid.
        assert_eq!(back.valid("a", 3, 7, 42), None);
        assert_eq!(back.valid("a", 2, 8, 42), None);
        assert_eq!(back.valid("a", 2, 7, 43), None);
        // A folder the index no longer holds was dropped on save.
        assert_eq!(back.valid("gone", 3, 7, 42), None);
    }

    #[test]
    fn a_damaged_file_is_no_listing() {
        let dir = tempfile::tempdir().unwrap();
        let mut listings = Listings::default();
        listings.record("a", Some(listing(2, &["x"])));
        listings.save_if_changed(dir.path(), |_| true);
        let path = file_in(dir.path());
        let good = std::fs::read(&path).unwrap();
        for cut in [0, 8, good.len() / 2, good.len() - 1] {
            std::fs::write(&path, &good[..cut]).unwrap();
            assert!(
                Listings::load(dir.path()).by_folder.is_empty(),
                "cut at {cut}"
            );
        }
        let mut flipped = good.clone();
        flipped[20] ^= 1;
        std::fs::write(&path, &flipped).unwrap();
        assert!(Listings::load(dir.path()).by_folder.is_empty());
    }

    #[test]
    fn fingerprints_tell_the_names_of_each_folder_apart() {
        let of = |keys: &[&str]| Fingerprints::of(keys.iter().copied());
        let one = of(&["a", "a/ab", "a/c"]);
        let other = of(&["a", "a/a", "a/bc"]);
        assert_ne!(one.of_folder("a"), other.of_folder("a"));
        // The top's names are the same in both.
        assert_eq!(one.of_folder(""), other.of_folder(""));
        assert_eq!(of(&["a"]).of_folder("a"), of(&["b"]).of_folder("a"));
    }
}
