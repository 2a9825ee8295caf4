//! sync-engine (being built).
