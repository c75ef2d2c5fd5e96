//! The messages between rank 0 and a worker rank, and their byte layout.
//!
//! Each message is one MPI message of bytes on `MPI_COMM_WORLD`; its MPI tag names its kind.
//! Fields follow in a fixed order: a `u8`, a `u32` (4 bytes, little-endian), a `u64` (8 bytes,
//! little-endian), and byte strings and strings as a `u32` length followed by the bytes. Task
//! values and outputs inside them are the process pool's postcard payloads, untouched.
//!
//! | tag | message | direction | body |
//! |---|---|---|---|
//! | 1 | `Tasks` | rank 0 → worker, only as the answer to a `Report` | item count `u32`; per item: id `u64`, task name, payload |
//! | 2 | `Reclaim` | rank 0 → worker, unsolicited | one byte ([`SIGNAL`]) |
//! | 3 | `Stop` | rank 0 → worker, unsolicited | one byte ([`SIGNAL`]) |
//! | 10 | `Report` | worker → rank 0 | flags `u8`; result count `u32`; per result: id `u64`, kind `u8` (0 value, 1 panicked, 2 failed), bytes; if flag 1: returned count `u32`, ids `u64`; if flag 2: why the last `Tasks` could not be read |
//! | 11 | `Stopped` | worker → rank 0, the rank's last message | one byte ([`SIGNAL`]) |
//!
//! Who may send when is the subject of the [module documentation](super) ("Protocol").

use crate::process_pool::protocol::FrameReader;
use crate::process_pool::registry::{ItemFailure, ItemOutcome};

/// Rank 0 → worker: a batch of tasks, the answer to a `Report`.
pub(crate) const TAG_TASKS: i32 = 1;
/// Rank 0 → worker: give back the tasks you have not started.
pub(crate) const TAG_RECLAIM: i32 = 2;
/// Rank 0 → worker: the program is ending; answer `Stopped` and exit.
pub(crate) const TAG_STOP: i32 = 3;
/// Worker → rank 0: finished items, given-back items, or just "I am here".
pub(crate) const TAG_REPORT: i32 = 10;
/// Worker → rank 0: the last message of the rank.
pub(crate) const TAG_STOPPED: i32 = 11;

/// The body of the one-byte control messages. A `static`, so that rank 0 can send it with a
/// non-blocking send whose buffer outlives the request without any allocation to keep.
pub(crate) static SIGNAL: [u8; 1] = [0x5a];

/// The largest message MPI can describe with its `int` count of bytes.
pub(crate) const MAX_MESSAGE: usize = i32::MAX as usize;

const FLAG_RETURNED: u8 = 1;
const FLAG_FATAL: u8 = 2;

const VALUE: u8 = 0;
const PANICKED: u8 = 1;
const FAILED: u8 = 2;

/// One task of a `Tasks` message, borrowed from the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TaskRef<'a> {
    pub(crate) id: u64,
    pub(crate) name: &'a str,
    pub(crate) payload: &'a [u8],
}

/// How one item ended, borrowed from a `Report`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum OutcomeRef<'a> {
    Value(&'a [u8]),
    Panicked(&'a str),
    Failed(ItemFailure),
}

/// A decoded `Report`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ReportRef<'a> {
    pub(crate) results: Vec<(u64, OutcomeRef<'a>)>,
    /// The answer to a `Reclaim`: the ids of the tasks given back (possibly none).
    pub(crate) returned: Option<Vec<u64>>,
    /// The worker could not read the last `Tasks` message, for this reason.
    pub(crate) fatal: Option<&'a str>,
}

/// Appends fields to a message body.
#[derive(Default)]
pub(crate) struct Writer {
    bytes: Vec<u8>,
}

impl Writer {
    pub(crate) fn len(&self) -> usize {
        self.bytes.len()
    }

    fn u8(&mut self, value: u8) {
        self.bytes.push(value);
    }

    fn u32(&mut self, value: usize) {
        // Callers keep every length below `MAX_MESSAGE`, which fits a u32.
        self.bytes.extend_from_slice(&(value as u32).to_le_bytes());
    }

    fn u64(&mut self, value: u64) {
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }

    fn bytes(&mut self, value: &[u8]) {
        self.u32(value.len());
        self.bytes.extend_from_slice(value);
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        self.bytes
    }
}

/// The encoded size of one task in a `Tasks` message.
pub(crate) fn task_size(name: &str, payload: &[u8]) -> usize {
    8 + 4 + name.len() + 4 + payload.len()
}

/// A `Tasks` message. The caller keeps the total under [`MAX_MESSAGE`] (see [`task_size`]).
pub(crate) fn encode_tasks<'a>(tasks: impl ExactSizeIterator<Item = TaskRef<'a>>) -> Vec<u8> {
    let mut writer = Writer::default();
    writer.u32(tasks.len());
    for task in tasks {
        writer.u64(task.id);
        writer.bytes(task.name.as_bytes());
        writer.bytes(task.payload);
    }
    writer.finish()
}

