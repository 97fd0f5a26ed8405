//! Inputs. Each source is one task holding a cancellation token; it applies records through the
//! [`crate::pipeline::Pipeline`] and commits only what was applied.

pub mod kafka;
