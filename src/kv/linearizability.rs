//! Linearizability checking of KV histories (Wing–Gong/Lowe search,
//! partitioned per key as Porcupine does).
