//! `Accept-Encoding: gzip` for the streamed JSON responses (assessment pages,
//! deviceavinfo, the delta endpoint).
//!
//! A streamed response is marked [`Compressible`] by the handler; [`serve_endpoint`]
//! (crate root) negotiates the coding from the request and, for gzip, wraps the body in
//! [`gzip_body`]: a streaming gzip encoder at the fastest level, sync-flushed after every
//! chunk the renderer hands over, so the first bytes leave as soon as the first chunk is
//! rendered (no buffering of the page) and memory stays bounded. Without a gzip-accepting
//! header the body is untouched. Error bodies and the via-files downloads (already gzip)
//! are never compressed.
//!
//! [`serve_endpoint`]: crate

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;
use futures_util::StreamExt;
use std::io::Write;

/// Response extension: the body may be compressed.
#[derive(Clone, Copy, Debug)]
pub struct Compressible;

/// The content coding a response is sent with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContentCoding {
    Identity,
    Gzip,
}

impl ContentCoding {
    /// gzip when `Accept-Encoding` accepts it (`gzip`/`x-gzip`, or `*` when gzip is not
    /// listed, with a q-value above 0); identity otherwise.
    pub fn negotiate(headers: &HeaderMap) -> ContentCoding {
        let mut gzip: Option<bool> = None;
        let mut any: Option<bool> = None;
        for value in headers.get_all(header::ACCEPT_ENCODING) {
            let Ok(text) = value.to_str() else { continue };
            for item in text.split(',') {
                let mut parts = item.split(';');
                let coding = parts.next().unwrap_or("").trim().to_ascii_lowercase();
                let accepted = parts
                    .filter_map(|p| {
                        let (name, v) = p.split_once('=')?;
                        name.trim().eq_ignore_ascii_case("q").then(|| v.trim())
                    })
                    .next_back()
                    // An unparsable q-value refuses rather than guesses.
                    .is_none_or(|q| q.parse::<f32>().is_ok_and(|q| q > 0.0));
                match coding.as_str() {
                    "gzip" | "x-gzip" => gzip = Some(gzip.unwrap_or(false) || accepted),
                    "*" => any = Some(accepted),
                    _ => {}
                }
            }
        }
        if gzip.or(any).unwrap_or(false) {
            ContentCoding::Gzip
        } else {
            ContentCoding::Identity
        }
    }
}

/// Applies `coding` to a [`Compressible`] response: adds `Vary: Accept-Encoding`, and for
/// gzip sets `Content-Encoding: gzip` and compresses the body as it streams. Other
/// responses pass unchanged.
pub fn encode_response(response: Response, coding: ContentCoding) -> Response {
    if response.extensions().get::<Compressible>().is_none() {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    parts
        .headers
        .append(header::VARY, HeaderValue::from_static("accept-encoding"));
    match coding {
        ContentCoding::Identity => Response::from_parts(parts, body),
        ContentCoding::Gzip => {
            parts.headers.remove(header::CONTENT_LENGTH);
            parts
                .headers
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            Response::from_parts(parts, gzip_body(body))
        }
    }
}

/// Compresses `body` as one gzip member at the fastest level, emitting the compressed
/// bytes of each input chunk as soon as it arrives (sync flush), then the trailer.
pub fn gzip_body(body: Body) -> Body {
    struct State {
        input: axum::body::BodyDataStream,
        encoder: Option<GzEncoder<Vec<u8>>>,
    }
    let state = State {
        input: body.into_data_stream(),
        encoder: Some(GzEncoder::new(Vec::new(), Compression::fast())),
    };
    let stream = futures_util::stream::unfold(state, |mut st| async move {
        loop {
            let encoder = st.encoder.as_mut()?;
            let step = match st.input.next().await {
                Some(Ok(chunk)) => encoder
                    .write_all(&chunk)
                    .and_then(|()| encoder.flush())
                    .map(|()| std::mem::take(encoder.get_mut())),
                Some(Err(e)) => Err(std::io::Error::other(e)),
                None => st.encoder.take().map_or(Ok(Vec::new()), |e| e.finish()),
            };
            match step {
                Ok(out) if out.is_empty() => continue,
                Ok(out) => return Some((Ok::<Bytes, std::io::Error>(Bytes::from(out)), st)),
                Err(e) => {
                    st.encoder = None;
                    return Some((Err(e), st));
                }
            }
        }
    });
    Body::from_stream(stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coding(accept: &[&str]) -> ContentCoding {
        let mut h = HeaderMap::new();
        for a in accept {
            h.append(header::ACCEPT_ENCODING, HeaderValue::from_str(a).unwrap());
        }
        ContentCoding::negotiate(&h)
    }

    #[test]
    fn negotiation_follows_q_values() {
        use ContentCoding::*;
        for (accept, want) in [
            (&[][..], Identity),
            (&["gzip"][..], Gzip),
            (&["GZip, deflate, br"][..], Gzip),
            (&["x-gzip"][..], Gzip),
            (&["br;q=1.0, gzip;q=0.5"][..], Gzip),
            (&["gzip;q=0"][..], Identity),
            (&["gzip;q=0.000"][..], Identity),
            (&["gzip;q=nope"][..], Identity),
            (&["identity"][..], Identity),
            (&["br", "deflate"][..], Identity),
            (&["*"][..], Gzip),
            (&["*;q=0"][..], Identity),
            (&["gzip;q=0, *"][..], Identity),
            (&["deflate", "gzip"][..], Gzip),
        ] {
            assert_eq!(coding(accept), want, "{accept:?}");
        }
    }

    #[tokio::test]
    async fn the_body_decodes_to_the_plain_bytes_and_each_chunk_is_flushed() {
        use std::io::Read;
        let chunks: Vec<Bytes> = (0..5)
            .map(|i| Bytes::from(format!("{{\"chunk\":{i}}}").repeat(1000)))
            .collect();
        let plain: Vec<u8> = chunks.iter().flat_map(|c| c.to_vec()).collect();
        let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(1);
        let input = Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv()
                .await
                .map(|c| (Ok::<Bytes, std::convert::Infallible>(c), rx))
        }));
        let mut out = gzip_body(input).into_data_stream();
        // The first chunk's compressed bytes come out before the second is even sent.
        tx.send(chunks[0].clone()).await.unwrap();
        let first = out.next().await.unwrap().unwrap();
        let mut partial = Vec::new();
        let _ = flate2::read::GzDecoder::new(&first[..]).read_to_end(&mut partial);
        assert_eq!(partial, chunks[0].to_vec());
        let sender = tokio::spawn(async move {
            for c in &chunks[1..] {
                tx.send(c.clone()).await.unwrap();
            }
        });
        let mut all = first.to_vec();
        while let Some(piece) = out.next().await {
            all.extend_from_slice(&piece.unwrap());
        }
        sender.await.unwrap();
        let mut decoder = flate2::bufread::GzDecoder::new(&all[..]);
        let mut back = Vec::new();
        decoder.read_to_end(&mut back).unwrap();
        assert_eq!(back, plain);
        assert!(decoder.into_inner().is_empty(), "one gzip member");
    }
}
