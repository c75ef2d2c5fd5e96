//! The wire protocol between the parent and a worker process: frames, messages, and the codec
//! of task values.
//!
//! # Frames
//!
//! Each message is one frame: a 4-byte little-endian body length, then the body. The body starts
//! with a tag byte naming the message; its fields follow in a fixed order, where a `u32` is 4
//! little-endian bytes and a string or a byte string is its `u32` length followed by its bytes.
//! A length prefix keeps the stream in step even when a body does not decode, so one bad
//! message fails only its own task.
//!
//! | tag | message | direction | fields |
//! |---|---|---|---|
//! | 1 | `Hello` | parent → child | protocol version `u32`; `u8` 0/1; if 1: initializer name, payload |
//! | 2 | `Run` | parent → child | task name; item count `u32`; one payload per item |
//! | 16 | `Ready` | child → parent | the child's pid `u32` |
//! | 17 | `InitFailed` | child → parent | why the initializer failed: `u8` 0 and the panic message; 1 and a failure (as `Failed`); or 2 and the child's protocol version `u32` |
//! | 18 | `Value` | child → parent | the encoded output of one item |
//! | 19 | `Panicked` | child → parent | the panic message of one item |
//! | 20 | `Failed` | child → parent | why one item could not run: `u8` kind (1 unknown task, 2 undecodable argument, 3 unserialisable output), message |
//! | 21 | `Fatal` | child → parent | why a whole request could not be read: fails its remaining items |
//!
//! Frames from a child are untrusted input: the parent reads them with a size limit
//! (`ProcessPoolBuilder::max_frame_size`, 1 GiB by default) checked on the length prefix before
//! anything is allocated, and a body grows only as its bytes arrive. A frame over the limit
//! fails the task it answers, and its child is replaced.
//!
//! A `Run` with `n` items is answered by `n` item replies (`Value`, `Panicked`, `Failed`) in
//! item order, or by fewer followed by one `Fatal`. The replies stream: an item's result is sent
//! as soon as it is known, so a child that dies in the middle of a chunk loses only the items it
//! had not finished.
//!
//! # Payloads
//!
//! Task values and outputs are encoded with serde in [postcard](https://docs.rs/postcard): a
//! compact, maintained, self-delimiting binary format. The envelope above is written by hand so
//! that a payload is copied into its frame once, not re-encoded element by element.

use std::io::{self, Read, Write};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::registry::ItemFailure;
use crate::error::{FutureError, WorkerFailure};
use crate::future::Promise;

/// Bumped whenever a frame layout changes; a child of another version refuses the `Hello`.
pub(crate) const PROTOCOL_VERSION: u32 = 2;

const HELLO: u8 = 1;
const RUN: u8 = 2;
const READY: u8 = 16;
const INIT_FAILED: u8 = 17;
const VALUE: u8 = 18;
const PANICKED: u8 = 19;
const FAILED: u8 = 20;
const FATAL: u8 = 21;

/// A message from the parent to a child. Borrows its strings and payloads from the frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Request<'a> {
    /// The first message: the protocol version and the initializer to run, if any.
    Hello { version: u32, init: Option<(&'a str, &'a [u8])> },
    /// Run task `name` on each payload, in order (one item, or a `map` chunk).
    Run { name: &'a str, items: Vec<&'a [u8]> },
}

