//! Roles granted per path, and what they add up to. Pure: the store loads
//! grants, the server decides with them.

use zsync_model::{RepoPath, Role};

/// One role given to one principal (a user, or `anonymous`) on a path and
/// everything below it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    pub user: String,
    pub path: RepoPath,
    pub role: Role,
}

/// The grants that apply to one caller. A role granted on a path holds
/// for its whole subtree; grants only add, so the role at a path is the
/// highest one granted on it or any ancestor.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GrantSet {
    grants: Vec<(RepoPath, Role)>,
}

impl GrantSet {
    pub fn new(grants: impl IntoIterator<Item = (RepoPath, Role)>) -> Self {
        Self {
            grants: grants.into_iter().collect(),
        }
    }

    /// Adds more grants (e.g. those of `anonymous`, which every caller has).
    pub fn extend(&mut self, grants: impl IntoIterator<Item = (RepoPath, Role)>) {
        self.grants.extend(grants);
    }

    /// The highest role granted on `path` or an ancestor of it.
    pub fn role_at(&self, path: &RepoPath) -> Option<Role> {
        self.grants
            .iter()
            .filter(|(p, _)| p.contains(path))
            .map(|(_, r)| *r)
            .max()
    }

    /// True if the caller holds at least `role` at `path`.
    pub fn allows(&self, path: &RepoPath, role: Role) -> bool {
        self.role_at(path).is_some_and(|r| r >= role)
    }

    /// True if `role` or more is granted on `path`, an ancestor, or
    /// anything below it: the caller may see some part of the subtree.
    pub fn allows_within(&self, path: &RepoPath, role: Role) -> bool {
        self.grants
            .iter()
            .any(|(p, r)| *r >= role && (p.contains(path) || path.contains(p)))
    }

    /// The highest role granted anywhere.
    pub fn highest(&self) -> Option<Role> {
        self.grants.iter().map(|(_, r)| *r).max()
    }

    pub fn is_empty(&self) -> bool {
        self.grants.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> RepoPath {
        RepoPath::parse(s).unwrap()
    }

    #[test]
    fn roles_are_inherited_and_only_add() {
        let g = GrantSet::new([(p("demo"), Role::Reader), (p("demo/pages"), Role::Editor)]);
        assert_eq!(g.role_at(&p("")), None);
        assert_eq!(g.role_at(&p("demo")), Some(Role::Reader));
        assert_eq!(g.role_at(&p("demo/index.html")), Some(Role::Reader));
        assert_eq!(g.role_at(&p("demo/pages/a.html")), Some(Role::Editor));
        // A sibling whose name merely starts the same is not below.
        assert_eq!(g.role_at(&p("demo2")), None);
        assert_eq!(g.role_at(&p("demo/pagesx")), Some(Role::Reader));
        assert!(g.allows(&p("demo/pages"), Role::Editor));
        assert!(!g.allows(&p("demo"), Role::Editor));
        assert!(g.allows_within(&p(""), Role::Editor));
        assert!(!g.allows_within(&p("other"), Role::Reader));
        assert_eq!(g.highest(), Some(Role::Editor));
        assert!(GrantSet::default().highest().is_none());
    }
}
