//! Unit tests of the parts that need no child process: frames, the registry, status text.

use std::io::Cursor;

use serde::{Deserialize, Serialize};

use super::Task;
use super::driver::process_exit;
use super::protocol::{
    FrameError, InitFailure, Reply, Request, decode_value, encode_value, read_frame, read_frame_limited,
};
use super::registry::{ItemFailure, ItemOutcome, Registry};
use crate::ProcessExit;

#[derive(Serialize, Deserialize)]
struct Double(i64);

impl Task for Double {
    type Output = i64;
    const NAME: &'static str = "double";
    fn run(self) -> i64 {
        assert!(self.0 != 13, "unlucky {}", self.0);
        2 * self.0
    }
}

#[derive(Serialize, Deserialize)]
struct Impostor(String);

impl Task for Impostor {
    type Output = ();
    const NAME: &'static str = "double";
    fn run(self) {}
}

/// Encodes `frame`, reads it back through `read_frame`, and returns the body.
fn through_stream(frame: &[u8]) -> Vec<u8> {
    read_frame(&mut Cursor::new(frame)).unwrap().expect("one frame")
}

#[test]
fn requests_round_trip() {
    let requests = [
        Request::Hello { version: 1, init: None },
        Request::Hello { version: 7, init: Some(("init", &b"\x00\x01"[..])) },
        Request::Run { name: "double", items: vec![] },
        Request::Run { name: "double", items: vec![&b""[..], &b"abc"[..], &[0xff; 300][..]] },
    ];
    for request in requests {
        let body = through_stream(&request.encode().unwrap());
        assert_eq!(Request::decode(&body).unwrap(), request);
    }
}

#[test]
fn replies_round_trip() {
    let replies = [
        Reply::Ready { pid: 4242 },
        Reply::InitFailed(InitFailure::Panicked("no".into())),
        Reply::InitFailed(InitFailure::Failed(ItemFailure::NotRegistered)),
        Reply::InitFailed(InitFailure::Version(9)),
        Reply::Value(b"\x01\x02"),
        Reply::Panicked("boom"),
        Reply::Failed(ItemFailure::NotRegistered),
        Reply::Failed(ItemFailure::InputUndecodable("bad".into())),
        Reply::Failed(ItemFailure::OutputUnencodable("too big".into())),
        Reply::Fatal("garbled"),
    ];
    for reply in replies {
        let body = through_stream(&reply.encode().unwrap());
        assert_eq!(Reply::decode(&body).unwrap(), reply);
    }
}

#[test]
fn malformed_bodies_are_errors() {
    let run = Request::Run { name: "double", items: vec![&b"abc"[..]] }.encode().unwrap();
    let body = &run[4..];
    for cut in 0..body.len() {
        assert!(Request::decode(&body[..cut]).is_err(), "a body cut at {cut} decoded");
    }
    let mut extra = body.to_vec();
    extra.push(0);
    assert!(Request::decode(&extra).unwrap_err().contains("unexpected bytes"));
    assert!(Request::decode(&[99]).unwrap_err().contains("unknown request tag"));
    assert!(Reply::decode(&[99]).unwrap_err().contains("unknown reply tag"));
    // A huge item count is refused before anything is allocated for it.
    let mut huge = vec![2, 1, 0, 0, 0, b'x'];
    huge.extend_from_slice(&u32::MAX.to_le_bytes());
    assert!(Request::decode(&huge).unwrap_err().contains("exceeds"));
    // Not UTF-8.
    assert!(Reply::decode(&[19, 1, 0, 0, 0, 0xff]).unwrap_err().contains("UTF-8"));
}

#[test]
fn read_frame_tells_a_clean_end_from_a_cut_one() {
    assert!(read_frame(&mut Cursor::new(Vec::new())).unwrap().is_none());
    assert!(read_frame(&mut Cursor::new(vec![3, 0])).is_err());
    assert!(read_frame(&mut Cursor::new(vec![3, 0, 0, 0, 1, 2])).is_err());
    let two = [Reply::Panicked("a").encode().unwrap(), Reply::Ready { pid: 1 }.encode().unwrap()].concat();
    let mut stream = Cursor::new(two);
    assert_eq!(Reply::decode(&read_frame(&mut stream).unwrap().unwrap()).unwrap(), Reply::Panicked("a"));
    assert_eq!(Reply::decode(&read_frame(&mut stream).unwrap().unwrap()).unwrap(), Reply::Ready { pid: 1 });
    assert!(read_frame(&mut stream).unwrap().is_none());
}

