//! The pieces of the `zsync-bench` benchmark that are not orchestration:
//! the tree generator (a port of `gen_tree.py`), child measurement and
//! file-tree helpers.

pub mod fsutil;
pub mod proc;
pub mod pyrandom;
pub mod tree;
