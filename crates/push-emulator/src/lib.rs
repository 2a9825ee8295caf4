//! push-emulator (being built).