/// A message from a child to the parent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Reply<'a> {
    /// The child is ready for `Run` requests (its initializer, if any, has run).
    Ready { pid: u32 },
    /// The initializer failed; the child exits after sending this.
    InitFailed(InitFailure),
    /// One item's encoded output.
    Value(&'a [u8]),
    /// One item panicked, with this message.
    Panicked(&'a str),
    /// One item could not be run, for this reason.
    Failed(ItemFailure),
    /// The request could not be read; its remaining items fail with this reason.
    Fatal(&'a str),
}

/// Why a child's initializer failed (an `InitFailed` reply).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum InitFailure {
    /// It panicked, with this message.
    Panicked(String),
    /// It could not run.
    Failed(ItemFailure),
    /// The child speaks this other protocol version (it ran no initializer).
    Version(u32),
}

/// Builds a frame: reserves the length prefix, then fills it in when the body is complete.
struct FrameWriter {
    bytes: Vec<u8>,
}

impl FrameWriter {
    fn new(tag: u8, capacity: usize) -> Self {
        let mut bytes = Vec::with_capacity(5 + capacity);
        bytes.extend_from_slice(&[0; 4]);
        bytes.push(tag);
        FrameWriter { bytes }
    }

    fn u8(&mut self, value: u8) {
        self.bytes.push(value);
    }

    fn u32(&mut self, value: u32) {
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }

    fn bytes(&mut self, value: &[u8]) -> io::Result<()> {
        self.u32(u32::try_from(value.len()).map_err(|_| too_large())?);
        self.bytes.extend_from_slice(value);
        Ok(())
    }

    fn failure(&mut self, failure: &ItemFailure) -> io::Result<()> {
        let (kind, message) = failure.to_wire();
        self.u8(kind);
        self.bytes(message.as_bytes())
    }

    fn finish(mut self) -> io::Result<Vec<u8>> {
        let body = u32::try_from(self.bytes.len() - 4).map_err(|_| too_large())?;
        self.bytes[..4].copy_from_slice(&body.to_le_bytes());
        Ok(self.bytes)
    }
}

fn too_large() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, "a message is larger than the protocol's 4 GiB frame limit")
}

/// Reads the fields of a message body in order; every read checks the remaining length. Shared
/// with the MPI pool's messages (`crate::mpi_pool::protocol`).
pub(crate) struct FrameReader<'a> {
    rest: &'a [u8],
}

impl<'a> FrameReader<'a> {
    pub(crate) fn new(body: &'a [u8]) -> Self {
        FrameReader { rest: body }
    }

    /// Bytes not read yet (to bound a count before allocating for it).
    pub(crate) fn remaining(&self) -> usize {
        self.rest.len()
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8], String> {
        if self.rest.len() < len {
            return Err(format!("the message ends early ({} bytes left, {len} needed)", self.rest.len()));
        }
        let (head, rest) = self.rest.split_at(len);
        self.rest = rest;
        Ok(head)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    pub(crate) fn u32(&mut self) -> Result<u32, String> {
        let bytes = self.take(4)?;
        Ok(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    #[cfg_attr(not(feature = "mpi"), allow(dead_code))] // task ids of the MPI pool's messages
    pub(crate) fn u64(&mut self) -> Result<u64, String> {
        let mut bytes = [0; 8];
        bytes.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(bytes))
    }

    pub(crate) fn bytes(&mut self) -> Result<&'a [u8], String> {
        let len = self.u32()? as usize;
        self.take(len)
    }

    pub(crate) fn str(&mut self) -> Result<&'a str, String> {
        std::str::from_utf8(self.bytes()?).map_err(|_| "a string field is not UTF-8".to_owned())
    }

    /// A kind byte and a message: an [`ItemFailure`].
    pub(crate) fn failure(&mut self) -> Result<ItemFailure, String> {
        let kind = self.u8()?;
        ItemFailure::from_wire(kind, self.str()?)
    }

    pub(crate) fn end(self) -> Result<(), String> {
        match self.rest.len() {
            0 => Ok(()),
            extra => Err(format!("{extra} unexpected bytes after the message")),
        }
    }
}

impl<'a> Request<'a> {
    /// The complete frame (length prefix included).
    pub(crate) fn encode(&self) -> io::Result<Vec<u8>> {
        match self {
            Request::Hello { version, init } => {
                let mut frame = FrameWriter::new(HELLO, 16 + init.map_or(0, |(n, p)| n.len() + p.len()));
                frame.u32(*version);
                match init {
                    None => frame.u8(0),
                    Some((name, payload)) => {
                        frame.u8(1);
                        frame.bytes(name.as_bytes())?;
                        frame.bytes(payload)?;
                    }
                }
                frame.finish()
            }
            Request::Run { name, items } => {
                let size = 8 + name.len() + items.iter().map(|item| 4 + item.len()).sum::<usize>();
                let mut frame = FrameWriter::new(RUN, size);
                frame.bytes(name.as_bytes())?;
                frame.u32(u32::try_from(items.len()).map_err(|_| too_large())?);
                for item in items {
                    frame.bytes(item)?;
                }
                frame.finish()
            }
        }
    }

