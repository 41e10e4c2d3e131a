//! Counting the process's epoll instances, for tests that prove a wait
//! made none of its own.

/// How many epoll instances the process holds open.
pub fn epoll_instances() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|target| target.to_str() == Some("anon_inode:[eventpoll]"))
        .count()
}
