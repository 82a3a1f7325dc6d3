//! Stream framing: turns the bytes of one syslog TCP or TLS connection into
//! messages (RFC 6587), with no I/O.
//!
//! The framing is detected once per connection from its first non-whitespace
//! byte (catalog.md §6.3: whether PAN-OS frames BSD syslog over TCP by octet
//! counting or by LF is not documented):
//!
//! - an ASCII digit means octet counting, `LEN SP MSG` repeated with no
//!   separator. `LEN` is 1 to 10 digits without a leading zero and at most the
//!   maximum message length. logger's count excludes a trailing LF, rsyslog's
//!   includes one (tooling.md §1.5, §1.6); both work, as every message loses its
//!   trailing LF, CR, NUL and spaces. A stray CR, LF or NUL between frames is
//!   skipped.
//! - anything else (normally `<`) means non-transparent framing: LF or NUL ends
//!   a message, and a CR before the LF is dropped with the other trailing bytes.
//!
//! Frames may be split across reads, and one read may hold many frames
//! (syslog-ng does both, tooling.md §1.7). A frame that lies whole in a read is
//! delivered straight from it; only the partial frame at the end of a read is
//! copied into the framer's buffer, which never holds more than the maximum
//! message length, whatever the peer sends. Every error is fatal for the
//! connection: framing cannot be trusted after it.

use memchr::memchr2;

/// Longest accepted octet count prefix, in digits (RFC 6587 lengths fit in a
/// `u32`; ten digits already exceed any sane maximum).
const MAX_LENGTH_DIGITS: u8 = 10;

/// Why a connection's byte stream cannot be framed. [`FramingError::code`] is
/// the `reason` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    /// Occurs when an octet count is not 1-10 digits (no leading zero)
    /// followed by one space.
    #[error("invalid octet count prefix")]
    InvalidLength,
    /// Occurs when an octet count, or an LF-framed message, exceeds the
    /// maximum message length.
    #[error("message too large")]
    TooLarge,
    /// Occurs when the connection closes in the middle of an octet-counted frame.
    #[error("connection closed inside a frame")]
    Truncated,
}

impl FramingError {
    /// The `reason` label value.
    pub fn code(self) -> &'static str {
        match self {
            FramingError::InvalidLength | FramingError::Truncated => "framing",
            FramingError::TooLarge => "too_large",
        }
    }

    /// Whether the connection can go on after this error. Never: the position
    /// of the next frame is unknown, so the caller closes the connection.
    pub fn can_continue(self) -> bool {
        match self {
            FramingError::InvalidLength | FramingError::TooLarge | FramingError::Truncated => false,
        }
    }
}

/// The framing of a connection, fixed by its first non-whitespace byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Nothing but whitespace seen yet.
    Detect,
    /// Octet counting (RFC 6587 §3.4.1).
    Octet(Octet),
    /// Non-transparent framing: LF or NUL ends a message (RFC 6587 §3.4.2).
    Lf,
}

/// Where an octet-counted stream is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Octet {
    /// Reading the length prefix: its value and digit count so far.
    Length { value: u64, digits: u8 },
    /// Reading a message body of `len` bytes (the buffer holds its start).
    Body { len: usize },
}

const FRAME_START: Octet = Octet::Length {
    value: 0,
    digits: 0,
};

/// Splits the byte stream of one connection into syslog messages.
#[derive(Debug)]
pub struct StreamFramer {
    /// The start of a frame that continues in the next read.
    buf: Vec<u8>,
    max_message_bytes: usize,
    mode: Mode,
    /// The error that ended the connection; later pushes repeat it.
    failed: Option<FramingError>,
    /// LF mode: discarding the rest of an over-long line.
    skipping: bool,
    /// LF mode: over-long lines skipped since last asked.
    too_large: u64,
}

impl StreamFramer {
    /// A framer for a new connection, accepting messages of at most
    /// `max_message_bytes` (counted before the trailing bytes are removed).
    pub fn new(max_message_bytes: usize) -> Self {
        Self {
            buf: Vec::new(),
            max_message_bytes,
            mode: Mode::Detect,
            failed: None,
            skipping: false,
            too_large: 0,
        }
    }

