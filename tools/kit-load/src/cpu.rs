//! CPU time of a process, from `/proc/<pid>/stat`.
//!
//! A server's CPU per request is the change in its `utime + stime` over the
//! measured window divided by the requests in that window. The kernel
//! counts in clock ticks, `CLK_TCK` per second: read once from `getconf
//! CLK_TCK` (this crate has no `unsafe`, so no `sysconf`), or assumed to be
//! 100, Linux's value on every common architecture, and reported as
//! assumed. At 100 ticks a second a 10 s window at one busy core is 1,000
//! ticks: a 0.1 % resolution.

use std::sync::OnceLock;
use std::time::Duration;

use crate::Error;

/// Clock ticks per second, and whether that figure was assumed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClockTicks {
    /// Ticks per second.
    pub per_second: u64,
    /// True if `getconf CLK_TCK` failed and 100 was assumed.
    pub assumed: bool,
}

/// The kernel's clock ticks per second, asked once per process.
pub fn clock_ticks() -> ClockTicks {
    static TICKS: OnceLock<ClockTicks> = OnceLock::new();
    *TICKS.get_or_init(|| {
        let asked = std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .filter(|out| out.status.success())
            .and_then(|out| String::from_utf8(out.stdout).ok())
            .and_then(|text| text.trim().parse::<u64>().ok())
            .filter(|&n| n > 0);
        match asked {
            Some(per_second) => ClockTicks {
                per_second,
                assumed: false,
            },
            None => ClockTicks {
                per_second: 100,
                assumed: true,
            },
        }
    })
}

/// The CPU-time fields of `/proc/<pid>/stat`, in clock ticks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatTimes {
    /// User time of the process (all its threads).
    pub utime: u64,
    /// System time of the process.
    pub stime: u64,
    /// User time of its children that it has waited for.
    pub cutime: u64,
    /// System time of its waited-for children.
    pub cstime: u64,
}

impl StatTimes {
    /// Parses the text of `/proc/<pid>/stat`. The second field, the command
    /// name in parentheses, may itself hold spaces and parentheses, so
    /// fields are counted from its last `)`.
    pub fn parse(text: &str) -> Option<StatTimes> {
        let after_name = &text[text.rfind(')')? + 1..];
        // Fields 3 (state) onwards; utime is field 14.
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
        Some(StatTimes {
            utime: field(14)?,
            stime: field(15)?,
            cutime: field(16)?,
            cstime: field(17)?,
        })
    }

    /// Reads them for a process; `None` for this process.
    pub fn read(pid: Option<u32>) -> Result<StatTimes, Error> {
        let path = match pid {
            Some(pid) => format!("/proc/{pid}/stat"),
            None => "/proc/self/stat".to_owned(),
        };
        let text =
            std::fs::read_to_string(&path).map_err(|e| Error::io(format!("reading {path}"), e))?;
        StatTimes::parse(&text)
            .ok_or_else(|| Error::invalid("/proc stat", format!("{path}: unexpected format")))
    }

    /// The process's own CPU time.
    pub fn own(&self) -> u64 {
        self.utime + self.stime
    }

    /// Its waited-for children's CPU time.
    pub fn children(&self) -> u64 {
        self.cutime + self.cstime
    }
}

/// The CPU ticks of several processes together, right now; `None` if one
/// of them cannot be read (it exited).
pub(crate) fn ticks_of(pids: &[u32]) -> Option<u64> {
    pids.iter()
        .map(|&pid| StatTimes::read(Some(pid)).ok().map(|t| t.own()))
        .sum()
}

/// CPU time spent over a window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpuTime {
    /// Clock ticks spent.
    pub ticks: u64,
    /// Ticks per second.
    pub clock: ClockTicks,
}

impl CpuTime {
    /// The CPU time between two tick counts.
    pub fn between(before: u64, after: u64) -> CpuTime {
        CpuTime {
            ticks: after.saturating_sub(before),
            clock: clock_ticks(),
        }
    }

    /// The time as a `Duration`.
    pub fn time(&self) -> Duration {
        Duration::from_secs_f64(self.ticks as f64 / self.clock.per_second as f64)
    }

    /// CPU time per request, in microseconds; `None` with no requests.
    pub fn micros_per(&self, requests: u64) -> Option<f64> {
        (requests > 0).then(|| self.time().as_secs_f64() * 1e6 / requests as f64)
    }

    /// Cores kept busy on average over `elapsed` (1.0 = one full core).
    pub fn cores(&self, elapsed: Duration) -> f64 {
        if elapsed.is_zero() {
            return 0.0;
        }
        self.time().as_secs_f64() / elapsed.as_secs_f64()
    }

    /// Adds another window's time (same clock).
    pub fn add(&self, other: &CpuTime) -> CpuTime {
        CpuTime {
            ticks: self.ticks + other.ticks,
            clock: self.clock,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_parse_even_with_odd_names() {
        let line = "4242 (my (odd) server) S 1 4242 4242 0 -1 4194560 2291 0 0 0 \
                    731 212 17 5 20 0 9 0 12345 1234567 890 18446744073709551615";
        let t = StatTimes::parse(line).unwrap();
        assert_eq!(
            t,
            StatTimes {
                utime: 731,
                stime: 212,
                cutime: 17,
                cstime: 5
            }
        );
        assert_eq!(t.own(), 943);
        assert_eq!(t.children(), 22);
    }

    #[test]
    fn garbage_stat_text_is_none() {
        for text in [
            "",
            "4242",
            "4242 (name) S 1 2",
            "1 (x) S a b c d e f g h i j k l m n o",
        ] {
            assert_eq!(StatTimes::parse(text), None, "{text:?}");
        }
    }

    #[test]
    fn this_process_can_be_read() {
        let t = StatTimes::read(None).unwrap();
        let me = StatTimes::read(Some(std::process::id())).unwrap();
        assert!(me.own() >= t.own());
        assert!(StatTimes::read(Some(u32::MAX)).is_err());
    }

    #[test]
    fn per_request_and_cores() {
        let clock = ClockTicks {
            per_second: 100,
            assumed: false,
        };
        let cpu = CpuTime { ticks: 150, clock };
        assert_eq!(cpu.time(), Duration::from_millis(1500));
        assert_eq!(cpu.micros_per(1_000_000), Some(1.5));
        assert_eq!(cpu.micros_per(0), None);
        assert_eq!(cpu.cores(Duration::from_secs(3)), 0.5);
        assert_eq!(cpu.add(&cpu).ticks, 300);
        assert!(clock_ticks().per_second > 0);
    }
}
