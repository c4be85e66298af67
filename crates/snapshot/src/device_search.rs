//! Finding devices by a part of their id or name (the console's device search).
//!
//! Searching device by device reads each device's id and head fragment from the
//! snapshot's tables: about 190 ns a device, 190 ms for a million, on every search. A
//! [`DeviceSearch`] is made once per snapshot instead (the console keeps the latest's): every device's id and name,
//! lower-cased, side by side in a few buffers (one per run of [`CHUNK`] devices, made in
//! parallel and never joined, so making it holds no second copy), so a search is a
//! `memmem` pass over some 60 MB at a million devices, and a hit is mapped back to its
//! device by a binary search of where each device starts.

use rayon::prelude::*;

/// The key that precedes a device's name in its head fragment (see `render`).
const NAME_KEY: &[u8] = b"\"deviceName\":";
/// The key that follows it.
const AFTER_NAME: &[u8] = b",\"osPlatform\":";
/// Devices per buffer.
const CHUNK: u32 = 16_384;

/// Devices' ids and names, lower-cased, for substring search (see the module docs).
#[derive(Debug, Default)]
pub struct DeviceSearch {
    chunks: Vec<Chunk>,
}

/// The text of a run of consecutive devices.
#[derive(Debug, Default)]
struct Chunk {
    first_device: u32,
    /// Device by device: its id, then its name (as the head holds it: JSON-escaped,
    /// without the quotes; empty for a device without a name).
    text: Vec<u8>,
    /// Where each device's id starts in `text`, and one past the end; a device's name
    /// starts at its id's start plus `id_len[d]`.
    starts: Vec<usize>,
    id_len: Vec<u8>,
}

impl DeviceSearch {
    /// The search over `count` devices, device `d` having id `id(d)` and head fragment
    /// `head(d)`.
    pub fn build<'s>(
        count: u32,
        id: impl Fn(u32) -> &'s [u8] + Sync,
        head: impl Fn(u32) -> &'s [u8] + Sync,
    ) -> DeviceSearch {
        let chunks = (0..count.div_ceil(CHUNK))
            .into_par_iter()
            .map(|c| {
                let name_key = memchr::memmem::Finder::new(NAME_KEY);
                let first_device = c * CHUNK;
                let devices = first_device..((c + 1) * CHUNK).min(count);
                let mut chunk = Chunk {
                    first_device,
                    text: Vec::with_capacity(devices.len() * 64),
                    starts: Vec::with_capacity(devices.len() + 1),
                    id_len: Vec::with_capacity(devices.len()),
                };
                for d in devices {
                    let id = id(d);
                    let id = &id[..id.len().min(usize::from(u8::MAX))];
                    chunk.starts.push(chunk.text.len());
                    chunk.id_len.push(id.len() as u8);
                    chunk.text.extend(id.iter().map(u8::to_ascii_lowercase));
                    let name = name_in(head(d), &name_key);
                    chunk.text.extend(name.iter().map(u8::to_ascii_lowercase));
                }
                chunk.starts.push(chunk.text.len());
                chunk.text.shrink_to_fit();
                chunk
            })
            .collect();
        DeviceSearch { chunks }
    }

    /// The devices whose id or name contains `needle` (lower case; ASCII letters are
    /// matched regardless of case), in device order, each once. An empty needle
    /// matches every device.
    pub fn matches<'a>(&'a self, needle: &'a [u8]) -> Matches<'a> {
        if needle.is_empty() {
            let count = self
                .chunks
                .last()
                .map_or(0, |c| c.first_device + c.id_len.len() as u32);
            return Matches::Every(0..count);
        }
        Matches::Hits(Box::new(Hits {
            search: self,
            finder: memchr::memmem::Finder::new(needle),
            chunk: 0,
            from: 0,
        }))
    }

    /// Bytes held (for the logs).
    pub fn heap_bytes(&self) -> usize {
        self.chunks
            .iter()
            .map(|c| c.text.capacity() + c.starts.capacity() * 8 + c.id_len.capacity())
            .sum()
    }
}

/// The iterator [`DeviceSearch::matches`] returns.
pub enum Matches<'a> {
    Every(std::ops::Range<u32>),
    /// Boxed: a searcher is some hundreds of bytes, the other variant eight.
    Hits(Box<Hits<'a>>),
}

/// Where a search for a needle has got to.
pub struct Hits<'a> {
    search: &'a DeviceSearch,
    finder: memchr::memmem::Finder<'a>,
    chunk: usize,
    /// Where in the chunk's text to look next: past the last hit, or at the start of
    /// the device after the last one returned.
    from: usize,
}

impl Iterator for Matches<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        match self {
            Matches::Every(devices) => devices.next(),
            Matches::Hits(hits) => hits.next(),
        }
    }
}