/// Reads a `Tasks` message.
pub(crate) fn decode_tasks(body: &[u8]) -> Result<Vec<TaskRef<'_>>, String> {
    let mut reader = FrameReader::new(body);
    let count = reader.u32()? as usize;
    // Each task takes at least 16 bytes: a bound on the count before allocating for it.
    if count > reader.remaining() / 16 {
        return Err(format!("task count {count} exceeds the message"));
    }
    let mut tasks = Vec::with_capacity(count);
    for _ in 0..count {
        tasks.push(TaskRef { id: reader.u64()?, name: reader.str()?, payload: reader.bytes()? });
    }
    reader.end()?;
    Ok(tasks)
}

/// A `Report` being built by a worker.
#[derive(Default)]
pub(crate) struct ReportWriter {
    results: Writer,
    count: usize,
}

impl ReportWriter {
    /// Adds one finished item. Returns false (adding nothing) if the report would exceed
    /// `limit` bytes and already holds something; the caller sends it and starts another.
    pub(crate) fn push(&mut self, id: u64, outcome: &ItemOutcome, limit: usize) -> bool {
        let too_large;
        let outcome = match outcome {
            ItemOutcome::Value(bytes) if bytes.len() > MAX_MESSAGE - 64 => {
                let why = "the output is larger than one MPI message (2 GiB)";
                too_large = ItemOutcome::Failed(ItemFailure::OutputUnencodable(why.to_owned()));
                &too_large
            }
            outcome => outcome,
        };
        let (kind, failure, bytes) = match outcome {
            ItemOutcome::Value(bytes) => (VALUE, None, &bytes[..]),
            ItemOutcome::Panicked(message) => (PANICKED, None, message.as_bytes()),
            ItemOutcome::Failed(failure) => {
                let (failure, message) = failure.to_wire();
                (FAILED, Some(failure), message.as_bytes())
            }
        };
        if self.count > 0 && self.results.len() + 14 + bytes.len() > limit {
            return false;
        }
        self.results.u64(id);
        self.results.u8(kind);
        if let Some(failure) = failure {
            self.results.u8(failure);
        }
        self.results.bytes(bytes);
        self.count += 1;
        true
    }

    /// The message: these results, and the answer to a `Reclaim` or the reason the last
    /// `Tasks` could not be read if there is one.
    pub(crate) fn finish(self, returned: Option<&[u64]>, fatal: Option<&str>) -> Vec<u8> {
        let mut writer = Writer::default();
        let flags =
            if returned.is_some() { FLAG_RETURNED } else { 0 } | if fatal.is_some() { FLAG_FATAL } else { 0 };
        writer.u8(flags);
        writer.u32(self.count);
        writer.bytes.extend_from_slice(&self.results.bytes);
        if let Some(ids) = returned {
            writer.u32(ids.len());
            ids.iter().for_each(|&id| writer.u64(id));
        }
        if let Some(why) = fatal {
            writer.bytes(why.as_bytes());
        }
        writer.finish()
    }
}

