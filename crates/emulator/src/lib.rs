//! Posture's emulator: the synthetic fleet and the synthetic knowledge base, seeding
//! a store with them ([`seed_fleet`]), the emulator clock ([`FleetState`],
//! [`service_now`]) and time travel ([`advance_fleet`]).
//!
//! The emulator writes the state store only through `ingest`'s doors
//! ([`ingest::apply_reports`], [`ingest::import_feed`], [`ingest::put_emulator_state`]),
//! so generated data is validated and stored exactly like a real agent's.
//!
//! Both are deterministic: the same seed gives byte-identical output on every
//! machine, whatever the thread count, so a demo, a test or a benchmark can be
//! reproduced from its seed alone.
//!
//! # The fleet ([`devices`])
//!
//! [`device_report`] turns `(seed, index, now)` into a [`model::DeviceReport`],
//! the same shape a real agent pushes, so generated devices enter Posture by
//! the same door as real ones and every report passes
//! [`model::DeviceReport::validate`]. Each device draws from its own ChaCha8
//! stream (key from the seed, stream number = index), so [`reports`]
//! generates in parallel and any single device can be regenerated alone.
//!
//! A device is drawn as follows.
//! * **Kind**: 55% Windows 10/11 workstations, 15% Windows Server
//!   2016/2019/2022, 15% macOS 13–15, 15% Linux (Ubuntu 20.04/22.04/24.04,
//!   Debian 11/12, RHEL 8/9, with `distro`), with MDE platform names
//!   (`Windows11`, `WindowsServer2022`, `macOS`, `Linux`, ...), an OS build
//!   from the product's real build list and an architecture.
//! * **Identity**: a random 40-hex device id, an FQDN (`ws-01234.emea.contoso.com`),
//!   one of eight device groups ([`GROUPS`]) that follow the kind and region,
//!   or none for about 10%.
//! * **Hygiene**: one hidden number per device in 0..1 that makes good
//!   practice cluster: it raises the chance of compliant settings, of recent
//!   software versions and of fresh antivirus signatures together.
//! * **Software** ([`products`]): the OS itself as MDE lists it (with `o:`
//!   CPE; on Linux the kernel too), then every catalogue product by its
//!   prevalence for the kind (on average about 40 CPE items on clients, 26 on
//!   servers, 40 on macs, 50 on Linux) plus 4–7 non-CPE items. A product's
//!   release line is drawn by weight and the release within it is geometric
//!   from the newest (the device's hygiene and the product's auto-update habit
//!   set the odds), with a neglected tail anywhere in the line; some products
//!   have a second line or release installed side by side. Paths, registry
//!   keys and end-of-support facts come with the release.
//! * **Settings**: for every configuration of the device's OS in the embedded
//!   configuration catalogue ([`assess::catalog::Catalog::embedded`]), the
//!   catalogue's own compliant or non-compliant sample values, compliant with
//!   the catalogue's `complianceRate` pulled up or down by hygiene
//!   (mean-preserving), so the real rules decide and the fleet-wide rates
//!   follow the catalogue. `appliesWhen` settings (`Hardware.TpmPresent`,
//!   `sshd.Installed`, ...) are set so that most devices, not all, are in scope.
//! * **Antivirus**: Windows has Microsoft Defender, its mode and signature age
//!   consistent with the `Defender.*` settings (enabled → active; disabled →
//!   passive, disabled or EDR-blocked; stale signatures exactly when the
//!   signature-age setting is non-compliant), engine/platform on a real
//!   version line mostly current, quick/full scans completed, failed (with
//!   an error code), canceled or absent. About 60% of macs and Linux hosts run
//!   MDE with their own platform lines; the rest report no AV.
//! * **Facts**: TLS/SChannel and Log4j mitigation states on Windows, eBPF
//!   status on Linux hosts with MDE, under PascalCase keys.
//! * **Times**: `reported_at` within 48 hours before `now` for 95%, a stale
//!   tail of days to weeks for the rest; every other time is before it.
//!   `now` does not feed the random stream, so moving it moves times only.
//!
//! # The knowledge base ([`synthetic_kb`])
//!
//! [`synthetic_feeds`] writes an NVD CVE API 2.0 document and a CISA KEV
//! catalogue over the same product catalogue, so the fleet's older releases
//! are vulnerable and the newest are fixed, with real later releases as fixes.
//! Its ids (`CVE-YYYY-9NNNNNN`) never collide with real ones, so it can be
//! loaded beside real feeds; its size is tuned so that assessing the fleet
//! gives on average about 100 vulnerability rows per device. See the module
//! for the shapes it produces.

pub mod clock;
pub mod devices;
pub mod evolve;
pub mod nvd_scale;
pub mod products;
pub mod seed;
pub mod synthetic_kb;
pub mod travel;

pub use clock::{FleetState, fleet_state, service_now};
pub use devices::{FleetConfig, GROUPS, device_report, reports};
pub use evolve::{Advance, evolve_report};
pub use nvd_scale::{ScaledKb, ScaledKbOptions, scaled_kb_update, write_scaled_kb};
pub use seed::{SeedOutcome, seed_fleet};
pub use synthetic_kb::{SyntheticFeeds, feed_update, platform_cpes, synthetic_feeds};
pub use travel::{AdvanceOutcome, advance_fleet};

#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error(transparent)]
    Ingest(#[from] ingest::IngestError),
    #[error(transparent)]
    Store(#[from] ingest::StoreError),
    #[error(
        "this data directory has no synthetic fleet (run `posture seed` first); time travel works on seeded fleets"
    )]
    NoFleet,
    #[error("the emulator's stored state is unreadable: {0}")]
    BadState(String),
    #[error("generated feed refused by the importer: {0}")]
    Generated(#[from] kb::ImportError),
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}
