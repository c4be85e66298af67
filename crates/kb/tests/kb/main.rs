//! Integration tests of the `kb` crate (one test binary, several modules).

mod common;
mod cpe;
mod exploit;
mod kev;
mod matcher;
mod nvd;
mod shared_data;
mod version;