    /// Over-long LF-framed lines skipped since the last call (the connection
    /// goes on with the next line; in octet mode an over-long frame is an
    /// error instead, since the stream cannot be resynchronised).
    pub fn take_too_large(&mut self) -> u64 {
        std::mem::take(&mut self.too_large)
    }

    /// True while part of a message has been read but not its end.
    pub fn mid_message(&self) -> bool {
        !self.buf.is_empty()
            || self.skipping
            || matches!(self.mode, Mode::Octet(state) if state != FRAME_START)
    }

    /// Consumes one read of any size and calls `out` once per complete,
    /// non-empty message. After an error nothing more is delivered and every
    /// later call returns the same error.
    pub fn push(&mut self, bytes: &[u8], out: &mut impl FnMut(&[u8])) -> Result<(), FramingError> {
        if let Some(error) = self.failed {
            return Err(error);
        }
        let result = self.push_inner(bytes, out);
        if let Err(error) = result {
            self.failed = Some(error);
            self.buf = Vec::new();
        }
        result
    }

    /// The connection closed. In LF mode an unterminated last message is
    /// delivered; in octet mode a frame cut short is [`FramingError::Truncated`].
    /// An error already returned by [`push`](Self::push) is not reported again.
    /// The framer is then ready for a new connection.
    pub fn finish(&mut self, out: &mut impl FnMut(&[u8])) -> Result<(), FramingError> {
        let result = match (self.failed, self.mode) {
            (Some(_), _) | (None, Mode::Detect) | (None, Mode::Octet(FRAME_START)) => Ok(()),
            (None, Mode::Lf) => {
                deliver(&self.buf, out);
                Ok(())
            }
            (None, Mode::Octet(_)) => Err(FramingError::Truncated),
        };
        self.buf.clear();
        self.mode = Mode::Detect;
        self.failed = None;
        result
    }

    fn push_inner(
        &mut self,
        bytes: &[u8],
        out: &mut impl FnMut(&[u8]),
    ) -> Result<(), FramingError> {
        if self.mode == Mode::Detect {
            return self.detect(bytes, out);
        }
        match self.mode {
            Mode::Detect => Ok(()),
            Mode::Octet(_) => self.push_octet(bytes, out),
            Mode::Lf => self.push_lf(bytes, out),
        }
    }

    /// Decides the framing: digits followed by a space start an octet count;
    /// anything else, including digits followed by something else (a relay's
    /// `1,2024/…` or `2024-03-12T…` line without PRI), is LF framing. Leading
    /// digits are held until the byte after them arrives.
    fn detect(&mut self, bytes: &[u8], out: &mut impl FnMut(&[u8])) -> Result<(), FramingError> {
        let mut input = bytes;
        if self.buf.is_empty() {
            let Some(start) = input.iter().position(|b| !b.is_ascii_whitespace()) else {
                return Ok(());
            };
            input = &input[start..];
        }
        let digits = input.iter().take_while(|b| b.is_ascii_digit()).count();
        // At most 20 digits are held undecided; no length is that long.
        if digits == input.len() && self.buf.len() + digits <= 20 {
            self.buf.extend_from_slice(input);
            return Ok(());
        }
        let octet = self.buf.len() + digits > 0 && input.get(digits) == Some(&b' ');
        self.mode = if octet {
            Mode::Octet(FRAME_START)
        } else {
            Mode::Lf
        };
        let held = std::mem::take(&mut self.buf);
        self.push_inner(&held, out)?;
        self.push_inner(input, out)
    }

    fn push_octet(
        &mut self,
        input: &[u8],
        out: &mut impl FnMut(&[u8]),
    ) -> Result<(), FramingError> {
        let mut pos = 0;
        while pos < input.len() {
            let Mode::Octet(state) = self.mode else {
                return Ok(());
            };
            match state {
                Octet::Length { value, digits } => {
                    let byte = input[pos];
                    pos += 1;
                    self.mode = Mode::Octet(self.length_byte(byte, value, digits)?);
                }
                Octet::Body { len } => {
                    let rest = &input[pos..];
                    if self.buf.is_empty() && rest.len() >= len {
                        // The whole frame is in this read: no copy.
                        deliver(&rest[..len], out);
                        pos += len;
                        self.mode = Mode::Octet(FRAME_START);
                        continue;
                    }
                    let need = len - self.buf.len();
                    if rest.len() < need {
                        self.grow_to(len);
                        self.buf.extend_from_slice(rest);
                        return Ok(());
                    }
                    self.buf.extend_from_slice(&rest[..need]);
                    pos += need;
                    deliver(&self.buf, out);
                    self.buf.clear();
                    self.mode = Mode::Octet(FRAME_START);
                }
            }
        }
        Ok(())
    }

