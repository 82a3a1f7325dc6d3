//! ike_exporter: tells network operators why their IPsec VPNs fail.
//!
//! It reads Palo Alto PAN-OS logs, recognises every IKE Phase 1 and Phase 2
//! negotiation event, classifies each failure into a named pattern per peer,
//! and exposes Prometheus metrics. The stages (design.md §2):
//! [`parse`] → [`classify`] → [`record`] → [`metrics`], driven by
//! [`pipeline`]; [`diagnose`] runs them over files and prints a report.

#![forbid(unsafe_code)]
#![warn(clippy::unwrap_used)]

pub mod advice;
pub mod app;
pub mod classify;
pub mod cli;
pub mod config;
pub mod diagnose;
#[doc(hidden)]
pub mod fuzzing;
pub mod http;
pub mod ike;
pub mod log_limit;
pub mod metrics;
pub mod parse;
pub mod pipeline;
pub mod readiness;
pub mod record;
pub mod source;
pub mod web_config;

/// The git revision this binary was built from.
pub const REVISION: &str = env!("IKE_EXPORTER_REVISION");
