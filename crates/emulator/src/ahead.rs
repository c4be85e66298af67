//! One batch ahead: how the seed and time travel overlap making reports with writing
//! them. The store writes one batch at a time in one transaction; making the next batch
//! (generating, or reading and evolving devices) on another thread meanwhile keeps both
//! cores busy, where taking turns left a third of them idle.

use crate::EmulatorError;

/// Runs `produce` on its own thread, handing each batch it makes to `apply` on this one;
/// `produce` makes at most one batch past the one being applied (its hand-over waits for
/// `apply` to take it). `produce` is given a function that hands a batch over and says
/// whether to go on (false once `apply` has failed). Returns the first error of either
/// side.
pub(crate) fn one_batch_ahead<T: Send>(
    produce: impl FnOnce(&mut dyn FnMut(T) -> bool) -> Result<(), EmulatorError> + Send,
    mut apply: impl FnMut(T) -> Result<(), EmulatorError>,
) -> Result<(), EmulatorError> {
    let (hand_over, batches) = std::sync::mpsc::sync_channel::<T>(0);
    std::thread::scope(|scope| {
        let producer = scope.spawn(move || produce(&mut |batch| hand_over.send(batch).is_ok()));
        let mut applied = Ok(());
        for batch in &batches {
            applied = apply(batch);
            if applied.is_err() {
                break;
            }
        }
        // A producer waiting to hand over is released (its send fails) and stops.
        drop(batches);
        let produced = producer.join().unwrap_or_else(|_| {
            Err(EmulatorError::BadState(
                "the thread making the reports panicked".into(),
            ))
        });
        applied.and(produced)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_batch_is_applied_in_order() {
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
        )
        .expect("no error");
        assert_eq!(seen, (0..100).collect::<Vec<_>>());
    }

    #[test]
    fn an_apply_error_stops_the_producer_and_is_returned() {
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
                3 => Err(EmulatorError::NoFleet),
                _ => Ok(()),
            },
        );
        assert!(matches!(out, Err(EmulatorError::NoFleet)), "{out:?}");
        // Batch 3 failed; at most one more was made while it was applied.
        assert!(made <= 5, "{made} batches made");
    }

    #[test]
    fn a_produce_error_is_returned_after_what_was_handed_over() {
        let mut seen = Vec::new();
        let out = one_batch_ahead(
            |send| {
                send(1);
                send(2);
                Err(EmulatorError::BadState("read failed".into()))
            },
            |i| {
                seen.push(i);
                Ok(())
            },
        );
        assert!(matches!(out, Err(EmulatorError::BadState(_))), "{out:?}");
        assert_eq!(seen, [1, 2]);
    }
}
