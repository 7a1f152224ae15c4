//! Which unversioned files `status` and recursive `add` leave alone: a
//! default list of editor and OS droppings, plus `.zsyncignore` files in
//! gitignore syntax, each applying to its folder and below (deeper files
//! override shallower ones; `!pattern` re-includes). Versioned items are
//! never ignored, and `--no-ignore` turns all of this off.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ignore::gitignore::{Gitignore, GitignoreBuilder};

/// The name of the per-folder ignore file.
pub const IGNORE_FILE: &str = ".zsyncignore";

/// Ignored everywhere unless `--no-ignore`.
pub const DEFAULT_PATTERNS: &[&str] = &["*~", ".#*", "*.swp", ".DS_Store"];

pub struct IgnoreRules {
    root: PathBuf,
    enabled: bool,
    defaults: Gitignore,
    /// Each folder's `.zsyncignore`, read once.
    per_dir: RefCell<HashMap<PathBuf, Option<Gitignore>>>,
}

impl IgnoreRules {
    /// Rules for the tree at `root`; `enabled` false ignores nothing.
    pub fn new(root: &Path, enabled: bool) -> Self {
        Self::with_globals(root, enabled, &[])
    }

    /// [`IgnoreRules::new`] plus `globals`, the config file's
    /// `global-ignores`, which count like the built-in list (so a
    /// `.zsyncignore`'s `!pattern` re-includes).
    pub fn with_globals(root: &Path, enabled: bool, globals: &[String]) -> Self {
        let mut builder = GitignoreBuilder::new(root);
        for pattern in DEFAULT_PATTERNS
            .iter()
            .copied()
            .chain(globals.iter().map(String::as_str))
        {
            // The built-in patterns are valid globs and the config's were
            // checked when it was read; a failure would only drop one.
            let _ = builder.add_line(None, pattern);
        }
        Self {
            root: root.to_path_buf(),
            enabled,
            defaults: builder.build().unwrap_or_else(|_| Gitignore::empty()),
            per_dir: RefCell::new(HashMap::new()),
        }
    }

    /// Whether the unversioned item at `abs` is ignored.
    pub fn is_ignored(&self, abs: &Path, is_dir: bool) -> bool {
        if !self.enabled {
            return false;
        }
        let mut ignored = self.defaults.matched(abs, is_dir).is_ignore();
        let Ok(rel) = abs.strip_prefix(&self.root) else {
            return ignored;
        };
        // Folders from the root down to the item's parent.
        let mut dir = self.root.clone();
        let mut dirs = vec![dir.clone()];
        let parts: Vec<_> = rel.components().collect();
        for c in parts.iter().take(parts.len().saturating_sub(1)) {
            dir.push(c);
            dirs.push(dir.clone());
        }
        for d in dirs {
            let mut cache = self.per_dir.borrow_mut();
            let rules = cache.entry(d.clone()).or_insert_with(|| {
                let file = d.join(IGNORE_FILE);
                file.is_file().then(|| Gitignore::new(&file).0)
            });
            if let Some(rules) = rules {
                let m = rules.matched_path_or_any_parents(abs, is_dir);
                if m.is_ignore() {
                    ignored = true;
                } else if m.is_whitelist() {
                    ignored = false;
                }
            }
        }
        ignored
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_nested_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::write(root.join(IGNORE_FILE), "*.log\nbuild/\n").unwrap();
        std::fs::write(root.join("a").join(IGNORE_FILE), "!keep.log\n").unwrap();
        let rules = IgnoreRules::new(root, true);
        assert!(rules.is_ignored(&root.join("x.txt~"), false));
        assert!(rules.is_ignored(&root.join("a/.#lock"), false));
        assert!(rules.is_ignored(&root.join("run.log"), false));
        assert!(rules.is_ignored(&root.join("a/b/run.log"), false));
        assert!(!rules.is_ignored(&root.join("a/keep.log"), false));
        assert!(rules.is_ignored(&root.join("build"), true));
        assert!(!rules.is_ignored(&root.join("notes.txt"), false));
        assert!(!IgnoreRules::new(root, false).is_ignored(&root.join("run.log"), false));
        let globals = ["*.o".to_owned(), "*.log".to_owned()];
        let rules = IgnoreRules::with_globals(root, true, &globals);
        assert!(rules.is_ignored(&root.join("a/b/x.o"), false));
        assert!(!rules.is_ignored(&root.join("a/keep.log"), false));
        assert!(!rules.is_ignored(&root.join("x.c"), false));
    }
}
