//! Outputs: the HTTP endpoint serving `/metrics`, `/healthz` and `/readyz`.

pub mod http;

#[cfg(test)]
mod serve_tests;
