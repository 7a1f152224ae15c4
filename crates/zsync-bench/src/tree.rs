//! The benchmark's content tree: a port of `../shared/bench/gen_tree.py`
//! (same files, same seed ⇒ same bytes, so figures compare with the script's).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::pyrandom::PyRandom;

/// What `generate` made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeStats {
    pub files: usize,
    pub bytes: u64,
}

/// The seed `gen_tree.py` uses.
pub const SEED: u32 = 42;

/// The share of binary files `gen_tree.py` uses by default.
pub const BINARY_SHARE: f64 = 0.05;

/// Where file `i` goes: `section{a}/topic{b:02}/page{c}`, so no folder
/// has more than 20 entries for trees up to 80,000 files.
pub fn folder_of(i: usize) -> PathBuf {
    let (a, b, c) = (i / 4000, (i / 200) % 20, (i / 20) % 10);
    PathBuf::from(format!("section{a}/topic{b:02}/page{c}"))
}

/// Writes `files` files under `root`, exactly as `gen_tree.py ROOT FILES
/// BINARY_SHARE` does.
pub fn generate(root: &Path, files: usize, binary_share: f64) -> io::Result<TreeStats> {
    let mut rnd = PyRandom::new(SEED);
    let letters: Vec<u8> = (b'a'..=b'z').collect();
    // The word list comes first in the random stream, as in the script.
    let words: Vec<String> = (0..2000)
        .map(|_| {
            let len = rnd.randint(2, 9);
            (0..len)
                .map(|_| char::from(*rnd.choice(&letters)))
                .collect()
        })
        .collect();
    fs::create_dir_all(root)?;
    let mut total = 0u64;
    for i in 0..files {
        let dir = root.join(folder_of(i));
        fs::create_dir_all(&dir)?;
        let (name, data) = if rnd.random() < binary_share {
            let size = rnd.randint(64, 512) as usize * 1024;
            (format!("image{i}.png"), rnd.randbytes(size))
        } else {
            let size = rnd.randint(1, 16) as usize * 1024;
            let mut data = Vec::with_capacity(size + 128);
            let mut cur = 0usize;
            while cur < size {
                let start = data.len();
                let n = rnd.randint(4, 14);
                for k in 0..n {
                    if k > 0 {
                        data.push(b' ');
                    }
                    data.extend_from_slice(rnd.choice(&words).as_bytes());
                }
                cur += data.len() - start + 1;
                data.push(b'\n');
            }
            (format!("doc{i}.html"), data)
        };
        fs::write(dir.join(name), &data)?;
        total += data.len() as u64;
    }
    Ok(TreeStats {
        files,
        bytes: total,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_bytes() -> io::Result<()> {
        let a = tempfile::tempdir()?;
        let b = tempfile::tempdir()?;
        let sa = generate(a.path(), 60, BINARY_SHARE)?;
        let sb = generate(b.path(), 60, BINARY_SHARE)?;
        assert_eq!(sa, sb);
        assert_eq!(sa.files, 60);
        for i in 0..60 {
            let dir = folder_of(i);
            for name in [format!("doc{i}.html"), format!("image{i}.png")] {
                let pa = a.path().join(&dir).join(&name);
                if pa.exists() {
                    assert_eq!(fs::read(&pa)?, fs::read(b.path().join(&dir).join(&name))?);
                }
            }
        }
        Ok(())
    }
}
