//! Datagrams the kernel dropped because a UDP socket's receive queue was
//! full: they never reach the exporter, so only the kernel can tell. Linux
//! keeps a per-socket count in the last column of `/proc/net/udp` and
//! `/proc/net/udp6`, on the line of the socket's inode; the listener reads
//! it now and then and counts the growth as `queue_full`.

use std::io;
use std::os::fd::AsRawFd;

/// The kernel's drop count of one socket, and how much of it is counted.
#[derive(Debug)]
pub struct KernelDrops {
    inode: u64,
    counted: u64,
}

impl KernelDrops {
    /// Follows `socket`; `None` where the count cannot be read (not Linux,
    /// no /proc), in which case kernel drops stay invisible.
    pub fn new(socket: &impl AsRawFd) -> Option<Self> {
        let inode = socket_inode(socket).ok()?;
        let counted = read_drops(inode)?;
        Some(Self { inode, counted })
    }

    /// Drops since the last call.
    pub fn new_drops(&mut self) -> u64 {
        let Some(total) = read_drops(self.inode) else {
            return 0;
        };
        let new = total.saturating_sub(self.counted);
        self.counted = total;
        new
    }
}

fn socket_inode(socket: &impl AsRawFd) -> io::Result<u64> {
    use std::os::unix::fs::MetadataExt;
    let path = format!("/proc/self/fd/{}", socket.as_raw_fd());
    Ok(std::fs::metadata(path)?.ino())
}

/// The drop count of the socket with `inode`, from either table.
fn read_drops(inode: u64) -> Option<u64> {
    ["/proc/net/udp", "/proc/net/udp6"].iter().find_map(|path| {
        let table = std::fs::read_to_string(path).ok()?;
        drops_in_table(&table, inode)
    })
}

/// Columns: sl local rem st tx:rx tr:when retrnsmt uid timeout inode ref
/// pointer drops.
fn drops_in_table(table: &str, inode: u64) -> Option<u64> {
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.get(9)?.parse::<u64>().ok()? != inode {
            return None;
        }
        fields.get(12)?.parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  115: 00000000:157C 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 31337 2 0000000000000000 42
  116: 0100007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 17 2 0000000000000000 0
";

    #[test]
    fn kernel_drops_are_read_from_the_sockets_line() {
        assert_eq!(drops_in_table(TABLE, 31337), Some(42));
        assert_eq!(drops_in_table(TABLE, 17), Some(0));
        assert_eq!(drops_in_table(TABLE, 99), None);
        assert_eq!(drops_in_table("header\ngarbage line\n", 1), None);
    }

    #[test]
    fn kernel_drops_follow_a_real_socket() {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        let Some(mut drops) = KernelDrops::new(&socket) else {
            // No /proc/net/udp here: nothing to follow.
            return;
        };
        assert_eq!(drops.new_drops(), 0);
    }
}
