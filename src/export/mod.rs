//! Outputs: the HTTP endpoint serving `/metrics`, `/healthz` and `/readyz`, and the web
//! configuration (TLS, basic authentication, headers) that protects it.

pub mod guard;
pub mod http;
pub mod web_config;

#[cfg(test)]
mod serve_tests;
