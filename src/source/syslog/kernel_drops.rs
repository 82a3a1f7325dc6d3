//! Datagrams the kernel dropped because a UDP socket's receive queue was
//! full: they never reach the exporter, so only the kernel can tell. Linux
//! keeps a per-socket count in the last column of `/proc/net/udp` and
//! `/proc/net/udp6`, on the line of the socket's inode; the listener reads
//! it now and then and counts the growth as `queue_full`. (The same count
//! holds the rarer drops for bad checksums or socket filters; they are
//! counted too, as nothing else would show them.)

use std::io;
use std::os::fd::AsRawFd;

/// The kernel's drop count of one socket, and how much of it is counted.
#[derive(Debug)]
pub struct KernelDrops {
    inode: u64,
    counted: u32,
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
        let new = growth(self.counted, total);
        self.counted = total;
        new
    }
}

/// Drops between two readings. The kernel prints a 32-bit counter that
/// wraps; a growth across the wrap is still a growth.
fn growth(before: u32, now: u32) -> u64 {
    u64::from(now.wrapping_sub(before))
}

fn socket_inode(socket: &impl AsRawFd) -> io::Result<u64> {
    use std::os::unix::fs::MetadataExt;
    let path = format!("/proc/self/fd/{}", socket.as_raw_fd());
    Ok(std::fs::metadata(path)?.ino())
}

/// The drop count of the socket with `inode`, from either table.
fn read_drops(inode: u64) -> Option<u32> {
    ["/proc/net/udp", "/proc/net/udp6"].iter().find_map(|path| {
        let table = std::fs::read_to_string(path).ok()?;
        drops_in_table(&table, inode)
    })
}

/// Columns: sl local rem st tx:rx tr:when retrnsmt uid timeout inode ref
/// pointer drops.
fn drops_in_table(table: &str, inode: u64) -> Option<u32> {
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
    fn kernel_drops_grow_across_the_counters_wrap() {
        assert_eq!(growth(5, 9), 4);
        assert_eq!(growth(u32::MAX - 1, 3), 5);
        assert_eq!(growth(7, 7), 0);
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