    /// Advances the length prefix by one byte, failing as soon as the bytes
    /// show it cannot be valid.
    fn length_byte(&self, byte: u8, value: u64, digits: u8) -> Result<Octet, FramingError> {
        match byte {
            b'0' if digits == 0 => Err(FramingError::InvalidLength),
            b'0'..=b'9' if digits >= MAX_LENGTH_DIGITS => Err(FramingError::InvalidLength),
            b'0'..=b'9' => Ok(Octet::Length {
                value: value * 10 + u64::from(byte - b'0'),
                digits: digits + 1,
            }),
            b' ' if digits > 0 => match usize::try_from(value) {
                Ok(len) if len <= self.max_message_bytes => Ok(Octet::Body { len }),
                _ => Err(FramingError::TooLarge),
            },
            b'\n' | b'\r' | b'\0' if digits == 0 => Ok(FRAME_START),
            _ => Err(FramingError::InvalidLength),
        }
    }

    fn push_lf(&mut self, input: &[u8], out: &mut impl FnMut(&[u8])) -> Result<(), FramingError> {
        let max = self.max_message_bytes;
        let mut pos = 0;
        if self.skipping {
            let Some(end) = memchr2(b'\n', b'\0', input) else {
                return Ok(());
            };
            self.skipping = false;
            pos = end + 1;
        }
        while let Some(found) = memchr2(b'\n', b'\0', &input[pos..]) {
            let piece = &input[pos..pos + found];
            pos += found + 1;
            if self.buf.len() + piece.len() > max {
                self.buf.clear();
                self.too_large += 1;
            } else if self.buf.is_empty() {
                deliver(piece, out);
            } else {
                self.buf.extend_from_slice(piece);
                deliver(&self.buf, out);
                self.buf.clear();
            }
        }
        let rest = &input[pos..];
        let held = self.buf.len() + rest.len();
        if held > max {
            // Skip to the next LF; the next line is read as usual.
            self.buf = Vec::new();
            self.too_large += 1;
            self.skipping = true;
            return Ok(());
        }
        if !rest.is_empty() {
            // Geometric growth, capped so the buffer never exceeds the maximum.
            self.grow_to(held.max(self.buf.capacity().saturating_mul(2)).min(max));
            self.buf.extend_from_slice(rest);
        }
        Ok(())
    }

    /// Makes room for `total` bytes (at most the maximum message length).
    fn grow_to(&mut self, total: usize) {
        if total > self.buf.capacity() {
            self.buf.reserve_exact(total - self.buf.len());
        }
    }
}

