//! Integration tests of the `kb` crate (one test binary, several modules).

mod common;
mod cpe;
mod dpkg;
mod exploit;
mod kev;
mod matcher;
mod nvd;
mod orders;
mod osv;
mod pep440;
mod props;
mod refs;
mod rpm;
mod shared_data;
mod target_sw;
mod version;