/// Reads a `Report`.
pub(crate) fn decode_report(body: &[u8]) -> Result<ReportRef<'_>, String> {
    let mut reader = FrameReader::new(body);
    let flags = reader.u8()?;
    if flags & !(FLAG_RETURNED | FLAG_FATAL) != 0 {
        return Err(format!("unknown report flags {flags:#x}"));
    }
    let count = reader.u32()? as usize;
    if count > reader.remaining() / 13 {
        return Err(format!("result count {count} exceeds the message"));
    }
    let mut report = ReportRef { results: Vec::with_capacity(count), ..ReportRef::default() };
    for _ in 0..count {
        let id = reader.u64()?;
        let outcome = match reader.u8()? {
            VALUE => OutcomeRef::Value(reader.bytes()?),
            PANICKED => OutcomeRef::Panicked(reader.str()?),
            FAILED => OutcomeRef::Failed(reader.failure()?),
            kind => return Err(format!("unknown result kind {kind}")),
        };
        report.results.push((id, outcome));
    }
    if flags & FLAG_RETURNED != 0 {
        let count = reader.u32()? as usize;
        if count > reader.remaining() / 8 {
            return Err(format!("returned count {count} exceeds the message"));
        }
        report.returned = Some((0..count).map(|_| reader.u64()).collect::<Result<_, _>>()?);
    }
    if flags & FLAG_FATAL != 0 {
        report.fatal = Some(reader.str()?);
    }
    reader.end()?;
    Ok(report)
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn tasks_round_trip() {
        let tasks = vec![
            TaskRef { id: 7, name: "square", payload: &[1, 2, 3] },
            TaskRef { id: u64::MAX, name: "héllo", payload: &[] },
        ];
        let body = encode_tasks(tasks.clone().into_iter());
        assert_eq!(body.len(), 4 + tasks.iter().map(|t| task_size(t.name, t.payload)).sum::<usize>());
        assert_eq!(decode_tasks(&body).unwrap(), tasks);
        assert_eq!(decode_tasks(&encode_tasks(std::iter::empty())).unwrap(), vec![]);
    }

    #[test]
    fn reports_round_trip() {
        let mut writer = ReportWriter::default();
        assert!(writer.push(1, &ItemOutcome::Value(vec![9, 9]), usize::MAX));
        assert!(writer.push(2, &ItemOutcome::Panicked("boom".into()), usize::MAX));
        assert!(writer.push(3, &ItemOutcome::Failed(ItemFailure::NotRegistered), usize::MAX));
        let undecodable = ItemFailure::InputUndecodable("bad".into());
        assert!(writer.push(4, &ItemOutcome::Failed(undecodable.clone()), usize::MAX));
        let body = writer.finish(Some(&[4, 5]), None);
        let report = decode_report(&body).unwrap();
        assert_eq!(
            report.results,
            [
                (1, OutcomeRef::Value(&[9, 9])),
                (2, OutcomeRef::Panicked("boom")),
                (3, OutcomeRef::Failed(ItemFailure::NotRegistered)),
                (4, OutcomeRef::Failed(undecodable)),
            ]
        );
        assert_eq!(report.returned, Some(vec![4, 5]));
        assert_eq!(report.fatal, None);

        let body = ReportWriter::default().finish(None, Some("bad batch"));
        assert_eq!(
            decode_report(&body).unwrap(),
            ReportRef { fatal: Some("bad batch"), ..ReportRef::default() }
        );
        let empty = ReportWriter::default().finish(None, None);
        assert_eq!(decode_report(&empty).unwrap(), ReportRef::default());
    }

    #[test]
    fn a_full_report_refuses_more() {
        let mut writer = ReportWriter::default();
        assert!(writer.push(1, &ItemOutcome::Value(vec![0; 100]), 50), "the first item always fits");
        assert!(!writer.push(2, &ItemOutcome::Value(vec![0; 10]), 50));
        assert_eq!(decode_report(&writer.finish(None, None)).unwrap().results.len(), 1);
    }

    #[test]
    fn malformed_messages_are_errors() {
        let body = encode_tasks([TaskRef { id: 1, name: "a", payload: &[1] }].into_iter());
        for len in 0..body.len() {
            assert!(decode_tasks(&body[..len]).is_err(), "a task batch cut at {len} decoded");
        }
        let mut long = body.clone();
        long.push(0);
        assert!(decode_tasks(&long).unwrap_err().contains("unexpected bytes"));
        assert!(decode_tasks(&[255, 255, 255, 255]).unwrap_err().contains("exceeds"));

        let mut writer = ReportWriter::default();
        writer.push(1, &ItemOutcome::Panicked("x".into()), usize::MAX);
        let report = writer.finish(Some(&[3]), Some("why"));
        for len in 0..report.len() {
            assert!(decode_report(&report[..len]).is_err(), "a report cut at {len} decoded");
        }
        assert!(decode_report(&[0x80, 0, 0, 0, 0]).unwrap_err().contains("flags"));
        assert!(
            decode_report(&[0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0])
                .unwrap_err()
                .contains("kind")
        );
    }
}
