//! Newline framing: turns a byte stream into complete lines.
//!
//! The framer owns one fixed-size buffer. Callers read straight into its spare
//! space and then receive every complete line of the buffer as a single block,
//! so the hot path copies only the partial line left at the end of a read.
//! A line longer than the maximum is skipped up to its newline and reported
//! once, and the line after it is still delivered.

/// What the framer hands to its caller.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// One or more complete lines, each ending with `\n`.
    Lines(&'a [u8]),
    /// A line over the maximum length was dropped (counted once per line).
    TooLong,
}

/// Splits bytes into LF-terminated lines of at most `max_line_bytes`.
#[derive(Debug)]
pub struct LineFramer {
    buf: Vec<u8>,
    filled: usize,
    max_line_bytes: usize,
    /// True while discarding the rest of an over-long line.
    skipping: bool,
}

/// Default maximum line length (design.md §5).
pub const DEFAULT_MAX_LINE_BYTES: usize = 64 * 1024;

impl LineFramer {
    /// A framer whose buffer holds at least four maximum-length lines, so that
    /// each read can deliver many lines at once.
    pub fn new(max_line_bytes: usize) -> Self {
        let capacity = (max_line_bytes.max(1) * 4).max(256 * 1024);
        Self {
            buf: vec![0; capacity],
            filled: 0,
            max_line_bytes: max_line_bytes.max(1),
            skipping: false,
        }
    }

    /// Free space for the next read.
    pub fn spare_mut(&mut self) -> &mut [u8] {
        &mut self.buf[self.filled..]
    }

    /// Drops what is held (the file was truncated under it).
    pub fn reset(&mut self) {
        self.filled = 0;
        self.skipping = false;
    }

    /// Bytes held back because their line has not ended yet.
    pub fn pending(&self) -> usize {
        self.filled
    }

    /// Accepts `n` bytes just read into [`spare_mut`](Self::spare_mut) and
    /// hands every complete line to `sink`.
    pub fn commit(&mut self, n: usize, mut sink: impl FnMut(Frame<'_>)) {
        let start = self.filled;
        self.filled = (self.filled + n).min(self.buf.len());
        let mut from = 0;
        if self.skipping {
            match memchr::memchr(b'\n', &self.buf[start..self.filled]) {
                Some(i) => {
                    self.skipping = false;
                    from = start + i + 1;
                }
                None => {
                    self.filled = 0;
                    return;
                }
            }
        }
        let Some(last_lf) = memchr::memrchr(b'\n', &self.buf[from..self.filled]) else {
            self.compact(from, &mut sink);
            return;
        };
        let end = from + last_lf + 1;
        self.deliver(from, end, &mut sink);
        self.compact(end, &mut sink);
    }

    /// Hands over a last line that has no newline (end of input in `diagnose`,
    /// or a rotated file). The delivered block has no trailing `\n`.
    pub fn flush(&mut self, mut sink: impl FnMut(Frame<'_>)) {
        if self.filled > 0 && !self.skipping {
            if self.filled > self.max_line_bytes {
                sink(Frame::TooLong);
            } else {
                sink(Frame::Lines(&self.buf[..self.filled]));
            }
        }
        self.filled = 0;
        self.skipping = false;
    }

    /// Delivers `[from, end)`, which ends with a newline, reporting each line
    /// that is over the limit instead of passing it on.
    fn deliver(&self, from: usize, end: usize, sink: &mut impl FnMut(Frame<'_>)) {
        let block = &self.buf[from..end];
        // Fast path: a block no longer than the limit cannot hold a long line.
        if block.len() <= self.max_line_bytes + 1 {
            sink(Frame::Lines(block));
            return;
        }
        let mut run_start = 0;
        let mut line_start = 0;
        for lf in memchr::memchr_iter(b'\n', block) {
            if lf - line_start > self.max_line_bytes {
                if run_start < line_start {
                    sink(Frame::Lines(&block[run_start..line_start]));
                }
                sink(Frame::TooLong);
                run_start = lf + 1;
            }
            line_start = lf + 1;
        }
        if run_start < block.len() {
            sink(Frame::Lines(&block[run_start..]));
        }
    }

    /// Moves the partial line at `from` to the front of the buffer, or starts
    /// skipping it when it is already too long to ever be delivered.
    fn compact(&mut self, from: usize, sink: &mut impl FnMut(Frame<'_>)) {
        let rest = self.filled - from;
        if rest > self.max_line_bytes {
            sink(Frame::TooLong);
            self.skipping = true;
            self.filled = 0;
            return;
        }
        self.buf.copy_within(from..self.filled, 0);
        self.filled = rest;
    }
}

/// Iterates the lines of a block from [`Frame::Lines`], without the `\n` and
/// without a CR before it.
pub fn lines(block: &[u8]) -> impl Iterator<Item = &[u8]> {
    let body = block.strip_suffix(b"\n").unwrap_or(block);
    body.split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(framer: &mut LineFramer, input: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        for chunk in input.chunks(7) {
            framer.spare_mut()[..chunk.len()].copy_from_slice(chunk);
            framer.commit(chunk.len(), |frame| collect(frame, &mut out));
        }
        out
    }

    fn collect(frame: Frame<'_>, out: &mut Vec<String>) {
        match frame {
            Frame::Lines(block) => {
                out.extend(lines(block).map(|l| String::from_utf8_lossy(l).into_owned()))
            }
            Frame::TooLong => out.push("<too long>".into()),
        }
    }

    #[test]
    fn framing_splits_across_reads_and_strips_cr() {
        let mut framer = LineFramer::new(64);
        let out = feed(&mut framer, b"alpha\r\nbeta\ngam");
        assert_eq!(out, ["alpha", "beta"]);
        assert_eq!(framer.pending(), 3);
        let mut rest = Vec::new();
        framer.flush(|f| collect(f, &mut rest));
        assert_eq!(rest, ["gam"]);
    }

    #[test]
    fn framing_skips_long_line_and_keeps_the_next() {
        let mut framer = LineFramer::new(8);
        let mut input = b"short\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', 50));
        input.extend(b"\nafter\n");
        assert_eq!(feed(&mut framer, &input), ["short", "<too long>", "after"]);
    }

    #[test]
    fn framing_reports_long_line_inside_one_block() {
        let mut framer = LineFramer::new(4);
        let input = b"ab\nabcdefgh\ncd\n";
        framer.spare_mut()[..input.len()].copy_from_slice(input);
        let mut out = Vec::new();
        framer.commit(input.len(), |f| collect(f, &mut out));
        assert_eq!(out, ["ab", "<too long>", "cd"]);
    }

    #[test]
    fn framing_line_of_exactly_max_length_is_kept() {
        let mut framer = LineFramer::new(4);
        assert_eq!(feed(&mut framer, b"abcd\nabcde\n"), ["abcd", "<too long>"]);
    }
}
