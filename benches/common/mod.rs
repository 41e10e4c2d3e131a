//! Code shared by the echo benches.

use std::io::{Read, Write};

/// Echoes on `stream` until the peer closes it; any blocking stream type.
pub fn echo(mut stream: impl Read + Write) {
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if stream.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
        }
    }
}
