//! Helpers shared by the runtime's integration tests.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Counts its drops into a shared counter: proves destructors ran.
pub struct DropCounter(pub Arc<AtomicUsize>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}
