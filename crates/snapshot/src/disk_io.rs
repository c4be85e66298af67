//! A process's storage traffic, from Linux's `/proc/<pid>/io`: the bytes a stage made the
//! kernel fetch from the disk, as against what the page cache already held. It says
//! whether a stage went to the disk at all, not whether it waited for it (read-ahead
//! overlaps computation): a publish reports it for its diff (which reads the older
//! snapshot back), `posture bench` for each stage it times.

/// Bytes a process has caused to be read from storage (`read_bytes`) and dirtied for
/// writing to it (`write_bytes`), since it started. Reads the page cache served are not
/// counted, and neither are a database server's reads on the process's behalf.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DiskIo {
    pub read_bytes: u64,
    pub write_bytes: u64,
}

impl DiskIo {
    /// This process's counters; `None` where the kernel does not keep them (not Linux,
    /// or a kernel built without task I/O accounting).
    pub fn of_self() -> Option<DiskIo> {
        Self::of_process("self")
    }

    /// The counters of process `pid` (readable for a process of the same user).
    pub fn of_process(pid: &str) -> Option<DiskIo> {
        parse(&std::fs::read_to_string(format!("/proc/{pid}/io")).ok()?)
    }

    /// The traffic between `earlier` and `self`.
    pub fn since(self, earlier: DiskIo) -> DiskIo {
        DiskIo {
            read_bytes: self.read_bytes.saturating_sub(earlier.read_bytes),
            write_bytes: self.write_bytes.saturating_sub(earlier.write_bytes),
        }
    }
}

/// The counters in the text of a `/proc/<pid>/io` file (both fields needed).
fn parse(text: &str) -> Option<DiskIo> {
    let field = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    Some(DiskIo {
        read_bytes: field("read_bytes")?,
        write_bytes: field("write_bytes")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `/proc/<pid>/io` as Linux 6.x writes it.
    const PROC_IO: &str = "rchar: 5217344\nwchar: 1290\nsyscr: 1201\nsyscw: 17\nread_bytes: 4096000\nwrite_bytes: 12288\ncancelled_write_bytes: 0\n";

    #[test]
    fn the_storage_counters_are_read_and_the_page_cache_ones_are_not() {
        assert_eq!(
            parse(PROC_IO),
            Some(DiskIo {
                read_bytes: 4_096_000,
                write_bytes: 12_288
            })
        );
    }

    #[test]
    fn a_file_without_both_counters_is_no_reading() {
        assert_eq!(parse("rchar: 1\nread_bytes: 4096\n"), None);
        assert_eq!(parse("read_bytes: many\nwrite_bytes: 0\n"), None);
        assert_eq!(parse(""), None);
    }

    #[test]
    fn traffic_since_an_earlier_reading_never_goes_below_zero() {
        let earlier = DiskIo {
            read_bytes: 100,
            write_bytes: 50,
        };
        let later = DiskIo {
            read_bytes: 350,
            write_bytes: 40,
        };
        assert_eq!(
            later.since(earlier),
            DiskIo {
                read_bytes: 250,
                write_bytes: 0
            }
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_has_counters_on_linux() {
        // Every kernel Posture runs on keeps task I/O accounting (Debian's and the CI's);
        // without it the figures are absent, not wrong.
        if std::path::Path::new("/proc/self/io").exists() {
            assert!(DiskIo::of_self().is_some());
        }
    }
}
