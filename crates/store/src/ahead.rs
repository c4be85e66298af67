//! One batch ahead: making the next batch of store work on one thread while this
//! thread consumes the last. A scan reads the next rows while the last ones are decoded
//! (`StateStore::scan_state_bytes`); the emulator's seed and time travel make the next
//! reports while the store writes the last ones, where taking turns left a third of
//! the two cores idle.

/// Runs `produce` on its own thread, handing each batch it makes to `consume` on this
/// one; `produce` makes at most one batch past the one being consumed (its hand-over
/// waits for `consume` to take it). `produce` is given a function that hands a batch
/// over and says whether to go on (false once `consume` has failed). Returns the first
/// error of either side; `panicked` is the error when `produce` panics.
pub fn one_batch_ahead<T: Send, E: Send>(
    produce: impl FnOnce(&mut dyn FnMut(T) -> bool) -> Result<(), E> + Send,
    mut consume: impl FnMut(T) -> Result<(), E>,
    panicked: impl FnOnce() -> E,
) -> Result<(), E> {
    let (hand_over, batches) = std::sync::mpsc::sync_channel::<T>(0);
    std::thread::scope(|scope| {
        let producer = scope.spawn(move || produce(&mut |batch| hand_over.send(batch).is_ok()));
        let mut consumed = Ok(());
        for batch in &batches {
            consumed = consume(batch);
            if consumed.is_err() {
                break;
            }
        }
        // A producer waiting to hand over is released (its send fails) and stops.
        drop(batches);
        let produced = producer.join().unwrap_or_else(|_| Err(panicked()));
        consumed.and(produced)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_batch_is_consumed_in_order() {
        let mut seen = Vec::new();
        one_batch_ahead(
            |send| {
                for i in 0..100 {
                    if !send(i) {
                        break;
                    }
                }
                Ok(())
            },
            |i| {
                seen.push(i);
                Ok(())
            },
            || "panicked",
        )
        .expect("no error");
        assert_eq!(seen, (0..100).collect::<Vec<_>>());
    }

    #[test]
    fn a_consume_error_stops_the_producer_and_is_returned() {
        let mut made = 0;
        let made_ref = &mut made;
        let out = one_batch_ahead(
            move |send| {
                for i in 0..1000 {
                    *made_ref += 1;
                    if !send(i) {
                        break;
                    }
                }
                Ok(())
            },
            |i| match i {
                3 => Err("apply failed"),
                _ => Ok(()),
            },
            || "panicked",
        );
        assert_eq!(out, Err("apply failed"));
        // Batch 3 failed; at most one more was made while it was consumed.
        assert!(made <= 5, "{made} batches made");
    }

    #[test]
    fn a_produce_error_is_returned_after_what_was_handed_over() {
        let mut seen = Vec::new();
        let out = one_batch_ahead(
            |send| {
                send(1);
                send(2);
                Err("read failed")
            },
            |i| {
                seen.push(i);
                Ok(())
            },
            || "panicked",
        );
        assert_eq!(out, Err("read failed"));
        assert_eq!(seen, [1, 2]);
    }

    #[test]
    fn a_producer_that_panics_is_an_error() {
        let out: Result<(), &str> = one_batch_ahead(
            |send| {
                send(1);
                panic!("the producer fails");
            },
            |_| Ok(()),
            || "panicked",
        );
        assert_eq!(out, Err("panicked"));
    }
}