#[test]
fn frames_over_the_limit_are_refused_before_allocation() {
    // A corrupt prefix announcing 4 GiB: refused at once, nothing reserved for the body.
    let corrupt = [0xff, 0xff, 0xff, 0xff, 1, 2, 3];
    match read_frame_limited(&mut Cursor::new(&corrupt[..]), 1 << 20) {
        Err(FrameError::TooLarge { len, max }) => assert_eq!((len, max), (u32::MAX as usize, 1 << 20)),
        other => panic!("expected TooLarge, got {other:?}"),
    }
    let message = FrameError::TooLarge { len: 100, max: 64 }.to_string();
    assert_eq!(message, "a frame of 100 bytes is over the limit of 64 bytes");
    // At the limit is fine.
    let frame = Reply::Value(&[7; 59]).encode().unwrap();
    assert_eq!(frame.len() - 4, 64);
    assert!(read_frame_limited(&mut Cursor::new(&frame), 64).unwrap().is_some());
    assert!(matches!(read_frame_limited(&mut Cursor::new(&frame), 63), Err(FrameError::TooLarge { .. })));
    // Unlimited reading of a prefix without its body: an error, not an allocation of 4 GiB.
    assert!(read_frame(&mut Cursor::new(&corrupt[..])).is_err());
}

#[test]
fn values_must_decode_exactly() {
    let bytes = encode_value(&(1u32, "two".to_owned())).unwrap();
    assert_eq!(decode_value::<(u32, String)>(&bytes).unwrap(), (1, "two".to_owned()));
    assert!(decode_value::<u8>(&bytes).unwrap_err().contains("left over"));
    assert!(decode_value::<(u32, String)>(&bytes[..2]).is_err());
}

#[test]
fn registry_runs_by_name() {
    let registry = Registry::new().register::<Double>().register::<Double>();
    assert!(registry.contains("double"));
    assert_eq!(registry.names().collect::<Vec<_>>(), ["double"]);
    let run = |value: i64| registry.run("double", &encode_value(&Double(value)).unwrap());
    assert_eq!(run(21), ItemOutcome::Value(encode_value(&42i64).unwrap()));
    assert_eq!(run(13), ItemOutcome::Panicked("unlucky 13".into()));
    assert_eq!(registry.run("triple", &[]), ItemOutcome::Failed(ItemFailure::NotRegistered));
    match registry.run("double", &[0xff; 12]) {
        ItemOutcome::Failed(ItemFailure::InputUndecodable(why)) => assert!(!why.is_empty()),
        other => panic!("{other:?}"),
    }
}

#[test]
#[should_panic(expected = "Task::NAME must be unique")]
fn a_name_cannot_mean_two_types() {
    let _ = Registry::new().register::<Double>().register::<Impostor>();
}

#[test]
fn exit_statuses_are_described() {
    use std::os::unix::process::ExitStatusExt;
    use std::process::ExitStatus;
    let exited = process_exit(Some(ExitStatus::from_raw(3 << 8)));
    assert_eq!(exited, ProcessExit::Exited(3));
    assert_eq!(exited.to_string(), "exited with status 3");
    let killed = process_exit(Some(ExitStatus::from_raw(9)));
    assert_eq!(killed, ProcessExit::Signalled { signal: 9, core_dumped: false });
    assert_eq!(killed.to_string(), "was killed by signal 9 (SIGKILL)");
    let aborted = process_exit(Some(ExitStatus::from_raw(6 | 0x80)));
    assert_eq!(aborted, ProcessExit::Signalled { signal: 6, core_dumped: true });
    assert_eq!(aborted.to_string(), "was killed by signal 6 (SIGABRT, core dumped)");
    let unnamed = ProcessExit::Signalled { signal: 64, core_dumped: false };
    assert_eq!(unnamed.to_string(), "was killed by signal 64");
    assert_eq!(process_exit(None), ProcessExit::Unknown);
    assert!(ProcessExit::Unknown.to_string().contains("could not be read"));
}