/// Hands `msg` to `out` without its trailing LF, CR, NUL and spaces, unless
/// nothing is left.
fn deliver(msg: &[u8], out: &mut impl FnMut(&[u8])) {
    if let Some(last) = msg
        .iter()
        .rposition(|b| !matches!(b, b'\n' | b'\r' | b'\0' | b' '))
    {
        out(&msg[..=last]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const CORPUS: &[u8] = include_bytes!("../../tests/fixtures/corpus/tcp-octet-counted.stream");

    fn octet(msg: &[u8]) -> Vec<u8> {
        let mut frame = format!("{} ", msg.len()).into_bytes();
        frame.extend_from_slice(msg);
        frame
    }

    /// Pushes `chunks` in order, then finishes; returns the messages and the
    /// first error.
    fn run<'a>(
        framer: &mut StreamFramer,
        chunks: impl IntoIterator<Item = &'a [u8]>,
    ) -> (Vec<Vec<u8>>, Result<(), FramingError>) {
        let mut msgs = Vec::new();
        let mut out = |m: &[u8]| msgs.push(m.to_vec());
        for chunk in chunks {
            if let Err(e) = framer.push(chunk, &mut out) {
                return (msgs, Err(e));
            }
        }
        let result = framer.finish(&mut out);
        (msgs, result)
    }

    fn whole(max: usize, input: &[u8]) -> (Vec<Vec<u8>>, Result<(), FramingError>) {
        run(&mut StreamFramer::new(max), [input])
    }

    fn bytewise(max: usize, input: &[u8]) -> (Vec<Vec<u8>>, Result<(), FramingError>) {
        run(&mut StreamFramer::new(max), input.chunks(1))
    }

    fn push_err(framer: &mut StreamFramer, input: &[u8]) -> Result<(), FramingError> {
        framer.push(input, &mut |_: &[u8]| panic!("nothing should be delivered"))
    }

    fn check_corpus(msgs: &[Vec<u8>]) {
        assert_eq!(msgs.len(), 3);
        for msg in msgs {
            assert!(msg.starts_with(b"<1"), "{}", String::from_utf8_lossy(msg));
            assert!(msg.ends_with(b",fw-hq"), "{}", String::from_utf8_lossy(msg));
        }
    }

    #[test]
    fn stream_corpus_read_whole() {
        let (msgs, result) = whole(64 * 1024, CORPUS);
        assert_eq!(result, Ok(()));
        check_corpus(&msgs);
    }

    #[test]
    fn stream_corpus_read_byte_by_byte() {
        let (msgs, result) = bytewise(64 * 1024, CORPUS);
        assert_eq!(result, Ok(()));
        check_corpus(&msgs);
        assert_eq!(msgs, whole(64 * 1024, CORPUS).0);
    }

    #[test]
    fn stream_logger_octet_count_without_lf() {
        let msg = b"<13>1 2026-11-26T19:41:59.657878+00:00 vm app - - - tcp octet";
        let mut input = octet(msg);
        input.extend(octet(b"<13>1 - vm app - - - second"));
        let (msgs, result) = whole(1024, &input);
        assert_eq!(result, Ok(()));
        assert_eq!(
            msgs,
            [msg.to_vec(), b"<13>1 - vm app - - - second".to_vec()]
        );
    }

    #[test]
    fn stream_rsyslog_octet_count_including_lf() {
        let first = b"<132>1 2026-11-26T19:42:13.173397+00:00 vm app - - - first line\n";
        assert_eq!(first.len(), 64);
        let mut input = octet(first);
        input.extend(octet(
            b"<13>1 2026-11-26T19:42:15+00:00 vm sshd - - -  via relay\n",
        ));
        let (msgs, result) = whole(1024, &input);
        assert_eq!(result, Ok(()));
        assert_eq!(
            msgs,
            [
                first[..63].to_vec(),
                b"<13>1 2026-11-26T19:42:15+00:00 vm sshd - - -  via relay".to_vec()
            ]
        );
    }

    #[test]
    fn stream_lf_framing_with_crlf_and_unterminated_last() {
        let input = b"\r\n<13>one\r\n<13>two\n\n<13>three  \r\n<13>last";
        for (msgs, result) in [whole(64, input), bytewise(64, input)] {
            assert_eq!(result, Ok(()));
            assert_eq!(
                msgs,
                [&b"<13>one"[..], b"<13>two", b"<13>three", b"<13>last"]
            );
        }
    }

    #[test]
    fn stream_nul_terminated() {
        let (msgs, result) = whole(64, b"<14>a\0<14>b\r\0\0<14>c\n");
        assert_eq!(result, Ok(()));
        assert_eq!(msgs, [&b"<14>a"[..], b"<14>b", b"<14>c"]);
    }

    #[test]
    fn stream_several_frames_in_one_read() {
        let mut input = Vec::new();
        for i in 0..100 {
            input.extend(octet(format!("<14>message {i}").as_bytes()));
        }
        let mut framer = StreamFramer::new(64);
        let mut count = 0;
        let pushed = framer.push(&input, &mut |m: &[u8]| {
            assert_eq!(m, format!("<14>message {count}").as_bytes());
            count += 1;
        });
        assert_eq!(pushed, Ok(()));
        assert_eq!(count, 100);
        assert!(framer.buf.is_empty());
        assert_eq!(framer.buf.capacity(), 0, "whole frames are not copied");
    }

    #[test]
    fn stream_frame_split_at_every_position() {
        let mut octets = octet(b"<14>first message");
        octets.extend(octet(b"<14>second\n"));
        let lf = b"<14>first message\r\n<14>second\n".to_vec();
        for input in [octets, lf] {
            let expected = vec![b"<14>first message".to_vec(), b"<14>second".to_vec()];
            for i in 0..=input.len() {
                let (msgs, result) = run(&mut StreamFramer::new(64), [&input[..i], &input[i..]]);
                assert_eq!(result, Ok(()), "split at {i}");
                assert_eq!(msgs, expected, "split at {i}");
                for j in i..=input.len() {
                    let chunks = [&input[..i], &input[i..j], &input[j..]];
                    let (msgs, result) = run(&mut StreamFramer::new(64), chunks);
                    assert_eq!(result, Ok(()), "split at {i} and {j}");
                    assert_eq!(msgs, expected, "split at {i} and {j}");
                }
            }
        }
    }

    #[test]
    fn stream_eleven_digit_length_fails_immediately() {
        let mut framer = StreamFramer::new(64 * 1024);
        assert_eq!(
            push_err(&mut framer, b"99999999999 "),
            Err(FramingError::InvalidLength)
        );
        let mut framer = StreamFramer::new(64 * 1024);
        assert_eq!(push_err(&mut framer, b"9999999999"), Ok(()));
        // Digits alone do not decide the framing yet: the next byte does.
        assert_eq!(push_err(&mut framer, b"9"), Ok(()));
        assert_eq!(
            push_err(&mut framer, b" <14>x"),
            Err(FramingError::InvalidLength)
        );
    }

    #[test]
    fn stream_leading_zero_length_is_invalid() {
        assert_eq!(whole(64, b"0012 x").1, Err(FramingError::InvalidLength));
        assert_eq!(whole(64, b"0 ").1, Err(FramingError::InvalidLength));
    }

    #[test]
    fn stream_garbage_after_octet_mode_is_invalid() {
        let mut framer = StreamFramer::new(64);
        let mut msgs = Vec::new();
        let result = framer.push(b"5 <14>aabc", &mut |m: &[u8]| msgs.push(m.to_vec()));
        assert_eq!(result, Err(FramingError::InvalidLength));
        assert_eq!(msgs, [b"<14>a".to_vec()]);
        assert_eq!(
            whole(64, b"5 <14>a 3 abc").1,
            Err(FramingError::InvalidLength)
        );
        // Digits not followed by a space are an LF-framed line (a relay's
        // `1,2024/…` without PRI), not a length.
        assert_eq!(whole(64, b"12x").0, [b"12x".to_vec()]);
        assert_eq!(
            whole(64, b"1,2024/03/12 x\n2024-03-12T10:15:02Z y\n")
                .0
                .len(),
            2
        );
    }

    #[test]
    fn stream_length_over_max_fails_immediately() {
        let mut framer = StreamFramer::new(100);
        assert_eq!(push_err(&mut framer, b"100 "), Ok(()));
        let mut framer = StreamFramer::new(100);
        assert_eq!(push_err(&mut framer, b"101 "), Err(FramingError::TooLarge));
        assert_eq!(framer.finish(&mut |_: &[u8]| {}), Ok(()), "reported once");
        let mut framer = StreamFramer::new(100);
        assert_eq!(
            push_err(&mut framer, b"9999999999 "),
            Err(FramingError::TooLarge)
        );
        assert_eq!(
            push_err(&mut framer, b"x"),
            Err(FramingError::TooLarge),
            "sticky"
        );
    }

    #[test]
    fn stream_lf_message_over_max_is_skipped_and_the_next_read() {
        let mut input = vec![b'<'; 65];
        input.extend_from_slice(b"\n<14>next\n");
        for chunk in [input.len(), 1, 7] {
            let mut framer = StreamFramer::new(64);
            let mut msgs = Vec::new();
            for piece in input.chunks(chunk) {
                assert_eq!(
                    framer.push(piece, &mut |m: &[u8]| msgs.push(m.to_vec())),
                    Ok(())
                );
            }
            assert_eq!(msgs, [b"<14>next".to_vec()], "chunk {chunk}");
            assert_eq!(framer.take_too_large(), 1);
            assert!(!framer.mid_message());
        }
        let mut input = vec![b'<'; 65];
        input[64] = b'\n';
        let (msgs, result) = whole(64, &input);
        assert_eq!(result, Ok(()));
        assert_eq!(msgs, [vec![b'<'; 64]]);
    }

    #[test]
    fn stream_cut_frame_at_finish_is_truncated() {
        assert_eq!(whole(64, b"10 <14>abc").1, Err(FramingError::Truncated));
        assert_eq!(whole(64, b"5 <14>a12").1, Err(FramingError::Truncated));
        assert_eq!(whole(64, b"5 <14>a\n").1, Ok(()));
    }

    #[test]
    fn stream_memory_is_bounded_by_max() {
        const MAX: usize = 64 * 1024;
        let chunk = vec![b'x'; 64 * 1024];
        let mut framer = StreamFramer::new(MAX);
        assert_eq!(push_err(&mut framer, b"<14>"), Ok(()));
        for _ in 0..160 {
            assert_eq!(push_err(&mut framer, &chunk), Ok(()));
            assert!(framer.buf.capacity() <= MAX, "{}", framer.buf.capacity());
        }
        assert_eq!(framer.take_too_large(), 1);
        assert!(framer.mid_message(), "still skipping the long line");

        let mut framer = StreamFramer::new(MAX);
        let big = vec![b'<'; 10 * 1024 * 1024];
        assert_eq!(push_err(&mut framer, &big), Ok(()));
        assert_eq!(framer.buf.capacity(), 0);

        let mut framer = StreamFramer::new(MAX);
        assert_eq!(push_err(&mut framer, format!("{MAX} ").as_bytes()), Ok(()));
        for piece in big[..MAX - 1].chunks(1000) {
            assert_eq!(push_err(&mut framer, piece), Ok(()));
            assert!(framer.buf.capacity() <= MAX);
        }
    }

    #[test]
    fn stream_error_codes() {
        assert_eq!(FramingError::InvalidLength.code(), "framing");
        assert_eq!(FramingError::TooLarge.code(), "too_large");
        assert_eq!(FramingError::Truncated.code(), "framing");
        assert!(!FramingError::InvalidLength.can_continue());
        assert!(!FramingError::TooLarge.can_continue());
        assert!(!FramingError::Truncated.can_continue());
    }

    #[test]
    fn stream_whitespace_only_and_empty_messages() {
        assert_eq!(whole(64, b"  \r\n \n").0, Vec::<Vec<u8>>::new());
        let (msgs, result) = whole(64, b"\n 3 \r\n 2 x ");
        assert_eq!(result, Ok(()));
        assert_eq!(msgs, [b"x".to_vec()]);
    }

    proptest! {
        #[test]
        fn stream_octet_frames_split_anywhere_decode(
            messages in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..200), 1..20),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
        ) {
            let mut input = Vec::new();
            for msg in &messages {
                input.extend(octet(msg));
            }
            let mut cuts: Vec<usize> = cuts.iter().map(|c| c.index(input.len() + 1)).collect();
            cuts.sort_unstable();
            let mut chunks = Vec::new();
            let mut from = 0;
            for cut in cuts {
                chunks.push(&input[from..cut]);
                from = cut;
            }
            chunks.push(&input[from..]);
            let (msgs, result) = run(&mut StreamFramer::new(200), chunks);
            prop_assert_eq!(result, Ok(()));
            let expected: Vec<Vec<u8>> = messages
                .iter()
                .filter_map(|m| {
                    let end = m.iter().rposition(|b| !matches!(b, b'\n' | b'\r' | b'\0' | b' '))?;
                    Some(m[..=end].to_vec())
                })
                .collect();
            prop_assert_eq!(msgs, expected);
        }
    }
}