impl Hits<'_> {
    fn next(&mut self) -> Option<u32> {
        let needle_len = self.finder.needle().len();
        loop {
            let c = self.search.chunks.get(self.chunk)?;
            let Some(found) = self.finder.find(&c.text[self.from..]) else {
                (self.chunk, self.from) = (self.chunk + 1, 0);
                continue;
            };
            let at = self.from + found;
            // The device whose text holds the hit (`at` is below the text's end, the
            // last start).
            let d = c.starts.partition_point(|&start| start <= at) - 1;
            let name_start = c.starts[d] + usize::from(c.id_len[d]);
            let end = at + needle_len;
            // A hit across the id and the name, or into the next device, is none.
            let within = if at < name_start {
                end <= name_start
            } else {
                end <= c.starts[d + 1]
            };
            if within {
                // Each device once: the search goes on at the next device.
                self.from = c.starts[d + 1];
                return Some(c.first_device + d as u32);
            }
            self.from = at + 1;
        }
    }
}

/// The device's name as its head fragment holds it (JSON-escaped, without the quotes;
/// empty for a device without a name): what device search reads besides the id, so a
/// search for "windows" finds the devices named so, not every device on Windows.
fn name_in<'h>(head: &'h [u8], name_key: &memchr::memmem::Finder<'_>) -> &'h [u8] {
    let Some(at) = name_key.find(head) else {
        return b"";
    };
    let value = &head[at + NAME_KEY.len()..];
    let end = memchr::memmem::find(value, AFTER_NAME).unwrap_or(value.len());
    match &value[..end] {
        [b'"', inner @ .., b'"'] => inner,
        _ => b"",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(name: Option<&str>) -> Vec<u8> {
        let name = name.map_or("null".to_owned(), |n| format!("\"{n}\""));
        format!("{{\"id\":\"x\",\"deviceName\":{name},\"osPlatform\":\"Windows11\"}}").into_bytes()
    }

    fn search(devices: &[(&str, Option<&str>)]) -> DeviceSearch {
        let heads: Vec<Vec<u8>> = devices.iter().map(|(_, n)| head(*n)).collect();
        DeviceSearch::build(
            devices.len() as u32,
            |d| devices[d as usize].0.as_bytes(),
            |d| &heads[d as usize],
        )
    }

    fn found(s: &DeviceSearch, needle: &str) -> Vec<u32> {
        s.matches(needle.as_bytes()).collect()
    }

    #[test]
    fn finds_by_id_or_name_in_any_case_each_device_once() {
        let s = search(&[
            ("aa01", Some("Host-ABC")),
            ("bb02", Some("desk-aa01-abc")),
            ("cc03", None),
            ("abcd", Some("abc abc abc")),
        ]);
        assert_eq!(found(&s, "abc"), [0, 1, 3]);
        assert_eq!(found(&s, "aa01"), [0, 1]);
        assert_eq!(found(&s, "cc03"), [2]);
        assert_eq!(found(&s, ""), [0, 1, 2, 3]);
        assert_eq!(found(&s, "zz"), Vec::<u32>::new());
        // Not the head's other fields: only the name is searched besides the id.
        assert_eq!(found(&s, "windows"), Vec::<u32>::new());
    }

    #[test]
    fn a_hit_across_fields_or_devices_is_no_hit() {
        let s = search(&[("aa01", Some("bc")), ("dd", None), ("ee", Some("ff"))]);
        // "01" + "bc": the id's end and the name's start.
        assert_eq!(found(&s, "01b"), Vec::<u32>::new());
        // Device 1's id runs into device 2's: "dd" + "ee".
        assert_eq!(found(&s, "dde"), Vec::<u32>::new());
        // "bc" + "dd": a name into the next device's id.
        assert_eq!(found(&s, "cd"), Vec::<u32>::new());
        assert_eq!(found(&s, "ff"), [2]);
    }

    #[test]
    fn builds_in_chunks_in_device_order() {
        let ids: Vec<String> = (0..40_000).map(|i| format!("{i:040x}")).collect();
        let heads: Vec<Vec<u8>> = (0..40_000)
            .map(|i| head(Some(&format!("Host-{i}"))))
            .collect();
        let s = DeviceSearch::build(
            40_000,
            |d| ids[d as usize].as_bytes(),
            |d| &heads[d as usize],
        );
        assert_eq!(s.chunks.len(), 3, "40,000 devices in runs of {CHUNK}");
        assert_eq!(found(&s, "host-39999"), [39_999]);
        // A device at the end of one run and one at the start of the next.
        assert_eq!(found(&s, "host-16383"), [16_383]);
        assert_eq!(found(&s, "host-16384"), [16_384]);
        assert_eq!(
            found(&s, "host-1638"),
            [
                1638, 16380, 16381, 16382, 16383, 16384, 16385, 16386, 16387, 16388, 16389
            ]
        );
        assert_eq!(found(&s, &format!("{:040x}", 20_000)), [20_000]);
        assert_eq!(s.matches(b"").count(), 40_000);
    }
}
