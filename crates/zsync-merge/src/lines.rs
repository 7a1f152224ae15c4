//! Splitting byte buffers into lines.

/// Splits `data` into lines, each keeping its terminating `\n`.
///
/// Only the last line can lack the `\n` (an "incomplete" line); keeping the
/// terminator inside the slice makes `"x"` and `"x\n"` compare unequal, which
/// is exactly how GNU diff treats a missing final newline.
pub(crate) fn split_lines(data: &[u8]) -> Vec<&[u8]> {
    data.split_inclusive(|&b| b == b'\n').collect()
}

/// True if `line` is the unterminated last line of a file.
pub(crate) fn is_incomplete(line: &[u8]) -> bool {
    !line.ends_with(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_keeping_terminators() {
        assert!(split_lines(b"").is_empty());
        assert_eq!(split_lines(b"\n"), vec![&b"\n"[..]]);
        assert_eq!(split_lines(b"a\nb"), vec![&b"a\n"[..], &b"b"[..]]);
        assert_eq!(split_lines(b"a\r\nb\n"), vec![&b"a\r\n"[..], &b"b\n"[..]]);
        assert!(is_incomplete(b"b"));
        assert!(!is_incomplete(b"b\n"));
    }
}
