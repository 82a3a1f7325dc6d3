//! Configuration (placeholder: being written; see the helper's brief).
