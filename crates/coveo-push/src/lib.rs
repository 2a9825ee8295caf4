//! coveo-push (being built).
