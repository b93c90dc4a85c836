//! The interface between the sample and its two wire formats.
//!
//! [`crate::sample::Sample::encode`] is the one place that names the protocol's members; it
//! walks the sample and calls an [`Encoder`], which writes XML-RPC for the backend
//! ([`crate::xmlrpc::XmlEncoder`]) or JSON for `--once` ([`crate::json::JsonEncoder`]).
//! Walking instead of building a value tree keeps a 100-domain sample free of thousands
//! of small allocations: the encoders append to one reused buffer.

/// Receives a value, depth first. Every `*_start` is matched by its `*_end`.
pub trait Encoder {
    /// XML-RPC `int` (32-bit).
    fn int(&mut self, value: i32);
    /// XML-RPC `i8` (64-bit): counters that can pass 2^31.
    fn i8(&mut self, value: i64);
    /// XML-RPC `string`.
    fn string(&mut self, value: &str);
    /// XML-RPC `dateTime.iso8601`, UTC, given as seconds since the Unix epoch.
    fn time(&mut self, secs: u64);
    /// XML-RPC `double` (finite; collector modules' metrics).
    fn double(&mut self, value: f64);
    /// Opens a struct.
    fn struct_start(&mut self);
    /// Opens a member of the struct being written; its value follows. Names are the
    /// protocol's constants or checked metric names, all `[a-z0-9_.]`: nothing to escape.
    fn member_start(&mut self, name: &str);
    /// Closes the member.
    fn member_end(&mut self);
    /// Closes the struct.
    fn struct_end(&mut self);
    /// Opens an array; its items follow, each a value.
    fn array_start(&mut self);
    /// Closes the array.
    fn array_end(&mut self);

    /// An `int` from an unsigned count; above `i32::MAX` (no CPU count gets there) it is
    /// clamped.
    fn count(&mut self, value: u32) {
        self.int(i32::try_from(value).unwrap_or(i32::MAX));
    }

    /// An `i8` from an unsigned counter, clamped at `i64::MAX` (sources map "unlimited"
    /// all-ones values before they get here).
    fn counter(&mut self, value: u64) {
        self.i8(i64::try_from(value).unwrap_or(i64::MAX));
    }
}

/// The civil UTC date and time of `secs` seconds since the Unix epoch:
/// `(year, month, day, hour, minute, second)`.
pub fn civil_utc(secs: u64) -> (u64, u32, u32, u32, u32, u32) {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Howard Hinnant's days-to-civil algorithm, for days since 1970-01-01 (never negative
    // here).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + u64::from(month <= 2);
    (
        year,
        month,
        day,
        (rem / 3600) as u32,
        (rem % 3600 / 60) as u32,
        (rem % 60) as u32,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_utc(0), (1970, 1, 1, 0, 0, 0));
        // 2000-02-29T23:59:59Z, a leap day in a century leap year.
        assert_eq!(civil_utc(951_868_799), (2000, 2, 29, 23, 59, 59));
        // 2024-12-31T12:34:56Z
        assert_eq!(civil_utc(1_735_648_496), (2024, 12, 31, 12, 34, 56));
        // 2100-03-01T00:00:00Z (2100 is not a leap year)
        assert_eq!(civil_utc(4_107_542_400), (2100, 3, 1, 0, 0, 0));
    }
}
