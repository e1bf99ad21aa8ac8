//! The network: the fault model and the transports that carry messages.
//!
//! A cluster's network is modelled as a directed link matrix: for every
//! ordered pair of nodes one [`Link`] says whether messages from the first
//! reach the second, with what loss probability, delay range and duplication
//! probability. [`Fabric`] holds that matrix and offers the vocabulary used to
//! break a cluster on purpose — isolate a node, partition into groups, build a
//! bridge, cut one direction, heal — and [`Fabric::decide`] turns one message
//! into its delivery delays. The fabric is pure: it owns no clock, thread or
//! RNG, so the simulator drives it with its seeded RNG and virtual time, and
//! the live runtime drives it with wall-clock time.
//!
//! What the fabric lets through travels over a transport: in-memory
//! channels (the runtime's own) or loopback TCP — [`TcpTransport`], which
//! speaks length-prefixed postcard [`frame`]s of [`Wire`] values and also
//! lets nodes run as separate processes and clients reach them. Over TCP
//! nothing is believed until its sender proved the cluster's secret
//! ([`auth`], [`secret`]), and repeated network errors are said once per
//! interval ([`notice`]). A message can also be held on its link by hand
//! and delivered or dropped later ([`HoldQueue`]), in both drivers.

pub mod auth;
mod fabric;
pub mod frame;
mod hold;
pub mod notice;
mod request;
pub mod secret;
mod tcp;
mod wire;

pub use auth::{AuthError, Claim, ClusterKey};
pub use fabric::{Fabric, FabricError, Link, format_groups, parse_delay_range};
pub use frame::{DEFAULT_MAX_FRAME, FrameError};
pub use hold::{
    Held, HeldInfo, HeldRef, HoldError, HoldQueue, delivered_text, dropped_text, held_text,
    hold_text, released_text,
};
pub use notice::NoticeKind;
pub use request::{Connection, Dialer, NO_ANSWER, exchange};
pub use tcp::{Identity, Replier, TcpAuth, TcpConfig, TcpError, TcpEvent, TcpTransport, loopback};
pub use wire::{
    ChangeReply, ClientReply, ClientRequest, ClientResponse, ForwardRequest, MembersStatus,
    NodeStatus, Wire,
};
