//! HTTP server (placeholder: being written; see the helper's brief).
