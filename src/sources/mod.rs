//! Inputs: [`kafka`] (consumer group) and [`file`](mod@file) (tailed broker logs). Each source is one task holding a cancellation token; it applies records through the
//! [`crate::pipeline::Pipeline`] and commits only what was applied.

pub mod file;
pub mod kafka;
