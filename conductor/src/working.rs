//! The nodes this conductor is working on, kept in memory.
//!
//! A node lock in the database (`nodes.reservation = <hostname>`) can outlive the work
//! it was taken for: when the database connection breaks while a node is locked, the
//! release fails, and the conductor, still heart-beating, is never taken over. The
//! registry tells such a lock from one in use: work enters it *before* it tries to take
//! the lock and leaves it *after* it tried to release it (also when it fails, panics or
//! is cancelled, through [`Working`]'s drop). A lock held by this host on a node that is
//! not in the registry is therefore idle, and [`Registry::sweep`] releases it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// Nodes with work in progress on this conductor, and how many pieces of work each.
/// Counted, because two requests for one node may both be waiting for its lock.
#[derive(Default)]
pub struct Registry {
    /// Held by a sweep from its look at `nodes` until its release committed, and by
    /// each [`Registry::enter`]: work that enters during a sweep waits, so the sweep
    /// cannot release a lock taken after it looked.
    gate: Mutex<()>,
    nodes: Mutex<HashMap<i64, usize>>,
}

/// One piece of work on a node; leaves the registry when dropped.
#[must_use = "the node leaves the registry when this is dropped"]
pub struct Working {
    registry: Arc<Registry>,
    node_id: i64,
}

impl Registry {
    /// Enters work on `node_id`; call before trying to take its lock. May wait for a
    /// sweep in progress (one database statement), so call it off the async threads.
    pub fn enter(self: &Arc<Registry>, node_id: i64) -> Working {
        let _gate = lock(&self.gate);
        *lock(&self.nodes).entry(node_id).or_default() += 1;
        Working {
            registry: self.clone(),
            node_id,
        }
    }

    /// Runs `release` with the nodes in use, while no work can enter: `release` frees
    /// this host's locks on every other node.
    pub fn sweep<T>(&self, release: impl FnOnce(&[i64]) -> T) -> T {
        let _gate = lock(&self.gate);
        let busy: Vec<i64> = lock(&self.nodes).keys().copied().collect();
        release(&busy)
    }

    /// True when exactly one piece of work is on `node_id`: the caller's own, after it
    /// entered. A lock of this host on the node then belongs to no work (`task.rs`
    /// takes such a lock back).
    pub fn sole(&self, node_id: i64) -> bool {
        lock(&self.nodes).get(&node_id) == Some(&1)
    }

    /// The nodes in use (for tests and logs).
    pub fn busy(&self) -> Vec<i64> {
        let mut busy: Vec<i64> = lock(&self.nodes).keys().copied().collect();
        busy.sort_unstable();
        busy
    }

    fn leave(&self, node_id: i64) {
        let mut nodes = lock(&self.nodes);
        if let Some(count) = nodes.get_mut(&node_id) {
            *count -= 1;
            if *count == 0 {
                nodes.remove(&node_id);
            }
        }
    }
}

impl Drop for Working {
    fn drop(&mut self) {
        self.registry.leave(self.node_id);
    }
}

/// Locks `mutex`, also after a panic elsewhere poisoned it: the data stays consistent
/// (every update is a single step), and refusing would keep locks from being released.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_stays_busy_until_its_last_piece_of_work_leaves() {
        let registry = Arc::new(Registry::default());
        let first = registry.enter(7);
        let second = registry.enter(7);
        let other = registry.enter(9);
        assert_eq!(registry.busy(), vec![7, 9]);
        drop(first);
        assert_eq!(registry.sweep(|busy| busy.len()), 2);
        drop(second);
        drop(other);
        assert!(registry.busy().is_empty());
    }

    #[test]
    fn work_entering_during_a_sweep_waits_for_it() {
        let registry = Arc::new(Registry::default());
        let (entered, seen) = std::sync::mpsc::channel();
        let seen_busy = registry.sweep(|busy| {
            let registry = registry.clone();
            let entered = entered.clone();
            std::thread::spawn(move || {
                let working = registry.enter(3);
                entered.send(()).unwrap();
                working
            });
            // The entering thread is blocked: nothing arrives while the sweep runs.
            assert!(
                seen.recv_timeout(std::time::Duration::from_millis(200))
                    .is_err()
            );
            busy.to_vec()
        });
        assert!(seen_busy.is_empty());
        seen.recv().unwrap();
    }
}
