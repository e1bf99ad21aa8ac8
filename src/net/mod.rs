//! The network fabric: which links are up, lossy or slow.
