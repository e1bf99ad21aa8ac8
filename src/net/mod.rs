//! The network fabric: which links are up, lossy, slow or duplicating.
//!
//! A cluster's network is modelled as a directed link matrix: for every
//! ordered pair of nodes one [`Link`] says whether messages from the first
//! reach the second, with what loss probability, delay range and duplication
//! probability. [`Fabric`] holds that matrix and offers the vocabulary used to
//! break a cluster on purpose — isolate a node, partition into groups, build a
//! bridge, cut one direction, heal — and [`Fabric::decide`] turns one message
//! into its delivery delays. The fabric is pure: it owns no clock, thread or
//! RNG, so the simulator drives it with its seeded RNG and virtual time, and
//! the live runtime will drive it with wall-clock time.

mod fabric;

pub use fabric::{Fabric, FabricError, Link};