    /// Decodes a frame body (without its length prefix).
    pub(crate) fn decode(body: &'a [u8]) -> Result<Self, String> {
        let mut fields = FrameReader::new(body);
        let request = match fields.u8()? {
            HELLO => {
                let version = fields.u32()?;
                let init = match fields.u8()? {
                    0 => None,
                    1 => Some((fields.str()?, fields.bytes()?)),
                    other => return Err(format!("bad initializer flag {other}")),
                };
                Request::Hello { version, init }
            }
            RUN => {
                let name = fields.str()?;
                let count = fields.u32()? as usize;
                // Each item needs at least its 4-byte length: a bound on the count before
                // allocating for it.
                if count > fields.remaining() / 4 {
                    return Err(format!("item count {count} exceeds the message"));
                }
                let items = (0..count).map(|_| fields.bytes()).collect::<Result<_, _>>()?;
                Request::Run { name, items }
            }
            tag => return Err(format!("unknown request tag {tag}")),
        };
        fields.end()?;
        Ok(request)
    }
}

impl<'a> Reply<'a> {
    /// The complete frame (length prefix included).
    pub(crate) fn encode(&self) -> io::Result<Vec<u8>> {
        let (tag, field) = match self {
            Reply::Ready { pid } => {
                let mut frame = FrameWriter::new(READY, 4);
                frame.u32(*pid);
                return frame.finish();
            }
            Reply::InitFailed(failure) => {
                let mut frame = FrameWriter::new(INIT_FAILED, 16);
                match failure {
                    InitFailure::Panicked(message) => {
                        frame.u8(0);
                        frame.bytes(message.as_bytes())?;
                    }
                    InitFailure::Failed(failure) => {
                        frame.u8(1);
                        frame.failure(failure)?;
                    }
                    InitFailure::Version(version) => {
                        frame.u8(2);
                        frame.u32(*version);
                    }
                }
                return frame.finish();
            }
            Reply::Failed(failure) => {
                let mut frame = FrameWriter::new(FAILED, 8 + failure.to_wire().1.len());
                frame.failure(failure)?;
                return frame.finish();
            }
            Reply::Value(payload) => (VALUE, *payload),
            Reply::Panicked(text) => (PANICKED, text.as_bytes()),
            Reply::Fatal(text) => (FATAL, text.as_bytes()),
        };
        let mut frame = FrameWriter::new(tag, 4 + field.len());
        frame.bytes(field)?;
        frame.finish()
    }

    /// Decodes a frame body (without its length prefix).
    pub(crate) fn decode(body: &'a [u8]) -> Result<Self, String> {
        let mut fields = FrameReader::new(body);
        let reply = match fields.u8()? {
            READY => Reply::Ready { pid: fields.u32()? },
            INIT_FAILED => Reply::InitFailed(match fields.u8()? {
                0 => InitFailure::Panicked(fields.str()?.to_owned()),
                1 => InitFailure::Failed(fields.failure()?),
                2 => InitFailure::Version(fields.u32()?),
                kind => return Err(format!("unknown initializer failure kind {kind}")),
            }),
            VALUE => Reply::Value(fields.bytes()?),
            PANICKED => Reply::Panicked(fields.str()?),
            FAILED => Reply::Failed(fields.failure()?),
            FATAL => Reply::Fatal(fields.str()?),
            tag => return Err(format!("unknown reply tag {tag}")),
        };
        fields.end()?;
        Ok(reply)
    }
}

/// Writes one complete frame.
pub(crate) fn write_frame(writer: &mut impl Write, frame: &[u8]) -> io::Result<()> {
    writer.write_all(frame)?;
    writer.flush()
}

/// Reads one frame body. `Ok(None)` on a clean end of stream (before any byte of a frame);
/// an error if the stream ends inside a frame. The body grows as its bytes arrive, so a corrupt
/// length allocates nothing it is not sent. Frames from a child, which are untrusted input, are
/// read with [`read_frame_limited`] instead.
pub(crate) fn read_frame(reader: &mut impl Read) -> io::Result<Option<Vec<u8>>> {
    read_frame_limited(reader, u32::MAX as usize).map_err(FrameError::into_io)
}

