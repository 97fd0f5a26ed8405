//! Outputs: the HTTP endpoint serving `/metrics`, `/healthz` and `/readyz`.

pub mod http;
