//! The four kinds as one table. It lives in the `sm-kinds` crate (`crates/sm-kinds`), which the
//! emulator shares; this re-export keeps `crate::kinds` the product's one path to it.

pub use sm_kinds::*;
