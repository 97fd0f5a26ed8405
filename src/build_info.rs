//! Build facts: the version and source revision, for `kafka_security_build_info` and the OTLP
//! resource and instrumentation scope.

/// The crate version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The git revision the binary was built from (`KSE_GIT_REVISION` at build time), or `unknown`.
pub const REVISION: &str = match option_env!("KSE_GIT_REVISION") {
    Some(r) => r,
    None => "unknown",
};