/// The largest frame the parent accepts from a child unless the builder says otherwise
/// (`ProcessPoolBuilder::max_frame_size`): 1 GiB.
pub(crate) const DEFAULT_MAX_FRAME: usize = 1 << 30;

/// What a body's first allocation is at most: the rest grows as bytes arrive.
const FIRST_ALLOCATION: usize = 64 * 1024;

/// Why a frame could not be read.
#[derive(Debug)]
pub(crate) enum FrameError {
    /// The stream failed, timed out, or ended inside a frame.
    Io(io::Error),
    /// The length prefix announced more than the limit; nothing of the body was read.
    TooLarge { len: usize, max: usize },
}

impl FrameError {
    fn into_io(self) -> io::Error {
        match self {
            FrameError::Io(error) => error,
            too_large => io::Error::new(io::ErrorKind::InvalidData, too_large.to_string()),
        }
    }
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::Io(error) => error.fmt(f),
            FrameError::TooLarge { len, max } => {
                write!(f, "a frame of {len} bytes is over the limit of {max} bytes")
            }
        }
    }
}

impl From<io::Error> for FrameError {
    fn from(error: io::Error) -> Self {
        FrameError::Io(error)
    }
}

/// [`read_frame`] refusing a body longer than `max` bytes: the length prefix is checked before
/// anything is allocated for the body.
pub(crate) fn read_frame_limited(reader: &mut impl Read, max: usize) -> Result<Option<Vec<u8>>, FrameError> {
    let mut prefix = [0u8; 4];
    let mut filled = 0;
    while filled < prefix.len() {
        match reader.read(&mut prefix[filled..]) {
            Ok(0) if filled == 0 => return Ok(None),
            Ok(0) => return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into()),
            Ok(n) => filled += n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error.into()),
        }
    }
    let len = u32::from_le_bytes(prefix) as usize;
    if len > max {
        return Err(FrameError::TooLarge { len, max });
    }
    let mut body = Vec::new();
    // `try_reserve`: even the first chunk is an error value, not an allocation abort.
    body.try_reserve_exact(len.min(FIRST_ALLOCATION))
        .map_err(|error| io::Error::new(io::ErrorKind::OutOfMemory, error))?;
    reader.take(len as u64).read_to_end(&mut body)?;
    if body.len() != len {
        return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
    }
    Ok(Some(body))
}

/// Encodes a task value or output.
pub(crate) fn encode_value<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, String> {
    postcard::to_stdvec(value).map_err(|error| error.to_string())
}

/// Decodes a task value or output; trailing bytes are an error (they mean a type mismatch).
pub(crate) fn decode_value<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    match postcard::take_from_bytes(bytes) {
        Ok((value, [])) => Ok(value),
        Ok((_, rest)) => Err(format!("{} bytes left over after the value", rest.len())),
        Err(error) => Err(error.to_string()),
    }
}

/// Completes `promise` with the output a worker sent for `task` (decoded, then `wrap`ped), or
/// fails it with [`WorkerFailure::OutputUndecodable`] (the process and MPI pools' completers).
pub(crate) fn complete_with_output<O: DeserializeOwned, V: Send + 'static>(
    promise: &Promise<V>,
    task: &str,
    bytes: &[u8],
    wrap: impl FnOnce(O) -> V,
) {
    match decode_value::<O>(bytes) {
        Ok(value) => {
            let _ = promise.set_result(wrap(value));
        }
        Err(message) => fail_promise(
            promise,
            FutureError::WorkerFailed(WorkerFailure::OutputUndecodable { task: task.to_owned(), message }),
        ),
    }
}

/// Fails `promise` with `error`. A panic is the task's own outcome (`exception()` returns it),
/// not a pool failure, so it is set as the future's exception.
pub(crate) fn fail_promise<V: Send + 'static>(promise: &Promise<V>, error: FutureError) {
    let _ = match error {
        FutureError::Panicked(panic) => promise.set_exception(panic),
        error => promise.set_error(error),
    };
}
