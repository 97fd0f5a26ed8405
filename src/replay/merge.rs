//! The k-way merge of a replay's files by event time: each file is read in its own order, one
//! current item per file waits in a heap, and the oldest is applied next. Equal times go in file
//! order (oldest file first), so a replay is deterministic.

use std::cmp::Reverse;
use std::collections::binary_heap::PeekMut;
use std::collections::BinaryHeap;
use std::time::SystemTime;

/// Runs the merge: `first` holds each source's first item time (sources without one are left
/// out); `step(i)` applies source `i`'s current item, moves it on and returns its next item's
/// time, `None` when it has no more. Returns the latest item time applied (the last item's,
/// unless a file went back in time).
pub fn merge<E>(
    first: impl IntoIterator<Item = (usize, SystemTime)>,
    mut step: impl FnMut(usize) -> Result<Option<SystemTime>, E>,
) -> Result<Option<SystemTime>, E> {
    let mut heap: BinaryHeap<Reverse<(SystemTime, usize)>> =
        first.into_iter().map(|(i, t)| Reverse((t, i))).collect();
    let mut latest: Option<SystemTime> = None;
    while let Some(mut top) = heap.peek_mut() {
        let Reverse((time, i)) = *top;
        latest = latest.max(Some(time));
        match step(i)? {
            // Replacing the top sifts it down once: no pop and push per item.
            Some(next) => *top = Reverse((next, i)),
            None => {
                PeekMut::pop(top);
            }
        }
    }
    Ok(latest)
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    /// Merges sources of item times; returns (source, time) in the order applied.
    fn merged(sources: &[&[u64]]) -> Vec<(usize, u64)> {
        let mut pos = vec![0; sources.len()];
        let mut out = Vec::new();
        let first = sources
            .iter()
            .enumerate()
            .filter_map(|(i, s)| Some((i, at(*s.first()?))));
        let last = merge(first, |i| {
            out.push((i, sources[i][pos[i]]));
            pos[i] += 1;
            Ok::<_, Infallible>(sources[i].get(pos[i]).map(|&s| at(s)))
        })
        .unwrap();
        assert_eq!(last, out.iter().map(|&(_, s)| at(s)).max());
        out
    }

    #[test]
    fn oldest_first_each_source_in_its_own_order() {
        let got = merged(&[&[1, 5, 9], &[], &[2, 3, 9], &[0]]);
        assert_eq!(
            got,
            [(3, 0), (0, 1), (2, 2), (2, 3), (0, 5), (0, 9), (2, 9)]
        );
        // A source going back in time is still read in its own order.
        assert_eq!(merged(&[&[5, 1], &[3]]), [(1, 3), (0, 5), (0, 1)]);
        assert!(merged(&[]).is_empty());
    }
}
